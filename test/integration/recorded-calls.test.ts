import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateSnapshotCommand } from '@aws-sdk/client-ec2';
import { PutObjectCommand, ServerSideEncryption } from '@aws-sdk/client-s3';
import { afterAll, describe, expect, it } from 'vitest';
import type { IamRequest } from '#deploy/iam-proof/request';
import { IAM_CALLS_DIR_VARIABLE, type Sandbox, startSandbox } from '#local/sandbox';
import { configFrom } from '#test/support/fixtures';

/**
 * What the sandbox records for the IAM proof, over one run that takes every path of the handlers and the
 * state machines: each call attributed to the function that made it, the in-process Step Functions calls
 * as the SDK calls they stand for, and the run's requests written as JSON lines when asked.
 */

const MiB = 1024 * 1024;
const CONFIG = configFrom(`
copy: { multipartThreshold: 8388608, partSize: 5242880, partConcurrency: 2 }
rules:
  - name: docs
    objects: { bucket: rc-source, prefix: docs/ }
    to:
      - bucket: rc-dr
        region: us-west-2
        replicateDeletes: true
        encryption: { sse: aws:kms, kmsKeyId: alias/rc-dr }
  - name: ebs
    snapshots: { regions: [us-east-1], tags: { backup: dr } }
    to:
      - { region: us-west-2, retain: { count: 1 } }
`);

const dir = mkdtempSync(join(tmpdir(), 'ferry-iam-calls-'));
let sandbox: Sandbox | undefined;
const before = process.env[IAM_CALLS_DIR_VARIABLE];

afterAll(async () => {
  await sandbox?.stop();
  if (before === undefined) delete process.env[IAM_CALLS_DIR_VARIABLE];
  else process.env[IAM_CALLS_DIR_VARIABLE] = before;
});

const summary = (requests: readonly IamRequest[]) =>
  new Set(
    requests.map(
      (r) =>
        `${'function' in r.principal ? r.principal.function : 'via' in r.principal ? r.principal.via : r.principal.stateMachine} ${r.call} ${r.action}`,
    ),
  );

describe('recorded calls', () => {
  it('attributes every call of a run to its function, in-process Step Functions calls included', async () => {
    sandbox = await startSandbox({ config: CONFIG, port: 0 });
    const east = sandbox.s3('us-east-1');
    await east.send(new PutObjectCommand({ Bucket: 'rc-source', Key: 'docs/small.txt', Body: 'small' }));
    await east.send(
      new PutObjectCommand({
        Bucket: 'rc-source',
        Key: 'docs/large.bin',
        Body: Buffer.alloc(9 * MiB, 7),
        ServerSideEncryption: ServerSideEncryption.aws_kms,
        SSEKMSKeyId: 'arn:aws:kms:us-east-1:000000000000:key/source-key',
      }),
    );
    const volumeId = sandbox.ec2.createVolume('us-east-1', { sizeGiB: 1 });
    await sandbox.ec2Client('us-east-1').send(
      new CreateSnapshotCommand({
        VolumeId: volumeId,
        TagSpecifications: [{ ResourceType: 'snapshot', Tags: [{ Key: 'backup', Value: 'dr' }] }],
      }),
    );
    await sandbox.settle();
    await sandbox.reconcile();

    const requests = sandbox.iamRequests();
    const seen = summary(requests);
    for (const expected of [
      'objectCreated s3:HeadObject s3:GetObject',
      'objectCreated s3:CopyObject s3:PutObject',
      'objectCreated s3:CopyObject kms:GenerateDataKey',
      'objectCreated states:StartExecution states:StartExecution',
      'objectCopyStep s3:CreateMultipartUpload s3:PutObject',
      'objectCopyStep s3:UploadPartCopy s3:PutObject',
      // The large source is under a customer key: reading it for the parts needs that key.
      'objectCopyStep s3:UploadPartCopy kms:Decrypt',
      'objectCopyStep s3:UploadPartCopy kms:GenerateDataKey',
      'objectCopyStep s3:CompleteMultipartUpload kms:Decrypt',
      'snapshotCreated ec2:DescribeSnapshots ec2:DescribeSnapshots',
      'snapshotCreated states:StartExecution states:StartExecution',
      'ec2CopyStep ec2:CopySnapshot ec2:CopySnapshot',
      'ec2CopyStep ec2:CopySnapshot ec2:CreateTags',
      'reconcile s3:ListObjectsV2 s3:ListBucket',
      'reconcile ec2:DescribeSnapshots ec2:DescribeSnapshots',
    ]) {
      expect(seen, expected).toContain(expected);
    }
    // The machines are named as the package names them, for the sandbox's deployment (ferry, sandbox).
    expect(
      new Set(requests.filter((r) => r.action === 'states:StartExecution').map((r) => r.resource)),
    ).toEqual(
      new Set([
        'arn:aws:states:us-east-1:000000000000:stateMachine:ferry-sandbox-object-copy',
        'arn:aws:states:us-east-1:000000000000:stateMachine:ferry-sandbox-snapshot-copy',
      ]),
    );
    expect(sandbox.deployment).toEqual({ service: 'ferry', stage: 'sandbox', region: 'us-east-1' });
    const decrypt = requests.find((r) => r.call === 's3:UploadPartCopy' && r.action === 'kms:Decrypt');
    expect(decrypt).toMatchObject({
      resource: 'arn:aws:kms:us-east-1:000000000000:key/source-key',
      context: { 'kms:ViaService': 's3.us-east-1.amazonaws.com' },
    });
  });

  it('writes the run’s requests as JSON lines, beside the configuration they are checked against', async () => {
    const running = sandbox as Sandbox;
    const requests = running.iamRequests();
    process.env[IAM_CALLS_DIR_VARIABLE] = dir;
    await running.stop();
    sandbox = undefined;
    const files = readdirSync(dir).sort();
    expect(files).toHaveLength(2);
    const [config, lines] = files as [string, string];
    expect(config).toMatch(/^iam-requests-.+\.config\.json$/);
    expect(lines).toBe(config.replace(/\.config\.json$/, '.jsonl'));
    const written = readFileSync(join(dir, lines), 'utf8')
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(written).toEqual(requests);
    expect(JSON.parse(readFileSync(join(dir, config), 'utf8'))).toMatchObject({
      account: '000000000000',
      deployment: { service: 'ferry', stage: 'sandbox', region: 'us-east-1' },
      config: { rules: [{ name: 'docs' }, { name: 'ebs' }] },
    });
  });
});
