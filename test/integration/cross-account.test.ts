import { readFileSync } from 'node:fs';
import {
  CreateImageCommand,
  CreateSnapshotCommand,
  DescribeImagesCommand,
  DescribeSnapshotsCommand,
} from '@aws-sdk/client-ec2';
import { DeleteObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IamRequest } from '#deploy/iam-proof/request';
import { MARKER } from '#ec2/markers';
import { type Sandbox, startSandbox } from '#local/sandbox';
import { configFrom } from '#test/support/fixtures';

/**
 * test/configs/cross-account.yml end to end in the sandbox: objects written into a partner's bucket by the
 * partner's role, snapshots copied into a vault Region by the vault's role, each role assumed through the
 * sandbox's STS with its external id; and every call recorded with who made it.
 */

const CONFIG = configFrom(readFileSync(new URL('../configs/cross-account.yml', import.meta.url), 'utf8'));
const WRITER = 'arn:aws:iam::222233334444:role/ferry-writer';
const VAULT = 'arn:aws:iam::333344445555:role/ferry-vault-writer';
const VAULT_KEY = 'arn:aws:kms:us-west-2:333344445555:key/1234abcd-12ab-34cd-56ef-1234567890ab';

let sandbox: Sandbox;

beforeAll(async () => {
  sandbox = await startSandbox({
    config: CONFIG,
    port: 0,
    ec2: { copyBytesPerSecond: 1024 * 1024 * 1024, kmsKeys: { 'us-west-2': [VAULT_KEY] } },
  });
});
afterAll(() => sandbox.stop());

const requestsFor = (predicate: (request: IamRequest) => boolean) => sandbox.iamRequests().filter(predicate);
const byRole = (role: string, via: string) => (request: IamRequest) =>
  'role' in request.principal && request.principal.role === role && request.principal.via === via;

describe('cross-account destinations in the sandbox', () => {
  it('writes objects into the partner bucket with the role it assumed, and deletes them with it', async () => {
    const source = sandbox.s3('us-east-1');
    await source.send(new PutObjectCommand({ Bucket: 'acme-media', Key: 'published/a.txt', Body: 'hello' }));
    await sandbox.settle();
    const replica = await sandbox
      .s3('eu-west-1')
      .send(new HeadObjectCommand({ Bucket: 'partner-media-inbox', Key: 'from-acme/a.txt' }));
    expect(replica.ContentLength).toBe(5);

    // The function asked STS for the partner's role, with the partner's external id…
    const assumed = requestsFor((r) => r.action === 'sts:AssumeRole' && r.resource === WRITER);
    expect(assumed).toContainEqual(
      expect.objectContaining({
        principal: { function: 'objectCreated' },
        context: expect.objectContaining({ 'sts:ExternalId': 'acme-ferry-7f3a9c' }),
      }),
    );
    // …checked the source as itself, and copied as the role: the role reads the source (its bucket policy
    // must let it) and writes the replica, handing it to the bucket owner.
    expect(requestsFor((r) => r.call === 's3:HeadObject')).toContainEqual(
      expect.objectContaining({
        principal: { function: 'objectCreated' },
        resource: 'arn:aws:s3:::acme-media/published/a.txt',
      }),
    );
    const writes = requestsFor(byRole(WRITER, 'objectCreated')).filter((r) => r.call === 's3:CopyObject');
    expect(writes.map((r) => [r.action, r.resource])).toEqual(
      expect.arrayContaining([
        ['s3:PutObject', 'arn:aws:s3:::partner-media-inbox/from-acme/a.txt'],
        ['s3:PutObjectAcl', 'arn:aws:s3:::partner-media-inbox/from-acme/a.txt'],
        ['s3:GetObject', 'arn:aws:s3:::acme-media/published/a.txt'],
      ]),
    );
    expect(writes.find((r) => r.action === 's3:PutObjectAcl')?.context['s3:x-amz-acl']).toBe(
      'bucket-owner-full-control',
    );

    await source.send(new DeleteObjectCommand({ Bucket: 'acme-media', Key: 'published/a.txt' }));
    await sandbox.settle();
    await expect(
      sandbox
        .s3('eu-west-1')
        .send(new HeadObjectCommand({ Bucket: 'partner-media-inbox', Key: 'from-acme/a.txt' })),
    ).rejects.toMatchObject({ name: 'NotFound' });
    // object-deleted runs in its own environment: it assumes the role itself.
    expect(requestsFor((r) => r.action === 'sts:AssumeRole' && r.resource === WRITER)).toContainEqual(
      expect.objectContaining({ principal: { function: 'objectDeleted' } }),
    );
    expect(requestsFor(byRole(WRITER, 'objectDeleted'))).toContainEqual(
      expect.objectContaining({
        action: 's3:DeleteObject',
        resource: 'arn:aws:s3:::partner-media-inbox/from-acme/a.txt',
      }),
    );
  });

  it('copies a snapshot into the vault Region under the vault key, as the vault role', async () => {
    const east = sandbox.ec2Client('us-east-1');
    const volumeId = sandbox.ec2.createVolume('us-east-1', { sizeGiB: 8 });
    const { SnapshotId } = await east.send(
      new CreateSnapshotCommand({
        VolumeId: volumeId,
        TagSpecifications: [{ ResourceType: 'snapshot', Tags: [{ Key: 'backup', Value: 'vault' }] }],
      }),
    );
    await sandbox.settle();
    const { Snapshots = [] } = await sandbox.ec2Client('us-west-2').send(
      new DescribeSnapshotsCommand({
        Filters: [{ Name: `tag:${MARKER.sourceId}`, Values: [SnapshotId ?? ''] }],
      }),
    );
    expect(Snapshots.map((s) => [s.State, s.Encrypted, s.KmsKeyId])).toEqual([
      ['completed', true, VAULT_KEY],
    ]);

    // Shared with the vault account by Ferry's own role, in the source Region…
    expect(requestsFor((r) => r.action === 'ec2:ModifySnapshotAttribute')).toContainEqual(
      expect.objectContaining({
        principal: { function: 'ec2CopyStep' },
        resource: `arn:aws:ec2:us-east-1::snapshot/${SnapshotId}`,
        context: expect.objectContaining({ 'ec2:Add/userId': ['333344445555'] }),
      }),
    );
    // …copied by the vault role, which the step assumed with the vault's external id.
    expect(requestsFor((r) => r.action === 'sts:AssumeRole' && r.resource === VAULT)).toContainEqual(
      expect.objectContaining({
        principal: { function: 'ec2CopyStep' },
        context: expect.objectContaining({ 'sts:ExternalId': 'acme-ferry-vault-51d2' }),
      }),
    );
    const vault = requestsFor(byRole(VAULT, 'ec2CopyStep'));
    expect(vault).toContainEqual(
      expect.objectContaining({
        action: 'ec2:CopySnapshot',
        resource: `arn:aws:ec2:us-east-1::snapshot/${SnapshotId}`,
        context: expect.objectContaining({ 'aws:ResourceTag/backup': 'vault' }),
      }),
    );
    expect(vault).toContainEqual(
      expect.objectContaining({
        action: 'kms:CreateGrant',
        resource: VAULT_KEY,
        context: expect.objectContaining({
          'kms:ViaService': 'ec2.us-west-2.amazonaws.com',
          'kms:GrantIsForAWSResource': 'true',
        }),
      }),
    );
    // Tags given with the copy are authorized as a CreateTags of the creating action.
    expect(vault).toContainEqual(
      expect.objectContaining({
        action: 'ec2:CreateTags',
        context: expect.objectContaining({
          'ec2:CreateAction': 'CopySnapshot',
          [`aws:RequestTag/${MARKER.sourceId}`]: SnapshotId,
        }),
      }),
    );
  });

  it('served each role through STS, and attributed every call to a function', () => {
    const roles = new Set([...sandbox.sts.sessions.values()].map((session) => session.roleArn));
    expect(roles).toEqual(new Set([WRITER, VAULT]));
    const calls = sandbox.calls();
    expect(calls.length).toBeGreaterThan(0);
    // Calls made with a role's credentials are the role's; STS itself is asked by the function.
    for (const call of calls) {
      if (call.service === 'sts') expect(call.principal).toEqual({ function: call.function });
    }
    expect(calls.filter((call) => 'role' in call.principal).length).toBeGreaterThan(0);
  });
});

describe('a cross-account AMI destination in the sandbox', () => {
  const AMI_ROLE = 'arn:aws:iam::444455556666:role/ferry-ami-writer';
  let amis: Sandbox;
  beforeAll(async () => {
    amis = await startSandbox({
      config: configFrom(`
rules:
  - name: ami-to-partner
    images: { regions: [us-east-1], tags: { share: partner }, encrypted: false }
    to:
      - region: us-west-2
        account: "444455556666"
        roleArn: ${AMI_ROLE}
        externalId: acme-ferry-ami-9c1e
`),
      port: 0,
      ec2: { copyBytesPerSecond: 1024 * 1024 * 1024 },
    });
  });
  afterAll(() => amis.stop());

  it('shares the AMI (bounded by its source tags) and its snapshots (with the partner account only), then copies it as the partner role', async () => {
    const volumeId = amis.ec2.createVolume('us-east-1', { sizeGiB: 8 });
    const instanceId = amis.ec2.createInstance('us-east-1', [volumeId]);
    const { ImageId } = await amis.ec2Client('us-east-1').send(
      new CreateImageCommand({
        InstanceId: instanceId,
        Name: 'web-1',
        TagSpecifications: [{ ResourceType: 'image', Tags: [{ Key: 'share', Value: 'partner' }] }],
      }),
    );
    await amis.settle();
    const { Images = [] } = await amis
      .ec2Client('us-west-2')
      .send(
        new DescribeImagesCommand({ Filters: [{ Name: `tag:${MARKER.sourceId}`, Values: [ImageId ?? ''] }] }),
      );
    expect(Images.map((image) => image.State)).toEqual(['available']);

    const requests = amis.iamRequests();
    const share = requests.filter((r) => r.action === 'ec2:ModifyImageAttribute');
    expect(share).toEqual([
      expect.objectContaining({
        principal: { function: 'ec2CopyStep' },
        resource: `arn:aws:ec2:us-east-1::image/${ImageId}`,
        context: expect.objectContaining({ 'aws:ResourceTag/share': 'partner' }),
      }),
    ]);
    // IAM sees no grantee for an image share (ec2:Add/userId is ModifySnapshotAttribute's alone): the image
    // statement is bounded by the rule's source tags, the account bound is on the snapshots below.
    expect(share[0]?.context).not.toHaveProperty('ec2:Add/userId');
    // The image's snapshots are shared too, each with the same bound.
    const snapshotShares = requests.filter((r) => r.action === 'ec2:ModifySnapshotAttribute');
    expect(snapshotShares.length).toBeGreaterThan(0);
    for (const request of snapshotShares) {
      expect(request.principal).toEqual({ function: 'ec2CopyStep' });
      expect(request.context['ec2:Add/userId']).toEqual(['444455556666']);
    }
    expect(requests).toContainEqual(
      expect.objectContaining({
        principal: { role: AMI_ROLE, via: 'ec2CopyStep' },
        action: 'ec2:CopyImage',
        resource: `arn:aws:ec2:us-east-1::image/${ImageId}`,
      }),
    );
    expect(requests).toContainEqual(
      expect.objectContaining({
        principal: { function: 'ec2CopyStep' },
        action: 'sts:AssumeRole',
        resource: AMI_ROLE,
        context: expect.objectContaining({ 'sts:ExternalId': 'acme-ferry-ami-9c1e' }),
      }),
    );
  });
});
