import { describe, expect, it } from 'vitest';
import { createdSnapshotsOf, parseEc2Arn, SnapshotEventSchema } from '#ec2/snapshots/event';
import { instrumented } from '#foundation/observability/middleware';
import { createPowertools } from '#foundation/observability/powertools';
import { type Ec2FixtureEvent, ec2Event } from '#test/support/ec2-events';
import { lambdaContext } from '#test/support/fixtures';

const created = (event: Ec2FixtureEvent) => createdSnapshotsOf(SnapshotEventSchema.parse(event));

describe('EBS snapshot events', () => {
  it('It should accept the snapshot of a successful createSnapshot, with its Region and volume', () => {
    expect(created(ec2Event('snapshot-created'))).toEqual([
      {
        snapshotId: 'snap-0a1b2c3d4e5f60718',
        region: 'us-east-1',
        volumeId: 'vol-0f1e2d3c4b5a69788',
        accepted: true,
      },
    ]);
  });

  it('It should accept each completed snapshot of a successful multi-volume set', () => {
    expect(created(ec2Event('multi-volume-snapshots'))).toEqual([
      {
        snapshotId: 'snap-0c3d4e5f60718293a',
        region: 'us-east-1',
        volumeId: 'vol-01a2b3c4d5e6f7081',
        accepted: true,
      },
      {
        snapshotId: 'snap-0d4e5f60718293a4b',
        region: 'us-east-1',
        volumeId: 'vol-02b3c4d5e6f708192',
        accepted: true,
      },
    ]);
  });

  it('It should skip copies and shares with their reason, so the handler can log them', () => {
    expect(created(ec2Event('snapshot-copied'))).toEqual([
      {
        snapshotId: 'snap-0e5f60718293a4b5c',
        region: 'us-west-2',
        accepted: false,
        reason: "copySnapshot events are Ferry's own or another copy",
      },
    ]);
    const shared = ec2Event('snapshot-created');
    shared.detail.event = 'shareSnapshot';
    shared.detail.source = 444455556666; // an account number, not an ARN
    expect(created(shared)).toEqual([
      expect.objectContaining({
        accepted: false,
        reason: 'shareSnapshot events are snapshots another account shared',
      }),
    ]);
    const other = ec2Event('snapshot-created');
    other.detail.event = 'restoreSnapshot';
    expect(created(other)[0]?.reason).toBe('restoreSnapshot events are not snapshot creations');
  });

  it('It should skip failed results, with the cause when EBS gives one', () => {
    const failed = ec2Event('snapshot-created');
    failed.detail.result = 'failed';
    expect(created(failed)[0]).toMatchObject({ accepted: false, reason: 'result failed' });
    failed.detail.cause = 'Snapshot snap-0a1b2c3d4e5f60718 is in status error';
    expect(created(failed)[0]?.reason).toBe(
      'result failed: Snapshot snap-0a1b2c3d4e5f60718 is in status error',
    );
    expect(created(ec2Event('snapshot-copy-failed'))[0]?.reason).toBe(
      "copySnapshot events are Ferry's own or another copy",
    );
  });

  it('It should skip every snapshot of a failed set, and the ones not completed in a set', () => {
    const failed = ec2Event('multi-volume-snapshots');
    failed.detail.result = 'failed';
    expect(created(failed).map((snapshot) => snapshot.reason)).toEqual(['result failed', 'result failed']);
    const partial = ec2Event('multi-volume-snapshots');
    const [first] = partial.detail.snapshots ?? [];
    if (first) first.status = 'error';
    expect(created(partial).map(({ accepted, reason }) => ({ accepted, reason }))).toEqual([
      { accepted: false, reason: 'status error' },
      { accepted: true, reason: undefined },
    ]);
  });

  it('It should read the Region from every ARN form EBS uses, or fall back to the event Region', () => {
    const forms = [
      ['arn:aws:ec2::us-west-2:snapshot/snap-01234567', 'us-west-2'],
      ['arn:aws:ec2:eu-west-1::snapshot/snap-01234567', 'eu-west-1'],
      ['arn:aws:ec2:ap-southeast-2:123456789012:snapshot/snap-01234567', 'ap-southeast-2'],
      ['arn:aws:ec2:::snapshot/snap-01234567', 'us-east-1'],
    ] as const;
    for (const [arn, region] of forms) {
      const event = ec2Event('snapshot-created');
      event.detail.snapshot_id = arn;
      expect(created(event)[0]).toMatchObject({ snapshotId: 'snap-01234567', region });
    }
    expect(parseEc2Arn('arn:aws:ec2::us-east-1:volume/vol-012345678')).toEqual({
      type: 'volume',
      id: 'vol-012345678',
      region: 'us-east-1',
    });
    expect(parseEc2Arn('arn:aws:ec2:us-east-1::image/ami-01234567')).toBeUndefined();
  });

  it.each([
    ['a missing snapshot_id', (e: Ec2FixtureEvent) => delete e.detail.snapshot_id, ['detail.snapshot_id']],
    [
      'an ARN that is not a snapshot',
      (e: Ec2FixtureEvent) => {
        e.detail.snapshot_id = 'arn:aws:ec2::us-east-1:volume/vol-0f1e2d3c4b5a69788';
      },
      ['detail.snapshot_id: expected a snapshot ARN'],
    ],
    [
      'a missing result and event',
      (e: Ec2FixtureEvent) => {
        delete e.detail.result;
        delete e.detail.event;
      },
      ['detail.event', 'detail.result'],
    ],
    [
      'another source',
      (e: Ec2FixtureEvent) => {
        e.source = 'aws.s3';
      },
      ['source'],
    ],
    [
      'an unknown detail-type',
      (e: Ec2FixtureEvent) => {
        e['detail-type'] = 'EBS Volume Notification';
      },
      ['detail-type: expected "EBS Snapshot Notification" or "EBS Multi-Volume Snapshots Completion Status"'],
    ],
    [
      'a bad time',
      (e: Ec2FixtureEvent) => {
        e.time = 'yesterday';
      },
      ['time'],
    ],
  ])('It should reject %s through the handler chain, naming each bad field', async (_, breakIt, fields) => {
    const handler = instrumented(createPowertools(), SnapshotEventSchema, async (event) =>
      createdSnapshotsOf(event),
    );
    const event = ec2Event('snapshot-created');
    breakIt(event);
    const error = await handler(event as never, lambdaContext).then(
      () => undefined,
      (failure: unknown) => failure,
    );
    expect(error).toMatchObject({ name: 'MalformedEventError' });
    for (const field of fields) expect((error as Error).message).toContain(field);
  });

  it('It should name the bad snapshot of a multi-volume set by its index', () => {
    const event = ec2Event('multi-volume-snapshots');
    const [, second] = event.detail.snapshots ?? [];
    if (second) delete second.status;
    const result = SnapshotEventSchema.safeParse(event);
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((issue) => issue.path.join('.'))).toEqual(['detail.snapshots.1.status']);
  });
});
