import {
  CreateSnapshotCommand,
  DescribeSnapshotsCommand,
  type Snapshot,
  type Tag,
} from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Ec2CopyJob } from '#ec2/copy-machine/contract';
import { MARKER } from '#ec2/markers';
import { type Sandbox, startSandbox } from '#local/sandbox';
import { type Execution, statesEnteredOf } from '#local/step-functions';
import { configFrom } from '#test/support/fixtures';
import { SLOT_WAIT_STATES } from '../../statemachines/ec2-copy.ts';

/**
 * The real snapshot-created handler, the real snapshot-copy machine (`statemachines/ec2-copy.ts`) and the real copy
 * steps, against the sandbox's fake EC2: copies progress on the virtual clock, so hours pass in moments.
 */

const MiB = 1024 * 1024;
const COPY_BYTES_PER_SECOND = 8 * MiB; // an 8 GiB volume copies in 1,024 s of virtual time

const CONFIG = configFrom(`
rules:
  - name: ebs-to-dr
    snapshots: { regions: [us-east-1], tags: { backup: dr } }
    to:
      - region: us-west-2
        tags: { copied-by: ferry }
        retain: { count: 2 }
  - name: ebs-archive
    snapshots: { regions: [us-east-1], tags: { backup: archive } }
    to:
      - region: eu-west-1
        archive: true
  - name: ebs-secret
    snapshots: { regions: [us-east-1], tags: { backup: secret } }
    to:
      - region: us-west-2
        kmsKeyId: alias/dr-ebs
  - name: ebs-bad-key
    snapshots: { regions: [us-east-1], tags: { backup: bad-key } }
    to:
      - region: us-west-2
        kmsKeyId: alias/does-not-exist
`);

let sandbox: Sandbox;
const ended: Execution[] = [];
const east = () => sandbox.ec2Client('us-east-1');

beforeAll(async () => {
  sandbox = await startSandbox({
    config: CONFIG,
    port: 0,
    onExecutionEnd: (execution) => ended.push(execution),
    ec2: { copyBytesPerSecond: COPY_BYTES_PER_SECOND, kmsKeys: { 'us-west-2': ['alias/dr-ebs'] } },
  });
});
afterAll(() => sandbox.stop());

const tags = (map: Record<string, string>): Tag[] =>
  Object.entries(map).map(([Key, Value]) => ({ Key, Value }));
const tagsOf = (snapshot: Snapshot) => Object.fromEntries((snapshot.Tags ?? []).map((t) => [t.Key, t.Value]));

/** Creates a snapshot of a fresh (or the given) volume in us-east-1, and lets the pipeline run. */
async function createSnapshot(
  snapshotTags: Record<string, string>,
  volume: { id?: string; sizeGiB?: number; encrypted?: boolean } = {},
  settle = true,
): Promise<{ snapshotId: string; volumeId: string }> {
  const volumeId =
    volume.id ??
    sandbox.ec2.createVolume('us-east-1', {
      sizeGiB: volume.sizeGiB ?? 8,
      encrypted: volume.encrypted ?? false,
    });
  const { SnapshotId } = await east().send(
    new CreateSnapshotCommand({
      VolumeId: volumeId,
      Description: 'nightly',
      TagSpecifications: [{ ResourceType: 'snapshot', Tags: tags(snapshotTags) }],
    }),
  );
  if (settle) await sandbox.settle();
  return { snapshotId: SnapshotId ?? '', volumeId };
}

const executionsOf = (sourceId: string) =>
  [...sandbox.stepFunctions.executions.values()].filter(
    (execution) => (execution.input as Ec2CopyJob).source.id === sourceId,
  );

async function copiesOf(sourceId: string, region = 'us-west-2'): Promise<Snapshot[]> {
  const { Snapshots } = await sandbox.ec2Client(region).send(
    new DescribeSnapshotsCommand({
      OwnerIds: ['self'],
      Filters: [{ Name: `tag:${MARKER.sourceId}`, Values: [sourceId] }],
    }),
  );
  return Snapshots ?? [];
}

/**
 * How often EC2 refused to start the copy, so it waited for a slot (the queue loop, not a Retry): timed
 * (throttled), or woken by a copy's end or its timeout (the limit).
 */
const queueWaits = (execution: Execution | undefined) =>
  execution ? statesEnteredOf(execution).filter((state) => SLOT_WAIT_STATES.includes(state)).length : 0;

describe('snapshot-copy state machine on the sandbox', () => {
  it('copies a created snapshot to the destination Region, with its tags, and notices the end promptly', async () => {
    const { snapshotId } = await createSnapshot({ backup: 'dr', team: 'data' });

    const [execution] = executionsOf(snapshotId);
    expect(execution?.status).toBe('SUCCEEDED');
    const [copy, ...others] = await copiesOf(snapshotId);
    expect(others).toEqual([]);
    expect(copy?.State).toBe('completed');
    expect(copy?.Description).toBe(`nightly (copy of ${snapshotId} from us-east-1)`);
    expect(tagsOf(copy ?? {})).toMatchObject({
      backup: 'dr',
      team: 'data',
      'copied-by': 'ferry',
      [MARKER.sourceId]: snapshotId,
      [MARKER.rule]: 'ebs-to-dr',
    });

    // 1,024 s of copy, waited for by its completion event as deployed: a handful of states, and the end
    // noticed within a minute.
    expect(statesEnteredOf(execution as Execution)).toContain('AwaitCopy');
    expect(statesEnteredOf(execution as Execution).length).toBeLessThanOrEqual(40);
    const copySeconds = (8 * 1024 * MiB) / COPY_BYTES_PER_SECOND;
    expect((execution?.virtualDurationMs ?? 0) / 1000).toBeGreaterThanOrEqual(copySeconds);
    expect((execution?.virtualDurationMs ?? 0) / 1000).toBeLessThanOrEqual(copySeconds + 60);
  });

  it('keeps the newest copies per volume (retain count 2) and never touches snapshots Ferry did not copy', async () => {
    const volumeId = sandbox.ec2.createVolume('us-east-1', { sizeGiB: 8 });
    // A look-alike in the destination: Ferry's group tag, but not made by a Ferry rule.
    const westVolume = sandbox.ec2.createVolume('us-west-2', { sizeGiB: 8 });
    const { SnapshotId: lookAlike } = await sandbox.ec2Client('us-west-2').send(
      new CreateSnapshotCommand({
        VolumeId: westVolume,
        TagSpecifications: [{ ResourceType: 'snapshot', Tags: tags({ [MARKER.group]: volumeId }) }],
      }),
    );
    const sources: string[] = [];
    for (let night = 0; night < 4; night += 1) {
      sources.push((await createSnapshot({ backup: 'dr' }, { id: volumeId })).snapshotId);
    }

    const remaining = await Promise.all(sources.map((id) => copiesOf(id)));
    expect(remaining.map((copies) => copies.length)).toEqual([0, 0, 1, 1]);
    expect(sandbox.metrics.prunedCopies).toBeGreaterThanOrEqual(2);
    expect(sandbox.ec2.snapshot('us-west-2', lookAlike ?? '')?.state).toBe('completed');
  });

  it('moves the copy to the archive tier when the destination says archive', async () => {
    const { snapshotId } = await createSnapshot({ backup: 'archive' });
    const [copy] = await copiesOf(snapshotId, 'eu-west-1');
    expect(copy?.State).toBe('completed');
    expect(copy?.StorageTier).toBe('archive');
  });

  it('encrypts the copy under the destination key', async () => {
    const { snapshotId } = await createSnapshot({ backup: 'secret' }, { encrypted: true });
    const [copy] = await copiesOf(snapshotId);
    expect(executionsOf(snapshotId)[0]?.status).toBe('SUCCEEDED');
    expect(copy?.Encrypted).toBe(true);
    expect(copy?.KmsKeyId).toContain('dr-ebs');
  });

  it('fails with EC2 own reason when the copy goes to error (a key the Region does not have), and removes it', async () => {
    const failuresBefore = sandbox.metrics.failures.get('CopyFailed') ?? 0;
    const { snapshotId } = await createSnapshot({ backup: 'bad-key' });

    const [execution] = executionsOf(snapshotId);
    expect(execution?.status).toBe('FAILED');
    expect(execution?.error?.Error).toBe('SnapshotCopyFailed');
    expect(execution?.error?.Cause).toMatch(/key/i);
    expect(await copiesOf(snapshotId)).toEqual([]);
    expect(sandbox.metrics.failures.get('CopyFailed')).toBe(failuresBefore + 1);
  });

  it("copies a source carrying EC2's 50 tags: markers and the rule's tags first, then the source's in key order", async () => {
    // 49 user tags and backup=dr: the copy has room for 45 of them beside copied-by and the 4 markers.
    const user = Object.fromEntries(
      Array.from({ length: 49 }, (_, i) => [`user-${String(49 - i).padStart(2, '0')}`, `v${i}`]),
    );
    const { snapshotId } = await createSnapshot({ ...user, backup: 'dr' });

    const [execution] = executionsOf(snapshotId);
    expect(execution?.status).toBe('SUCCEEDED');
    const [copy] = await copiesOf(snapshotId);
    const copyTags = tagsOf(copy ?? {});
    expect(Object.keys(copyTags)).toHaveLength(50);
    expect(copyTags).toMatchObject({ 'copied-by': 'ferry', backup: 'dr', [MARKER.rule]: 'ebs-to-dr' });
    const copiedUser = Object.keys(copyTags)
      .filter((key) => key.startsWith('user-'))
      .sort();
    expect(copiedUser).toEqual(
      Array.from({ length: 44 }, (_, i) => `user-${String(i + 1).padStart(2, '0')}`),
    );
  });

  it("fails a copy whose rule's tags cannot fit beside Ferry's markers with TooManyTags, before asking EC2", async () => {
    // A job as a configuration with 47 tags for every copy would make it (markers make 51).
    const { snapshotId, volumeId } = await createSnapshot({ backup: 'none' });
    const job: Ec2CopyJob = {
      kind: 'snapshot',
      rule: 'ebs-to-dr',
      destinationIndex: 0,
      destination: {
        region: 'us-west-2',
        copyTags: true,
        tags: Object.fromEntries(Array.from({ length: 47 }, (_, i) => [`set-${i}`, 'x'])),
      },
      source: {
        id: snapshotId,
        region: 'us-east-1',
        account: '000000000000',
        encrypted: false,
        description: 'nightly',
        volumeId,
        sizeGiB: 8,
        tags: { backup: 'none' },
      },
      eventTime: new Date(sandbox.clock.now()).toISOString(),
    };
    const copyRequests = sandbox.ec2.requests.get('CopySnapshot') ?? 0;
    const failures = sandbox.metrics.failures.get('TooManyTags') ?? 0;
    const { execution } = sandbox.stepFunctions.start('snapshot-copy', `too-many-tags-${snapshotId}`, job);
    await sandbox.settle();

    expect(execution.status).toBe('FAILED');
    expect(JSON.stringify(execution.error)).toContain('TooManyTags');
    expect(JSON.stringify(execution.error)).toContain('51 tags, EC2 allows 50');
    expect(sandbox.ec2.requests.get('CopySnapshot') ?? 0).toBe(copyRequests);
    expect(sandbox.metrics.failures.get('TooManyTags')).toBe(failures + 1);
    expect(await copiesOf(snapshotId)).toEqual([]);
  });

  it('retries a throttled copy call and throttled checks, then completes', async () => {
    sandbox.ec2.faults.script('CopySnapshot', 'throttle', 'throttle', 'throttle');
    sandbox.ec2.faults.script('DescribeSnapshots', 'throttle', 'throttle');
    const { snapshotId } = await createSnapshot({ backup: 'dr' });

    const [execution] = executionsOf(snapshotId);
    expect(execution?.status).toBe('SUCCEEDED');
    // The copy call never retries inside the SDK (a lost answer would copy twice): a refused call queues
    // the copy for a short backoff, and the machine starts it again.
    expect(queueWaits(execution)).toBe(3);
    expect(sandbox.metrics.queuedCopies.get('throttled')).toBeGreaterThanOrEqual(3);
    expect(await copiesOf(snapshotId)).toHaveLength(1);
  });

  it('queues on ResourceLimitExceeded and completes once the limit clears', async () => {
    sandbox.ec2.faults.script('CopySnapshot', 'limit', 'limit', 'limit', 'limit');
    const { snapshotId } = await createSnapshot({ backup: 'dr' });

    const [execution] = executionsOf(snapshotId);
    expect(execution?.status).toBe('SUCCEEDED');
    expect(queueWaits(execution)).toBe(4);
    expect(execution?.retries.get('StartCopy') ?? 0).toBe(0);
    expect(await copiesOf(snapshotId)).toHaveLength(1);
  });

  it('abandons a copy still pending at its deadline, removes it and reports why', async () => {
    // 16 TiB at 8 MiB/s would take 24 days: past the 72 h deadline.
    const { snapshotId } = await createSnapshot({ backup: 'dr' }, { sizeGiB: 16 * 1024 });

    const [execution] = executionsOf(snapshotId);
    expect(execution?.status).toBe('FAILED');
    expect(execution?.error?.Error).toBe('CopyDeadlineExceededError');
    expect(await copiesOf(snapshotId)).toEqual([]);
    // Waiting 72 h still costs few transitions: by event, with no event to come, the safety check at 6 h,
    // then at the deadline (1 % after 6 h promises an end far past it, and the deadline is the ceiling),
    // 3 states each: 2 checks, where a 12 h ceiling made 7 and one every 6 h 12
    // (src/ec2/copy-machine/safety-check.ts).
    expect(statesEnteredOf(execution as Execution).length).toBeLessThanOrEqual(3 + 3 * 2 + 3);
  });

  it('resumes, without copying twice, when the answer to CopySnapshot is lost (a crash before the first check)', async () => {
    sandbox.ec2.faults.script('CopySnapshot', 'lost-answer');
    const { snapshotId } = await createSnapshot({ backup: 'dr' });

    const [execution] = executionsOf(snapshotId);
    expect(execution?.status).toBe('SUCCEEDED');
    // The first start made the copy but never heard back; the retried start found it by Ferry's tags.
    expect(execution?.retries.get('StartCopy')).toBe(1);
    expect((execution?.output as { copy?: { resumed?: boolean } } | undefined)?.copy?.resumed).toBe(true);
    expect(await copiesOf(snapshotId)).toHaveLength(1);
  });

  it.each(['start', 'check', 'finalize'])(
    'completes the copy, once, when the step dies without answering in %s (Lambda.Unknown)',
    async (action) => {
      // The runtime dies after the step did its work (the copy started, checked, or tagged and pruned): Step
      // Functions sees Lambda.Unknown, and every EC2 step is safe to run again (start finds its copy by tags,
      // check reads, finalize verifies before it writes), so the machine retries it instead of failing a copy
      // that is, or will be, complete.
      sandbox.crashes.crashOnce({
        function: 'Ec2CopyStepLambdaFunction',
        when: (input) => (input as { action?: string }).action === action,
      });
      const crashesBefore = sandbox.crashes.crashed.length;
      const { snapshotId } = await createSnapshot({ backup: 'dr' });

      expect(sandbox.crashes.crashed.length).toBe(crashesBefore + 1);
      const [execution] = executionsOf(snapshotId);
      expect(execution?.status).toBe('SUCCEEDED');
      const [copy, ...others] = await copiesOf(snapshotId);
      expect(others).toEqual([]);
      expect(copy?.State).toBe('completed');
      expect(tagsOf(copy ?? {})).toMatchObject({ [MARKER.sourceId]: snapshotId, [MARKER.rule]: 'ebs-to-dr' });
    },
  );

  it('copies once when the same event arrives twice', async () => {
    const { snapshotId } = await createSnapshot({ backup: 'dr' });
    const event = sandbox.ec2.events.find(
      (e) => JSON.stringify(e).includes(snapshotId) && JSON.stringify(e).includes('createSnapshot'),
    );
    expect(event).toBeDefined();
    sandbox.bus.put(event);
    await sandbox.settle();

    expect(executionsOf(snapshotId)).toHaveLength(1);
    expect(await copiesOf(snapshotId)).toHaveLength(1);
  });

  it('copies a burst larger than the 20-copy limit, never more than 20 at once, losing nothing', async () => {
    const limitedBefore = [...sandbox.stepFunctions.executions.values()].reduce(
      (sum, e) => sum + queueWaits(e),
      0,
    );
    const burst = await Promise.all(
      Array.from({ length: 30 }, () => createSnapshot({ backup: 'archive' }, {}, false)),
    );
    await sandbox.settle();

    for (const { snapshotId } of burst) {
      expect(executionsOf(snapshotId).map((e) => e.status)).toEqual(['SUCCEEDED']);
      expect((await copiesOf(snapshotId, 'eu-west-1')).map((c) => c.State)).toEqual(['completed']);
    }
    const limited = [...sandbox.stepFunctions.executions.values()].reduce((sum, e) => sum + queueWaits(e), 0);
    expect(limited - limitedBefore).toBeGreaterThan(0);
    expect(sandbox.ec2.peakConcurrentCopies('eu-west-1')).toBeLessThanOrEqual(20);
  });

  it('skips copySnapshot events and the copies Ferry made', async () => {
    const copied = sandbox.ec2.events.filter((e) => JSON.stringify(e).includes('"copySnapshot"'));
    expect(copied.length).toBeGreaterThan(0);
    const before = sandbox.stepFunctions.executions.size;
    for (const event of copied.slice(0, 3)) sandbox.bus.put(event);
    await sandbox.settle();
    expect(sandbox.stepFunctions.executions.size).toBe(before);
  });
});
