import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import {
  DescribeImagesCommand,
  DescribeSnapshotsCommand,
  EC2Client,
  type Filter,
  type Image,
  type Snapshot,
} from '@aws-sdk/client-ec2';
import { SendTaskSuccessCommand, SFNClient } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { dynamoDbWaiterListing } from '#adapters/copy-waiters';
import { stepFunctionsTaskCallbacks } from '#adapters/task-callbacks';
import { type CopyWaiter, copyOfWaiterKey, waiterOf } from '#ec2/copy-machine/copy-waiters';
import { slotQueueKey } from '#ec2/copy-machine/slot-queue';
import { type SweepDeps, type SweepResult, sweepGroupsOf } from '#ec2/copy-machine/sweep';
import { CopySweepIncompleteError } from '#ec2/errors';
import { createEc2CopySweepHandler } from '#ec2/handlers/ec2-copy-sweep';
import { copyDescriber } from '#ec2/handlers/wiring';
import { createEc2ClientFactory } from '#foundation/aws-clients';
import { createPowertools } from '#foundation/observability/powertools';
import { memorySlots, memoryWaiters } from '#test/support/copy-waits';
import { lambdaContext, recordingLog } from '#test/support/fixtures';

const ec2 = mockClient(EC2Client);
const sfn = mockClient(SFNClient);
const dynamoDb = mockClient(DynamoDBClient);
afterEach(() => {
  ec2.reset();
  sfn.reset();
  dynamoDb.reset();
});

const NOW = Date.parse('2026-12-04T12:00:00Z');
const EXECUTION = 'arn:aws:states:us-east-1:111122223333:execution:ferry-prod-snapshot-copy:x';
const snap = (n: number) => `snap-${n.toString(16).padStart(17, '0')}`;
const ami = (n: number) => `ami-${n.toString(16).padStart(17, '0')}`;

/** What EC2 holds, by id: snapshots by `State`, images by `State`; an id absent here is not found. */
interface Ec2World {
  snapshots: Record<string, Snapshot['State']>;
  images: Record<string, Image['State']>;
  /** Ids whose describe fails (its whole call). */
  failing?: string[];
  /** Results per page (EC2's MaxResults as it pages a filtered describe). */
  pageSize?: number;
}

const idsOf = (filters: Filter[] | undefined, name: string) =>
  filters?.find((filter) => filter.Name === name)?.Values ?? [];

/** A filtered describe as EC2 answers it: the matching ids found, a page at a time. */
function page<T>(found: T[], nextToken: string | undefined, pageSize: number) {
  const start = Number(nextToken ?? 0);
  const items = found.slice(start, start + pageSize);
  const next = start + pageSize < found.length ? String(start + pageSize) : undefined;
  return { items, next };
}

function mockEc2(world: Ec2World) {
  const pageSize = world.pageSize ?? 1000;
  const fail = (ids: readonly string[]) => {
    if (ids.some((id) => world.failing?.includes(id)))
      throw Object.assign(new Error('not authorized'), { name: 'UnauthorizedOperation' });
  };
  ec2.on(DescribeSnapshotsCommand).callsFake((input) => {
    // By filter only: an id list would fail the whole call on one missing id.
    expect(input.SnapshotIds).toBeUndefined();
    const ids = idsOf(input.Filters, 'snapshot-id');
    expect(ids.length).toBeLessThanOrEqual(200);
    fail(ids);
    const found = ids.flatMap((id): Snapshot[] =>
      world.snapshots[id] ? [{ SnapshotId: id, State: world.snapshots[id], Progress: '50%' }] : [],
    );
    const { items, next } = page(found, input.NextToken, pageSize);
    return { Snapshots: items, NextToken: next };
  });
  ec2.on(DescribeImagesCommand).callsFake((input) => {
    expect(input.ImageIds).toBeUndefined();
    const ids = idsOf(input.Filters, 'image-id');
    expect(ids.length).toBeLessThanOrEqual(200);
    fail(ids);
    const found = ids.flatMap((id): Image[] =>
      world.images[id] ? [{ ImageId: id, State: world.images[id] }] : [],
    );
    const { items, next } = page(found, input.NextToken, pageSize);
    return { Images: items, NextToken: next };
  });
}

/**
 * The sweep handler over these waiters (and the table's other items), with the real EC2 and SFN adapters;
 * SendTaskSuccess fails (after the SDK's retries: one attempt here) for the `refused` tokens. The handler's
 * result, or the error it threw, and the tables it left.
 */
async function run(entries: CopyWaiter[], slots = memorySlots(), refused: string[] = []) {
  sfn.on(SendTaskSuccessCommand).callsFake((input) => {
    if (refused.includes(input.taskToken))
      throw Object.assign(new Error('service unavailable'), { name: 'ServiceUnavailable' });
    return {};
  });
  const waiters = memoryWaiters();
  for (const entry of entries) await waiters.put(entry);
  const deps: SweepDeps = {
    waiters,
    slots,
    callbacks: stepFunctionsTaskCallbacks(new SFNClient({ region: 'us-east-1', maxAttempts: 1 })),
    listing: { all: async () => [...waiters.items.values()] },
    describe: copyDescriber(createEc2ClientFactory({ retryStrategy: undefined })),
    log: recordingLog(),
    now: () => NOW,
  };
  const handler = createEc2CopySweepHandler(createPowertools(), deps);
  const outcome = await handler({} as never, lambdaContext).then(
    (result: SweepResult) => ({ result, error: undefined }),
    (error: unknown) => ({ result: undefined, error }),
  );
  return { ...outcome, waiters, slots };
}

/** A sweep expected to succeed. */
async function sweep(entries: CopyWaiter[], slots = memorySlots()) {
  const { result, error, waiters } = await run(entries, slots);
  if (!result) throw error;
  return { result, waiters, slots };
}

/** Slot queues with one copy (`token-queued`) waiting for a snapshot slot in us-west-2. */
async function queuedForSlot() {
  const slots = memorySlots();
  const queue = slotQueueKey('us-west-2', 'snapshot');
  await slots.put({
    key: `slot/${queue}/queued`,
    queue,
    queuedAt: NOW - 60_000,
    taskToken: 'token-queued',
    execution: 'queued',
    expiresAt: NOW / 1000 + 600,
  });
  return slots;
}

const waiter = (region: string, copyId: string, timeoutSeconds = 3600) =>
  waiterOf(region, copyId, `token-${copyId}`, EXECUTION, NOW - 60_000, timeoutSeconds);

const signals = () =>
  sfn.commandCalls(SendTaskSuccessCommand).map((call) => ({
    token: call.args[0].input.taskToken,
    ...JSON.parse(call.args[0].input.output ?? '{}'),
  }));

describe('the copy sweep', () => {
  it('ends the waits of the copies that ended, leaves the running and the unlisted copies, for both kinds', async () => {
    mockEc2({
      snapshots: { [snap(1)]: 'completed', [snap(2)]: 'pending', [snap(4)]: 'error' },
      images: { [ami(1)]: 'available', [ami(2)]: 'pending', [ami(3)]: 'failed' },
    });
    const { result, waiters } = await sweep([
      waiter('us-west-2', snap(1)),
      waiter('us-west-2', snap(2)),
      waiter('us-west-2', snap(3)), // not listed: left to its checks
      waiter('us-west-2', ami(1)),
      waiter('us-west-2', ami(2)),
      waiter('us-west-2', ami(3)),
      waiter('us-west-2', ami(4)), // not listed (yet: EC2 is eventually consistent): left to its checks
      waiter('eu-west-1', snap(4)),
    ]);
    expect(signals()).toEqual(
      expect.arrayContaining([
        { token: `token-${snap(1)}`, copyId: snap(1), outcome: 'completed', by: 'sweep' },
        { token: `token-${snap(4)}`, copyId: snap(4), outcome: 'failed', by: 'sweep' },
        { token: `token-${ami(1)}`, copyId: ami(1), outcome: 'completed', by: 'sweep' },
        { token: `token-${ami(3)}`, copyId: ami(3), outcome: 'failed', by: 'sweep' },
      ]),
    );
    expect(signals()).toHaveLength(4);
    expect(result).toMatchObject({
      waiting: 8,
      running: 2,
      missing: [snap(3), ami(4)],
      failed: [],
      failedEnds: [],
    });
    expect([...waiters.items.keys()].sort()).toEqual(
      [`us-west-2/${snap(2)}`, `us-west-2/${snap(3)}`, `us-west-2/${ami(2)}`, `us-west-2/${ami(4)}`].sort(),
    );
    // One describe per Region and kind.
    expect(ec2.commandCalls(DescribeSnapshotsCommand)).toHaveLength(2);
    expect(ec2.commandCalls(DescribeImagesCommand)).toHaveLength(1);
  });

  it('wakes the oldest copy waiting for the slot an ended copy frees, as the event would', async () => {
    mockEc2({ snapshots: { [snap(1)]: 'completed' }, images: {} });
    const slots = await queuedForSlot();
    await sweep([waiter('us-west-2', snap(1))], slots);
    expect(signals().map(({ token }) => token)).toEqual(
      expect.arrayContaining(['token-queued', `token-${snap(1)}`]),
    );
    expect(slots.items.size).toBe(0);
  });

  it('names a Region whose describe fails, goes on with the others, then fails the invocation', async () => {
    mockEc2({
      snapshots: { [snap(1)]: 'completed', [snap(2)]: 'completed' },
      images: {},
      failing: [snap(2)],
    });
    const { error, waiters } = await run([waiter('eu-west-1', snap(2)), waiter('us-west-2', snap(1))]);
    expect(error).toBeInstanceOf(CopySweepIncompleteError);
    expect(error).toMatchObject({
      failed: [{ region: 'eu-west-1', kind: 'snapshot', error: 'UnauthorizedOperation' }],
      failedEnds: [],
    });
    expect(signals().map(({ copyId }) => copyId)).toEqual([snap(1)]);
    expect([...waiters.items.keys()]).toEqual([`eu-west-1/${snap(2)}`]);
  });

  it('ends the other ended copies of a group when one wait cannot be ended, and names that copy', async () => {
    mockEc2({ snapshots: { [snap(1)]: 'completed', [snap(2)]: 'completed' }, images: {} });
    const { error, waiters } = await run(
      [waiter('us-west-2', snap(1)), waiter('us-west-2', snap(2))],
      memorySlots(),
      [`token-${snap(1)}`],
    );
    expect(error).toBeInstanceOf(CopySweepIncompleteError);
    expect(error).toMatchObject({
      failed: [],
      failedEnds: [{ key: `us-west-2/${snap(1)}`, error: 'ServiceUnavailable' }],
    });
    expect((error as Error).message).toContain(`us-west-2/${snap(1)}: ServiceUnavailable`);
    // The second copy's wait was ended; the first's waiter stays for the next sweep.
    expect(sfn.commandCalls(SendTaskSuccessCommand).map((call) => call.args[0].input.taskToken)).toEqual([
      `token-${snap(1)}`,
      `token-${snap(2)}`,
    ]);
    expect([...waiters.items.keys()]).toEqual([`us-west-2/${snap(1)}`]);
  });

  it('wakes the queued copy on the next sweep when waking it failed after the slot was claimed', async () => {
    mockEc2({ snapshots: { [snap(1)]: 'completed' }, images: {} });
    const slots = await queuedForSlot();
    const first = await run([waiter('us-west-2', snap(1))], slots, ['token-queued']);
    expect(first.error).toMatchObject({ failedEnds: [{ key: `us-west-2/${snap(1)}` }] });
    expect(slots.items.size).toBe(1);
    sfn.resetHistory();
    const { result } = await sweep([waiter('us-west-2', snap(1))], slots);
    expect(signals().map(({ token }) => token)).toEqual(['token-queued', `token-${snap(1)}`]);
    expect(result.ended).toEqual([{ key: `us-west-2/${snap(1)}`, outcome: 'signalled' }]);
    expect(slots.items.size).toBe(0);
  });

  it('asks for at most 200 ids per filter and follows every page', async () => {
    const ids = Array.from({ length: 450 }, (_, n) => snap(n + 1));
    mockEc2({
      snapshots: Object.fromEntries(ids.map((id) => [id, 'completed' as const])),
      images: {},
      pageSize: 64,
    });
    const { result, waiters } = await sweep(ids.map((id) => waiter('us-west-2', id)));
    const batches = ec2
      .commandCalls(DescribeSnapshotsCommand)
      .filter((call) => call.args[0].input.NextToken === undefined)
      .map((call) => idsOf(call.args[0].input.Filters, 'snapshot-id').length);
    expect(batches).toEqual([200, 200, 50]);
    // 200 ids at 64 a page: 4 pages each, and 1 for the last 50.
    expect(ec2.commandCalls(DescribeSnapshotsCommand)).toHaveLength(4 + 4 + 1);
    expect(result.ended).toHaveLength(450);
    expect(new Set(signals().map(({ copyId }) => copyId)).size).toBe(450);
    expect(waiters.items.size).toBe(0);
  });

  it('skips the slot queue items, the freed-slot claims and expired waiters', () => {
    const live = waiter('us-west-2', snap(1));
    const expired = waiter('us-west-2', snap(2), 1);
    const later = (expired.expiresAt + 1) * 1000;
    const items = [
      { ...live, expiresAt: later / 1000 + 600 },
      expired,
      { key: `slot/${slotQueueKey('us-west-2', 'snapshot')}/exec`, expiresAt: later / 1000 + 600 },
      { key: `freed/${slotQueueKey('us-west-2', 'snapshot')}/${snap(3)}`, expiresAt: later / 1000 + 600 },
    ];
    expect(sweepGroupsOf(items, later)).toEqual([
      { region: 'us-west-2', kind: 'snapshot', copyIds: [snap(1)] },
    ]);
    expect(copyOfWaiterKey(`us-west-2/${ami(1)}`)).toEqual({
      region: 'us-west-2',
      copyId: ami(1),
      kind: 'image',
    });
    expect(copyOfWaiterKey('slot/us-west-2/snapshot/exec')).toBeUndefined();
    expect(copyOfWaiterKey('us-west-2/vol-0123')).toBeUndefined();
  });

  it('reads every page of the table', async () => {
    const item = (key: string) => ({
      copyKey: { S: key },
      taskToken: { S: `token-${key}` },
      execution: { S: EXECUTION },
      expiresAt: { N: String(NOW / 1000 + 600) },
    });
    dynamoDb
      .on(ScanCommand)
      .resolvesOnce({ Items: [item(`us-west-2/${snap(1)}`)], LastEvaluatedKey: { copyKey: { S: 'x' } } })
      .resolvesOnce({ Items: [item(`us-west-2/${snap(2)}`), { copyKey: { S: 'freed/q/x' } }] });
    const all = await dynamoDbWaiterListing('t', new DynamoDBClient({ region: 'us-east-1' })).all();
    expect(all.map(({ key }) => key)).toEqual([`us-west-2/${snap(1)}`, `us-west-2/${snap(2)}`]);
    const calls = dynamoDb.commandCalls(ScanCommand);
    expect(calls).toHaveLength(2);
    expect(calls[1]?.args[0].input.ExclusiveStartKey).toEqual({ copyKey: { S: 'x' } });
  });
});
