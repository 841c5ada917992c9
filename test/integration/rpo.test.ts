import { CreateSnapshotCommand } from '@aws-sdk/client-ec2';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Ec2CopyJob } from '#ec2/copy-machine/contract';
import { SANDBOX_CREDENTIALS, type Sandbox, startSandbox } from '#local/sandbox';
import { DETAIL_TYPE, deadlineOf, type RpoEventDetail, windowOf } from '#rpo/threshold';
import { configFrom } from '#test/support/fixtures';

/**
 * RPO per rule, end to end: the real handlers, the real object-copy and EC2 copy machines and the real RPO
 * code against the sandbox, whose EventBridge takes PutEvents on the default bus. An item slowed past its
 * RPO (a slow EC2 copy; an object copy throttled by injected SlowDown) gets exactly one missed-threshold
 * event and one completion-after event; items within their RPO get none.
 */

const MiB = 1024 * 1024;
// An 8 GiB volume copies in 1,024 s of virtual time: past a 15-minute RPO, within an hour.
const COPY_BYTES_PER_SECOND = 8 * MiB;

const CONFIG = configFrom(`
rules:
  - name: ebs-hourly
    rpo: 1h
    snapshots: { regions: [us-east-1], tags: { backup: hourly } }
    to: [{ region: us-west-2 }]
  - name: ebs-bad-key
    rpo: 1h
    snapshots: { regions: [us-east-1], tags: { backup: bad-key } }
    to: [{ region: us-west-2, kmsKeyId: alias/does-not-exist }]
  - name: ebs-retry
    rpo: 1h
    snapshots: { regions: [us-east-1], tags: { backup: retry } }
    to: [{ region: us-west-2 }]
  - name: ebs-tight
    rpo: 15m
    snapshots: { regions: [us-east-1], tags: { backup: tight } }
    to: [{ region: us-west-2 }]
  - name: docs-rpo
    rpo: 1m
    objects: { bucket: rpo-source, prefix: docs/ }
    to: [{ bucket: rpo-replica, region: us-west-2 }]
  - name: no-rpo
    objects: { bucket: rpo-source, prefix: plain/ }
    to: [{ bucket: rpo-replica, region: us-west-2, keyPrefix: plain-copy/ }]
`);

let sandbox: Sandbox;

beforeAll(async () => {
  sandbox = await startSandbox({
    config: CONFIG,
    port: 0,
    ec2: { copyBytesPerSecond: COPY_BYTES_PER_SECOND },
  });
});
afterAll(() => sandbox.stop());

interface BusEvent {
  source: string;
  'detail-type': string;
  detail: RpoEventDetail;
}

const rpoEvents = (item?: string): BusEvent[] =>
  (sandbox.bus.published as BusEvent[]).filter(
    (event) => event.source === 'ferry' && (item === undefined || event.detail.item === item),
  );

async function snapshotOf(tag: string): Promise<string> {
  const volumeId = sandbox.ec2.createVolume('us-east-1', { sizeGiB: 8, encrypted: false });
  const { SnapshotId } = await sandbox.ec2Client('us-east-1').send(
    new CreateSnapshotCommand({
      VolumeId: volumeId,
      TagSpecifications: [{ ResourceType: 'snapshot', Tags: [{ Key: 'backup', Value: tag }] }],
    }),
  );
  return SnapshotId ?? '';
}

describe('RPO per rule on the sandbox', () => {
  it('It should send one missed event while a snapshot copy is still pending past its RPO, and one completion event after', async () => {
    const stop = sandbox.rpoMonitor.start();
    const tight = await snapshotOf('tight');
    const hourly = await snapshotOf('hourly');
    await sandbox.settle();
    stop();

    const tightEvents = rpoEvents(tight);
    expect(tightEvents.map((event) => event['detail-type'])).toEqual([
      DETAIL_TYPE.missed,
      DETAIL_TYPE['completed-after'],
    ]);
    const [missed, completed] = tightEvents;
    expect(missed?.detail).toMatchObject({
      rule: 'ebs-tight',
      kind: 'snapshot',
      destination: 'us-west-2',
      rpo: '15m',
    });
    // Sent by the monitor pass of the window the deadline fell in: at most one window after it.
    expect(missed?.detail.ageSeconds).toBeGreaterThanOrEqual(900);
    expect(missed?.detail.ageSeconds).toBeLessThanOrEqual(900 + 60);
    expect(missed?.detail.cause).toBe('snapshot copy in progress');
    expect(completed?.detail.latencySeconds).toBeGreaterThanOrEqual(1024);
    expect(completed?.detail.id).toBe(missed?.detail.id);

    expect(rpoEvents(hourly)).toEqual([]);
    expect(sandbox.rpoMetrics.over.get('ebs-tight')).toBe(1);
    expect(sandbox.rpoMetrics.within.get('ebs-hourly')).toBe(1);
    expect(sandbox.rpoMetrics.missedEvents.get('ebs-tight')).toBe(1);
    expect(sandbox.rpoMetrics.missedEvents.get('ebs-hourly')).toBeUndefined();
    // While both were pending, the monitor's backlog held them; once done, nothing is pending.
    const tightBacklogs = sandbox.rpoMetrics.backlogs.get('ebs-tight') ?? [];
    expect(Math.max(...tightBacklogs.map((b) => b.oldestAgeMs))).toBeGreaterThan(900_000);
    expect(tightBacklogs.some((b) => b.count === 1 && b.bytes === 8 * 1024 * MiB)).toBe(true);
  });

  it('It should judge an object replica: none within the RPO, missed and completed-after when throttling holds it past', async () => {
    const s3 = sandbox.s3('us-east-1');
    await s3.send(new PutObjectCommand({ Bucket: 'rpo-source', Key: 'docs/quick.txt', Body: 'fast' }));
    await s3.send(new PutObjectCommand({ Bucket: 'rpo-source', Key: 'plain/quick.txt', Body: 'fast' }));
    await sandbox.settle();
    expect(rpoEvents('s3://rpo-source/docs/quick.txt')).toEqual([]);
    expect(sandbox.rpoMetrics.within.get('docs-rpo')).toBe(1);
    // A rule without rpo is not judged.
    expect(sandbox.rpoMetrics.latenciesMs.has('no-rpo')).toBe(false);

    // SlowDown on every CopyObject for a while: the fast path hands the copy to the machine, whose
    // backoff (5 s doubling) passes the 1-minute RPO before a copy gets through.
    sandbox.faults.script('CopyObject', ...Array.from({ length: 40 }, () => 'slowdown' as const));
    const stop = sandbox.rpoMonitor.start();
    await s3.send(new PutObjectCommand({ Bucket: 'rpo-source', Key: 'docs/slow.txt', Body: 'slow' }));
    await sandbox.settle();
    stop();
    sandbox.faults.clear();

    const events = rpoEvents('s3://rpo-source/docs/slow.txt');
    expect(events.map((event) => event['detail-type'])).toEqual([
      DETAIL_TYPE.missed,
      DETAIL_TYPE['completed-after'],
    ]);
    expect(events[0]?.detail).toMatchObject({
      rule: 'docs-rpo',
      kind: 'object',
      destination: 's3://rpo-replica/docs/slow.txt',
      cause: 'SlowDown',
    });
    expect(events[1]?.detail.latencySeconds).toBeGreaterThan(60);
    expect(sandbox.rpoMetrics.over.get('docs-rpo')).toBe(1);
  });

  /** The moment the source's copy job says it was created: its RPO clock's start. */
  const sourceTimeOf = (sourceId: string): number => {
    const execution = [...sandbox.stepFunctions.executions.values()].find(
      (e) => (e.input as Ec2CopyJob).source.id === sourceId,
    );
    if (!execution) throw new Error(`no copy execution of ${sourceId}`);
    return Date.parse((execution.input as Ec2CopyJob).eventTime);
  };

  /** One monitor pass in the window after the one the deadline falls in: the pass that judges it. */
  async function passJudging(sourceId: string, rpoMs: number) {
    const judgedAt = windowOf(deadlineOf({ sourceTime: sourceTimeOf(sourceId), rpoMs })).end;
    if (sandbox.clock.now() < judgedAt) sandbox.clock.advance(judgedAt + 1_000 - sandbox.clock.now());
    return sandbox.rpoMonitor.pass();
  }

  it('It should send no RPO event for a snapshot copy whose first attempt failed and whose retry was verified within the RPO', async () => {
    sandbox.ec2.faults.script('CopySnapshot', 'copy-error');
    const snapshot = await snapshotOf('retry');
    await sandbox.settle();
    // The first attempt failed for good (its copy went to error) ~17 minutes in: no event yet.
    expect(rpoEvents(snapshot)).toEqual([]);
    // A later attempt (reconcile finds the copy missing) copies it in another ~17 minutes: within the hour.
    await sandbox.reconcile({ rule: 'ebs-retry' });
    await sandbox.settle();
    const attempts = [...sandbox.stepFunctions.executions.values()].filter(
      (e) => (e.input as Ec2CopyJob).source.id === snapshot,
    );
    expect(attempts.map((e) => e.status)).toEqual(['FAILED', 'SUCCEEDED']);
    const pass = await passJudging(snapshot, 3_600_000);
    expect(pass.missed).toBe(0);
    expect(rpoEvents(snapshot)).toEqual([]);
    expect(sandbox.rpoMetrics.within.get('ebs-retry')).toBe(1);
    expect(sandbox.rpoMetrics.over.get('ebs-retry')).toBeUndefined();
    expect(sandbox.rpoMetrics.missedEvents.get('ebs-retry')).toBeUndefined();
  });

  it('It should send the missed event of a copy that failed for good once its deadline passed, from the pass, with its cause', async () => {
    const failing = await snapshotOf('bad-key');
    await sandbox.settle();
    // Failed long before its deadline: another attempt could still make it in time, so nothing yet.
    expect(rpoEvents(failing)).toEqual([]);
    const pass = await passJudging(failing, 3_600_000);
    expect(pass.missed).toBe(1);
    const events = rpoEvents(failing);
    expect(events.map((event) => event['detail-type'])).toEqual([DETAIL_TYPE.missed]);
    expect(events[0]?.detail).toMatchObject({ rule: 'ebs-bad-key', cause: 'SnapshotCopyFailed' });
    expect(events[0]?.detail.ageSeconds).toBeGreaterThanOrEqual(3600);
    expect(sandbox.rpoMetrics.missedEvents.get('ebs-bad-key')).toBe(1);
    expect(sandbox.rpoMetrics.over.get('ebs-bad-key')).toBeUndefined();
    // The next pass judges the next window: the event is not sent again.
    sandbox.clock.advance(60_000);
    expect((await sandbox.rpoMonitor.pass()).missed).toBe(0);
    expect(rpoEvents(failing)).toHaveLength(1);
  });

  it('It should take PutEvents on the default bus only, refusing what EventBridge refuses', async () => {
    const events = new EventBridgeClient({
      region: 'us-east-1',
      endpoint: sandbox.endpoint,
      credentials: SANDBOX_CREDENTIALS,
    });
    const entry = { Source: 'acme', DetailType: 'Test', Detail: '{"a":1}' };
    const answer = await events.send(
      new PutEventsCommand({
        Entries: [
          entry,
          { ...entry, Detail: 'not json' },
          { ...entry, EventBusName: 'other-bus' },
          { ...entry, Detail: '[1]' },
        ],
      }),
    );
    expect(answer.FailedEntryCount).toBe(3);
    expect(answer.Entries?.map((e) => e.ErrorCode ?? 'ok')).toEqual([
      'ok',
      'MalformedDetail',
      'ResourceNotFoundException',
      'MalformedDetail',
    ]);
    const put = (sandbox.bus.published as BusEvent[]).filter((event) => event.source === 'acme');
    expect(put).toHaveLength(1);
    expect(put[0]?.['detail-type']).toBe('Test');
    await expect(
      events.send(new PutEventsCommand({ Entries: Array.from({ length: 11 }, () => entry) })),
    ).rejects.toMatchObject({ name: 'ValidationException', $metadata: { httpStatusCode: 400 } });
    events.destroy();
  });
});
