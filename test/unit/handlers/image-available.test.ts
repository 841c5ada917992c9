import { DescribeImagesCommand, EC2Client, type Image } from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type Ec2CopyJob, Ec2CopyJobSchema, executionNameOf } from '#ec2/copy-machine/contract';
import { createImageAvailableHandler } from '#ec2/handlers/image-available';
import type { ImageReplicationDeps } from '#ec2/images/replicate';
import { MARKER } from '#ec2/markers';
import type { StartOutcome } from '#ec2/start-copies';
import { createEc2ClientFactory } from '#foundation/aws-clients';
import { createPowertools } from '#foundation/observability/powertools';
import { imageRulesOf } from '#rules/config';
import { DEFAULT_IMAGE_DESCRIPTION, DEFAULT_IMAGE_NAME } from '#rules/templates';
import { ec2Event } from '#test/support/ec2-events';
import { ec2Error, regionOf } from '#test/support/ec2-mocks';
import { configFrom, lambdaContext, recordingLog, recordingMetrics } from '#test/support/fixtures';

const ec2 = mockClient(EC2Client);
afterEach(() => ec2.reset());

// The AMI of test/events/ec2/image-available.json.
const AMI = 'ami-0b1c2d3e4f5a60718';

const image = (overrides: Partial<Image> = {}): Image => ({
  ImageId: AMI,
  Name: 'golden-web-2026-11-21',
  Description: 'web tier',
  OwnerId: '111122223333',
  State: 'available',
  CreationDate: '2026-11-21T20:05:00.000Z',
  BlockDeviceMappings: [
    {
      DeviceName: '/dev/xvda',
      Ebs: { SnapshotId: 'snap-0aaaaaaaaaaaaaaa1', Encrypted: false, VolumeSize: 8 },
    },
    {
      DeviceName: '/dev/xvdb',
      Ebs: { SnapshotId: 'snap-0aaaaaaaaaaaaaaa2', Encrypted: true, VolumeSize: 20 },
    },
    { DeviceName: '/dev/sdc', VirtualName: 'ephemeral0' },
  ],
  Tags: [
    { Key: 'team', Value: 'web' },
    { Key: 'aws:cloudformation:stack-name', Value: 'golden' },
  ],
  ...overrides,
});

const CONFIG = `
rules:
  - name: golden-amis
    images: { regions: [us-west-2], name: '^golden-' }
    to:
      - region: us-east-1
        kmsKeyId: alias/dr-ami
        retain: { count: 3 }
      - region: eu-west-1
        name: '{name}-{date}-{sourceId}'
        kmsKeyId: alias/dr-ami
        tags: { copied-by: ferry }
`;

function fakeStarter(): ImageReplicationDeps['copies'] & { jobs: Ec2CopyJob[] } {
  const jobs: Ec2CopyJob[] = [];
  return {
    jobs,
    start: vi.fn(async (job: Ec2CopyJob) => {
      jobs.push(job);
      return { execution: executionNameOf(job), started: true };
    }),
  };
}

function setup(yaml = CONFIG) {
  const copies = fakeStarter();
  const metrics = recordingMetrics();
  const deps: ImageReplicationDeps = {
    rules: imageRulesOf(configFrom(yaml)),
    ec2: createEc2ClientFactory(),
    copies,
    log: recordingLog(),
    metrics,
  };
  const handler = createImageAvailableHandler(createPowertools(), deps);
  const invoke = (event: unknown) => handler(event as never, lambdaContext) as Promise<StartOutcome[]>;
  return { invoke, copies, metrics };
}

describe('image-available handler', () => {
  it('It should describe the AMI once, in its Region, and start one copy per destination', async () => {
    ec2.on(DescribeImagesCommand).resolves({ Images: [image()] });
    const { invoke, copies } = setup();
    const outcomes = await invoke(ec2Event('image-available'));

    expect(ec2).toReceiveCommandTimes(DescribeImagesCommand, 1);
    const describe = ec2.commandCalls(DescribeImagesCommand)[0];
    expect(describe?.args[0].input).toEqual({ ImageIds: [AMI] });
    await expect(regionOf(describe)).resolves.toBe('us-west-2');

    const source = {
      id: AMI,
      region: 'us-west-2',
      account: '111122223333',
      // One encrypted EBS snapshot makes the AMI encrypted.
      encrypted: true,
      description: 'web tier',
      name: 'golden-web-2026-11-21',
      tags: { team: 'web', 'aws:cloudformation:stack-name': 'golden' },
    };
    expect(copies.jobs).toEqual([
      {
        kind: 'image',
        rule: 'golden-amis',
        destinationIndex: 0,
        destination: {
          region: 'us-east-1',
          kmsKeyId: 'alias/dr-ami',
          copyTags: true,
          tags: {},
          retain: { count: 3 },
          name: DEFAULT_IMAGE_NAME,
          description: DEFAULT_IMAGE_DESCRIPTION,
        },
        source,
        eventTime: '2026-11-21T20:11:39Z',
      },
      {
        kind: 'image',
        rule: 'golden-amis',
        destinationIndex: 1,
        destination: {
          region: 'eu-west-1',
          kmsKeyId: 'alias/dr-ami',
          copyTags: true,
          tags: { 'copied-by': 'ferry' },
          name: '{name}-{date}-{sourceId}',
          description: DEFAULT_IMAGE_DESCRIPTION,
        },
        source,
        eventTime: '2026-11-21T20:11:39Z',
      },
    ]);
    for (const job of copies.jobs)
      expect(Ec2CopyJobSchema.parse(JSON.parse(JSON.stringify(job)))).toEqual(job);
    expect(outcomes).toEqual([
      expect.objectContaining({ status: 'started', source: AMI, rule: 'golden-amis', region: 'us-east-1' }),
      expect.objectContaining({ status: 'started', source: AMI, rule: 'golden-amis', region: 'eu-west-1' }),
    ]);
  });

  it('It should call an AMI unencrypted when none of its EBS snapshots is encrypted', async () => {
    ec2.on(DescribeImagesCommand).resolves({
      Images: [
        image({
          BlockDeviceMappings: [
            { DeviceName: '/dev/xvda', Ebs: { SnapshotId: 'snap-0aaaaaaaaaaaaaaa1', Encrypted: false } },
            { DeviceName: '/dev/sdc', VirtualName: 'ephemeral0' },
          ],
        }),
      ],
    });
    const { invoke, copies } = setup();
    await invoke(ec2Event('image-available'));
    expect(copies.jobs.map((job) => job.source.encrypted)).toEqual([false, false]);
  });

  it.each([
    [
      'failed',
      'image-failed',
      'state failed: AMI snapshot copy failed with error: Given key ID is not accessible',
    ],
    ['pending', 'image-available', 'state pending'],
    ['deregistered', 'image-available', 'state deregistered'],
  ] as const)('It should skip an AMI in state %s without any AWS call', async (state, name, reason) => {
    const { invoke, copies, metrics } = setup();
    const event = ec2Event(name);
    event.detail.State = state;
    const outcomes = await invoke(event);
    expect(outcomes).toEqual([{ status: 'skipped', source: expect.stringMatching(/^ami-/), reason }]);
    expect(ec2.calls()).toHaveLength(0);
    expect(copies.start).not.toHaveBeenCalled();
    expect(metrics.skipped).toHaveBeenCalledWith('none', 'not-a-creation');
  });

  it("It should skip an AMI that is Ferry's own copy", async () => {
    ec2.on(DescribeImagesCommand).resolves({
      Images: [image({ Tags: [{ Key: MARKER.sourceId, Value: 'ami-0123456789abcdef0' }] })],
    });
    const { invoke, copies, metrics } = setup();
    expect(await invoke(ec2Event('image-available'))).toEqual([
      { status: 'skipped', source: AMI, reason: expect.stringContaining('Ferry') },
    ]);
    expect(copies.start).not.toHaveBeenCalled();
    expect(metrics.skipped).toHaveBeenCalledWith('none', 'ferry-copy');
  });

  it('It should skip an AMI no rule matches', async () => {
    ec2.on(DescribeImagesCommand).resolves({ Images: [image({ Name: 'scratch-build-7' })] });
    const { invoke, copies, metrics } = setup();
    expect(await invoke(ec2Event('image-available'))).toEqual([
      { status: 'skipped', source: AMI, reason: `no image rule matches ${AMI}` },
    ]);
    expect(ec2).toReceiveCommandTimes(DescribeImagesCommand, 1);
    expect(copies.start).not.toHaveBeenCalled();
    expect(metrics.skipped).toHaveBeenCalledWith('none', 'no-matching-rule');
  });

  it('It should skip an AMI that no longer exists (InvalidAMIID.NotFound) as source-gone', async () => {
    ec2.on(DescribeImagesCommand).rejects(ec2Error('InvalidAMIID.NotFound', 400));
    const { invoke, copies, metrics } = setup();
    expect(await invoke(ec2Event('image-available'))).toEqual([
      { status: 'skipped', source: AMI, reason: `${AMI} no longer exists in us-west-2` },
    ]);
    expect(copies.start).not.toHaveBeenCalled();
    expect(metrics.skipped).toHaveBeenCalledWith('none', 'source-gone');
  });

  it('It should skip an AMI that DescribeImages no longer lists as source-gone', async () => {
    ec2.on(DescribeImagesCommand).resolves({ Images: [] });
    const { invoke, copies, metrics } = setup();
    expect(await invoke(ec2Event('image-available'))).toEqual([
      expect.objectContaining({ status: 'skipped', source: AMI }),
    ]);
    expect(copies.start).not.toHaveBeenCalled();
    expect(metrics.skipped).toHaveBeenCalledWith('none', 'source-gone');
  });

  it('It should fail the invocation, so Lambda retries the event, when DescribeImages stays throttled', async () => {
    ec2.on(DescribeImagesCommand).rejects(ec2Error('RequestLimitExceeded', 503));
    const { invoke, copies } = setup();
    await expect(invoke(ec2Event('image-available'))).rejects.toMatchObject({ name: 'RequestLimitExceeded' });
    expect(copies.start).not.toHaveBeenCalled();
  });

  it('It should reject an event whose ImageId is not an AMI id, naming the field', async () => {
    const { invoke } = setup();
    const event = ec2Event('image-available');
    event.detail.ImageId = 'snap-0a1b2c3d4e5f60718';
    await expect(invoke(event)).rejects.toMatchObject({
      name: 'MalformedEventError',
      message: expect.stringContaining('detail.ImageId'),
    });
    expect(ec2.calls()).toHaveLength(0);
  });
});
