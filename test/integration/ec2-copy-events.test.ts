import { CreateImageCommand, CreateSnapshotCommand, type Tag } from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Ec2CopyJob } from '#ec2/copy-machine/contract';
import { SAFETY_CHECK_SECONDS } from '#ec2/copy-machine/copy-waiters';
import { SANDBOX_COPY_WAITERS_TABLE, type Sandbox, startSandbox } from '#local/sandbox';
import { statesEnteredOf } from '#local/step-functions';
import { configFrom } from '#test/support/fixtures';

/**
 * Event-driven waiting end to end: the real snapshot-created handler, the snapshot-copy machine rendered with
 * AwaitCopy (`.waitForTaskToken`), the real copy step storing its token in the local DynamoDB, the fake EC2
 * emitting the `copySnapshot` result when the copy ends on the virtual clock, and the real completion
 * handler sending SendTaskSuccess through the sandbox's Step Functions API.
 */

const MiB = 1024 * 1024;
const COPY_BYTES_PER_SECOND = 8 * MiB; // an 8 GiB volume copies in 1,024 s of virtual time
const COPY_SECONDS = (8 * 1024 * MiB) / COPY_BYTES_PER_SECOND;

const CONFIG = configFrom(`
rules:
  - name: ebs-to-dr
    snapshots: { regions: [us-east-1], tags: { backup: dr } }
    to:
      - region: us-west-2
  - name: ami-to-dr
    images: { regions: [us-east-1], tags: { dr: "true" } }
    to:
      - region: us-west-2
`);

let sandbox: Sandbox;

beforeAll(async () => {
  sandbox = await startSandbox({
    config: CONFIG,
    port: 0,
    ec2: { copyBytesPerSecond: COPY_BYTES_PER_SECOND },
    ec2Completion: 'events',
  });
});
afterAll(() => sandbox.stop());

const tags = (map: Record<string, string>): Tag[] =>
  Object.entries(map).map(([Key, Value]) => ({ Key, Value }));

async function createSnapshot(on = sandbox, backup = 'dr'): Promise<string> {
  const volumeId = on.ec2.createVolume('us-east-1', { sizeGiB: 8, encrypted: false });
  const { SnapshotId } = await on.ec2Client('us-east-1').send(
    new CreateSnapshotCommand({
      VolumeId: volumeId,
      TagSpecifications: [{ ResourceType: 'snapshot', Tags: tags({ backup }) }],
    }),
  );
  return SnapshotId ?? '';
}

const executionOf = (sourceId: string, on = sandbox) =>
  [...on.stepFunctions.executions.values()].find(
    (execution) => (execution.input as Ec2CopyJob).source.id === sourceId,
  );

describe('snapshot copies waited for by event on the sandbox', () => {
  it('notices the end by its copySnapshot event: 7 transitions, within a minute, no waiter left', async () => {
    const snapshotId = await createSnapshot();
    await sandbox.settle();
    const execution = executionOf(snapshotId);
    expect(execution?.status).toBe('SUCCEEDED');
    const states = statesEnteredOf(execution ?? { events: [] });
    expect(states).toEqual([
      'Enqueue',
      'StartCopy',
      'IsCopyStarted',
      'AwaitCopy',
      'CheckCopy',
      'IsCopyDone',
      'Finalize',
    ]);
    const seconds = (execution?.virtualDurationMs ?? 0) / 1000;
    expect(seconds).toBeGreaterThanOrEqual(COPY_SECONDS);
    expect(seconds).toBeLessThanOrEqual(COPY_SECONDS + 60);
    expect(sandbox.dynamoDb.items(SANDBOX_COPY_WAITERS_TABLE)).toEqual([]);
  });

  it('ends a failed copy by its failed event, through CheckCopy to RecordFailure', async () => {
    sandbox.ec2.faults.script('CopySnapshot', 'copy-error');
    const snapshotId = await createSnapshot();
    await sandbox.settle();
    const execution = executionOf(snapshotId);
    expect(execution?.status).toBe('FAILED');
    expect(execution?.error?.Error).toBe('SnapshotCopyFailed');
    const states = statesEnteredOf(execution ?? { events: [] });
    expect(states.slice(3, 7)).toEqual(['AwaitCopy', 'CheckCopy', 'IsCopyDone', 'CopyErrored']);
    // Noticed by the event, not by the safety check.
    expect((execution?.virtualDurationMs ?? 0) / 1000).toBeLessThan(SAFETY_CHECK_SECONDS);
  });

  it('loses the event and still finishes the copy at the safety check', async () => {
    const snapshotId = await createSnapshot();
    // Let the copy start, then lose every event from here on (the copy's result among them).
    for (
      let i = 0;
      i < 500 && !statesEnteredOf(executionOf(snapshotId) ?? { events: [] }).includes('AwaitCopy');
      i++
    )
      await new Promise((resolve) => setTimeout(resolve, 2));
    sandbox.bus.pause();
    await sandbox.settle();
    sandbox.bus.resume();
    const execution = executionOf(snapshotId);
    expect(execution?.status).toBe('SUCCEEDED');
    const states = statesEnteredOf(execution ?? { events: [] });
    expect(states.filter((state) => state === 'AwaitCopy')).toHaveLength(1);
    expect(states.slice(-3)).toEqual(['CheckCopy', 'IsCopyDone', 'Finalize']);
    expect((execution?.virtualDurationMs ?? 0) / 1000).toBeGreaterThanOrEqual(SAFETY_CHECK_SECONDS);
    // The waiter of the lost event stays until its TTL: the item names its execution and expiry.
    const [waiter, ...others] = sandbox.dynamoDb.items(SANDBOX_COPY_WAITERS_TABLE);
    expect(others).toEqual([]);
    expect(waiter?.expiresAt?.N).toMatch(/^\d+$/);
  });

  it('notices an AMI copy by its "EC2 AMI State Change" to available, in the same 7 states', async () => {
    const volumeId = sandbox.ec2.createVolume('us-east-1', { sizeGiB: 8 });
    const instanceId = sandbox.ec2.createInstance('us-east-1', [volumeId]);
    const { ImageId } = await sandbox.ec2Client('us-east-1').send(
      new CreateImageCommand({
        InstanceId: instanceId,
        Name: 'web-events',
        TagSpecifications: [{ ResourceType: 'image', Tags: tags({ dr: 'true' }) }],
      }),
    );
    await sandbox.settle();
    const execution = executionOf(ImageId ?? '');
    expect(execution?.stateMachine).toBe('image-copy');
    expect(execution?.status).toBe('SUCCEEDED');
    expect(statesEnteredOf(execution ?? { events: [] })).toEqual([
      'Enqueue',
      'StartCopy',
      'IsCopyStarted',
      'AwaitCopy',
      'CheckCopy',
      'IsCopyDone',
      'Finalize',
    ]);
    const seconds = (execution?.virtualDurationMs ?? 0) / 1000;
    expect(seconds).toBeGreaterThanOrEqual(COPY_SECONDS);
    expect(seconds).toBeLessThanOrEqual(COPY_SECONDS + 60);
  });
});

describe('copies made by a destination role, in another account, on the sandbox waiting by event', () => {
  // The copy and its completion event belong to the role's account, whose bus this stack has no rule on
  // (completionEventReachesStack): the step marks the copy `polled`, and it waits in WaitForCopy.
  const CROSS_ACCOUNT = configFrom(`
rules:
  - name: ebs-to-vault
    snapshots: { regions: [us-east-1], tags: { backup: vault }, encrypted: false }
    to:
      - region: us-west-2
        account: "333344445555"
        roleArn: arn:aws:iam::333344445555:role/ferry-vault-writer
        externalId: acme-ferry-vault-51d2
`);
  let partner: Sandbox;
  beforeAll(async () => {
    partner = await startSandbox({
      config: CROSS_ACCOUNT,
      port: 0,
      ec2: { copyBytesPerSecond: COPY_BYTES_PER_SECOND },
      ec2Completion: 'events',
    });
  });
  afterAll(() => partner.stop());

  it('polls the copy (WaitForCopy, never AwaitCopy) and stores no waiter', async () => {
    const snapshotId = await createSnapshot(partner, 'vault');
    await partner.settle();
    const execution = executionOf(snapshotId, partner);
    expect(execution?.status).toBe('SUCCEEDED');
    const states = statesEnteredOf(execution ?? { events: [] });
    expect(states).not.toContain('AwaitCopy');
    expect(states.slice(0, 5)).toEqual(['Enqueue', 'StartCopy', 'IsCopyStarted', 'WaitForCopy', 'CheckCopy']);
    expect(states.at(-1)).toBe('Finalize');
    expect(partner.dynamoDb.items(SANDBOX_COPY_WAITERS_TABLE)).toEqual([]);
  });
});
