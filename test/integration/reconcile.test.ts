import { CreateSnapshotCommand, DescribeSnapshotsCommand } from '@aws-sdk/client-ec2';
import { DeleteObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Ec2CopyJob } from '#ec2/copy-machine/contract';
import { MARKER } from '#ec2/markers';
import { PATIENT_MAX_ATTEMPTS, STANDARD_MAX_ATTEMPTS } from '#foundation/aws-clients';
import { type Sandbox, startSandbox } from '#local/sandbox';
import { UnknownRuleError } from '#reconcile/errors';
import { decodeCursor, emptyRuleReport, type RuleReport } from '#reconcile/report';
import { configFrom } from '#test/support/fixtures';
import { bodyOf as bodyIn, putLost as putLostIn } from '#test/support/lost-events';

/**
 * Events get lost (the sandbox bus is paused, so S3 and EC2 publish into nothing): the reconcile pass finds
 * what has no verified replica or copy, and sends it through the real handlers' entry points.
 */

const CONFIG = configFrom(`
rules:
  - name: docs
    objects: { bucket: rc-source, prefix: docs/ }
    to:
      - { bucket: rc-dr, region: us-west-2, keyPrefix: mirror/ }
      - { bucket: rc-eu, region: eu-west-1 }
  - name: gone
    objects: { bucket: rc-source, prefix: gone/ }
    to:
      - bucket: rc-dr
        region: us-west-2
        keyPrefix: gone-mirror/
        replicateDeletes: true
        replicateLifecycleDeletes: true
      - { bucket: rc-eu, region: eu-west-1 }
  - name: ebs-to-dr
    snapshots: { regions: [us-east-1], tags: { backup: dr } }
    to:
      - region: us-west-2
`);

let sandbox: Sandbox;
const source = () => sandbox.s3('us-east-1');

beforeAll(async () => {
  sandbox = await startSandbox({ config: CONFIG, port: 0, ec2: { copyBytesPerSecond: 64 * 1024 * 1024 } });
});
afterAll(() => sandbox.stop());

const putLost = (objects: Record<string, string>) => putLostIn(sandbox, 'rc-source', objects);
const bodyOf = (region: string, bucket: string, key: string) => bodyIn(sandbox, region, bucket, key);

const ruleReport = (rules: RuleReport[], name: string) => rules.find((rule) => rule.rule === name);

describe('reconcile: objects', () => {
  const KEYS = ['docs/a.txt', 'docs/b c+ü.txt', 'docs/c.txt', 'docs/d.txt', 'docs/e.txt'];

  it('finds objects whose events were lost, replicates them through replicateObject, then finds nothing', async () => {
    const dropped = sandbox.bus.dropped.length;
    await putLost(Object.fromEntries(KEYS.map((key) => [key, `body of ${key}`])));
    await source().send(new PutObjectCommand({ Bucket: 'rc-source', Key: 'other/x.txt', Body: 'x' }));
    expect(sandbox.bus.dropped.length - dropped).toBe(KEYS.length);
    expect(await bodyOf('us-west-2', 'rc-dr', 'mirror/a.txt')).toBeUndefined();

    const first = await sandbox.reconcile({ rule: 'docs' });
    await sandbox.settle();
    expect(first.next).toBeUndefined();
    expect(ruleReport(first.rules, 'docs')).toEqual({
      rule: 'docs',
      kind: 'objects',
      scanned: KEYS.length,
      missing: KEYS.length,
      stale: 0,
      sent: KEYS.length,
      skipped: 0,
      failed: [],
    });
    for (const key of KEYS) {
      expect(await bodyOf('us-west-2', 'rc-dr', `mirror/${key.slice('docs/'.length)}`)).toBe(
        `body of ${key}`,
      );
      expect(await bodyOf('eu-west-1', 'rc-eu', key)).toBe(`body of ${key}`);
    }
    const replica = await sandbox
      .s3('us-west-2')
      .send(new HeadObjectCommand({ Bucket: 'rc-dr', Key: 'mirror/b c+ü.txt' }));
    expect(replica.Metadata).toMatchObject({ 'ferry-source-bucket': 'rc-source', 'ferry-rule': 'docs' });

    const second = await sandbox.reconcile({ rule: 'docs' });
    expect(ruleReport(second.rules, 'docs')).toMatchObject({
      scanned: KEYS.length,
      missing: 0,
      stale: 0,
      sent: 0,
    });
  });

  it('finds a replica of an older version stale (the overwrite event was lost) and copies the new one', async () => {
    await putLost({ 'docs/c.txt': 'a newer body of docs/c.txt' });
    const pass = await sandbox.reconcile({ rule: 'docs' });
    await sandbox.settle();
    expect(ruleReport(pass.rules, 'docs')).toMatchObject({ missing: 0, stale: 1, sent: 1, failed: [] });
    expect(await bodyOf('us-west-2', 'rc-dr', 'mirror/c.txt')).toBe('a newer body of docs/c.txt');
    expect(await bodyOf('eu-west-1', 'rc-eu', 'docs/c.txt')).toBe('a newer body of docs/c.txt');
  });

  it('is bounded by limit and resumable: passes with the token cover every key exactly once', async () => {
    const more = ['docs/f.txt', 'docs/g.txt', 'docs/h.txt', 'docs/i.txt'];
    await putLost(Object.fromEntries(more.map((key) => [key, `body of ${key}`])));
    const all = KEYS.length + more.length; // 9 keys under docs/

    const passes: RuleReport[] = [];
    let resume: string | undefined;
    let count = 0;
    do {
      const pass = await sandbox.reconcile({ rule: 'docs', limit: 4, ...(resume ? { resume } : {}) });
      await sandbox.settle();
      passes.push(...pass.rules);
      resume = pass.next;
      count += 1;
    } while (resume !== undefined && count < 10);

    expect(count).toBe(3);
    expect(passes.map((pass) => pass.scanned)).toEqual([4, 4, 1]);
    expect(passes.reduce((sum, pass) => sum + pass.scanned, 0)).toBe(all);
    expect(passes.reduce((sum, pass) => sum + pass.missing, 0)).toBe(more.length);
    expect(passes.reduce((sum, pass) => sum + pass.sent, 0)).toBe(more.length);
    for (const key of more) expect(await bodyOf('eu-west-1', 'rc-eu', key)).toBe(`body of ${key}`);
  });

  it('rejects an unknown rule, naming the rules there are', async () => {
    await expect(sandbox.reconcile({ rule: 'nope' })).rejects.toThrow(UnknownRuleError);
    await expect(sandbox.reconcile({ rule: 'nope' })).rejects.toThrow(
      'no rule is named "nope"; the rules are: "docs", "gone", "ebs-to-dr"',
    );
  });
});

describe('reconcile: replicas of deleted sources', () => {
  it('deletes the replica whose delete event was lost where deletes are replicated, and nothing else', async () => {
    const keys = ['gone/a.txt', 'gone/b.txt'];
    for (const key of keys)
      await source().send(new PutObjectCommand({ Bucket: 'rc-source', Key: key, Body: `body of ${key}` }));
    await sandbox.settle();
    // A user's own object in the rule's key space at the destination: no markers, never Ferry's to delete.
    await sandbox
      .s3('us-west-2')
      .send(new PutObjectCommand({ Bucket: 'rc-dr', Key: 'gone-mirror/mine.txt', Body: 'mine' }));
    expect(await bodyOf('us-west-2', 'rc-dr', 'gone-mirror/a.txt')).toBe('body of gone/a.txt');

    sandbox.bus.pause();
    try {
      await source().send(new DeleteObjectCommand({ Bucket: 'rc-source', Key: 'gone/a.txt' }));
    } finally {
      sandbox.bus.resume();
    }
    await sandbox.settle();
    expect(await bodyOf('us-west-2', 'rc-dr', 'gone-mirror/a.txt')).toBe('body of gone/a.txt');

    const pass = await sandbox.reconcile({ rule: 'gone' });
    await sandbox.settle();
    expect(pass.next).toBeUndefined();
    expect(ruleReport(pass.rules, 'gone')).toEqual({
      rule: 'gone',
      kind: 'objects',
      scanned: 1,
      missing: 0,
      stale: 0,
      sent: 0,
      skipped: 0,
      orphanedReplicas: { found: 1, deleted: 1 },
      failed: [],
    });
    expect(await bodyOf('us-west-2', 'rc-dr', 'gone-mirror/a.txt')).toBeUndefined();
    // Kept: the replica where deletes are not replicated, the live source's replica, the user's object.
    expect(await bodyOf('eu-west-1', 'rc-eu', 'gone/a.txt')).toBe('body of gone/a.txt');
    expect(await bodyOf('us-west-2', 'rc-dr', 'gone-mirror/b.txt')).toBe('body of gone/b.txt');
    expect(await bodyOf('us-west-2', 'rc-dr', 'gone-mirror/mine.txt')).toBe('mine');
    // The docs rule's replicas in the same bucket are outside this rule's key space.
    expect(await bodyOf('us-west-2', 'rc-dr', 'mirror/a.txt')).toBe('body of docs/a.txt');

    const again = await sandbox.reconcile({ rule: 'gone' });
    expect(ruleReport(again.rules, 'gone')?.orphanedReplicas).toEqual({ found: 0, deleted: 0 });
  });
});

describe('reconcile: snapshots', () => {
  const east = () => sandbox.ec2Client('us-east-1');

  async function copiesOf(sourceId: string) {
    const { Snapshots } = await sandbox.ec2Client('us-west-2').send(
      new DescribeSnapshotsCommand({
        OwnerIds: ['self'],
        Filters: [{ Name: `tag:${MARKER.sourceId}`, Values: [sourceId] }],
      }),
    );
    return Snapshots ?? [];
  }

  it('starts the copy of a snapshot whose event was lost through the snapshot-copy state machine; an existing copy sends nothing', async () => {
    const volumeId = sandbox.ec2.createVolume('us-east-1', { sizeGiB: 1 });
    sandbox.bus.pause();
    let snapshotId: string;
    try {
      const created = await east().send(
        new CreateSnapshotCommand({
          VolumeId: volumeId,
          TagSpecifications: [{ ResourceType: 'snapshot', Tags: [{ Key: 'backup', Value: 'dr' }] }],
        }),
      );
      snapshotId = created.SnapshotId ?? '';
      await sandbox.settle(); // the snapshot completes; its event is lost
    } finally {
      sandbox.bus.resume();
    }
    expect(await copiesOf(snapshotId)).toEqual([]);

    const pass = await sandbox.reconcile({ rule: 'ebs-to-dr' });
    expect(ruleReport(pass.rules, 'ebs-to-dr')).toMatchObject({
      scanned: 1,
      missing: 1,
      sent: 1,
      failed: [],
    });
    await sandbox.settle();
    const executions = [...sandbox.stepFunctions.executions.values()].filter(
      (execution) => (execution.input as Ec2CopyJob).source.id === snapshotId,
    );
    expect(executions.map((execution) => execution.status)).toEqual(['SUCCEEDED']);
    const copies = await copiesOf(snapshotId);
    expect(copies.map((copy) => copy.State)).toEqual(['completed']);

    const again = await sandbox.reconcile({ rule: 'ebs-to-dr' });
    expect(ruleReport(again.rules, 'ebs-to-dr')).toMatchObject({ scanned: 1, missing: 0, sent: 0 });
    // Ferry's own copy in us-west-2 is never a source (the rule reads us-east-1, and copies are skipped).
    expect(await copiesOf(snapshotId)).toHaveLength(1);
  });

  const executionsOf = (sourceId: string) =>
    [...sandbox.stepFunctions.executions.values()].filter(
      (execution) => (execution.input as Ec2CopyJob).source.id === sourceId,
    );

  /** A snapshot whose event is delivered: its copy runs, through the snapshot-created handler. */
  async function createSnapshot() {
    const volumeId = sandbox.ec2.createVolume('us-east-1', { sizeGiB: 1 });
    const created = await east().send(
      new CreateSnapshotCommand({
        VolumeId: volumeId,
        TagSpecifications: [{ ResourceType: 'snapshot', Tags: [{ Key: 'backup', Value: 'dr' }] }],
      }),
    );
    await sandbox.settle();
    return created.SnapshotId ?? '';
  }

  it('gives a copy whose execution failed for good a second attempt, under a new name, which completes', async () => {
    sandbox.ec2.faults.script('CopySnapshot', 'copy-error');
    const snapshotId = await createSnapshot();
    const [first] = executionsOf(snapshotId);
    expect(first?.status).toBe('FAILED');
    expect(await copiesOf(snapshotId)).toEqual([]); // the copy in error was removed

    const pass = await sandbox.reconcile({ rule: 'ebs-to-dr' });
    // (The snapshot of an earlier test whose copies were exhausted is reported again: not a listing.)
    expect(ruleReport(pass.rules, 'ebs-to-dr')).toMatchObject({ sent: 1 });
    expect(ruleReport(pass.rules, 'ebs-to-dr')?.failed.filter((failure) => failure.listing)).toEqual([]);
    await sandbox.settle();

    const executions = executionsOf(snapshotId);
    expect(executions.map((execution) => [execution.name, execution.status])).toEqual([
      [first?.name, 'FAILED'],
      [`${first?.name}-a2`, 'SUCCEEDED'],
    ]);
    expect((executions[1]?.input as Ec2CopyJob | undefined)?.attempt).toBe(2);
    const copies = await copiesOf(snapshotId);
    expect(copies.map((copy) => copy.State)).toEqual(['completed']);

    const again = await sandbox.reconcile({ rule: 'ebs-to-dr' });
    expect(ruleReport(again.rules, 'ebs-to-dr')).toMatchObject({ missing: 0, sent: 0, failed: [] });
    expect(executionsOf(snapshotId)).toHaveLength(2);
  });

  it('gives up after three failed attempts and reports why, instead of "already started"', async () => {
    sandbox.ec2.faults.script('CopySnapshot', 'copy-error', 'copy-error', 'copy-error');
    const snapshotId = await createSnapshot();
    for (let pass = 0; pass < 2; pass += 1) {
      await sandbox.reconcile({ rule: 'ebs-to-dr' });
      await sandbox.settle();
    }
    expect(executionsOf(snapshotId).map((execution) => execution.status)).toEqual([
      'FAILED',
      'FAILED',
      'FAILED',
    ]);

    const last = await sandbox.reconcile({ rule: 'ebs-to-dr' });
    const report = ruleReport(last.rules, 'ebs-to-dr');
    expect(report?.sent).toBe(0);
    expect(report?.failed).toEqual([
      {
        item: `${snapshotId} (us-east-1)`,
        cause: expect.stringMatching(
          /^CopyStartError: .*copy attempts exhausted: gave up after 3 attempts, each ended without the copy/,
        ),
      },
    ]);
    expect(report?.failed[0]?.cause).not.toMatch(/already/i);
    await sandbox.settle();
    expect(executionsOf(snapshotId)).toHaveLength(3);
    expect(await copiesOf(snapshotId)).toEqual([]);
  });
});

describe('reconcile: a throttled listing', () => {
  const executionsOf = (sourceId: string) =>
    [...sandbox.stepFunctions.executions.values()].filter(
      (execution) => (execution.input as Ec2CopyJob).source.id === sourceId,
    );

  /** A snapshot of the ebs-to-dr rule whose event is lost. */
  async function lostSnapshot() {
    const volumeId = sandbox.ec2.createVolume('us-east-1', { sizeGiB: 1 });
    sandbox.bus.pause();
    try {
      const created = await sandbox.ec2Client('us-east-1').send(
        new CreateSnapshotCommand({
          VolumeId: volumeId,
          TagSpecifications: [{ ResourceType: 'snapshot', Tags: [{ Key: 'backup', Value: 'dr' }] }],
        }),
      );
      await sandbox.settle();
      return created.SnapshotId ?? '';
    } finally {
      sandbox.bus.resume();
    }
  }

  it('names a source listing still answering SlowDown after every patient attempt, copies nothing for its rule, reconciles the others, and comes back to it', async () => {
    await putLost({ 'docs/throttled.txt': 'throttled body', 'gone/fresh.txt': 'fresh body' });
    const snapshotId = await lostSnapshot();
    // Both object rules list rc-source; the docs rule lists first and meets every scripted SlowDown.
    sandbox.faults.scriptFor(
      'rc-source',
      'ListObjectsV2',
      ...Array.from({ length: PATIENT_MAX_ATTEMPTS }, () => 'slowdown' as const),
    );

    const pass = await sandbox.reconcile();
    await sandbox.settle();
    expect(ruleReport(pass.rules, 'docs')).toEqual({
      ...emptyRuleReport('docs', 'objects'),
      failed: [
        {
          item: 'listing of s3://rc-source/docs/ in us-east-1',
          bucket: 'rc-source',
          cause: 'SlowDown: Please reduce your request rate.',
          listing: true,
        },
      ],
    });
    expect(await bodyOf('us-west-2', 'rc-dr', 'mirror/throttled.txt')).toBeUndefined();
    expect(await bodyOf('eu-west-1', 'rc-eu', 'docs/throttled.txt')).toBeUndefined();
    // The other rules went on.
    expect(ruleReport(pass.rules, 'gone')).toMatchObject({ missing: 1, sent: 1, failed: [] });
    // (The snapshot of an earlier test whose copies were exhausted is reported again: not a listing.)
    expect(ruleReport(pass.rules, 'ebs-to-dr')).toMatchObject({ sent: 1 });
    expect(ruleReport(pass.rules, 'ebs-to-dr')?.failed.filter((failure) => failure.listing)).toEqual([]);
    expect(await bodyOf('us-west-2', 'rc-dr', 'gone-mirror/fresh.txt')).toBe('fresh body');
    expect(executionsOf(snapshotId).map((execution) => execution.status)).toEqual(['SUCCEEDED']);
    // The walk reached the end: the pass's continuation comes back to the failed listing, from where it stopped.
    expect(pass.next).toBeDefined();
    expect(decodeCursor(pass.next ?? '')).toEqual({ rule: 'docs', retry: true });

    const again = await sandbox.reconcile({ resume: pass.next });
    await sandbox.settle();
    expect(again.next).toBeUndefined();
    expect(ruleReport(again.rules, 'docs')).toMatchObject({ missing: 1, sent: 1, failed: [] });
    expect(ruleReport(again.rules, 'gone')).toMatchObject({ missing: 0, sent: 0, failed: [] });
    expect(await bodyOf('us-west-2', 'rc-dr', 'mirror/throttled.txt')).toBe('throttled body');
    expect(await bodyOf('eu-west-1', 'rc-eu', 'docs/throttled.txt')).toBe('throttled body');
  });

  it('lists through SlowDowns fewer than the patient attempts (more than the standard ones)', async () => {
    await putLost({ 'docs/patient.txt': 'patient body' });
    const throttled = STANDARD_MAX_ATTEMPTS + 2;
    expect(throttled).toBeLessThan(PATIENT_MAX_ATTEMPTS);
    sandbox.faults.scriptFor(
      'rc-source',
      'ListObjectsV2',
      ...Array.from({ length: throttled }, () => 'slowdown' as const),
    );
    const retries = sandbox.sdkRetries;
    const pass = await sandbox.reconcile({ rule: 'docs' });
    await sandbox.settle();
    expect(sandbox.sdkRetries - retries).toBeGreaterThanOrEqual(throttled);
    expect(pass.next).toBeUndefined();
    expect(ruleReport(pass.rules, 'docs')).toMatchObject({ missing: 1, sent: 1, failed: [] });
    expect(await bodyOf('eu-west-1', 'rc-eu', 'docs/patient.txt')).toBe('patient body');
  });

  it('deletes nothing when the orphan sweep’s listing is denied, and names it', async () => {
    await source().send(new PutObjectCommand({ Bucket: 'rc-source', Key: 'gone/kept.txt', Body: 'kept' }));
    await sandbox.settle();
    sandbox.bus.pause();
    try {
      await source().send(new DeleteObjectCommand({ Bucket: 'rc-source', Key: 'gone/kept.txt' }));
    } finally {
      sandbox.bus.resume();
    }
    // AccessDenied is no throttling: the SDK does not retry it, the first answer is the last.
    sandbox.faults.scriptFor('rc-dr', 'ListObjectsV2', 'denied');

    const pass = await sandbox.reconcile({ rule: 'gone' });
    await sandbox.settle();
    expect(ruleReport(pass.rules, 'gone')).toMatchObject({
      orphanedReplicas: { found: 0, deleted: 0 },
      failed: [
        {
          item: 'listing of s3://rc-dr/gone-mirror/ in us-west-2',
          cause: 'AccessDenied: Access Denied',
          listing: true,
        },
      ],
    });
    expect(await bodyOf('us-west-2', 'rc-dr', 'gone-mirror/kept.txt')).toBe('kept');
    expect(decodeCursor(pass.next ?? '')).toEqual({ rule: 'gone', destination: 0, retry: true });

    const again = await sandbox.reconcile({ resume: pass.next, rule: 'gone' });
    expect(ruleReport(again.rules, 'gone')).toMatchObject({
      orphanedReplicas: { found: 1, deleted: 1 },
      failed: [],
    });
    expect(await bodyOf('us-west-2', 'rc-dr', 'gone-mirror/kept.txt')).toBeUndefined();
  });

  it('names a DescribeSnapshots still throttled after every patient attempt and starts no copy', async () => {
    const snapshotId = await lostSnapshot();
    sandbox.ec2.faults.script(
      'DescribeSnapshots',
      ...Array.from({ length: PATIENT_MAX_ATTEMPTS }, () => 'throttle' as const),
    );
    const pass = await sandbox.reconcile({ rule: 'ebs-to-dr' });
    await sandbox.settle();
    expect(ruleReport(pass.rules, 'ebs-to-dr')).toMatchObject({
      scanned: 0,
      sent: 0,
      failed: [
        {
          item: 'listing of snapshots in us-east-1',
          cause: expect.stringMatching(/^RequestLimitExceeded: /),
          listing: true,
        },
      ],
    });
    expect(executionsOf(snapshotId)).toEqual([]);
    expect(decodeCursor(pass.next ?? '')).toMatchObject({ rule: 'ebs-to-dr', region: 'us-east-1' });
  });
});
