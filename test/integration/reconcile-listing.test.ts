import { DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Sandbox, startSandbox } from '#local/sandbox';
import type { RuleReport } from '#reconcile/report';
import { configFrom } from '#test/support/fixtures';
import { bodyOf as bodyIn, putLost as putLostIn } from '#test/support/lost-events';

/**
 * The list reconcile judges replicas from a listing of their destination (src/reconcile/listing-join.ts):
 * missing, stale, current and orphaned replicas are repaired as with a HEAD per replica, and a pass over
 * current replicas of a rule that compares neither tags nor locks makes no HeadObject at all.
 */

const CONFIG = configFrom(`
rules:
  - name: listed
    objects: { bucket: rl-source, prefix: docs/ }
    to:
      - { bucket: rl-dr, region: us-west-2, keyPrefix: mirror/, tags: { copy: false } }
      - { bucket: rl-eu, region: eu-west-1, tags: { copy: false } }
  - name: sparse
    objects: { bucket: rl-source, prefix: few/ }
    to:
      - { bucket: rl-dr, region: us-west-2, tags: { copy: false } }
  - name: gone
    objects: { bucket: rl-source, prefix: gone/ }
    to:
      - bucket: rl-dr
        region: us-west-2
        keyPrefix: gone-mirror/
        replicateDeletes: true
        replicateLifecycleDeletes: true
        tags: { copy: false }
`);

let sandbox: Sandbox;
const source = () => sandbox.s3('us-east-1');

beforeAll(async () => {
  sandbox = await startSandbox({ config: CONFIG, port: 0 });
});
afterAll(() => sandbox.stop());

const putLost = (objects: Record<string, string>) => putLostIn(sandbox, 'rl-source', objects);
const bodyOf = (region: string, bucket: string, key: string) => bodyIn(sandbox, region, bucket, key);

/** One pass of one rule, and the S3 requests it made at the sandbox's gateway, by operation. */
async function counted(
  rule: string,
): Promise<{ report: RuleReport | undefined; requests: Record<string, number> }> {
  await sandbox.settle();
  sandbox.requests.clear();
  const pass = await sandbox.reconcile({ rule });
  const requests = Object.fromEntries(sandbox.requests);
  await sandbox.settle();
  return { report: pass.rules.find((report) => report.rule === rule), requests };
}

// 20 keys, among them two whose UTF-16 order is the reverse of S3's UTF-8 byte order (U+FFFD before
// U+1F600 in S3, after it in JavaScript's `<`), so a walk in the wrong order would miss a replica.
const KEYS = [
  ...Array.from({ length: 17 }, (_, i) => `docs/k${String(i).padStart(2, '0')}.txt`),
  'docs/b c+ü.txt',
  'docs/x\uFFFD.txt',
  'docs/x\u{1F600}.txt',
];
const bodyFor = (key: string) => `body of ${key}`;

describe('reconcile from destination listings', () => {
  it('finds replicas missing from the listings and sends them; the replica check made no HeadObject', async () => {
    await putLost(Object.fromEntries(KEYS.map((key) => [key, bodyFor(key)])));
    const { report, requests } = await counted('listed');
    expect(report).toMatchObject({ scanned: KEYS.length, missing: KEYS.length, stale: 0, sent: KEYS.length });
    expect(report?.failed).toEqual([]);
    for (const key of KEYS) {
      expect(await bodyOf('us-west-2', 'rl-dr', `mirror/${key.slice('docs/'.length)}`)).toBe(bodyFor(key));
      expect(await bodyOf('eu-west-1', 'rl-eu', key)).toBe(bodyFor(key));
    }
    // The source listing and one listing per destination; HEADs only on the create path (the copies).
    expect(requests.ListObjectsV2).toBe(3);
  });

  it('makes no HeadObject for current replicas: one LIST of the source and one per destination', async () => {
    const { report, requests } = await counted('listed');
    expect(report).toMatchObject({ scanned: KEYS.length, missing: 0, stale: 0, sent: 0, failed: [] });
    expect(requests.HeadObject ?? 0).toBe(0);
    expect(requests.ListObjectsV2).toBe(3);
  });

  it('finds a replica of an older version stale from the listing (another size) and copies the new one', async () => {
    await putLost({ 'docs/k03.txt': 'a newer, longer body of docs/k03.txt' });
    const { report } = await counted('listed');
    expect(report).toMatchObject({ missing: 0, stale: 1, sent: 1, failed: [] });
    expect(await bodyOf('us-west-2', 'rl-dr', 'mirror/k03.txt')).toBe('a newer, longer body of docs/k03.txt');
    expect(await bodyOf('eu-west-1', 'rl-eu', 'docs/k03.txt')).toBe('a newer, longer body of docs/k03.txt');
  });

  it('HEADs only a replica whose ETag differs with its size equal (overwritten at the destination), and finds it stale', async () => {
    const key = 'mirror/k05.txt';
    const original = bodyFor('docs/k05.txt');
    // The same length, another body, written after the source: the listing cannot tell why the ETags differ.
    await sandbox
      .s3('us-west-2')
      .send(new PutObjectCommand({ Bucket: 'rl-dr', Key: key, Body: original.replace('body', 'BODY') }));
    const { report, requests } = await counted('listed');
    expect(report).toMatchObject({ missing: 0, stale: 1, sent: 1, failed: [] });
    expect(await bodyOf('us-west-2', 'rl-dr', key)).toBe(original);
    const check = await counted('listed');
    expect(check.report).toMatchObject({ missing: 0, stale: 0, sent: 0 });
    expect(check.requests.HeadObject ?? 0).toBe(0);
    // The one HEAD of the check, then the create path's own reads.
    expect(requests.HeadObject ?? 0).toBeGreaterThanOrEqual(1);
  });

  it('HEADs the replicas of a page too small to pay for a LIST of the destination', async () => {
    await putLost({ 'few/a.txt': 'a', 'few/b.txt': 'b', 'few/c.txt': 'c' });
    await counted('sparse');
    const { report, requests } = await counted('sparse');
    expect(report).toMatchObject({ scanned: 3, missing: 0, stale: 0, sent: 0, failed: [] });
    expect(requests.HeadObject).toBe(3);
    expect(requests.ListObjectsV2).toBe(1);
  });

  it('deletes the replica whose delete event was lost, and leaves the rest', async () => {
    const keys = Array.from({ length: 14 }, (_, i) => `gone/g${String(i).padStart(2, '0')}.txt`);
    for (const key of keys)
      await source().send(new PutObjectCommand({ Bucket: 'rl-source', Key: key, Body: bodyFor(key) }));
    await sandbox.settle();
    sandbox.bus.pause();
    try {
      await source().send(new DeleteObjectCommand({ Bucket: 'rl-source', Key: 'gone/g07.txt' }));
    } finally {
      sandbox.bus.resume();
    }
    const { report } = await counted('gone');
    expect(report).toMatchObject({
      scanned: keys.length - 1,
      missing: 0,
      stale: 0,
      sent: 0,
      orphanedReplicas: { found: 1, deleted: 1 },
      failed: [],
    });
    expect(await bodyOf('us-west-2', 'rl-dr', 'gone-mirror/g07.txt')).toBeUndefined();
    expect(await bodyOf('us-west-2', 'rl-dr', 'gone-mirror/g08.txt')).toBe(bodyFor('gone/g08.txt'));
  });
});
