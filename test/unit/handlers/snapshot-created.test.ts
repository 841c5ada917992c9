import { DescribeSnapshotsCommand, EC2Client, type Snapshot } from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type Ec2CopyJob, Ec2CopyJobSchema, executionNameOf } from '#ec2/copy-machine/contract';
import { createSnapshotCreatedHandler } from '#ec2/handlers/snapshot-created';
import { MARKER } from '#ec2/markers';
import type { SnapshotReplicationDeps } from '#ec2/snapshots/replicate';
import type { StartOutcome } from '#ec2/start-copies';
import { createEc2ClientFactory } from '#foundation/aws-clients';
import { createPowertools } from '#foundation/observability/powertools';
import { snapshotRulesOf } from '#rules/config';
import { DEFAULT_SNAPSHOT_DESCRIPTION } from '#rules/templates';
import { ec2Event } from '#test/support/ec2-events';
import { ec2Error, regionOf } from '#test/support/ec2-mocks';
import { configFrom, lambdaContext, recordingLog, recordingMetrics } from '#test/support/fixtures';

const ec2 = mockClient(EC2Client);
afterEach(() => ec2.reset());

const SNAP = 'snap-0a1b2c3d4e5f60718';
const VOLUME = 'vol-0f1e2d3c4b5a69788';
// The two snapshots of test/events/ec2/multi-volume-snapshots.json.
const SNAP_A = 'snap-0c3d4e5f60718293a';
const SNAP_B = 'snap-0d4e5f60718293a4b';

const snapshot = (id: string, overrides: Partial<Snapshot> = {}): Snapshot => ({
  SnapshotId: id,
  VolumeId: VOLUME,
  VolumeSize: 8,
  Encrypted: false,
  Description: 'nightly db backup',
  OwnerId: '111122223333',
  State: 'completed',
  Progress: '100%',
  StartTime: new Date('2026-11-21T18:41:02Z'),
  Tags: [
    { Key: 'team', Value: 'db' },
    { Key: 'aws:backup:source-resource', Value: 'vol' },
  ],
  ...overrides,
});

const CONFIG = `
rules:
  - name: ebs-dr
    snapshots: { regions: [us-east-1] }
    to:
      - region: us-west-2
        tags: { copied-by: ferry }
        retain: { count: 2 }
      - region: eu-west-1
        kmsKeyId: alias/dr-ebs
        archive: true
        completionDurationMinutes: 120
`;

const TAGGED = `
rules:
  - name: tagged
    snapshots: { regions: [us-east-1], tags: { backup: dr } }
    to:
      - region: us-west-2
`;

/** A fake starter: records every job, and can answer "already started" or fail for chosen jobs. */
function fakeStarter(
  options: { alreadyStarted?: boolean; failFor?: (job: Ec2CopyJob) => boolean } = {},
): SnapshotReplicationDeps['copies'] & { jobs: Ec2CopyJob[] } {
  const jobs: Ec2CopyJob[] = [];
  return {
    jobs,
    start: vi.fn(async (job: Ec2CopyJob) => {
      jobs.push(job);
      if (options.failFor?.(job)) throw new Error('StartExecution: Rate exceeded');
      return {
        execution: `arn:aws:states:us-east-1:111122223333:execution:snapshot-copy:${executionNameOf(job)}`,
        started: !options.alreadyStarted,
      };
    }),
  };
}

function setup(yaml = CONFIG, copies = fakeStarter()) {
  const metrics = recordingMetrics();
  const log = recordingLog();
  const deps: SnapshotReplicationDeps = {
    rules: snapshotRulesOf(configFrom(yaml)),
    ec2: createEc2ClientFactory(),
    copies,
    log,
    metrics,
  };
  const handler = createSnapshotCreatedHandler(createPowertools(), deps);
  const invoke = (event: unknown) => handler(event as never, lambdaContext) as Promise<StartOutcome[]>;
  return { invoke, copies, metrics, log };
}

describe('snapshot-created handler', () => {
  it('It should describe the snapshot once, in its Region, and start one copy per destination', async () => {
    ec2.on(DescribeSnapshotsCommand).resolves({ Snapshots: [snapshot(SNAP)] });
    const { invoke, copies } = setup();
    const outcomes = await invoke(ec2Event('snapshot-created'));

    expect(ec2).toReceiveCommandTimes(DescribeSnapshotsCommand, 1);
    const describe = ec2.commandCalls(DescribeSnapshotsCommand)[0];
    expect(describe?.args[0].input).toEqual({ SnapshotIds: [SNAP] });
    await expect(regionOf(describe)).resolves.toBe('us-east-1');

    expect(copies.jobs).toHaveLength(2);
    const source = {
      id: SNAP,
      region: 'us-east-1',
      account: '111122223333',
      encrypted: false,
      description: 'nightly db backup',
      volumeId: VOLUME,
      sizeGiB: 8,
      // The source's tags as they are: which of them a copy carries is decided when it is made.
      tags: { team: 'db', 'aws:backup:source-resource': 'vol' },
    };
    expect(copies.jobs[0]).toEqual({
      kind: 'snapshot',
      rule: 'ebs-dr',
      destinationIndex: 0,
      destination: {
        region: 'us-west-2',
        copyTags: true,
        tags: { 'copied-by': 'ferry' },
        retain: { count: 2 },
        description: DEFAULT_SNAPSHOT_DESCRIPTION,
        archive: false,
      },
      source,
      eventTime: '2026-11-21T18:43:48Z',
    });
    expect(copies.jobs[1]).toEqual({
      kind: 'snapshot',
      rule: 'ebs-dr',
      destinationIndex: 1,
      destination: {
        region: 'eu-west-1',
        kmsKeyId: 'alias/dr-ebs',
        copyTags: true,
        tags: {},
        description: DEFAULT_SNAPSHOT_DESCRIPTION,
        archive: true,
        completionDurationMinutes: 120,
      },
      source,
      eventTime: '2026-11-21T18:43:48Z',
    });
    // Each job is an execution input the copy steps accept as it is.
    for (const job of copies.jobs)
      expect(Ec2CopyJobSchema.parse(JSON.parse(JSON.stringify(job)))).toEqual(job);

    expect(outcomes).toEqual([
      {
        status: 'started',
        source: SNAP,
        rule: 'ebs-dr',
        region: 'us-west-2',
        execution: expect.stringContaining(executionNameOf(copies.jobs[0] as Ec2CopyJob)),
      },
      expect.objectContaining({ status: 'started', region: 'eu-west-1' }),
    ]);
  });

  it('It should report a copy whose execution already exists as already started', async () => {
    ec2.on(DescribeSnapshotsCommand).resolves({ Snapshots: [snapshot(SNAP)] });
    const { invoke } = setup(CONFIG, fakeStarter({ alreadyStarted: true }));
    const outcomes = await invoke(ec2Event('snapshot-created'));
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['already-started', 'already-started']);
  });

  it('It should describe every snapshot of a multi-volume event in one call', async () => {
    ec2.on(DescribeSnapshotsCommand).resolves({
      Snapshots: [
        snapshot(SNAP_B, { VolumeId: 'vol-02b3c4d5e6f708192', VolumeSize: 100 }),
        snapshot(SNAP_A, { VolumeId: 'vol-01a2b3c4d5e6f7081', VolumeSize: 50, Encrypted: true }),
      ],
    });
    const { invoke, copies } = setup(TAGGED.replace('tags: { backup: dr }', ''));
    await invoke(ec2Event('multi-volume-snapshots'));

    expect(ec2).toReceiveCommandTimes(DescribeSnapshotsCommand, 1);
    expect(ec2).toReceiveCommandWith(DescribeSnapshotsCommand, { SnapshotIds: [SNAP_A, SNAP_B] });
    expect(
      copies.jobs.map((job) => [
        job.source.id,
        job.source.volumeId,
        job.source.sizeGiB,
        job.source.encrypted,
      ]),
    ).toEqual([
      [SNAP_A, 'vol-01a2b3c4d5e6f7081', 50, true],
      [SNAP_B, 'vol-02b3c4d5e6f708192', 100, false],
    ]);
    expect(copies.jobs.every((job) => job.eventTime === '2026-11-21T19:02:17Z')).toBe(true);
  });

  it('It should describe only the completed snapshots of a multi-volume event', async () => {
    ec2.on(DescribeSnapshotsCommand).resolves({ Snapshots: [snapshot(SNAP_A)] });
    const { invoke, copies, metrics } = setup();
    const event = ec2Event('multi-volume-snapshots');
    const second = event.detail.snapshots?.[1];
    if (second) second.status = 'error';
    event.detail.result = 'succeeded';
    const outcomes = await invoke(event);

    expect(ec2).toReceiveCommandExactlyOnceWith(DescribeSnapshotsCommand, { SnapshotIds: [SNAP_A] });
    expect(copies.jobs.map((job) => job.source.id)).toEqual([SNAP_A, SNAP_A]);
    expect(outcomes).toContainEqual({ status: 'skipped', source: SNAP_B, reason: 'status error' });
    expect(metrics.skipped).toHaveBeenCalledWith('none', 'not-a-creation');
  });

  it.each([
    ['a copySnapshot event', 'snapshot-copied', /copySnapshot/],
    ['a failed copySnapshot event', 'snapshot-copy-failed', /copySnapshot/],
  ] as const)('It should skip %s without any AWS call', async (_, name, reason) => {
    const { invoke, copies, metrics } = setup();
    const outcomes = await invoke(ec2Event(name));
    expect(outcomes).toEqual([
      { status: 'skipped', source: expect.any(String), reason: expect.stringMatching(reason) },
    ]);
    expect(ec2.calls()).toHaveLength(0);
    expect(copies.start).not.toHaveBeenCalled();
    expect(metrics.skipped).toHaveBeenCalledWith('none', 'not-a-creation');
  });

  it('It should skip a failed createSnapshot without any AWS call', async () => {
    const { invoke, copies } = setup();
    const event = ec2Event('snapshot-created');
    event.detail.result = 'failed';
    event.detail.cause = 'Volume is in an invalid state';
    const outcomes = await invoke(event);
    expect(outcomes).toEqual([
      { status: 'skipped', source: SNAP, reason: 'result failed: Volume is in an invalid state' },
    ]);
    expect(ec2.calls()).toHaveLength(0);
    expect(copies.start).not.toHaveBeenCalled();
  });

  it("It should skip a snapshot that is Ferry's own copy", async () => {
    ec2.on(DescribeSnapshotsCommand).resolves({
      Snapshots: [snapshot(SNAP, { Tags: [{ Key: MARKER.sourceId, Value: 'snap-0123456789abcdef0' }] })],
    });
    const { invoke, copies, metrics } = setup();
    const outcomes = await invoke(ec2Event('snapshot-created'));
    expect(outcomes).toEqual([{ status: 'skipped', source: SNAP, reason: expect.stringContaining('Ferry') }]);
    expect(copies.start).not.toHaveBeenCalled();
    expect(metrics.skipped).toHaveBeenCalledWith('none', 'ferry-copy');
  });

  it('It should start a copy for a rule with tags only when the snapshot carries them', async () => {
    ec2.on(DescribeSnapshotsCommand).resolves({ Snapshots: [snapshot(SNAP)] });
    const untagged = setup(TAGGED);
    expect(await untagged.invoke(ec2Event('snapshot-created'))).toEqual([
      { status: 'skipped', source: SNAP, reason: expect.stringContaining('no snapshot rule matches') },
    ]);
    expect(untagged.copies.start).not.toHaveBeenCalled();
    expect(untagged.metrics.skipped).toHaveBeenCalledWith('none', 'no-matching-rule');

    ec2.on(DescribeSnapshotsCommand).resolves({
      Snapshots: [snapshot(SNAP, { Tags: [{ Key: 'backup', Value: 'drill' }] })],
    });
    const wrongValue = setup(TAGGED);
    await wrongValue.invoke(ec2Event('snapshot-created'));
    expect(wrongValue.copies.start).not.toHaveBeenCalled();

    ec2.on(DescribeSnapshotsCommand).resolves({
      Snapshots: [snapshot(SNAP, { Tags: [{ Key: 'backup', Value: 'dr' }] })],
    });
    const tagged = setup(TAGGED);
    await tagged.invoke(ec2Event('snapshot-created'));
    expect(tagged.copies.jobs).toEqual([
      expect.objectContaining({
        rule: 'tagged',
        source: expect.objectContaining({ tags: { backup: 'dr' } }),
      }),
    ]);
  });

  it('It should still start the other snapshots of an event when one was deleted in the meantime', async () => {
    ec2.on(DescribeSnapshotsCommand).callsFake((input: { SnapshotIds?: string[] }) => {
      if (input.SnapshotIds?.includes(SNAP_B)) throw ec2Error('InvalidSnapshot.NotFound', 400);
      return { Snapshots: (input.SnapshotIds ?? []).map((id) => snapshot(id)) };
    });
    const { invoke, copies, metrics } = setup();
    const outcomes = await invoke(ec2Event('multi-volume-snapshots'));

    expect(copies.jobs.map((job) => job.source.id)).toEqual([SNAP_A, SNAP_A]);
    expect(outcomes).toContainEqual({
      status: 'skipped',
      source: SNAP_B,
      reason: `${SNAP_B} no longer exists in us-east-1`,
    });
    expect(metrics.skipped).toHaveBeenCalledWith('none', 'source-gone');
    expect(ec2).toReceiveCommandWith(DescribeSnapshotsCommand, { SnapshotIds: [SNAP_A, SNAP_B] });
  });

  it('It should skip a snapshot deleted before it was described', async () => {
    ec2.on(DescribeSnapshotsCommand).rejects(ec2Error('InvalidSnapshot.NotFound', 400));
    const { invoke, copies, metrics } = setup();
    expect(await invoke(ec2Event('snapshot-created'))).toEqual([
      { status: 'skipped', source: SNAP, reason: `${SNAP} no longer exists in us-east-1` },
    ]);
    expect(copies.start).not.toHaveBeenCalled();
    expect(metrics.skipped).toHaveBeenCalledWith('none', 'source-gone');
  });

  it('It should start every other copy when one cannot be started, then fail naming that one', async () => {
    ec2.on(DescribeSnapshotsCommand).resolves({ Snapshots: [snapshot(SNAP)] });
    // The first destination fails: the one after it must still be started.
    const copies = fakeStarter({ failFor: (job) => job.destination.region === 'us-west-2' });
    const { invoke } = setup(CONFIG, copies);
    const failure = await invoke(ec2Event('snapshot-created')).then(
      () => undefined,
      (error: unknown) => error as Error & { failures?: { job: Ec2CopyJob }[] },
    );
    expect(failure).toMatchObject({
      name: 'CopyStartError',
      message: expect.stringContaining(`${SNAP} → us-west-2 [ebs-dr]: StartExecution: Rate exceeded`),
    });
    expect(failure?.message).not.toContain('eu-west-1');
    expect(failure?.failures?.map((f) => f.job.destination.region)).toEqual(['us-west-2']);
    expect(copies.start).toHaveBeenCalledTimes(2);
    expect(copies.jobs.map((job) => job.destination.region)).toEqual(['us-west-2', 'eu-west-1']);
  });

  it.each([
    [
      'a missing snapshot_id',
      (e: { detail: Record<string, unknown> }) => delete e.detail.snapshot_id,
      'detail.snapshot_id',
    ],
    [
      'a snapshot_id that is not a snapshot ARN',
      (e: { detail: Record<string, unknown> }) => {
        e.detail.snapshot_id = 'snap-0a1b2c3d4e5f60718';
      },
      'detail.snapshot_id',
    ],
    [
      'an unknown detail-type',
      (e: Record<string, unknown>) => {
        e['detail-type'] = 'EBS Fast Snapshot Restore State-change Notification';
      },
      'detail-type',
    ],
    ['a missing time', (e: Record<string, unknown>) => delete e.time, 'time'],
  ])('It should reject %s with a MalformedEventError naming the field', async (_, breakIt, field) => {
    const { invoke, copies } = setup();
    const event = ec2Event('snapshot-created');
    breakIt(event as never);
    await expect(invoke(event)).rejects.toMatchObject({
      name: 'MalformedEventError',
      message: expect.stringContaining(field),
    });
    expect(ec2.calls()).toHaveLength(0);
    expect(copies.start).not.toHaveBeenCalled();
  });

  it('It should fail the invocation, so Lambda retries the event, when DescribeSnapshots stays throttled', async () => {
    ec2.on(DescribeSnapshotsCommand).rejects(ec2Error('RequestLimitExceeded', 503));
    const { invoke, copies, metrics } = setup();
    await expect(invoke(ec2Event('snapshot-created'))).rejects.toMatchObject({
      name: 'RequestLimitExceeded',
    });
    expect(copies.start).not.toHaveBeenCalled();
    expect(metrics.skipped).not.toHaveBeenCalled();
  });
});
