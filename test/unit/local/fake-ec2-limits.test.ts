import {
  CopyImageCommand,
  CopySnapshotCommand,
  CreateImageCommand,
  CreateSnapshotCommand,
  DeleteSnapshotCommand,
  DescribeImagesCommand,
  DescribeSnapshotsCommand,
} from '@aws-sdk/client-ec2';
import { afterEach, describe, expect, it } from 'vitest';
import { parseEc2FaultRates } from '#local/ec2/faults';
import { type StandaloneEc2, startStandaloneEc2 } from '#local/ec2/standalone';
import { VirtualClock } from '#local/virtual-clock';

const MiB = 1024 * 1024;
const frozenClock = () => new VirtualClock(() => Date.UTC(2026, 10, 21, 22, 0, 0));

describe('the fake EC2: limits, throttling and faults', () => {
  let ec2: StandaloneEc2;
  afterEach(() => ec2.close());
  const start = async (options: Parameters<typeof startStandaloneEc2>[0] = {}) => {
    ec2 = await startStandaloneEc2({ clock: frozenClock(), copyBytesPerSecond: 100 * MiB, ...options });
  };
  const client = (region: string) => ec2.client(region, { maxAttempts: 1 });

  /** A completed snapshot in us-east-1. */
  const snapshotOf = async (sizeGiB: number) => {
    const VolumeId = ec2.fake.createVolume('us-east-1', { sizeGiB });
    const { SnapshotId = '' } = await client('us-east-1').send(new CreateSnapshotCommand({ VolumeId }));
    await ec2.fake.settle();
    return SnapshotId;
  };
  const copy = (region: string, SourceSnapshotId: string) =>
    client(region).send(new CopySnapshotCommand({ SourceRegion: 'us-east-1', SourceSnapshotId }));

  it('It should refuse a 21st concurrent snapshot copy into a Region, and accept it once one completed', async () => {
    await start();
    const small = await snapshotOf(1); // 10.24 s
    const large = await snapshotOf(100); // 1,024 s
    await copy('us-west-2', small);
    for (let i = 0; i < 19; i++) await copy('us-west-2', large);
    const refused = copy('us-west-2', large);
    await expect(refused).rejects.toMatchObject({
      name: 'ResourceLimitExceeded',
      message: 'Too many snapshot copies in progress. The limit is 20 for this destination region.',
      $metadata: { httpStatusCode: 400 },
    });
    await expect(copy('eu-west-1', large)).resolves.toMatchObject({ SnapshotId: expect.any(String) });
    ec2.clock.advance(11_000);
    await expect(copy('us-west-2', large)).resolves.toMatchObject({ SnapshotId: expect.any(String) });
    await expect(copy('us-west-2', large)).rejects.toMatchObject({ name: 'ResourceLimitExceeded' });
  });

  it('It should report the most snapshot copies run at once per Region, deleted ones included, image copies not', async () => {
    await start();
    const small = await snapshotOf(1); // 10.24 s
    const large = await snapshotOf(100); // 1,024 s
    expect(ec2.fake.peakConcurrentCopies('us-west-2')).toBe(0);
    const { SnapshotId: first = '' } = await copy('us-west-2', small);
    ec2.clock.advance(10_240);
    // The first has just completed: one that starts now does not overlap it, as for the limit.
    await copy('us-west-2', small);
    expect(ec2.fake.peakConcurrentCopies('us-west-2')).toBe(1);
    ec2.clock.advance(20_000);
    const doomed: string[] = [];
    for (let i = 0; i < 3; i++) doomed.push((await copy('us-west-2', large)).SnapshotId ?? '');
    await copy('us-west-2', large);
    await copy('eu-west-1', large);
    // The snapshots behind an image copy count toward the image-copy limit, not this one.
    const InstanceId = ec2.fake.createInstance('us-east-1', [
      ec2.fake.createVolume('us-east-1', { sizeGiB: 8 }),
    ]);
    const { ImageId } = await client('us-east-1').send(new CreateImageCommand({ InstanceId, Name: 'web' }));
    await ec2.fake.settle();
    await client('us-west-2').send(
      new CopyImageCommand({ SourceRegion: 'us-east-1', SourceImageId: ImageId, Name: 'web' }),
    );
    ec2.clock.advance(5_000);
    for (const SnapshotId of [first, ...doomed])
      await client('us-west-2').send(new DeleteSnapshotCommand({ SnapshotId }));
    expect(ec2.fake.snapshots('us-west-2').filter((s) => s.copy && !s.copy.imageId)).toHaveLength(2);
    // Four large copies ran together until three were deleted, pending.
    expect(ec2.fake.peakConcurrentCopies('us-west-2')).toBe(4);
    ec2.clock.advance(5_000);
    for (let i = 0; i < 3; i++) await copy('us-west-2', large);
    expect(ec2.fake.peakConcurrentCopies('us-west-2')).toBe(4);
    await copy('us-west-2', large);
    expect(ec2.fake.peakConcurrentCopies('us-west-2')).toBe(5);
    expect(ec2.fake.peakConcurrentCopies('eu-west-1')).toBe(1);
    expect(ec2.fake.peakConcurrentCopies('ap-south-1')).toBe(0);
  });

  it('It should limit concurrent image copies per destination Region', async () => {
    await start({ limits: { concurrentImageCopies: 2 } });
    const InstanceId = ec2.fake.createInstance('us-east-1', [
      ec2.fake.createVolume('us-east-1', { sizeGiB: 8 }),
    ]);
    const { ImageId } = await client('us-east-1').send(new CreateImageCommand({ InstanceId, Name: 'web' }));
    await ec2.fake.settle();
    const copyImage = (Name: string) =>
      client('us-west-2').send(
        new CopyImageCommand({ SourceRegion: 'us-east-1', SourceImageId: ImageId, Name }),
      );
    await copyImage('a');
    await copyImage('b');
    await expect(copyImage('c')).rejects.toMatchObject({
      name: 'ResourceLimitExceeded',
      message: 'Too many image copies in progress. The limit is 2 for this destination region.',
    });
    ec2.clock.advance(82_000);
    await expect(copyImage('c')).resolves.toMatchObject({ ImageId: expect.stringMatching(/^ami-/) });
  });

  it('It should throttle each action per Region on its own bucket, refilled on the virtual clock', async () => {
    await start({ throttling: { describe: { capacity: 3, refillPerSecond: 1 } } });
    const describe = (region = 'us-east-1') => client(region).send(new DescribeSnapshotsCommand({}));
    for (let i = 0; i < 3; i++) await describe();
    await expect(describe()).rejects.toMatchObject({
      name: 'RequestLimitExceeded',
      message: expect.stringMatching(/^Request limit exceeded\. .*ec2:DescribeSnapshots/),
      $metadata: { httpStatusCode: 503 },
    });
    await expect(client('us-east-1').send(new DescribeImagesCommand({}))).resolves.toBeDefined();
    await expect(describe('eu-west-1')).resolves.toBeDefined();
    ec2.clock.advance(1_000);
    await expect(describe()).resolves.toBeDefined();
    await expect(describe()).rejects.toMatchObject({ name: 'RequestLimitExceeded' });
  });

  it('It should size buckets as EC2 publishes them, and the SDK should retry RequestLimitExceeded', async () => {
    await start();
    expect(ec2.fake.tokens('us-east-1', 'DescribeSnapshots')).toBe(100);
    expect(ec2.fake.tokens('us-east-1', 'CreateSnapshot')).toBe(50);
    expect(ec2.fake.tokens('us-east-1', 'CreateTags')).toBe(100);
    await expect(
      client('us-west-2').send(
        new CopyImageCommand({
          SourceRegion: 'us-east-1',
          SourceImageId: 'ami-0123456789abcdef0',
          Name: 'x',
        }),
      ),
    ).rejects.toMatchObject({ name: 'InvalidAMIID.NotFound' });
    expect(ec2.fake.tokens('us-west-2', 'CopyImage')).toBe(99);
    ec2.clock.advance(1_000);
    expect(ec2.fake.tokens('us-west-2', 'CopyImage')).toBe(100);

    ec2.fake.faults.script('DescribeSnapshots', 'throttle');
    const answer = await ec2.client('us-east-1').send(new DescribeSnapshotsCommand({}));
    expect(answer.$metadata.attempts).toBe(2);
    expect(ec2.fake.requests.get('DescribeSnapshots')).toBe(2);
    expect(ec2.fake.faults.injected.get('throttle')).toBe(1);
  });

  it('It should inject scripted faults: limit, unavailable, internal, and copies that fail later', async () => {
    await start();
    const source = await snapshotOf(10); // 102.4 s
    ec2.fake.faults.script('CopySnapshot', 'limit', 'copy-error');
    await expect(copy('us-west-2', source)).rejects.toMatchObject({ name: 'ResourceLimitExceeded' });
    const { SnapshotId = '' } = await copy('us-west-2', source);
    ec2.clock.advance(100_000);
    expect(ec2.fake.snapshot('us-west-2', SnapshotId)?.state).toBe('pending');
    ec2.clock.advance(3_000);
    expect(ec2.fake.snapshot('us-west-2', SnapshotId)).toMatchObject({
      state: 'error',
      stateMessage: expect.stringContaining('fault injected'),
    });
    ec2.fake.faults.script('DescribeImages', 'unavailable', 'internal');
    await expect(client('us-east-1').send(new DescribeImagesCommand({}))).rejects.toMatchObject({
      name: 'Unavailable',
      $metadata: { httpStatusCode: 503 },
    });
    await expect(client('us-east-1').send(new DescribeImagesCommand({}))).rejects.toMatchObject({
      name: 'InternalError',
      $metadata: { httpStatusCode: 500 },
    });
    expect(() => ec2.fake.faults.script('DescribeImages', 'copy-error')).toThrow(RangeError);
  });

  it('It should read fault rates from text, refusing unknown kinds and rates out of range', () => {
    expect(parseEc2FaultRates('throttle=0.1,copy-error=0.05')).toEqual({ throttle: 0.1, 'copy-error': 0.05 });
    expect(() => parseEc2FaultRates('slowdown=0.1')).toThrow(/unknown EC2 fault "slowdown"/);
    expect(() => parseEc2FaultRates('limit=2')).toThrow(/between 0 and 1/);
  });

  it('It should inject faults at rates, copy-only kinds on copies only, until cleared', async () => {
    await start({ random: () => 0.5 });
    expect(() => ec2.fake.faults.setRates({ throttle: 0.7, unavailable: 0.5 })).toThrow(RangeError);
    ec2.fake.faults.setRates({ limit: 1 });
    await expect(client('us-east-1').send(new DescribeSnapshotsCommand({}))).resolves.toBeDefined();
    await expect(copy('us-west-2', 'snap-0123456789abcdef0')).rejects.toMatchObject({
      name: 'ResourceLimitExceeded',
    });
    ec2.fake.faults.setRates({ throttle: 0.6 });
    await expect(client('us-east-1').send(new DescribeSnapshotsCommand({}))).rejects.toMatchObject({
      name: 'RequestLimitExceeded',
    });
    ec2.fake.faults.clear();
    await expect(client('us-east-1').send(new DescribeSnapshotsCommand({}))).resolves.toBeDefined();
  });

  it('It should answer the query protocol itself: GET queries, unknown actions, missing parameters', async () => {
    await start();
    const get = await fetch(`${ec2.endpoint}/?Action=DescribeSnapshots&Version=2016-11-15`);
    expect(get.status).toBe(200);
    expect(await get.text()).toMatch(
      /<DescribeSnapshotsResponse xmlns="http:\/\/ec2\.amazonaws\.com\/doc\/2016-11-15\/"><requestId>[^<]+<\/requestId><snapshotSet><\/snapshotSet>/,
    );
    const post = (body: string) =>
      fetch(ec2.endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body,
      });
    const unknown = await post('Action=RunInstancez&Version=2016-11-15');
    expect(unknown.status).toBe(400);
    expect(await unknown.text()).toMatch(
      /<Response><Errors><Error><Code>InvalidAction<\/Code><Message>The action RunInstancez is not valid for this web service\.<\/Message><\/Error><\/Errors><RequestID>[^<]+<\/RequestID><\/Response>/,
    );
    const missing = await post('Action=CreateSnapshot&Version=2016-11-15');
    expect(await missing.text()).toContain(
      '<Code>MissingParameter</Code><Message>The request must contain the parameter VolumeId</Message>',
    );
  });

  it('It should refuse more than 200 values in one filter, or more than 50 filters, as FilterLimitExceeded', async () => {
    await start();
    const small = await snapshotOf(1);
    const values = (n: number) => [
      small,
      ...Array.from({ length: n - 1 }, (_, i) => `snap-${String(i).padStart(17, '0')}`),
    ];
    const found = await client('us-east-1').send(
      new DescribeSnapshotsCommand({ Filters: [{ Name: 'snapshot-id', Values: values(200) }] }),
    );
    expect(found.Snapshots?.map(({ SnapshotId }) => SnapshotId)).toEqual([small]);
    await expect(
      client('us-east-1').send(
        new DescribeSnapshotsCommand({ Filters: [{ Name: 'snapshot-id', Values: values(201) }] }),
      ),
    ).rejects.toMatchObject({ name: 'FilterLimitExceeded' });
    await expect(
      client('us-east-1').send(
        new DescribeImagesCommand({
          Filters: Array.from({ length: 51 }, () => ({ Name: 'image-id', Values: ['ami-0'] })),
        }),
      ),
    ).rejects.toMatchObject({ name: 'FilterLimitExceeded' });
  });
});
