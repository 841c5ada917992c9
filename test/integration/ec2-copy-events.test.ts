import { CreateImageCommand, CreateSnapshotCommand, type Tag } from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Ec2CopyJob } from '#ec2/copy-machine/contract';
import { FIRST_CHECK_SECONDS } from '#ec2/copy-machine/safety-check';
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

/** The table's copy and slot waiters; the `freed/…` claims stay until their TTL, as in DynamoDB. */
const waitersLeft = (box: Sandbox) =>
  box.dynamoDb
    .items(SANDBOX_COPY_WAITERS_TABLE)
    .filter((item) => !String(item.copyKey?.S).startsWith('freed/'));

/** A sandbox of CONFIG waiting by event, its copies at COPY_BYTES_PER_SECOND. */
const startEventDriven = () =>
  startSandbox({
    config: CONFIG,
    port: 0,
    ec2: { copyBytesPerSecond: COPY_BYTES_PER_SECOND },
    ec2Completion: 'events',
  });

beforeAll(async () => {
  sandbox = await startEventDriven();
});
afterAll(() => sandbox.stop());

const tags = (map: Record<string, string>): Tag[] =>
  Object.entries(map).map(([Key, Value]) => ({ Key, Value }));

async function createSnapshot(on = sandbox, backup = 'dr', sizeGiB = 8): Promise<string> {
  const volumeId = on.ec2.createVolume('us-east-1', { sizeGiB, encrypted: false });
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

/** The errors `state` caught (AwaitCopy's States.Timeout: its safety check; AwaitSlot's: its turn passed). */
const caughtIn = (execution: { events: unknown[] } | undefined, state: string) =>
  (execution?.events ?? []).filter((event) => {
    const caught = event as { type: string; state?: { name: string } };
    return caught.type === 'StateCaught' && caught.state?.name === state;
  });

/** How many of the execution's AwaitCopy waits ended at their safety check. */
const timedOutWaits = (execution: { events: unknown[] } | undefined) =>
  caughtIn(execution, 'AwaitCopy').filter((event) => JSON.stringify(event).includes('States.Timeout')).length;

/**
 * A copy followed by event to its end: Enqueue, StartCopy, IsCopyStarted, one AwaitCopy → CheckCopy →
 * IsCopyDone loop per safety check met and one for the event, then Finalize; ended within a minute of the copy.
 */
function expectFollowedByEvent(
  execution: ReturnType<typeof executionOf>,
  checks: number,
  copySeconds: number,
) {
  expect(execution?.status).toBe('SUCCEEDED');
  const loop = ['AwaitCopy', 'CheckCopy', 'IsCopyDone'];
  expect(statesEnteredOf(execution ?? { events: [] })).toEqual([
    'Enqueue',
    'StartCopy',
    'IsCopyStarted',
    ...Array.from({ length: checks + 1 }, () => loop).flat(),
    'Finalize',
  ]);
  expect(timedOutWaits(execution)).toBe(checks);
  const seconds = (execution?.virtualDurationMs ?? 0) / 1000;
  expect(seconds).toBeGreaterThanOrEqual(copySeconds);
  expect(seconds).toBeLessThanOrEqual(copySeconds + 60);
}

/** Waits (in real time) until the execution of `sourceId` has entered AwaitCopy. */
async function untilAwaiting(sourceId: string, on: Sandbox) {
  for (
    let i = 0;
    i < 500 && !statesEnteredOf(executionOf(sourceId, on) ?? { events: [] }).includes('AwaitCopy');
    i++
  )
    await new Promise((resolve) => setTimeout(resolve, 2));
}

/** Settles the sandbox with every event lost (the bus paused): no completion event reaches the handler. */
async function settleLosingEvents(on: Sandbox) {
  on.bus.pause();
  await on.settle();
  on.bus.resume();
}

/** Starts a snapshot's copy, then loses every event from the moment its AwaitCopy is entered. */
async function loseTheCopysEvent(sizeGiB: number, on = sandbox) {
  const snapshotId = await createSnapshot(on, 'dr', sizeGiB);
  await untilAwaiting(snapshotId, on);
  await settleLosingEvents(on);
  return executionOf(snapshotId, on);
}

describe('snapshot copies waited for by event on the sandbox', () => {
  it('notices the end by its copySnapshot event: 7 transitions, within a minute, no waiter left', async () => {
    const snapshotId = await createSnapshot();
    await sandbox.settle();
    // The 1,024 s copy ends long before its first safety check (6 h): its event alone ends the wait.
    expectFollowedByEvent(executionOf(snapshotId), 0, COPY_SECONDS);
    expect(waitersLeft(sandbox)).toEqual([]);
  });

  it('ends a failed copy by its failed event, through CheckCopy to RecordFailure', async () => {
    sandbox.ec2.faults.script('CopySnapshot', 'copy-error');
    const snapshotId = await createSnapshot();
    await sandbox.settle();
    const execution = executionOf(snapshotId);
    expect(execution?.status).toBe('FAILED');
    expect(execution?.error?.Error).toBe('SnapshotCopyFailed');
    const states = statesEnteredOf(execution ?? { events: [] });
    expect(states.slice(states.lastIndexOf('AwaitCopy'), states.indexOf('CopyErrored') + 1)).toEqual([
      'AwaitCopy',
      'CheckCopy',
      'IsCopyDone',
      'CopyErrored',
    ]);
    // The copy fails at its end (1,024 s): noticed by the event, the last wait not ended by a safety check.
    expect(timedOutWaits(execution)).toBe(states.filter((state) => state === 'AwaitCopy').length - 1);
    expect((execution?.virtualDurationMs ?? 0) / 1000).toBeLessThanOrEqual(COPY_SECONDS + 60);
  });

  it('loses the event of a 1,024 s copy and still finishes it at the first safety check, 6 h after its start', async () => {
    const execution = await loseTheCopysEvent(8);
    expect(execution?.status).toBe('SUCCEEDED');
    const states = statesEnteredOf(execution ?? { events: [] });
    expect(states.filter((state) => state === 'AwaitCopy')).toHaveLength(1);
    expect(timedOutWaits(execution)).toBe(1);
    expect(states.slice(-3)).toEqual(['CheckCopy', 'IsCopyDone', 'Finalize']);
    const seconds = (execution?.virtualDurationMs ?? 0) / 1000;
    expect(seconds).toBeGreaterThanOrEqual(FIRST_CHECK_SECONDS);
    expect(seconds).toBeLessThanOrEqual(FIRST_CHECK_SECONDS + 60);
    // The waiter of the lost event stays until its TTL, an hour after its wait's timeout.
    const [waiter, ...others] = waitersLeft(sandbox);
    expect(others).toEqual([]);
    expect(waiter?.expiresAt?.N).toMatch(/^\d+$/);
    const expiresInSeconds = Number(waiter?.expiresAt?.N) - sandbox.clock.now() / 1000;
    expect(expiresInSeconds).toBeLessThanOrEqual(3600 + 1);
    sandbox.dynamoDb.drop(SANDBOX_COPY_WAITERS_TABLE, () => true);
  });

  // 563 GiB at 8 MiB/s: 72,064 s, about 20 h.
  const LONG_GIB = 563;
  const LONG_SECONDS = (LONG_GIB * 1024 * MiB) / COPY_BYTES_PER_SECOND;

  it('follows a 20 h copy with one safety check, at 6 h, then its event: 10 transitions', async () => {
    const snapshotId = await createSnapshot(sandbox, 'dr', LONG_GIB);
    await sandbox.settle();
    // At 6 h, 29 % says a steady copy ends by 20.7 h: the next check waits until 10 % of that past it (no
    // ceiling below the deadline), and the event comes first. A 12 h ceiling met 2 (13), checks every 6 h 3.
    expectFollowedByEvent(executionOf(snapshotId), 1, LONG_SECONDS);
    expect(waitersLeft(sandbox)).toEqual([]);
  });

  it('loses the event of a 20 h copy, the sweep down, and notices its end within about a tenth of the copy, by its progress', async () => {
    const execution = await loseTheCopysEvent(LONG_GIB);
    expect(execution?.status).toBe('SUCCEEDED');
    const states = statesEnteredOf(execution ?? { events: [] });
    // Every wait ended at its safety check: at 6 h, then 10 % of the copy after the latest end 29 % allows.
    expect(states.filter((state) => state === 'AwaitCopy')).toHaveLength(2);
    expect(timedOutWaits(execution)).toBe(2);
    const late = (execution?.virtualDurationMs ?? 0) / 1000 - LONG_SECONDS;
    expect(late).toBeGreaterThan(0);
    // A check every 6 h would have noticed it at 24 h, 4 h (20 % of the copy) late.
    expect(late).toBeLessThanOrEqual(0.15 * LONG_SECONDS);
    sandbox.dynamoDb.drop(SANDBOX_COPY_WAITERS_TABLE, () => true);
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
    expectFollowedByEvent(execution, 0, COPY_SECONDS);
  });
});

describe('the hourly copy sweep, when every completion event is lost', () => {
  const HOUR = 3600;
  // 1,351 GiB at 8 MiB/s: 172,928 s, about 48 h.
  const DAYS_GIB = 1351;
  const DAYS_SECONDS = (DAYS_GIB * 1024 * MiB) / COPY_BYTES_PER_SECOND;
  let swept: Sandbox;
  let stopSweep: () => void;
  beforeAll(async () => {
    swept = await startEventDriven();
    stopSweep = swept.copySweep.start();
  });
  afterAll(async () => {
    stopSweep();
    await swept.stop();
  });

  /** The copy was noticed by the sweep (its pass signalled it), within one period of its end. */
  function expectNoticedBySweep(execution: ReturnType<typeof executionOf>, copySeconds: number) {
    expect(execution?.status).toBe('SUCCEEDED');
    const late = (execution?.virtualDurationMs ?? 0) / 1000 - copySeconds;
    expect(late).toBeGreaterThan(0);
    expect(late).toBeLessThanOrEqual(HOUR + 60);
    const states = statesEnteredOf(execution ?? { events: [] });
    // Enqueue, StartCopy, IsCopyStarted, 3 per wait, Finalize: at most 10.
    expect(states.length).toBeLessThanOrEqual(10);
    expect(states.slice(-4)).toEqual(['AwaitCopy', 'CheckCopy', 'IsCopyDone', 'Finalize']);
    // The last wait was ended by a signal, not at its safety check.
    expect(timedOutWaits(execution)).toBe(states.filter((state) => state === 'AwaitCopy').length - 1);
  }

  it('ends the wait of a 1,024 s snapshot copy within the hour of its end: 7 transitions, the waiter removed', async () => {
    const before = swept.copySweep.passes.length;
    const execution = await loseTheCopysEvent(8, swept);
    expectNoticedBySweep(execution, COPY_SECONDS);
    expect(timedOutWaits(execution)).toBe(0);
    expect(statesEnteredOf(execution ?? { events: [] })).toHaveLength(7);
    const signalled = swept.copySweep.passes
      .slice(before)
      .flatMap((pass) => pass.ended)
      .filter((ended) => ended.outcome === 'signalled');
    expect(signalled).toHaveLength(1);
    expect(swept.copySweep.failures).toEqual([]);
    expect(waitersLeft(swept)).toEqual([]);
  });

  it('ends the wait of an AMI copy and a snapshot copy of the same hour, each by its own kind', async () => {
    const volumeId = swept.ec2.createVolume('us-east-1', { sizeGiB: 8 });
    const instanceId = swept.ec2.createInstance('us-east-1', [volumeId]);
    const { ImageId = '' } = await swept.ec2Client('us-east-1').send(
      new CreateImageCommand({
        InstanceId: instanceId,
        Name: 'web-swept',
        TagSpecifications: [{ ResourceType: 'image', Tags: tags({ dr: 'true' }) }],
      }),
    );
    const snapshotId = await createSnapshot(swept, 'dr', 16);
    await untilAwaiting(ImageId, swept);
    await untilAwaiting(snapshotId, swept);
    await settleLosingEvents(swept);
    expect(executionOf(ImageId, swept)?.stateMachine).toBe('image-copy');
    expectNoticedBySweep(executionOf(ImageId, swept), COPY_SECONDS);
    expectNoticedBySweep(executionOf(snapshotId, swept), 2 * COPY_SECONDS);
    expect(waitersLeft(swept)).toEqual([]);
  });

  it('ends the wait of a 48 h copy within the hour of its end, after its one safety check: 10 transitions', async () => {
    const execution = await loseTheCopysEvent(DAYS_GIB, swept);
    expectNoticedBySweep(execution, DAYS_SECONDS);
    expect(timedOutWaits(execution)).toBe(1);
    expect(waitersLeft(swept)).toEqual([]);
  });

  it('a 48 h copy whose event arrives meets one safety check, at 6 h: 10 transitions', async () => {
    const snapshotId = await createSnapshot(swept, 'dr', DAYS_GIB);
    await swept.settle();
    // At 6 h, 12 % says a steady copy ends by 50 h: the next check would come 5 h after that, past the event.
    expectFollowedByEvent(executionOf(snapshotId, swept), 1, DAYS_SECONDS);
    expect(waitersLeft(swept)).toEqual([]);
  });
});

describe('snapshot copies past the copy limit, woken by the copy that ends', () => {
  const LIMIT = 3;
  let box: Sandbox;
  beforeAll(async () => {
    box = await startSandbox({
      config: CONFIG,
      port: 0,
      ec2: { copyBytesPerSecond: COPY_BYTES_PER_SECOND, limits: { concurrentSnapshotCopies: LIMIT } },
      ec2Completion: 'events',
    });
  });
  afterAll(() => box.stop());

  async function burst(count: number): Promise<string[]> {
    const east = box.ec2Client('us-east-1');
    return Promise.all(
      Array.from({ length: count }, async () => {
        const { SnapshotId } = await east.send(
          new CreateSnapshotCommand({
            VolumeId: box.ec2.createVolume('us-east-1', { sizeGiB: 8 }),
            TagSpecifications: [{ ResourceType: 'snapshot', Tags: tags({ backup: 'dr' }) }],
          }),
        );
        return SnapshotId ?? '';
      }),
    );
  }
  const executionsOf = (ids: string[]) =>
    ids.map(
      (id) =>
        [...box.stepFunctions.executions.values()].find(
          (execution) => (execution.input as Ec2CopyJob).source.id === id,
        ) ?? { events: [], status: 'MISSING' },
    );
  /** Each copy started after the first `LIMIT`, against the completion whose slot it took. */
  const handoffSeconds = () => {
    const copies = box.ec2.snapshots('us-west-2');
    const starts = copies.map((copy) => copy.startTime).sort((a, b) => a - b);
    const ends = copies.map((copy) => copy.completionTime ?? Number.NaN).sort((a, b) => a - b);
    return starts.slice(LIMIT).map((start, n) => (start - (ends[n] ?? Number.NaN)) / 1000);
  };

  it('waits in AwaitSlot by token and starts within seconds of a slot freeing, the last wait ended by the wake-up', async () => {
    const ids = await burst(LIMIT + 3);
    await box.settle();
    const executions = executionsOf(ids);
    expect(executions.map((execution) => execution.status)).toEqual(ids.map(() => 'SUCCEEDED'));
    const queued = executions.filter((execution) => statesEnteredOf(execution).includes('AwaitSlot'));
    expect(queued).toHaveLength(3);
    for (const execution of queued) {
      const states = statesEnteredOf(execution);
      // Never the timed WaitForSlot. A wait may time out (the first, before EC2 reports progress, lasts a
      // minute), but the last one is ended by the copy that frees the slot.
      expect(states).not.toContain('WaitForSlot');
      const afterLastSlotWait = states.slice(states.lastIndexOf('AwaitSlot') + 1);
      expect(afterLastSlotWait.slice(0, 3)).toEqual(['StartCopy', 'IsCopyStarted', 'AwaitCopy']);
    }
    // Copies of 1,024 s: the wake-up takes each freed slot within seconds.
    for (const seconds of handoffSeconds()) expect(seconds).toBeLessThanOrEqual(5);
    expect(waitersLeft(box)).toEqual([]);
  });

  it('starts a copy whose wake-up was lost at its timeout, a bounded margin after its turn, and it still completes', async () => {
    for (const copy of box.ec2.snapshots('us-west-2')) expect(copy.completionTime).toBeDefined();
    const ids = await burst(LIMIT + 1);
    // Lose every slot waiter as soon as it is stored: no copy's end can wake the queued copy.
    let lost = 0;
    const losing = setInterval(() => {
      lost += box.dynamoDb.drop(SANDBOX_COPY_WAITERS_TABLE, (item) =>
        String(item.copyKey?.S).startsWith('slot/'),
      );
    }, 1);
    await box.settle();
    clearInterval(losing);
    expect(lost).toBeGreaterThanOrEqual(1);
    const executions = executionsOf(ids);
    expect(executions.map((execution) => execution.status)).toEqual(ids.map(() => 'SUCCEEDED'));
    const [late] = executions.filter((execution) => statesEnteredOf(execution).includes('AwaitSlot'));
    const states = statesEnteredOf(late ?? { events: [] });
    // Timed out into StartCopy (refused again or started): the execution went on, nothing failed.
    expect(states.filter((state) => state === 'StartCopy').length).toBeGreaterThanOrEqual(2);
    const timedOut = caughtIn(late, 'AwaitSlot');
    // Every wait ended at its timeout (its turn in the slot queue and a margin): the lost wake-up cost time,
    // not the copy.
    expect(timedOut.length).toBe(states.filter((state) => state === 'AwaitSlot').length);
    for (const event of timedOut) expect(JSON.stringify(event)).toContain('States.Timeout');
    // And only a bounded time: the late copy took the freed slot within the timeout's margin after its turn
    // (at most 2 min, and as much again in jitter), not a wave of copies later.
    const handoffs = handoffSeconds();
    const lateHandoff = handoffs.at(-1) ?? Number.NaN;
    expect(lateHandoff).toBeGreaterThan(0);
    expect(lateHandoff).toBeLessThanOrEqual(2 * 120 + 5);
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
    expect(waitersLeft(partner)).toEqual([]);
  });
});
