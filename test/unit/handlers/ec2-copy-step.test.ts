import {
  CopyImageCommand,
  CopySnapshotCommand,
  CreateTagsCommand,
  DeleteSnapshotCommand,
  DeregisterImageCommand,
  DescribeImagesCommand,
  DescribeSnapshotsCommand,
  EC2Client,
  type Image,
  ModifyImageAttributeCommand,
  ModifySnapshotAttributeCommand,
  ModifySnapshotTierCommand,
  type Snapshot,
} from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { nextWaitSeconds } from '#ec2/copy-machine/adaptive-wait';
import { type CopyProgress, clientTokenOf, type Ec2CopyJob } from '#ec2/copy-machine/contract';
import { QUEUE_BOUNDS } from '#ec2/copy-machine/copy-queue';
import { slotQueueOf } from '#ec2/copy-machine/slot-queue';
import type { Ec2CopyStepDeps } from '#ec2/copy-machine/step-deps';
import { createEc2CopyStepHandler } from '#ec2/handlers/ec2-copy-step';
import { imageCopies } from '#ec2/images/image-copies';
import { MARKER, tagMap } from '#ec2/markers';
import { snapshotCopies } from '#ec2/snapshots/snapshot-copies';
import { type AwsTarget, createEc2ClientFactory, type Ec2ClientFactory } from '#foundation/aws-clients';
import { createPowertools } from '#foundation/observability/powertools';
import { DEFAULT_IMAGE_DESCRIPTION } from '#rules/templates';
import { SNAPSHOT_ID as SNAP, snapshotCopyJob, VOLUME_ID as VOLUME } from '#test/support/ec2-jobs';
import { ec2Error, regionOf } from '#test/support/ec2-mocks';
import { lambdaContext, recordingLog, recordingMetrics } from '#test/support/fixtures';

const ec2 = mockClient(EC2Client);
// Every command answers as the SDK does, with a promise; each test sets the answers it is about.
beforeEach(() => ec2.onAnyCommand().resolves({}));
afterEach(() => ec2.reset());

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const NOW = Date.parse('2026-11-21T19:00:00Z');

const COPY = 'snap-0c0c0c0c0c0c0c0c1';

const snapshotJob = snapshotCopyJob({
  destination: {
    kmsKeyId: 'alias/dr-ebs',
    tags: { 'copied-by': 'ferry' },
    description: '{description} [{rule}] {sourceId} from {sourceRegion} ({volumeId}) on {date}',
    completionDurationMinutes: 120,
  },
  source: {
    encrypted: true,
    sizeGiB: 8,
    tags: { team: 'db', 'aws:backup:source-resource': 'vol', 'Ferry:note': 'mine' },
  },
});

/** The tags Ferry puts on every copy of `snapshotJob`. */
const SNAPSHOT_MARKERS = {
  [MARKER.sourceId]: SNAP,
  [MARKER.sourceRegion]: 'us-east-1',
  [MARKER.rule]: 'ebs-dr',
  [MARKER.group]: VOLUME,
};

const withDestination = (job: Ec2CopyJob, destination: Partial<Ec2CopyJob['destination']>): Ec2CopyJob => ({
  ...job,
  destination: { ...job.destination, ...destination },
});

const copySnapshot = (id: string, overrides: Partial<Snapshot> = {}): Snapshot => ({
  SnapshotId: id,
  State: 'completed',
  Progress: '100%',
  StartTime: new Date(NOW - HOUR),
  VolumeId: 'vol-ffffffff',
  Tags: Object.entries({ team: 'db', 'copied-by': 'ferry', ...SNAPSHOT_MARKERS }).map(([Key, Value]) => ({
    Key,
    Value,
  })),
  ...overrides,
});

/** `$.copy` as the state machine carries it. */
const progress = (overrides: Partial<CopyProgress> = {}): CopyProgress => ({
  id: COPY,
  startedAt: NOW - 10 * 60_000,
  deadline: NOW - 10 * 60_000 + 72 * HOUR,
  state: 'pending',
  progress: 0,
  waitSeconds: 30,
  ...overrides,
});

/** Mocks DescribeSnapshots: by tag filters (the copies Ferry made) and by id (one copy). */
function snapshotsInDestination(found: Snapshot[], described?: Snapshot) {
  ec2.on(DescribeSnapshotsCommand).callsFake((input: { SnapshotIds?: string[]; OwnerIds?: string[] }) => {
    if (input.SnapshotIds) {
      if (!described) throw ec2Error('InvalidSnapshot.NotFound', 400);
      return { Snapshots: [described] };
    }
    return { Snapshots: found };
  });
}

/** Two copies in flight: one 60 % done after 12 min (≈ 8 min left), one 10 % done after 6 min (≈ 51 min left). */
function twoCopiesInFlight() {
  ec2.on(DescribeSnapshotsCommand).callsFake((input: { Filters?: { Name?: string }[] }) =>
    input.Filters?.some((filter) => filter.Name === 'status')
      ? {
          Snapshots: [
            copySnapshot('snap-1', {
              State: 'pending',
              Progress: '60%',
              StartTime: new Date(NOW - 12 * 60_000),
            }),
            copySnapshot('snap-2', {
              State: 'pending',
              Progress: '10%',
              StartTime: new Date(NOW - 6 * 60_000),
            }),
          ],
        }
      : { Snapshots: [] },
  );
}

function handler(options: { now?: number; ec2?: Ec2ClientFactory; await?: Ec2CopyStepDeps['await'] } = {}) {
  const deps: Ec2CopyStepDeps = {
    ec2: options.ec2 ?? createEc2ClientFactory(),
    kinds: { snapshot: snapshotCopies, image: imageCopies },
    log: recordingLog(),
    metrics: recordingMetrics(),
    now: () => options.now ?? NOW,
    ...(options.await ? { await: options.await } : {}),
  };
  const invoke = createEc2CopyStepHandler(createPowertools(), deps);
  return { deps, run: (input: unknown) => invoke(input as never, lambdaContext) };
}

/** The names of the commands sent, in order. */
const sent = () =>
  ec2.calls().map((call) => (call.args[0] as object).constructor.name.replace(/Command$/, ''));

/** A step's failure as the Lambda integration hands it to a Catch. */
const lambdaFailure = (error: string, message: string) => ({
  Error: error,
  Cause: JSON.stringify({ errorType: error, errorMessage: message, trace: [] }),
});

describe('ec2-copy-step handler: snapshots', () => {
  describe('start', () => {
    it('It should copy into the destination Region with the description, key, duration and every tag', async () => {
      snapshotsInDestination([]);
      ec2.on(CopySnapshotCommand).resolves({ SnapshotId: COPY });
      const result = await handler().run({ action: 'start', job: snapshotJob });

      expect(ec2).toReceiveCommandWith(DescribeSnapshotsCommand, {
        OwnerIds: ['self'],
        Filters: [
          { Name: `tag:${MARKER.sourceId}`, Values: [SNAP] },
          { Name: `tag:${MARKER.rule}`, Values: ['ebs-dr'] },
        ],
      });
      expect(ec2).toReceiveCommandTimes(CopySnapshotCommand, 1);
      const call = ec2.commandCalls(CopySnapshotCommand)[0];
      const { TagSpecifications, ...input } = call?.args[0].input ?? {};
      expect(input).toEqual({
        SourceRegion: 'us-east-1',
        SourceSnapshotId: SNAP,
        Description: `nightly db [ebs-dr] ${SNAP} from us-east-1 (${VOLUME}) on 2026-11-21`,
        Encrypted: true,
        KmsKeyId: 'alias/dr-ebs',
        CompletionDurationMinutes: 120,
      });
      expect(TagSpecifications).toHaveLength(1);
      expect(TagSpecifications?.[0]?.ResourceType).toBe('snapshot');
      const tags = TagSpecifications?.[0]?.Tags ?? [];
      expect(tagMap(tags)).toEqual({ team: 'db', 'copied-by': 'ferry', ...SNAPSHOT_MARKERS });
      expect(tags).toHaveLength(Object.keys(tagMap(tags)).length);
      expect(tags.filter((tag) => tag.Key?.toLowerCase().startsWith('aws:'))).toEqual([]);
      await expect(regionOf(call)).resolves.toBe('us-west-2');

      expect(result).toEqual({
        id: COPY,
        startedAt: NOW,
        deadline: NOW + 72 * HOUR,
        state: 'pending',
        progress: 0,
        waitSeconds: 30,
        // A copy just started: its event is awaited until the first check, 6 h after the start.
        safetySeconds: (6 * HOUR) / 1000,
      });
    });

    it('It should copy an unencrypted source without a key as it is, and without user tags when copyTags is off', async () => {
      snapshotsInDestination([]);
      ec2.on(CopySnapshotCommand).resolves({ SnapshotId: COPY });
      const job: Ec2CopyJob = {
        ...withDestination(snapshotJob, {
          kmsKeyId: undefined,
          copyTags: false,
          completionDurationMinutes: undefined,
          description: undefined,
        }),
        source: { ...snapshotJob.source, encrypted: false },
      };
      await handler().run({ action: 'start', job });
      const input = ec2.commandCalls(CopySnapshotCommand)[0]?.args[0].input;
      expect(input).not.toHaveProperty('Encrypted');
      expect(input).not.toHaveProperty('KmsKeyId');
      expect(input).not.toHaveProperty('CompletionDurationMinutes');
      expect(input?.Description).toBe(`nightly db (copy of ${SNAP} from us-east-1)`);
      expect(tagMap(input?.TagSpecifications?.[0]?.Tags)).toEqual({
        'copied-by': 'ferry',
        ...SNAPSHOT_MARKERS,
      });
    });

    it('It should resume a copy a previous start already made instead of copying again', async () => {
      const startedAt = NOW - 20 * 60_000;
      snapshotsInDestination([
        copySnapshot(COPY, { State: 'pending', Progress: '5%', StartTime: new Date(startedAt) }),
      ]);
      const result = await handler().run({ action: 'start', job: snapshotJob });

      expect(ec2).not.toReceiveCommand(CopySnapshotCommand);
      expect(ec2).not.toReceiveCommand(DeleteSnapshotCommand);
      const deadline = startedAt + 72 * HOUR;
      expect(result).toEqual({
        id: COPY,
        startedAt,
        deadline,
        state: 'pending',
        progress: 5,
        waitSeconds: nextWaitSeconds({
          elapsedSeconds: 20 * 60,
          progress: 5,
          secondsToDeadline: (deadline - NOW) / 1000,
        }),
        // Resumed 20 min into the copy: the first check is still 6 h after the copy's start.
        safetySeconds: (6 * HOUR) / 1000 - 20 * 60,
        resumed: true,
      });
    });

    it('It should delete an earlier copy that ended in error, then make a new one', async () => {
      const broken = 'snap-0e0e0e0e0e0e0e0e1';
      snapshotsInDestination([copySnapshot(broken, { State: 'error', StateMessage: 'internal error' })]);
      ec2.on(CopySnapshotCommand).resolves({ SnapshotId: COPY });
      const result = await handler().run({ action: 'start', job: snapshotJob });

      expect(ec2).toReceiveCommandExactlyOnceWith(DeleteSnapshotCommand, { SnapshotId: broken });
      expect(sent()).toEqual(['DescribeSnapshots', 'DeleteSnapshot', 'CopySnapshot']);
      expect(result).toMatchObject({ id: COPY, state: 'pending', startedAt: NOW });
      expect(result).not.toHaveProperty('resumed');
    });

    it('It should refuse to copy an encrypted source without a kmsKeyId, before any call', async () => {
      const job = withDestination(snapshotJob, { kmsKeyId: undefined });
      await expect(handler().run({ action: 'start', job })).rejects.toMatchObject({
        name: 'PermanentCopyError',
        classified: { class: 'permanent', cause: 'KmsKeyRequired' },
        message: expect.stringMatching(/^KmsKeyRequired: /),
      });
      expect(ec2.calls()).toHaveLength(0);
    });

    it("It should fail with TooManyTags before any call when the rule's tags and Ferry's markers pass EC2's 50", async () => {
      const tags = Object.fromEntries(Array.from({ length: 47 }, (_, i) => [`set-${i}`, 'x']));
      const job = withDestination(snapshotJob, { tags });
      await expect(handler().run({ action: 'start', job })).rejects.toMatchObject({
        name: 'PermanentCopyError',
        classified: { class: 'permanent', cause: 'TooManyTags' },
        message: expect.stringMatching(/^TooManyTags: .*51 tags, EC2 allows 50/),
      });
      expect(ec2.calls()).toHaveLength(0);
    });

    it("It should fail with TagTooLong before any call when a rule's tag is longer than EC2 allows", async () => {
      const job = withDestination(snapshotJob, { tags: { note: 'x'.repeat(256) } });
      await expect(handler().run({ action: 'start', job })).rejects.toMatchObject({
        name: 'PermanentCopyError',
        classified: { cause: 'TagTooLong' },
      });
      expect(ec2.calls()).toHaveLength(0);
    });

    it('It should share the source with another destination account from the source Region first', async () => {
      snapshotsInDestination([]);
      ec2.on(CopySnapshotCommand).resolves({ SnapshotId: COPY });
      const job = withDestination(snapshotJob, {
        account: '444455556666',
        roleArn: 'arn:aws:iam::444455556666:role/ferry-copier',
      });
      const targets = vi.fn((target: AwsTarget) => new EC2Client({ region: target.region }));
      await handler({ ec2: targets }).run({ action: 'start', job });

      expect(ec2).toReceiveCommandWith(ModifySnapshotAttributeCommand, {
        SnapshotId: SNAP,
        Attribute: 'createVolumePermission',
        OperationType: 'add',
        UserIds: ['444455556666'],
      });
      await expect(regionOf(ec2.commandCalls(ModifySnapshotAttributeCommand)[0])).resolves.toBe('us-east-1');
      expect(sent()).toEqual(['DescribeSnapshots', 'ModifySnapshotAttribute', 'CopySnapshot']);
      const role = 'arn:aws:iam::444455556666:role/ferry-copier';
      expect(targets.mock.calls).toEqual([
        [{ region: 'us-west-2', roleArn: role }, { retries: true }],
        [{ region: 'us-east-1' }],
        [{ region: 'us-west-2', roleArn: role }, { retries: false }],
      ]);
    });

    it('It should queue the copy when EC2 refuses it for the copy limit, waiting for the earliest copy in flight to end', async () => {
      twoCopiesInFlight();
      ec2.on(CopySnapshotCommand).rejects(ec2Error('ResourceLimitExceeded', 400));
      const { deps, run } = handler();
      const queued = await run({ action: 'start', job: snapshotJob });

      const left = (12 * 60 * (100 - 60.5)) / 60.5;
      expect(queued).toMatchObject({ state: 'queued', attempts: 1, since: NOW });
      expect((queued as { message: string }).message).toMatch(/^ResourceLimitExceeded: /);
      const { waitSeconds } = queued as { waitSeconds: number };
      expect(waitSeconds).toBeGreaterThanOrEqual(Math.floor(left));
      // At most 10 % (≤ 2 min) of jitter: the copies queued behind this slot spread out a little.
      expect(waitSeconds).toBeLessThanOrEqual(Math.ceil(left + 120));
      expect(deps.metrics.queued).toHaveBeenCalledWith('snapshot', snapshotJob.rule, 'limit');
      expect(sent()).toEqual(['DescribeSnapshots', 'CopySnapshot', 'DescribeSnapshots']);
    });

    it('It should keep counting refusals from the queued state it is given, and start the copy once EC2 accepts', async () => {
      snapshotsInDestination([]);
      ec2
        .on(CopySnapshotCommand)
        .rejectsOnce(ec2Error('RequestLimitExceeded', 503))
        .resolves({ SnapshotId: COPY });
      const since = NOW - 20 * 60_000;
      const queued = { state: 'queued', attempts: 4, since, waitSeconds: 60 };
      const throttled = await handler().run({ action: 'start', job: snapshotJob, copy: queued });
      // Throttling is a request-rate problem: a short backoff, no estimate read.
      expect(throttled).toMatchObject({ state: 'queued', attempts: 5, since });
      expect((throttled as { waitSeconds: number }).waitSeconds).toBeLessThanOrEqual(80);
      expect(sent()).toEqual(['DescribeSnapshots', 'CopySnapshot']);

      const started = await handler().run({ action: 'start', job: snapshotJob, copy: throttled });
      expect(started).toMatchObject({ id: COPY, state: 'pending', startedAt: NOW });
    });

    it('It should mark a copy refused for the limit to wait by token where slot queues exist, never a throttled one', async () => {
      snapshotsInDestination([]);
      // The start step only marks the copy: AwaitSlot's own step stores the token.
      const slots = { await: { waiters: {}, callbacks: {}, slots: {} } as never };
      ec2
        .on(CopySnapshotCommand)
        .rejectsOnce(ec2Error('ResourceLimitExceeded', 400))
        .rejectsOnce(ec2Error('RequestLimitExceeded', 503))
        .rejectsOnce(ec2Error('ResourceLimitExceeded', 400))
        .rejectsOnce(ec2Error('ResourceLimitExceeded', 400));
      const limit = await handler(slots).run({ action: 'start', job: snapshotJob });
      expect(limit).toMatchObject({ state: 'queued', wake: true });
      const throttled = await handler(slots).run({ action: 'start', job: snapshotJob, copy: limit });
      expect(throttled).not.toHaveProperty('wake');
      // Polling (no table): the timed wait, as before.
      expect(await handler().run({ action: 'start', job: snapshotJob })).not.toHaveProperty('wake');
      // Past the token-wait budget the history bound needs: the timed wait only.
      const many = { state: 'queued', attempts: QUEUE_BOUNDS.tokenWaits, since: NOW, waitSeconds: 60 };
      expect(await handler(slots).run({ action: 'start', job: snapshotJob, copy: many })).not.toHaveProperty(
        'wake',
      );
    });

    it('It should time a copy waiting by token out at its turn in the slot queue, not at the one estimate every waiter shares', async () => {
      twoCopiesInFlight();
      ec2.on(CopySnapshotCommand).rejects(ec2Error('ResourceLimitExceeded', 400));
      const asked: [string, number, number][] = [];
      const queuedWith = async (ahead: number | Error) => {
        const slots = {
          ahead: async (queue: string, queuedAt: number, atMost: number) => {
            asked.push([queue, queuedAt, atMost]);
            if (ahead instanceof Error) throw ahead;
            return ahead;
          },
        };
        const copy = await handler({ await: { waiters: {}, callbacks: {}, slots } as never }).run({
          action: 'start',
          job: snapshotJob,
        });
        return copy as { waitSeconds: number; wake?: boolean };
      };
      const first = await queuedWith(0);
      const second = await queuedWith(1);
      const third = await queuedWith(2);
      // Asked for the copies queued before this one, in its destination's queue.
      expect(asked[0]).toEqual([slotQueueOf(snapshotJob), NOW, 1000]);
      const soon = (12 * 60 * (100 - 60.5)) / 60.5;
      const later = (6 * 60 * (100 - 10.5)) / 10.5;
      const copyTime = (12 * 60 + soon + 6 * 60 + later) / 2;
      // The head: a margin (30 s to 2 min, as much again in jitter) after the earliest end; the next, after
      // the second; the third, one mean copy time after the first.
      expect(first.waitSeconds).toBeGreaterThan(soon + 30);
      expect(first.waitSeconds).toBeLessThanOrEqual(Math.ceil(soon + 2 * 120));
      expect(second.waitSeconds).toBeGreaterThan(later + 30);
      expect(third.waitSeconds).toBeGreaterThan(
        Math.min(QUEUE_BOUNDS.slotTimeoutMaxSeconds, soon + copyTime),
      );
      expect(first.wake && second.wake && third.wake).toBe(true);
      // The table unreadable: the slot estimate, as before there was a queue (still woken by token).
      const blind = await queuedWith(new Error('table unreachable'));
      expect(blind.wake).toBe(true);
      expect(blind.waitSeconds).toBeLessThanOrEqual(Math.ceil(soon + 0.1 * soon));
    });

    it('It should still queue when the copies in flight cannot be read (no estimate: look again in a minute)', async () => {
      ec2.on(DescribeSnapshotsCommand).callsFake((input: { Filters?: { Name?: string }[] }) => {
        if (input.Filters?.some((filter) => filter.Name === 'status'))
          throw ec2Error('UnauthorizedOperation', 403);
        return { Snapshots: [] };
      });
      ec2.on(CopySnapshotCommand).rejects(ec2Error('ResourceLimitExceeded', 400));
      const queued = await handler().run({ action: 'start', job: snapshotJob });
      expect(queued).toMatchObject({ state: 'queued', attempts: 1 });
      expect((queued as { waitSeconds: number }).waitSeconds).toBeGreaterThanOrEqual(60);
      expect((queued as { waitSeconds: number }).waitSeconds).toBeLessThanOrEqual(70);
    });

    it.each([
      ['InternalError', 500, 'RetryableCopyError'],
      ['ServiceUnavailable', 503, 'RetryableCopyError'],
      ['AccessDenied', 403, 'PermanentCopyError'],
      ['UnauthorizedOperation', 403, 'PermanentCopyError'],
      ['InvalidSnapshot.NotFound', 400, 'PermanentCopyError'],
    ])('It should turn %s (%i) from CopySnapshot into %s', async (cause, status, name) => {
      snapshotsInDestination([]);
      ec2.on(CopySnapshotCommand).rejects(ec2Error(cause, status));
      await expect(handler().run({ action: 'start', job: snapshotJob })).rejects.toMatchObject({
        name,
        classified: { cause },
      });
    });

    it('It should make the CopySnapshot call with a client that never retries', async () => {
      snapshotsInDestination([]);
      ec2.on(CopySnapshotCommand).rejects(ec2Error('InternalError', 500));
      await expect(handler().run({ action: 'start', job: snapshotJob })).rejects.toMatchObject({
        name: 'RetryableCopyError',
      });
      expect(ec2).toReceiveCommandTimes(CopySnapshotCommand, 1);
      const copyClient = ec2.commandCalls(CopySnapshotCommand)[0]?.thisValue as EC2Client;
      const findClient = ec2.commandCalls(DescribeSnapshotsCommand)[0]?.thisValue as EC2Client;
      await expect(copyClient.config.maxAttempts()).resolves.toBe(1);
      await expect(findClient.config.maxAttempts()).resolves.toBeGreaterThan(1);
    });
  });

  describe('check', () => {
    it('It should report a pending copy with its progress and the adaptive wait', async () => {
      snapshotsInDestination([], copySnapshot(COPY, { State: 'pending', Progress: '40%' }));
      const copy = progress();
      const result = await handler().run({ action: 'check', job: snapshotJob, copy });

      expect(ec2).toReceiveCommandExactlyOnceWith(DescribeSnapshotsCommand, { SnapshotIds: [COPY] });
      await expect(regionOf(ec2.commandCalls(DescribeSnapshotsCommand)[0])).resolves.toBe('us-west-2');
      const waitSeconds = nextWaitSeconds({
        elapsedSeconds: 600,
        progress: 40,
        secondsToDeadline: (copy.deadline - NOW) / 1000,
      });
      // 40 % after 600 s: at least 1,463 s in all; three quarters of the 863 s left.
      expect(waitSeconds).toBe(648);
      // By event, the safety check: 600 s into the copy, the first check is 6 h after its start.
      expect(result).toEqual({
        ...copy,
        state: 'pending',
        progress: 40,
        waitSeconds,
        safetySeconds: (6 * HOUR) / 1000 - 600,
      });
    });

    it('It should report a completed copy as completed', async () => {
      snapshotsInDestination([], copySnapshot(COPY));
      const result = await handler().run({ action: 'check', job: snapshotJob, copy: progress() });
      expect(result).toMatchObject({ id: COPY, state: 'completed', progress: 100 });
      expect(result).not.toHaveProperty('message');
    });

    it("It should report a copy in error as failed with EC2's StateMessage", async () => {
      snapshotsInDestination(
        [],
        copySnapshot(COPY, {
          State: 'error',
          Progress: '12%',
          StateMessage: 'Given key ID is not accessible',
        }),
      );
      const result = await handler().run({ action: 'check', job: snapshotJob, copy: progress() });
      expect(result).toMatchObject({ state: 'failed', message: 'Given key ID is not accessible' });
    });

    it('It should fail permanently with CopyVanished when the copy no longer exists', async () => {
      snapshotsInDestination([]);
      await expect(
        handler().run({ action: 'check', job: snapshotJob, copy: progress() }),
      ).rejects.toMatchObject({
        name: 'PermanentCopyError',
        classified: { cause: 'CopyVanished' },
        message: expect.stringContaining(COPY),
      });
    });

    it('It should give up on a copy still pending past its deadline', async () => {
      snapshotsInDestination([], copySnapshot(COPY, { State: 'pending', Progress: '99%' }));
      const copy = progress({ startedAt: NOW - 73 * HOUR, deadline: NOW - HOUR });
      await expect(handler().run({ action: 'check', job: snapshotJob, copy })).rejects.toMatchObject({
        name: 'CopyDeadlineExceededError',
        message: expect.stringContaining('72 h'),
      });
      // Just before the deadline it is still waited for, and never past it.
      const early = await handler({ now: NOW - HOUR - 10_000 }).run({
        action: 'check',
        job: snapshotJob,
        copy,
      });
      expect(early).toMatchObject({ state: 'pending', waitSeconds: 10 });
    });

    it('It should turn a throttled check into CopyLimitError', async () => {
      ec2.on(DescribeSnapshotsCommand).rejects(ec2Error('RequestLimitExceeded', 503));
      await expect(
        handler().run({ action: 'check', job: snapshotJob, copy: progress() }),
      ).rejects.toMatchObject({ name: 'CopyLimitError' });
    });
  });

  describe('finalize', () => {
    it('It should set only the tags the copy is missing', async () => {
      const tags = { team: 'db', ...SNAPSHOT_MARKERS, [MARKER.group]: 'wrong' };
      snapshotsInDestination(
        [],
        copySnapshot(COPY, { Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) }),
      );
      const { run, deps } = handler();
      const result = await run({
        action: 'finalize',
        job: snapshotJob,
        copy: progress({ state: 'completed' }),
      });

      expect(ec2).toReceiveCommandTimes(CreateTagsCommand, 1);
      expect(ec2).toReceiveCommandWith(CreateTagsCommand, {
        Resources: [COPY],
        Tags: [
          { Key: 'copied-by', Value: 'ferry' },
          { Key: MARKER.group, Value: VOLUME },
        ],
      });
      expect(ec2).not.toReceiveCommand(ModifySnapshotTierCommand);
      expect(ec2).not.toReceiveCommand(DeleteSnapshotCommand);
      expect(result).toEqual({
        copy: COPY,
        region: 'us-west-2',
        archived: false,
        tagged: ['copied-by', MARKER.group],
        locked: [],
        pruned: [],
        held: [],
      });
      expect(deps.metrics.resourceCopied).toHaveBeenCalledWith(
        'snapshot',
        'ebs-dr',
        NOW - Date.parse('2026-11-21T18:43:48Z'),
      );
      expect(deps.metrics.pruned).not.toHaveBeenCalled();
    });

    it('It should not send a CreateTags that would pass 50 tags on the copy (tags someone else added count)', async () => {
      const others = Object.entries(
        Object.fromEntries(Array.from({ length: 46 }, (_, i) => [`other-${i}`, 'x'])),
      );
      const present = Object.entries({ ...SNAPSHOT_MARKERS, 'aws:backup:x': 'not counted' });
      snapshotsInDestination(
        [],
        copySnapshot(COPY, { Tags: [...others, ...present].map(([Key, Value]) => ({ Key, Value })) }),
      );
      await expect(
        handler().run({ action: 'finalize', job: snapshotJob, copy: progress({ state: 'completed' }) }),
      ).rejects.toMatchObject({
        name: 'PermanentCopyError',
        classified: { cause: 'TooManyTags' },
        message: expect.stringContaining(`${COPY} once tagged: 52 tags`),
      });
      expect(ec2).not.toReceiveCommand(CreateTagsCommand);
    });

    it('It should tag nothing when every tag is there', async () => {
      snapshotsInDestination([], copySnapshot(COPY));
      const result = await handler().run({
        action: 'finalize',
        job: snapshotJob,
        copy: progress({ state: 'completed' }),
      });
      expect(ec2).not.toReceiveCommand(CreateTagsCommand);
      expect(result).toMatchObject({ tagged: [] });
    });

    it('It should archive the copy and keep only the newest completed copies of the volume, itself first', async () => {
      const job = withDestination(snapshotJob, { archive: true, retain: { count: 2 } });
      const older = (id: string, days: number, state: Snapshot['State'] = 'completed') =>
        copySnapshot(id, { State: state, StartTime: new Date(NOW - days * DAY) });
      // A full copy started 2.5 days ago finishes after the incremental copies of later snapshots (1 and 2
      // days ago): it is still the copy this execution keeps, and it counts first.
      const copy = copySnapshot(COPY, { StartTime: new Date(NOW - 2.5 * DAY) });
      const group = [
        older('snap-0000000000000000b', 2),
        copy,
        older('snap-0000000000000000d', 4, 'pending'),
        older('snap-0000000000000000a', 1),
        older('snap-0000000000000000c', 3),
        older('snap-0000000000000000e', 0.5, 'pending'),
      ];
      snapshotsInDestination(group, copy);
      const { run, deps } = handler();
      const result = await run({
        action: 'finalize',
        job,
        copy: progress({ state: 'completed', startedAt: NOW - 2.5 * DAY, deadline: NOW + 0.5 * DAY }),
      });

      expect(ec2).toReceiveCommandExactlyOnceWith(ModifySnapshotTierCommand, {
        SnapshotId: COPY,
        StorageTier: 'archive',
      });
      expect(ec2).toReceiveCommandWith(DescribeSnapshotsCommand, {
        OwnerIds: ['self'],
        Filters: [
          { Name: `tag:${MARKER.rule}`, Values: ['ebs-dr'] },
          { Name: `tag:${MARKER.group}`, Values: [VOLUME] },
        ],
      });
      const deleted = ec2.commandCalls(DeleteSnapshotCommand).map((call) => call.args[0].input.SnapshotId);
      expect(deleted.sort()).toEqual(['snap-0000000000000000b', 'snap-0000000000000000c']);
      expect(result).toMatchObject({
        archived: true,
        pruned: expect.arrayContaining(['snap-0000000000000000b', 'snap-0000000000000000c']),
      });
      expect(deps.metrics.resourceCopied).toHaveBeenCalledWith('snapshot', 'ebs-dr', expect.any(Number));
      expect(deps.metrics.pruned).toHaveBeenCalledWith('snapshot', 'ebs-dr', 2);
    });

    it('It should count an old copy that is already gone as pruned (an earlier attempt deleted it)', async () => {
      const job = withDestination(snapshotJob, { retain: { count: 1 } });
      const copy = copySnapshot(COPY);
      snapshotsInDestination(
        [copy, copySnapshot('snap-0000000000000000a', { StartTime: new Date(NOW - DAY) })],
        copy,
      );
      ec2.on(DeleteSnapshotCommand).rejects(ec2Error('InvalidSnapshot.NotFound', 400));
      const result = await handler().run({ action: 'finalize', job, copy: progress({ state: 'completed' }) });
      expect(result).toMatchObject({ pruned: ['snap-0000000000000000a'] });
    });

    it('It should finish a retried finalize whose copy is already archived', async () => {
      // The first Finalize archived the copy, then a throttled DeleteSnapshot (CopyLimitError) made the state
      // machine run it again. EC2 (and the sandbox's fake EC2) refuse to archive an archived snapshot.
      const job = withDestination(snapshotJob, { archive: true, retain: { count: 1 } });
      const copy = copySnapshot(COPY, { StorageTier: 'archive' });
      snapshotsInDestination(
        [copy, copySnapshot('snap-0000000000000000a', { StartTime: new Date(NOW - DAY) })],
        copy,
      );
      ec2
        .on(ModifySnapshotTierCommand)
        .rejects(ec2Error('IncorrectState', 400, `Snapshot ${COPY} is already archived.`));
      const result = await handler().run({ action: 'finalize', job, copy: progress({ state: 'completed' }) });
      expect(result).toMatchObject({ copy: COPY, archived: true, pruned: ['snap-0000000000000000a'] });
    });

    it('It should refuse to finalize a copy that is not completed', async () => {
      snapshotsInDestination([], copySnapshot(COPY, { State: 'pending', Progress: '99%' }));
      await expect(
        handler().run({ action: 'finalize', job: snapshotJob, copy: progress({ state: 'completed' }) }),
      ).rejects.toMatchObject({ name: 'PermanentCopyError', classified: { cause: 'CopyNotCompleted' } });
      expect(ec2).not.toReceiveCommand(CreateTagsCommand);
    });
  });

  describe('record-failure', () => {
    it('It should delete a copy in error and count the failure', async () => {
      snapshotsInDestination(
        [],
        copySnapshot(COPY, { State: 'error', StateMessage: 'Given key ID is not accessible' }),
      );
      const { run, deps } = handler();
      const copy = progress({ state: 'failed', message: 'Given key ID is not accessible' });
      const result = await run({
        action: 'record-failure',
        job: snapshotJob,
        state: { ...snapshotJob, copy, failure: { Error: 'SnapshotCopyFailed', Cause: copy.message } },
      });

      expect(ec2).toReceiveCommandWith(DescribeSnapshotsCommand, { SnapshotIds: [COPY] });
      expect(ec2).toReceiveCommandExactlyOnceWith(DeleteSnapshotCommand, { SnapshotId: COPY });
      expect(deps.metrics.failed).toHaveBeenCalledWith('ebs-dr', 'CopyFailed');
      expect(result).toEqual({
        recorded: 'CopyFailed',
        message: 'Given key ID is not accessible',
        removed: [COPY],
      });
    });

    it('It should delete a copy abandoned at its deadline, counted under that cause', async () => {
      snapshotsInDestination([], copySnapshot(COPY, { State: 'pending', Progress: '99%' }));
      const { run, deps } = handler();
      await run({
        action: 'record-failure',
        job: snapshotJob,
        state: {
          copy: progress(),
          failure: lambdaFailure(
            'CopyDeadlineExceededError',
            `${COPY} was still pending 72 h after it started; the copy is abandoned and removed`,
          ),
        },
      });
      expect(ec2).toReceiveCommandExactlyOnceWith(DeleteSnapshotCommand, { SnapshotId: COPY });
      expect(deps.metrics.failed).toHaveBeenCalledWith('ebs-dr', 'CopyDeadlineExceededError');
    });

    it('It should never delete a completed copy (a failure after the copy, e.g. in finalize)', async () => {
      snapshotsInDestination([], copySnapshot(COPY));
      const { run, deps } = handler();
      const result = await run({
        action: 'record-failure',
        job: snapshotJob,
        state: {
          copy: progress({ state: 'completed', progress: 100 }),
          failure: lambdaFailure('PermanentCopyError', 'UnauthorizedOperation: You are not authorized'),
        },
      });
      expect(ec2).not.toReceiveCommand(DeleteSnapshotCommand);
      expect(deps.metrics.failed).toHaveBeenCalledWith('ebs-dr', 'UnauthorizedOperation');
      expect(result).toMatchObject({
        recorded: 'UnauthorizedOperation',
        message: 'UnauthorizedOperation: You are not authorized',
      });
      expect(result).not.toHaveProperty('removed', expect.any(String));
    });

    it('It should look for a copy by its tags when the start itself failed, and delete only unfinished ones', async () => {
      // A start that failed after its copy call went through left a pending copy; a completed one stays.
      const pending = copySnapshot('snap-0pending000000000', { State: 'pending' });
      const completed = copySnapshot('snap-0completed00000000', { State: 'completed' });
      snapshotsInDestination([pending, completed]);
      const { run, deps } = handler();
      const result = await run({
        action: 'record-failure',
        job: snapshotJob,
        state: {
          ...snapshotJob,
          // The machine enters queued: the copy is still queued when its start fails.
          copy: { state: 'queued', attempts: 0, waitSeconds: 1 },
          failure: lambdaFailure('PermanentCopyError', `KmsKeyRequired: ${SNAP} is encrypted`),
        },
      });
      expect(ec2).toReceiveCommandWith(DescribeSnapshotsCommand, {
        Filters: expect.arrayContaining([{ Name: 'tag:ferry:source-id', Values: [SNAP] }]),
      });
      expect(ec2).toReceiveCommandExactlyOnceWith(DeleteSnapshotCommand, {
        SnapshotId: 'snap-0pending000000000',
      });
      expect(deps.metrics.failed).toHaveBeenCalledWith('ebs-dr', 'KmsKeyRequired');
      expect(result).toMatchObject({ recorded: 'KmsKeyRequired', removed: ['snap-0pending000000000'] });
    });

    it('It should delete nothing when the start failed before any copy existed', async () => {
      snapshotsInDestination([]);
      const { run } = handler();
      await run({
        action: 'record-failure',
        job: snapshotJob,
        state: { failure: lambdaFailure('PermanentCopyError', `KmsKeyRequired: ${SNAP} is encrypted`) },
      });
      expect(ec2).not.toReceiveCommand(DeleteSnapshotCommand);
    });

    it('It should still record the failure when the copy cannot be deleted', async () => {
      snapshotsInDestination([], copySnapshot(COPY, { State: 'error' }));
      ec2.on(DeleteSnapshotCommand).rejects(ec2Error('UnauthorizedOperation', 403));
      const { run, deps } = handler();
      await run({
        action: 'record-failure',
        job: snapshotJob,
        state: { copy: progress({ state: 'failed' }), failure: { Error: 'SnapshotCopyFailed' } },
      });
      expect(deps.metrics.failed).toHaveBeenCalledWith('ebs-dr', 'CopyFailed');
      expect(deps.log.warn).toHaveBeenCalledWith('Could not remove the failed copy', expect.any(Object));
    });
  });

  it('It should reject a step input the state machine could not have built, naming the field', async () => {
    await expect(handler().run({ action: 'check', job: snapshotJob })).rejects.toMatchObject({
      name: 'MalformedEventError',
      message: expect.stringContaining('copy'),
    });
    expect(ec2.calls()).toHaveLength(0);
  });
});

describe('ec2-copy-step handler: SDK retries, through the real middleware', () => {
  const xml = (status: number, body: string) => ({
    response: {
      statusCode: status,
      headers: { 'content-type': 'text/xml;charset=UTF-8' },
      body: Buffer.from(body),
    },
  });
  const EC2_XMLNS = 'http://ec2.amazonaws.com/doc/2016-11-15/';

  it('It should send CopySnapshot exactly once on a 500, while DescribeSnapshots is retried by the SDK', async () => {
    // The real `send`, so the SDK's retry strategy runs; only the HTTP exchange is faked.
    ec2.restore();
    const attempts: string[] = [];
    let describeFailures = 1;
    const requestHandler = {
      handle: async (request: { body?: unknown }) => {
        const action = new URLSearchParams(String(request.body)).get('Action') ?? '?';
        attempts.push(action);
        if (action === 'CopySnapshot' || (action === 'DescribeSnapshots' && describeFailures-- > 0)) {
          return xml(
            500,
            '<Response><Errors><Error><Code>InternalError</Code><Message>An internal error has occurred</Message></Error></Errors><RequestID>r-1</RequestID></Response>',
          );
        }
        return xml(
          200,
          `<DescribeSnapshotsResponse xmlns="${EC2_XMLNS}"><requestId>r-2</requestId><snapshotSet/></DescribeSnapshotsResponse>`,
        );
      },
    };
    const factory = createEc2ClientFactory({
      instrument: <T>(client: T): T => {
        Object.assign((client as EC2Client).config, { requestHandler });
        return client;
      },
    });

    await expect(handler({ ec2: factory }).run({ action: 'start', job: snapshotJob })).rejects.toMatchObject({
      name: 'RetryableCopyError',
      classified: { cause: 'InternalError' },
    });
    expect(attempts).toEqual(['DescribeSnapshots', 'DescribeSnapshots', 'CopySnapshot']);
  });
});

describe('ec2-copy-step handler: images', () => {
  const AMI = 'ami-0b1c2d3e4f5a60718';
  const COPY_AMI = 'ami-0c0c0c0c0c0c0c0c1';
  const imageJob: Ec2CopyJob = {
    kind: 'image',
    rule: 'golden-amis',
    destinationIndex: 0,
    destination: {
      region: 'us-east-1',
      kmsKeyId: 'alias/dr-ami',
      copyTags: true,
      tags: { 'copied-by': 'ferry' },
      name: '{name}-{date}-{sourceId}',
      description: DEFAULT_IMAGE_DESCRIPTION,
    },
    source: {
      id: AMI,
      region: 'us-west-2',
      account: '111122223333',
      encrypted: true,
      description: 'web tier',
      name: 'golden-web',
      tags: { team: 'web', 'aws:cloudformation:stack-name': 'golden' },
    },
    eventTime: '2026-11-21T18:50:00Z',
  };
  const IMAGE_MARKERS = {
    [MARKER.sourceId]: AMI,
    [MARKER.sourceRegion]: 'us-west-2',
    [MARKER.rule]: 'golden-amis',
    [MARKER.group]: 'golden-web',
  };
  const copyImage = (id: string, snapshots: string[], overrides: Partial<Image> = {}): Image => ({
    ImageId: id,
    State: 'available',
    CreationDate: new Date(NOW - HOUR).toISOString(),
    BlockDeviceMappings: [
      ...snapshots.map((SnapshotId, index) => ({
        DeviceName: `/dev/xvd${'abcdef'[index]}`,
        Ebs: { SnapshotId },
      })),
      { DeviceName: '/dev/sdz', VirtualName: 'ephemeral0' },
    ],
    Tags: Object.entries({ team: 'web', 'copied-by': 'ferry', ...IMAGE_MARKERS }).map(([Key, Value]) => ({
      Key,
      Value,
    })),
    ...overrides,
  });

  /** Mocks DescribeImages: by tag filters (the copies Ferry made) and by id. */
  function imagesInRegion(found: Image[], byId: Record<string, Image> = {}) {
    ec2.on(DescribeImagesCommand).callsFake((input: { ImageIds?: string[] }) => {
      if (input.ImageIds) {
        const image = byId[input.ImageIds[0] ?? ''];
        if (!image) throw ec2Error('InvalidAMIID.NotFound', 400);
        return { Images: [image] };
      }
      return { Images: found };
    });
  }

  it('It should copy the AMI with a deterministic ClientToken, its name from the template, and its tags', async () => {
    imagesInRegion([]);
    ec2.on(CopyImageCommand).resolves({ ImageId: COPY_AMI });
    const result = await handler().run({ action: 'start', job: imageJob });

    expect(ec2).toReceiveCommandWith(DescribeImagesCommand, {
      Owners: ['self'],
      Filters: [
        { Name: `tag:${MARKER.sourceId}`, Values: [AMI] },
        { Name: `tag:${MARKER.rule}`, Values: ['golden-amis'] },
      ],
    });
    const call = ec2.commandCalls(CopyImageCommand)[0];
    const { TagSpecifications, ...input } = call?.args[0].input ?? {};
    expect(input).toEqual({
      SourceRegion: 'us-west-2',
      SourceImageId: AMI,
      Name: `golden-web-2026-11-21-${AMI}`,
      Description: `web tier (copy of ${AMI} from us-west-2)`,
      ClientToken: clientTokenOf(imageJob),
      Encrypted: true,
      KmsKeyId: 'alias/dr-ami',
      CopyImageTags: false,
    });
    // The new snapshots are tagged at creation too: they are Ferry's, and never exist unmarked.
    expect(TagSpecifications?.map((spec) => spec.ResourceType)).toEqual(['image', 'snapshot']);
    expect(TagSpecifications?.[1]?.Tags).toEqual(TagSpecifications?.[0]?.Tags);
    expect(tagMap(TagSpecifications?.[0]?.Tags)).toEqual({
      team: 'web',
      'copied-by': 'ferry',
      ...IMAGE_MARKERS,
    });
    await expect(regionOf(call)).resolves.toBe('us-east-1');
    expect(result).toMatchObject({
      id: COPY_AMI,
      state: 'pending',
      startedAt: NOW,
      deadline: NOW + 72 * HOUR,
    });
    expect(ec2).not.toReceiveCommand(ModifyImageAttributeCommand);
  });

  it('It should send the same ClientToken for the same copy, and another for another destination', async () => {
    imagesInRegion([]);
    ec2.on(CopyImageCommand).resolves({ ImageId: COPY_AMI });
    await handler().run({ action: 'start', job: imageJob });
    await handler({ now: NOW + HOUR }).run({ action: 'start', job: structuredClone(imageJob) });
    await handler().run({
      action: 'start',
      job: { ...withDestination(imageJob, { region: 'eu-west-1' }), destinationIndex: 1 },
    });
    const tokens = ec2.commandCalls(CopyImageCommand).map((call) => call.args[0].input.ClientToken);
    expect(tokens[0]).toBe(clientTokenOf(imageJob));
    expect(tokens[1]).toBe(tokens[0]);
    expect(tokens[2]).not.toBe(tokens[0]);
    expect(tokens[0]?.length).toBeLessThanOrEqual(64);
  });

  it('It should report an available copy as completed, and a failed one with its StateReason', async () => {
    imagesInRegion([], { [COPY_AMI]: copyImage(COPY_AMI, ['snap-0000000000000001a']) });
    const copy = progress({ id: COPY_AMI });
    await expect(handler().run({ action: 'check', job: imageJob, copy })).resolves.toMatchObject({
      id: COPY_AMI,
      state: 'completed',
    });
    expect(ec2).toReceiveCommandWith(DescribeImagesCommand, { ImageIds: [COPY_AMI] });

    imagesInRegion([], {
      [COPY_AMI]: copyImage(COPY_AMI, [], {
        State: 'failed',
        StateReason: { Code: 'Client.InternalError', Message: 'Copy of snap-1 failed' },
      }),
    });
    await expect(handler().run({ action: 'check', job: imageJob, copy })).resolves.toMatchObject({
      state: 'failed',
      message: 'Copy of snap-1 failed',
    });

    imagesInRegion([], { [COPY_AMI]: copyImage(COPY_AMI, [], { State: 'pending' }) });
    await expect(handler().run({ action: 'check', job: imageJob, copy })).resolves.toMatchObject({
      state: 'pending',
      progress: 0,
      waitSeconds: nextWaitSeconds({ elapsedSeconds: 600, progress: 0, secondsToDeadline: 72 * 3600 - 600 }),
    });
  });

  it("It should read a pending copy's progress from its slowest snapshot copy, for the adaptive wait", async () => {
    imagesInRegion([], {
      [COPY_AMI]: copyImage(COPY_AMI, ['snap-0000000000000001a', 'snap-0000000000000001b'], {
        State: 'pending',
      }),
    });
    ec2.on(DescribeSnapshotsCommand).resolves({
      Snapshots: [
        { SnapshotId: 'snap-0000000000000001a', State: 'pending', Progress: '80%' },
        { SnapshotId: 'snap-0000000000000001b', State: 'pending', Progress: '35%' },
      ],
    });
    const copy = progress({ id: COPY_AMI });
    await expect(handler().run({ action: 'check', job: imageJob, copy })).resolves.toMatchObject({
      state: 'pending',
      progress: 35,
      waitSeconds: nextWaitSeconds({ elapsedSeconds: 600, progress: 35, secondsToDeadline: 72 * 3600 - 600 }),
    });
    expect(ec2).toReceiveCommandWith(DescribeSnapshotsCommand, {
      SnapshotIds: ['snap-0000000000000001a', 'snap-0000000000000001b'],
    });
  });

  it('It should deregister each pruned AMI before deleting its snapshots', async () => {
    const job = withDestination(imageJob, { retain: { count: 1 } });
    const newCopy = copyImage(COPY_AMI, ['snap-0000000000000000n']);
    const older = (id: string, days: number, snapshots: string[]) =>
      copyImage(id, snapshots, { CreationDate: new Date(NOW - days * DAY).toISOString() });
    imagesInRegion(
      [
        older('ami-00000000000000002', 2, ['snap-00000000000000021']),
        newCopy,
        older('ami-00000000000000001', 1, ['snap-00000000000000011', 'snap-00000000000000012']),
        copyImage('ami-00000000000000003', ['snap-00000000000000031'], {
          State: 'pending',
          CreationDate: new Date(NOW - 3 * DAY).toISOString(),
        }),
      ],
      { [COPY_AMI]: newCopy },
    );
    const { run, deps } = handler();
    const result = await run({
      action: 'finalize',
      job,
      copy: progress({ id: COPY_AMI, state: 'completed' }),
    });

    // Every tag is on the copy already (CopyImage tagged the image and its snapshots): nothing to set.
    expect(ec2).not.toReceiveCommand(CreateTagsCommand);
    const removals = ec2
      .calls()
      .map((call) => call.args[0])
      .filter(
        (command) => command instanceof DeregisterImageCommand || command instanceof DeleteSnapshotCommand,
      )
      .map((command) =>
        command instanceof DeregisterImageCommand
          ? `deregister ${command.input.ImageId}`
          : `delete ${(command as DeleteSnapshotCommand).input.SnapshotId}`,
      );
    expect(removals).toEqual([
      'deregister ami-00000000000000001',
      'delete snap-00000000000000011',
      'delete snap-00000000000000012',
      'deregister ami-00000000000000002',
      'delete snap-00000000000000021',
    ]);
    expect(result).toMatchObject({
      copy: COPY_AMI,
      archived: false,
      pruned: ['ami-00000000000000001', 'ami-00000000000000002'],
    });
    expect(deps.metrics.resourceCopied).toHaveBeenCalledWith(
      'image',
      'golden-amis',
      NOW - Date.parse(imageJob.eventTime),
    );
    expect(deps.metrics.pruned).toHaveBeenCalledWith('image', 'golden-amis', 2);
  });

  /**
   * CopyImage as EC2 documents its ClientToken (and the sandbox's fake EC2 models it): the same token and
   * request answer the image the first request made, even if it is gone since; the same token with another
   * request is refused with IdempotentParameterMismatch.
   */
  function idempotentCopyImage(newIds: string[], options: { loseFirstAnswer?: boolean } = {}) {
    const byToken = new Map<string, { request: string; imageId: string }>();
    let answers = 0;
    ec2.on(CopyImageCommand).callsFake((input: { ClientToken?: string }) => {
      const { ClientToken = '', ...request } = input;
      const earlier = byToken.get(ClientToken);
      if (earlier && earlier.request !== JSON.stringify(request)) {
        throw ec2Error(
          'IdempotentParameterMismatch',
          400,
          'The request uses the same client token as a previous, but non-identical request.',
        );
      }
      const imageId = earlier?.imageId ?? newIds.shift() ?? 'ami-0ffffffffffffffff';
      byToken.set(ClientToken, { request: JSON.stringify(request), imageId });
      answers += 1;
      if (options.loseFirstAnswer && answers === 1) {
        throw Object.assign(new Error('socket hang up after the request was sent'), { name: 'TimeoutError' });
      }
      return { ImageId: imageId };
    });
  }

  it('It should replace a failed earlier AMI copy with a new copy, not get the deleted one back', async () => {
    const FAILED = 'ami-0dead0dead0dead01';
    idempotentCopyImage([FAILED, COPY_AMI], { loseFirstAnswer: true });
    imagesInRegion([]);
    // The first start made a copy, but its answer was lost; by the time the step is retried, that copy failed.
    await expect(handler().run({ action: 'start', job: imageJob })).rejects.toMatchObject({
      name: 'RetryableCopyError',
    });
    imagesInRegion([
      copyImage(FAILED, ['snap-0dead0dead0dead01'], {
        State: 'failed',
        StateReason: { Code: 'Client.InternalError', Message: 'Copy failed' },
      }),
    ]);
    const result = await handler().run({ action: 'start', job: imageJob });

    expect(ec2).toReceiveCommandWith(DeregisterImageCommand, { ImageId: FAILED });
    expect(result).toMatchObject({ state: 'pending', id: expect.not.stringMatching(FAILED) });
  });

  it('It should find the copy a lost CopyImage answer made, even when the retry comes after midnight (UTC)', async () => {
    idempotentCopyImage([COPY_AMI], { loseFirstAnswer: true });
    imagesInRegion([]); // DescribeImages is eventually consistent: the retry does not list the new copy yet
    const beforeMidnight = Date.parse('2026-11-21T23:59:58Z');
    await expect(
      handler({ now: beforeMidnight }).run({ action: 'start', job: imageJob }),
    ).rejects.toMatchObject({ name: 'RetryableCopyError', classified: { cause: 'TimeoutError' } });

    const retry = handler({ now: beforeMidnight + 7_000 }).run({ action: 'start', job: imageJob });
    await expect(retry).resolves.toMatchObject({ id: COPY_AMI, state: 'pending' });
  });

  it('It should share the AMI and its snapshots from the source Region before copying into another account', async () => {
    const account = '444455556666';
    const roleArn = 'arn:aws:iam::444455556666:role/ferry-copier';
    const job = withDestination(imageJob, { account, roleArn });
    imagesInRegion([], {
      [AMI]: copyImage(AMI, ['snap-0000000000000005a', 'snap-0000000000000005b'], { Tags: [] }),
    });
    ec2.on(CopyImageCommand).resolves({ ImageId: COPY_AMI });
    const targets = vi.fn((target: AwsTarget) => new EC2Client({ region: target.region }));
    await handler({ ec2: targets }).run({ action: 'start', job });

    expect(sent()).toEqual([
      'DescribeImages',
      'ModifyImageAttribute',
      'DescribeImages',
      'ModifySnapshotAttribute',
      'ModifySnapshotAttribute',
      'CopyImage',
    ]);
    expect(ec2).toReceiveCommandWith(ModifyImageAttributeCommand, {
      ImageId: AMI,
      LaunchPermission: { Add: [{ UserId: account }] },
    });
    for (const SnapshotId of ['snap-0000000000000005a', 'snap-0000000000000005b']) {
      expect(ec2).toReceiveCommandWith(ModifySnapshotAttributeCommand, {
        SnapshotId,
        Attribute: 'createVolumePermission',
        OperationType: 'add',
        UserIds: [account],
      });
    }
    await expect(regionOf(ec2.commandCalls(ModifyImageAttributeCommand)[0])).resolves.toBe('us-west-2');
    for (const call of ec2.commandCalls(ModifySnapshotAttributeCommand)) {
      await expect(regionOf(call)).resolves.toBe('us-west-2');
    }
    await expect(regionOf(ec2.commandCalls(CopyImageCommand)[0])).resolves.toBe('us-east-1');
    expect(targets.mock.calls).toEqual([
      [{ region: 'us-east-1', roleArn }, { retries: true }],
      [{ region: 'us-west-2' }],
      [{ region: 'us-east-1', roleArn }, { retries: false }],
    ]);
  });
});
