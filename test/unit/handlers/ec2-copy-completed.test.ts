import { DescribeSnapshotsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { SendTaskSuccessCommand, SFNClient } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { stepFunctionsTaskCallbacks } from '#adapters/task-callbacks';
import { type CopyWaiters, waiterOf } from '#ec2/copy-machine/copy-waiters';
import { type SlotWaiter, slotQueueKey } from '#ec2/copy-machine/slot-queue';
import type { Ec2CopyStepDeps } from '#ec2/copy-machine/step-deps';
import { CopyWaitersTableMissingError } from '#ec2/errors';
import { createEc2CopyCompletedHandler } from '#ec2/handlers/ec2-copy-completed';
import { createEc2CopyStepHandler } from '#ec2/handlers/ec2-copy-step';
import { imageCopies } from '#ec2/images/image-copies';
import { snapshotCopies } from '#ec2/snapshots/snapshot-copies';
import { createEc2ClientFactory } from '#foundation/aws-clients';
import { createPowertools } from '#foundation/observability/powertools';
import { memorySlots, memoryWaiters } from '#test/support/copy-waits';
import { snapshotCopyJob } from '#test/support/ec2-jobs';
import { lambdaContext, recordingLog, recordingMetrics } from '#test/support/fixtures';

const sfn = mockClient(SFNClient);
const ec2 = mockClient(EC2Client);
afterEach(() => {
  sfn.reset();
  ec2.reset();
});

const NOW = Date.parse('2026-12-03T08:00:00Z');
const COPY = 'snap-0c0c0c0c0c0c0c0c1';
const TOKEN = 'token-1';
const EXECUTION = 'arn:aws:states:us-east-1:111122223333:execution:ferry-prod-snapshot-copy:x';

const copySnapshotEvent = (result: 'succeeded' | 'failed', event = 'copySnapshot') => ({
  version: '0',
  id: '01234567-0123-0123-0123-012345678901',
  'detail-type': 'EBS Snapshot Notification',
  source: 'aws.ec2',
  account: '111122223333',
  time: '2026-12-03T08:00:00Z',
  region: 'us-west-2',
  resources: [`arn:aws:ec2::us-west-2:snapshot/${COPY}`],
  detail: {
    event,
    result,
    cause: '',
    'request-id': '',
    snapshot_id: `arn:aws:ec2::us-west-2:snapshot/${COPY}`,
    source: 'arn:aws:ec2::us-east-1:snapshot/snap-0a1b2c3d4e5f60718',
    startTime: '2026-12-03T07:00:00Z',
    endTime: '2026-12-03T08:00:00Z',
  },
});

function completionHandler(waiters: CopyWaiters, now = NOW, slots = memorySlots()) {
  const invoke = createEc2CopyCompletedHandler(createPowertools(), {
    waiters,
    slots,
    callbacks: stepFunctionsTaskCallbacks(new SFNClient({ region: 'us-east-1' })),
    log: recordingLog(),
    now: () => now,
  });
  return (event: unknown) => invoke(event as never, lambdaContext);
}

const successOutputs = () =>
  sfn.commandCalls(SendTaskSuccessCommand).map((call) => ({
    token: call.args[0].input.taskToken,
    output: JSON.parse(call.args[0].input.output ?? 'null'),
  }));

describe('ec2CopyCompleted', () => {
  it('sends the waiting task its signal, then removes the waiter', async () => {
    sfn.on(SendTaskSuccessCommand).resolves({});
    const waiters = memoryWaiters();
    await waiters.put(waiterOf('us-west-2', COPY, TOKEN, EXECUTION, NOW, 300));
    const run = completionHandler(waiters);

    await expect(run(copySnapshotEvent('failed'))).resolves.toMatchObject({ outcome: 'signalled' });
    expect(successOutputs()).toEqual([
      { token: TOKEN, output: { copyId: COPY, outcome: 'failed', by: 'event' } },
    ]);
    expect(waiters.items.size).toBe(0);

    // The same event again (EventBridge delivers at least once): nothing waits any more.
    await expect(run(copySnapshotEvent('failed'))).resolves.toMatchObject({ outcome: 'no-waiter' });
    expect(successOutputs()).toHaveLength(1);
  });

  it('takes a task that already ended (TaskTimedOut) as done, and removes its waiter', async () => {
    sfn.on(SendTaskSuccessCommand).rejects(Object.assign(new Error('closed'), { name: 'TaskTimedOut' }));
    const waiters = memoryWaiters();
    await waiters.put(waiterOf('us-west-2', COPY, TOKEN, EXECUTION, NOW, 300));
    await expect(completionHandler(waiters)(copySnapshotEvent('succeeded'))).resolves.toMatchObject({
      outcome: 'gone',
    });
    expect(waiters.items.size).toBe(0);
  });

  it('ignores an expired waiter that TTL has not deleted yet (DynamoDB still returns it)', async () => {
    const waiters = memoryWaiters();
    const waiter = waiterOf('us-west-2', COPY, TOKEN, EXECUTION, NOW, 300);
    await waiters.put(waiter);
    const later = waiter.expiresAt * 1000 + 1;
    await expect(completionHandler(waiters, later)(copySnapshotEvent('succeeded'))).resolves.toMatchObject({
      outcome: 'no-waiter',
    });
    expect(sfn.commandCalls(SendTaskSuccessCommand)).toHaveLength(0);
  });

  describe('the slot a copy frees', () => {
    const queue = slotQueueKey('us-west-2', 'snapshot');
    const slotWaiter = (name: string, queuedAt: number, expiresAt = NOW / 1000 + 600): SlotWaiter => ({
      key: `slot/${queue}/${name}`,
      queue,
      queuedAt,
      taskToken: `token-${name}`,
      execution: name,
      expiresAt,
    });

    it('wakes the oldest copy waiting for a slot in that Region, once however often the event comes', async () => {
      sfn.on(SendTaskSuccessCommand).resolves({});
      const slots = memorySlots();
      for (const waiter of [
        slotWaiter('newer', NOW - 10_000),
        slotWaiter('oldest', NOW - 60_000),
        { ...slotWaiter('other-region', NOW - 90_000), queue: slotQueueKey('eu-west-1', 'snapshot') },
        { ...slotWaiter('an-ami', NOW - 90_000), queue: slotQueueKey('us-west-2', 'image') },
      ])
        await slots.put(waiter);
      const run = completionHandler(memoryWaiters(), NOW, slots);
      await expect(run(copySnapshotEvent('succeeded'))).resolves.toMatchObject({
        outcome: 'no-waiter',
        slot: { outcome: 'woken', execution: 'oldest', skipped: 0 },
      });
      expect(successOutputs()).toEqual([{ token: 'token-oldest', output: { woken: COPY } }]);
      expect([...slots.items.keys()]).not.toContain(`slot/${queue}/oldest`);
      // The same event again: the slot was handed on already, no second copy is woken for it.
      await expect(run(copySnapshotEvent('succeeded'))).resolves.toMatchObject({
        slot: { outcome: 'claimed' },
      });
      expect(successOutputs()).toHaveLength(1);
    });

    it('skips a closed token (its task timed out and started again) and an expired one, and wakes the next', async () => {
      sfn
        .on(SendTaskSuccessCommand, { taskToken: 'token-closed' })
        .rejects(Object.assign(new Error('closed'), { name: 'TaskTimedOut' }))
        .on(SendTaskSuccessCommand, { taskToken: 'token-next' })
        .resolves({});
      const slots = memorySlots();
      await slots.put(slotWaiter('expired', NOW - 90_000, NOW / 1000 - 1));
      await slots.put(slotWaiter('closed', NOW - 60_000));
      await slots.put(slotWaiter('next', NOW - 30_000));
      await expect(
        completionHandler(memoryWaiters(), NOW, slots)(copySnapshotEvent('failed')),
      ).resolves.toMatchObject({ slot: { outcome: 'woken', execution: 'next', skipped: 2 } });
      // The expired waiter is not called at all; the closed one was tried; all three are gone.
      expect(successOutputs().map(({ token }) => token)).toEqual(['token-closed', 'token-next']);
      expect(slots.items.size).toBe(0);
    });
  });

  it('skips snapshot events that are not a copy result, and refuses what is not a copy event', async () => {
    const run = completionHandler(memoryWaiters());
    await expect(run(copySnapshotEvent('succeeded', 'createSnapshot'))).resolves.toMatchObject({
      outcome: 'skipped',
    });
    await expect(
      run({ ...copySnapshotEvent('succeeded'), 'detail-type': 'Something Else' }),
    ).rejects.toThrow();
  });
});

describe('the await step (AwaitCopy)', () => {
  const job = snapshotCopyJob({});
  const copy = {
    id: COPY,
    startedAt: NOW - 60_000,
    deadline: NOW + 72 * 3_600_000,
    state: 'pending' as const,
    progress: 10,
    waitSeconds: 30,
    safetySeconds: 600,
  };
  const step = (waiters?: CopyWaiters) => {
    const deps: Ec2CopyStepDeps = {
      ec2: createEc2ClientFactory(),
      kinds: { snapshot: snapshotCopies, image: imageCopies },
      log: recordingLog(),
      metrics: recordingMetrics(),
      now: () => NOW,
      ...(waiters
        ? {
            await: {
              waiters,
              slots: memorySlots(),
              callbacks: stepFunctionsTaskCallbacks(new SFNClient({ region: 'us-east-1' })),
            },
          }
        : {}),
    };
    const invoke = createEc2CopyStepHandler(createPowertools(), deps);
    return (input: unknown) => invoke(input as never, lambdaContext);
  };
  const input = { action: 'await', job, copy, taskToken: TOKEN, execution: EXECUTION };
  const snapshotIn = (State: 'pending' | 'completed') =>
    ec2.on(DescribeSnapshotsCommand).resolves({
      Snapshots: [
        {
          SnapshotId: COPY,
          State,
          Progress: State === 'completed' ? '100%' : '40%',
          StartTime: new Date(copy.startedAt),
        },
      ],
    });

  it('stores the token and leaves the task waiting while the copy is pending', async () => {
    snapshotIn('pending');
    const waiters = memoryWaiters();
    await expect(step(waiters)(input)).resolves.toEqual({ stored: `${job.destination.region}/${COPY}` });
    expect(waiters.items.get(`${job.destination.region}/${COPY}`)).toMatchObject({
      taskToken: TOKEN,
      execution: EXECUTION,
      // TTL an hour after the task's own timeout, the copy's safety check.
      expiresAt: NOW / 1000 + 600 + 3600,
    });
    expect(sfn.commandCalls(SendTaskSuccessCommand)).toHaveLength(0);
  });

  it('keeps a waiter for the 6 h ceiling when the copy comes from an execution started before safetySeconds', async () => {
    snapshotIn('pending');
    const waiters = memoryWaiters();
    const { safetySeconds: _, ...older } = copy;
    await step(waiters)({ ...input, copy: older });
    expect(waiters.items.get(`${job.destination.region}/${COPY}`)?.expiresAt).toBe(
      NOW / 1000 + 6 * 3600 + 3600,
    );
  });

  it('signals itself when the copy ended before the token was stored (the event found no waiter)', async () => {
    snapshotIn('completed');
    sfn.on(SendTaskSuccessCommand).resolves({});
    const waiters = memoryWaiters();
    await expect(step(waiters)(input)).resolves.toMatchObject({ settled: 'completed' });
    expect(successOutputs()).toEqual([
      { token: TOKEN, output: { copyId: COPY, outcome: 'completed', by: 'await-check' } },
    ]);
    expect(waiters.items.size).toBe(0);
  });

  it('refuses to wait by event without the waiter table', async () => {
    snapshotIn('pending');
    await expect(step()(input)).rejects.toThrow(CopyWaitersTableMissingError);
  });
});
