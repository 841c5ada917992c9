import { CreateSnapshotCommand, DescribeSnapshotsCommand, type Snapshot } from '@aws-sdk/client-ec2';
import { GetQueueUrlCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Ec2CopyJob } from '#ec2/copy-machine/contract';
import { MARKER } from '#ec2/markers';
import { type Sandbox, startSandbox } from '#local/sandbox';
import { configFrom } from '#test/support/fixtures';
import { type OperateClients, operateClients, redriveCommand, statusCommand } from '../../cli/operate.ts';

/**
 * `ferry status` and `ferry redrive` against the sandbox's endpoint, through the AWS SDK clients they use
 * against AWS: the sandbox serves Step Functions, the dead-letter queue and Lambda Invoke for stage `sandbox`.
 */

const CONFIG = configFrom(`
rules:
  - name: mirror
    objects: { bucket: op-source }
    to: [ { bucket: op-dr, region: us-west-2 } ]
  - name: ebs-to-dr
    snapshots: { regions: [us-east-1], tags: { backup: dr } }
    to: [ { region: us-west-2 } ]
  - name: ebs-bad-key
    snapshots: { regions: [us-east-1], tags: { backup: bad-key } }
    to: [ { region: us-west-2, kmsKeyId: alias/does-not-exist } ]
`);

let sandbox: Sandbox;
let clients: OperateClients;
const target = () => ({ stage: 'sandbox', region: 'us-east-1', endpoint: sandbox.endpoint });
const status = () =>
  statusCommand({ ...target(), since: new Date(Date.now() - 3_600_000), sinceText: '1h' }, clients);

beforeAll(async () => {
  sandbox = await startSandbox({ config: CONFIG, port: 0, ec2: { kmsKeys: { 'us-west-2': [] } } });
  clients = operateClients(target());
});
afterAll(async () => {
  clients.sfn.destroy();
  clients.sqs.destroy();
  clients.lambda.destroy();
  await sandbox.stop();
});

async function createSnapshot(backup: string): Promise<string> {
  const volumeId = sandbox.ec2.createVolume('us-east-1', { sizeGiB: 1, encrypted: false });
  const { SnapshotId } = await sandbox.ec2Client('us-east-1').send(
    new CreateSnapshotCommand({
      VolumeId: volumeId,
      TagSpecifications: [{ ResourceType: 'snapshot', Tags: [{ Key: 'backup', Value: backup }] }],
    }),
  );
  await sandbox.settle();
  return SnapshotId ?? '';
}

async function copiesOf(sourceId: string): Promise<Snapshot[]> {
  const { Snapshots } = await sandbox.ec2Client('us-west-2').send(
    new DescribeSnapshotsCommand({
      OwnerIds: ['self'],
      Filters: [{ Name: `tag:${MARKER.sourceId}`, Values: [sourceId] }],
    }),
  );
  return Snapshots ?? [];
}

describe('ferry status and redrive against the sandbox', () => {
  let lostSnapshot: string;

  it('status: no copies in flight, a failed copy with its cause, and one dead letter', async () => {
    // EC2 does not answer the handler's DescribeSnapshots, beyond the SDK's and Lambda's retries.
    sandbox.ec2.faults.script('DescribeSnapshots', ...Array<'unavailable'>(30).fill('unavailable'));
    lostSnapshot = await createSnapshot('dr');
    sandbox.ec2.faults.clear();
    expect(sandbox.bus.deadLetters).toHaveLength(1);
    expect(await copiesOf(lostSnapshot)).toEqual([]);

    const badKey = await createSnapshot('bad-key');
    const failed = [...sandbox.stepFunctions.executions.values()].find(
      (execution) => (execution.input as Ec2CopyJob).source.id === badKey,
    );
    expect(failed?.status).toBe('FAILED');

    const result = await status();
    expect(result.exitCode).toBe(0);
    const text = result.lines.join('\n');
    expect(text).toContain('In flight: 0 copies');
    expect(text).toContain('Failures since');
    expect(text).toMatch(
      new RegExp(`✘ snapshot-copy ${failed?.name} FAILED at \\S+: SnapshotCopyFailed — .*key`, 'i'),
    );
    expect(text).toContain('Dead letters: 1 waiting in ferry-sandbox-dead-letters');
  });

  it('redrive: hands the dead letter back once the cause is gone, and keeps a message it cannot read', async () => {
    const { QueueUrl } = await clients.sqs.send(
      new GetQueueUrlCommand({ QueueName: 'ferry-sandbox-dead-letters' }),
    );
    await clients.sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: 'not a dead letter' }));

    const dry = await redriveCommand({ ...target(), max: 10, dryRun: true }, clients);
    expect(dry.lines.join('\n')).toContain('2 messages: 1 would be handed back, 1 not understood');
    expect(sandbox.bus.deadLetters).toHaveLength(1);

    const result = await redriveCommand({ ...target(), max: 10, dryRun: false }, clients);
    const text = result.lines.join('\n');
    expect(text).toMatch(
      /✔ EBS Snapshot Notification snap-\S+ \(Lambda dead letter: .*\) → ferry-sandbox-snapshotCreated: handed back/,
    );
    expect(text).toMatch(/\? message \S+: not understood \(the body is not JSON\); kept in the queue/);
    expect(text).toContain('2 messages: 1 handed back, 0 failed, 1 not understood');
    expect(result.exitCode).toBe(1);

    await sandbox.settle();
    expect(sandbox.bus.deadLetters).toEqual([]);
    const copies = await copiesOf(lostSnapshot);
    expect(copies).toHaveLength(1);
    expect(copies[0]?.State).toBe('completed');
    // Only the message it could not read is left, visible again for the next look.
    expect((await status()).lines.join('\n')).toContain('Dead letters: 1 waiting');
  });

  it('redrive: a malformed event is handed back, fails again and is a dead letter again', async () => {
    sandbox.bus.put({
      version: '0',
      id: 'malformed-1',
      source: 'aws.s3',
      'detail-type': 'Object Created',
      account: '000000000000',
      time: new Date().toISOString(),
      region: 'us-east-1',
      resources: ['arn:aws:s3:::op-source'],
      detail: { bucket: { name: 'op-source' } },
    });
    await sandbox.settle();
    expect(sandbox.bus.deadLetters).toHaveLength(1);
    expect(sandbox.bus.deadLetters[0]?.error?.name).toBe('MalformedEventError');

    const result = await redriveCommand({ ...target(), max: 1, dryRun: false }, clients);
    expect(result.lines.join('\n')).toMatch(/✔ Object Created .*→ ferry-sandbox-objectCreated: handed back/);
    await sandbox.settle();
    // Lambda accepted it (202) and the handler failed again, after its retries: back in the queue.
    expect(sandbox.bus.deadLetters).toHaveLength(1);
  });
});
