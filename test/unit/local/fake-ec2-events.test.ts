import { readFileSync } from 'node:fs';
import {
  CopyImageCommand,
  CopySnapshotCommand,
  CreateImageCommand,
  CreateSnapshotCommand,
  CreateSnapshotsCommand,
  DeregisterImageCommand,
} from '@aws-sdk/client-ec2';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Ec2Event } from '#local/ec2/events';
import { type StandaloneEc2, startStandaloneEc2 } from '#local/ec2/standalone';
import { VirtualClock } from '#local/virtual-clock';

const MiB = 1024 * 1024;
const sample = (name: string): unknown =>
  JSON.parse(readFileSync(new URL(`../../events/ec2/${name}.json`, import.meta.url), 'utf8'));

/** The structure of a value: its keys, and the type of each leaf. */
const shape = (value: unknown): unknown =>
  Array.isArray(value)
    ? value.map(shape)
    : value && typeof value === 'object'
      ? Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, shape(inner)]))
      : typeof value;

const SINGLE_ARN =
  /^arn:aws:ec2:(us-east-1|us-west-2)::(snapshot\/snap|volume\/vol|image\/ami)-[0-9a-f]{8,17}$/;
const MULTI_VOLUME_ARN = /^arn:aws:ec2::us-east-1:(snapshot\/snap|volume\/vol)-[0-9a-f]{17}$/;

describe('the fake EC2: EventBridge events', () => {
  let ec2: StandaloneEc2;
  let events: Ec2Event[];
  const client = (region: string) => ec2.client(region, { maxAttempts: 1 });
  const ofType = (event: string) => events.filter((e) => e.detail.event === event);

  beforeEach(async () => {
    events = [];
    ec2 = await startStandaloneEc2({
      clock: new VirtualClock(() => Date.UTC(2026, 10, 21, 18, 0, 0)),
      copyBytesPerSecond: 100 * MiB,
      onEvent: (event) => events.push(event),
    });
  });
  afterEach(() => ec2.close());

  const snapshotOf = async (VolumeId: string) => {
    const { SnapshotId = '' } = await client('us-east-1').send(new CreateSnapshotCommand({ VolumeId }));
    await ec2.fake.settle();
    return SnapshotId;
  };

  it('It should send createSnapshot as EBS documents it, with its ARNs without account', async () => {
    const volume = ec2.fake.createVolume('us-east-1', { sizeGiB: 8 });
    const snapshot = await snapshotOf(volume);
    const [event] = ofType('createSnapshot');
    expect(shape(event)).toEqual(shape(sample('snapshot-created')));
    expect(event).toMatchObject({
      'detail-type': 'EBS Snapshot Notification',
      source: 'aws.ec2',
      account: '000000000000',
      region: 'us-east-1',
      time: '2026-11-21T18:00:00Z',
      resources: [`arn:aws:ec2:us-east-1::snapshot/${snapshot}`],
      detail: {
        result: 'succeeded',
        cause: '',
        snapshot_id: `arn:aws:ec2:us-east-1::snapshot/${snapshot}`,
        source: `arn:aws:ec2:us-east-1::volume/${volume}`,
      },
    });
    expect(event?.detail.source).toMatch(SINGLE_ARN);
  });

  it('It should send one multi-volume event for CreateSnapshots, with the Region in the account field', async () => {
    const volumes = [8, 20].map((sizeGiB) => ec2.fake.createVolume('us-east-1', { sizeGiB }));
    const InstanceId = ec2.fake.createInstance('us-east-1', volumes);
    const { Snapshots = [] } = await client('us-east-1').send(
      new CreateSnapshotsCommand({ InstanceSpecification: { InstanceId }, Description: 'set' }),
    );
    expect(Snapshots.map((s) => s.State)).toEqual(['pending', 'pending']);
    await ec2.fake.settle();
    expect(events).toHaveLength(1);
    const [event] = events;
    expect(shape(event)).toEqual(shape(sample('multi-volume-snapshots')));
    expect(event?.['detail-type']).toBe('EBS Multi-Volume Snapshots Completion Status');
    expect(event?.detail.snapshots).toEqual(
      Snapshots.map((s, i) => ({
        snapshot_id: `arn:aws:ec2::us-east-1:snapshot/${s.SnapshotId}`,
        source: `arn:aws:ec2::us-east-1:volume/${volumes[i]}`,
        status: 'completed',
      })),
    );
    expect(event?.resources.every((arn) => MULTI_VOLUME_ARN.test(arn))).toBe(true);
  });

  it('It should send copySnapshot when a copy completes, incremental once an older copy of the volume exists', async () => {
    const volume = ec2.fake.createVolume('us-east-1', { sizeGiB: 10 });
    const first = await snapshotOf(volume);
    const copy = async (SourceSnapshotId: string) =>
      (
        await client('us-west-2').send(
          new CopySnapshotCommand({ SourceRegion: 'us-east-1', SourceSnapshotId }),
        )
      ).SnapshotId;
    const firstCopy = await copy(first);
    ec2.clock.advance(60_000);
    ec2.fake.refresh();
    expect(ofType('copySnapshot')).toEqual([]);
    ec2.clock.advance(43_000);
    ec2.fake.refresh();
    const [done] = ofType('copySnapshot');
    expect(shape(done)).toEqual(shape(sample('snapshot-copied')));
    expect(done).toMatchObject({
      region: 'us-west-2',
      time: '2026-11-21T18:01:42Z', // 102.4 s after the start
      detail: {
        result: 'succeeded',
        snapshot_id: `arn:aws:ec2:us-west-2::snapshot/${firstCopy}`,
        source: `arn:aws:ec2:us-east-1::snapshot/${first}`,
        startTime: '2026-11-21T18:00:00Z',
        endTime: '2026-11-21T18:01:42Z',
        Incremental: 'false',
      },
    });
    await copy(await snapshotOf(volume));
    ec2.clock.advance(103_000);
    ec2.fake.refresh();
    expect(ofType('copySnapshot').map((e) => e.detail.Incremental)).toEqual(['false', 'true']);
  });

  it('It should send a failed copySnapshot with its cause when a copy goes to error', async () => {
    const source = await snapshotOf(ec2.fake.createVolume('us-east-1', { sizeGiB: 10 }));
    await client('us-west-2').send(
      new CopySnapshotCommand({
        SourceRegion: 'us-east-1',
        SourceSnapshotId: source,
        Encrypted: true,
        KmsKeyId: 'alias/gone',
      }),
    );
    ec2.clock.advance(61_000);
    ec2.fake.refresh();
    const [failed] = ofType('copySnapshot');
    expect(shape(failed)).toEqual(shape(sample('snapshot-copy-failed')));
    expect(failed?.detail).toMatchObject({ result: 'failed', cause: 'Given key ID is not accessible' });
  });

  it('It should send "EC2 AMI State Change" for created, copied, failed and deregistered images', async () => {
    const InstanceId = ec2.fake.createInstance('us-east-1', [
      ec2.fake.createVolume('us-east-1', { sizeGiB: 8 }),
    ]);
    const created = await client('us-east-1').send(new CreateImageCommand({ InstanceId, Name: 'web' }));
    await ec2.fake.settle();
    expect(events.map((e) => e.detail.event ?? e.detail.State)).toEqual(['createSnapshot', 'available']);
    const available = events[1];
    expect(shape(available)).toEqual(shape(sample('image-available')));
    expect(available).toMatchObject({
      'detail-type': 'EC2 AMI State Change',
      resources: [`arn:aws:ec2:us-east-1::image/${created.ImageId}`],
      detail: {
        RequestId: created.$metadata.requestId,
        ImageId: created.ImageId,
        State: 'available',
        ErrorMessage: '',
      },
    });

    const copyImage = (Name: string, encryption = {}) =>
      client('us-west-2').send(
        new CopyImageCommand({
          SourceRegion: 'us-east-1',
          SourceImageId: created.ImageId,
          Name,
          ...encryption,
        }),
      );
    const good = await copyImage('web-dr');
    const bad = await copyImage('web-bad', { Encrypted: true, KmsKeyId: 'alias/gone' });
    ec2.clock.advance(90_000);
    ec2.fake.refresh();
    const changes = events.filter((e) => e.region === 'us-west-2');
    expect(changes.map((e) => [e.detail.ImageId, e.detail.State])).toEqual([
      [bad.ImageId, 'failed'],
      [good.ImageId, 'available'],
    ]);
    expect(shape(changes[0])).toEqual(shape(sample('image-failed')));
    expect(changes[0]?.detail.ErrorMessage).toBe(
      'AMI snapshot copy failed with error: Given key ID is not accessible',
    );
    expect(ofType('copySnapshot')).toEqual([]); // an image copy reports the image, not its snapshots

    await client('us-west-2').send(new DeregisterImageCommand({ ImageId: good.ImageId }));
    await ec2.fake.settle();
    expect(events.at(-1)?.detail).toMatchObject({ ImageId: good.ImageId, State: 'deregistered' });
  });
});
