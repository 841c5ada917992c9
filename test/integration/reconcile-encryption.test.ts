import { PutObjectCommand, type PutObjectCommandInput, type ServerSideEncryption } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { proveRequests } from '#deploy/iam-proof/evaluate';
import { proofRoles } from '#deploy/iam-proof/policies';
import { type Sandbox, startSandbox } from '#local/sandbox';
import type { RuleReport } from '#reconcile/report';
import type { FerryConfig } from '#rules/config';
import { configFrom } from '#test/support/fixtures';
import { bodyOf as bodyIn, putLost as putLostIn } from '#test/support/lost-events';

/**
 * A replica under another encryption than its source has another ETag for the same bytes: S3 gives an object
 * written under SSE-KMS an ETag that is not the MD5 of its bytes, and one under SSE-S3 the MD5
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/API_Object.html, "ETag"); the sandbox's S3 does the same.
 * Reconcile, by the destination's listing, by HEAD and by inventory, must judge such a replica current on
 * every pass (no copy again, a HEAD only where neither listing nor inventory can tell), and still find one
 * whose source was overwritten with as many bytes.
 *
 * Every copy of an SSE-KMS source here is checked by the IAM proof (test/iam-proof-setup.ts), as every sandbox
 * test's calls are: S3 decrypts the source with the copier's permissions, which the rules grant by naming the
 * source's key in `objects.kmsKeys` (deploy/iam/kms.ts, sourceKeyDrafts).
 */

const KMS_KEY = 'arn:aws:kms:us-west-2:000000000000:key/ke-vault';
/** The key the SSE-KMS sources are under, in the sources' Region (the sandbox's home Region). */
const SOURCE_KEY = 'arn:aws:kms:us-east-1:000000000000:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const CONFIG = configFrom(`
copy: { multipartThreshold: 5242880, partSize: 5242880 }
rules:
  - name: kms-by-event
    objects: { bucket: ke-source, prefix: event/, kmsKeys: ['${SOURCE_KEY}'] }
    to:
      - { bucket: ke-dr, region: us-west-2, encryption: { sse: AES256 }, tags: { copy: false } }
  - name: kms-to-s3
    objects: { bucket: ke-source, prefix: kms/, kmsKeys: ['${SOURCE_KEY}'] }
    to:
      - { bucket: ke-dr, region: us-west-2, encryption: { sse: AES256 }, tags: { copy: false } }
  - name: s3-to-kms
    objects: { bucket: ke-source, prefix: plain/ }
    to:
      - bucket: ke-vault
        region: us-west-2
        encryption: { sse: aws:kms, kmsKeyId: '${KMS_KEY}' }
        tags: { copy: false }
  - name: kms-few
    objects: { bucket: ke-source, prefix: few/, kmsKeys: ['${SOURCE_KEY}'] }
    to:
      - { bucket: ke-dr, region: us-west-2, encryption: { sse: AES256 }, tags: { copy: false } }
  - name: kms-inventory
    objects:
      bucket: ke-isource
      prefix: inv/
      kmsKeys: ['${SOURCE_KEY}']
      inventory: { bucket: ke-reports, prefix: inventories, configId: daily }
    to:
      - bucket: ke-idr
        region: us-west-2
        encryption: { sse: AES256 }
        tags: { copy: false }
        inventory: { bucket: ke-reports-dr, configId: daily }
`);

let sandbox: Sandbox;

beforeAll(async () => {
  sandbox = await startSandbox({ config: CONFIG, port: 0 });
});
afterAll(async () => {
  await sandbox.stop();
});

/** Source writes whose events are lost, each under the given encryption. */
const putLost = (bucket: string, objects: Record<string, string>, sse: ServerSideEncryption) =>
  putLostIn(sandbox, bucket, objects, {
    ServerSideEncryption: sse,
    ...(sse === 'aws:kms' ? { SSEKMSKeyId: SOURCE_KEY } : {}),
  });

/** One listing pass of one rule, and the S3 requests it made (the create path's included), by operation. */
async function pass(
  rule: string,
): Promise<{ report: RuleReport | undefined; requests: Record<string, number> }> {
  await sandbox.settle();
  sandbox.requests.clear();
  const run = await sandbox.reconcile({ rule });
  await sandbox.settle();
  const requests = Object.fromEntries(sandbox.requests);
  return { report: run.rules.find((report) => report.rule === rule), requests };
}

const keysOf = (prefix: string, count: number) =>
  Array.from({ length: count }, (_, i) => `${prefix}k${String(i).padStart(2, '0')}.txt`);
const objectsOf = (keys: readonly string[], body = (key: string) => `body of ${key}`) =>
  Object.fromEntries(keys.map((key) => [key, body(key)]));
/** Another body of as many bytes: only the ETag (or the time) can tell the replica is stale. */
const overwritten = (key: string) => `BODY OF ${key}`;

// More than one LIST is worth in HEADs (ListingBudget): the destination's listing is read.
const LISTED = 16;

describe.each([
  { rule: 'kms-to-s3', prefix: 'kms/', sse: 'aws:kms' as const, replicas: 'ke-dr' },
  { rule: 's3-to-kms', prefix: 'plain/', sse: 'AES256' as const, replicas: 'ke-vault' },
])('reconcile by listing, $rule', ({ rule, prefix, sse, replicas }) => {
  const keys = keysOf(prefix, LISTED);

  it('copies the missing replicas once, then judges them current on every pass, HEADing each at most once', async () => {
    await putLost('ke-source', objectsOf(keys), sse);
    const first = await pass(rule);
    expect(first.report).toMatchObject({
      scanned: LISTED,
      missing: LISTED,
      stale: 0,
      sent: LISTED,
      failed: [],
    });
    for (const attempt of [1, 2]) {
      const again = await pass(rule);
      expect(again.report, `pass ${attempt}`).toMatchObject({ missing: 0, stale: 0, sent: 0, failed: [] });
      expect(again.requests.CopyObject ?? 0, `pass ${attempt}`).toBe(0);
      // The listing cannot tell why the ETags differ (ListObjectsV2 gives no encryption): one HEAD each.
      expect(again.requests.HeadObject ?? 0, `pass ${attempt}`).toBeLessThanOrEqual(LISTED);
    }
  });

  it('finds a replica stale whose source was overwritten with as many bytes, and copies it once', async () => {
    const [key] = keys as [string];
    await putLost('ke-source', { [key]: overwritten(key) }, sse);
    const { report } = await pass(rule);
    expect(report).toMatchObject({ missing: 0, stale: 1, sent: 1, failed: [] });
    expect(await bodyIn(sandbox, 'us-west-2', replicas, key)).toBe(overwritten(key));
    expect((await pass(rule)).report).toMatchObject({ stale: 0, sent: 0 });
  });
});

describe('reconcile by HEAD (a page too small for a LIST), SSE-KMS source to SSE-S3', () => {
  const keys = keysOf('few/', 3);

  it('judges the replicas current on every pass with one HEAD each, and finds an overwritten one stale', async () => {
    await putLost('ke-source', objectsOf(keys), 'aws:kms');
    expect((await pass('kms-few')).report).toMatchObject({ missing: 3, sent: 3, failed: [] });
    for (const attempt of [1, 2]) {
      const again = await pass('kms-few');
      expect(again.report, `pass ${attempt}`).toMatchObject({ missing: 0, stale: 0, sent: 0, failed: [] });
      expect(again.requests.HeadObject ?? 0, `pass ${attempt}`).toBe(3);
    }
    const [key] = keys as [string];
    await putLost('ke-source', { [key]: overwritten(key) }, 'aws:kms');
    expect((await pass('kms-few')).report).toMatchObject({ stale: 1, sent: 1, failed: [] });
    expect(await bodyIn(sandbox, 'us-west-2', 'ke-dr', key)).toBe(overwritten(key));
  });
});

describe('reconcile by inventory, SSE-KMS source to SSE-S3', () => {
  const keys = keysOf('inv/', 4);

  async function run() {
    await sandbox.settle();
    await sandbox.publishInventories();
    const { execution, report } = await sandbox.reconcileInventory({ rule: 'kms-inventory', shards: 2 });
    expect(execution.status, JSON.stringify(execution.error)).toBe('SUCCEEDED');
    await sandbox.settle();
    return report?.rules.find((entry) => entry.rule === 'kms-inventory');
  }

  it('copies the missing replicas once, then judges them current on every run, and finds an overwritten one stale', async () => {
    await putLost('ke-isource', objectsOf(keys), 'aws:kms');
    expect(await run()).toMatchObject({ missing: 4, sent: 4, failed: [] });
    for (const attempt of [1, 2])
      expect(await run(), `run ${attempt}`).toMatchObject({ missing: 0, stale: 0, sent: 0, failed: [] });
    const [key] = keys as [string];
    await putLost('ke-isource', { [key]: overwritten(key) }, 'aws:kms');
    expect(await run()).toMatchObject({ stale: 1, sent: 1, failed: [] });
    expect(await bodyIn(sandbox, 'us-west-2', 'ke-idr', key)).toBe(overwritten(key));
  });
});

/** The same rules, none naming the sources' key: what the deployed roles were before `objects.kmsKeys`. */
const withoutSourceKeys = (config: FerryConfig): FerryConfig => ({
  ...config,
  rules: config.rules.map((rule) => {
    if (!('objects' in rule)) return rule;
    const { kmsKeys: _named, ...objects } = rule.objects;
    return { ...rule, objects };
  }),
});

describe('copies of SSE-KMS sources by event, and the IAM proof of their kms:Decrypt', () => {
  const MiB = 1024 * 1024;
  const put = (key: string, body: string | Uint8Array, extra: Partial<PutObjectCommandInput> = {}) =>
    sandbox.s3('us-east-1').send(
      new PutObjectCommand({
        Bucket: 'ke-source',
        Key: key,
        Body: body,
        ServerSideEncryption: 'aws:kms',
        SSEKMSKeyId: SOURCE_KEY,
        ...extra,
      }),
    );

  it('copies in one CopyObject and in parts, decrypting under the named key for the object, or the bucket under a Bucket Key; without the key named, the proof refuses each decryption', async () => {
    const large = new Uint8Array(6 * MiB + 3).fill(7);
    await put('event/small.txt', 'small');
    await put('event/bucket-key.txt', 'under a bucket key', { BucketKeyEnabled: true });
    await put('event/large.bin', large);
    await sandbox.settle();
    expect(await bodyIn(sandbox, 'us-west-2', 'ke-dr', 'event/small.txt')).toBe('small');
    expect(await bodyIn(sandbox, 'us-west-2', 'ke-dr', 'event/bucket-key.txt')).toBe('under a bucket key');
    expect((await bodyIn(sandbox, 'us-west-2', 'ke-dr', 'event/large.bin'))?.length).toBe(large.length);

    const decrypts = sandbox
      .iamRequests()
      .filter(
        (request) =>
          request.action === 'kms:Decrypt' &&
          request.resource === SOURCE_KEY &&
          /^arn:aws:s3:::ke-source(\/event\/.*)?$/.test(
            String(request.context['kms:EncryptionContext:aws:s3:arn']),
          ),
      );
    const seen = new Set(
      decrypts.map(
        (request) =>
          `${'function' in request.principal ? request.principal.function : ''} ${request.call} ${String(request.context['kms:EncryptionContext:aws:s3:arn'])}`,
      ),
    );
    expect([...seen].sort()).toEqual([
      'objectCopyStep s3:UploadPartCopy arn:aws:s3:::ke-source/event/large.bin',
      'objectCreated s3:CopyObject arn:aws:s3:::ke-source',
      'objectCreated s3:CopyObject arn:aws:s3:::ke-source/event/small.txt',
    ]);
    for (const request of decrypts)
      expect(request.context['kms:ViaService']).toBe('s3.us-east-1.amazonaws.com');

    expect((await proveRequests(decrypts, proofRoles(CONFIG))).missing).toEqual([]);
    const refused = await proveRequests(decrypts, proofRoles(withoutSourceKeys(CONFIG)));
    expect(new Set(refused.missing.map((missing) => `${missing.principal} ${missing.request.call}`))).toEqual(
      new Set(['objectCreated s3:CopyObject', 'objectCopyStep s3:UploadPartCopy']),
    );
    expect(refused.missing).toHaveLength(refused.evaluated);
    // The grant is for this bucket's objects only: the same key decrypting another bucket's object is refused.
    const elsewhere = decrypts.map((request) => ({
      ...request,
      context: {
        ...request.context,
        'kms:EncryptionContext:aws:s3:arn': 'arn:aws:s3:::ke-other/event/small.txt',
      },
    }));
    const outside = await proveRequests(elsewhere, proofRoles(CONFIG));
    expect(outside.missing).toHaveLength(outside.evaluated);
    expect(outside.missing[0]?.why).toMatch(/DecryptSources: condition StringLike/);
  });
});
