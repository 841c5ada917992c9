import {
  DeleteObjectCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  type HeadObjectCommandOutput,
  ListObjectVersionsCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  PutObjectLockConfigurationCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { encodeTagging } from '#objects/copy-request';
import type { Report } from '#objects/outcomes';
import { type Check, type DemoPartResult, printChecks, resultOf, sameRecord, total } from './demo-checks.ts';
import type { Delivery } from './event-bus.ts';
import type { Sandbox } from './sandbox.ts';
import type { Execution } from './step-functions.ts';

/**
 * The S3 part of the demo of `npm start` / `npm run demo`, written for `local/sandbox.replication.yml`: it
 * writes objects the way a user would, lets the real handlers replicate them, then reads every replica back
 * and checks it. The expectations are written out by hand, not derived from Ferry's own router.
 */

const SOURCE = 'ferry-demo-source';
const DR = { bucket: 'ferry-demo-dr', region: 'us-west-2' };
const ARCHIVE = { bucket: 'ferry-demo-archive', region: 'us-east-1' };
/** The Object Lock vault of rule records-locked: COMPLIANCE for at least 30 days. */
const VAULT = { bucket: 'ferry-demo-vault', region: 'us-west-2' };
const LOCK_DAYS = 30;

interface DemoObject {
  key: string;
  body: string | Buffer;
  contentType?: string;
  metadata?: Record<string, string>;
  tags?: Record<string, string>;
}

const readme: DemoObject = {
  key: 'docs/readme.txt',
  body: 'Ferry replicates objects by rule.\n',
  contentType: 'text/plain; charset=utf-8',
  metadata: { owner: 'platform-team' },
  tags: { team: 'sre' },
};
const readmeV2: DemoObject = { ...readme, body: 'Ferry replicates objects by rule. (second version)\n' };
const oddKey: DemoObject = {
  key: 'docs/Q3 report+final – Übersicht (v2).pdf',
  body: '%PDF-1.7 demo bytes',
  contentType: 'application/pdf',
  metadata: { 'review-state': 'approved' },
};
const taggedReport: DemoObject = {
  key: 'reports/2026-q3.csv',
  body: 'region,revenue\neu,42\n',
  contentType: 'text/csv',
  tags: { dr: 'true', owner: 'finance' },
};
/** Replicated to the vault under Object Lock, then deleted at the source: the vault keeps it. */
const ledger: DemoObject = {
  key: 'records/ledger-2026.csv',
  body: 'date,amount\n2026-12-01,100\n',
  contentType: 'text/csv',
};
const untaggedReport: DemoObject = { key: 'reports/draft.csv', body: 'draft\n', tags: { dr: 'false' } };
const scratch: DemoObject = { key: 'scratch/tmp.bin', body: 'not covered by any rule' };
const doomed: DemoObject = { key: 'docs/old.txt', body: 'to be deleted', contentType: 'text/plain' };
/** Above the sandbox's 16 MiB multipart threshold: copied by the state machine in 8 MiB parts. */
const video: DemoObject = {
  key: 'docs/launch-video.mp4',
  body: Buffer.from(Array.from({ length: 40 * 1024 * 1024 }, (_, i) => (i * 31) % 251)),
  contentType: 'video/mp4',
  metadata: { producer: 'marketing' },
  tags: { team: 'brand' },
};
/** Its copies are throttled past the SDK's own retries: the state machine retries them. */
const throttled: DemoObject = {
  key: 'docs/throttled.txt',
  body: 'copied despite SlowDown\n',
  contentType: 'text/plain',
};

interface ExpectedReplica {
  bucket: string;
  region: string;
  key: string;
  from: DemoObject;
  storageClass: string;
  tags: Record<string, string>;
  extraMetadata: Record<string, string>;
  rule: string;
}

const toDr = (from: DemoObject): ExpectedReplica => ({
  ...DR,
  key: `mirror/${from.key}`,
  from,
  storageClass: 'STANDARD_IA',
  tags: { ...from.tags, copy: 'dr' },
  extraMetadata: { 'replicated-by': 'ferry' },
  rule: 'docs-to-dr',
});
const toArchive = (from: DemoObject): ExpectedReplica => ({
  ...ARCHIVE,
  key: from.key,
  from,
  storageClass: 'GLACIER_IR',
  tags: { ...from.tags },
  extraMetadata: {},
  rule: 'docs-to-dr',
});

const EXPECTED_REPLICAS: ExpectedReplica[] = [
  toDr(readmeV2),
  toArchive(readmeV2),
  toDr(oddKey),
  toArchive(oddKey),
  // Deletes are replicated to the DR copy only: the archive keeps what was deleted at the source.
  toArchive(doomed),
  toDr(video),
  toArchive(video),
  toDr(throttled),
  toArchive(throttled),
  {
    ...DR,
    key: taggedReport.key,
    from: taggedReport,
    storageClass: 'STANDARD',
    tags: { ...taggedReport.tags },
    extraMetadata: {},
    rule: 'tagged-reports',
  },
];

const EXPECTED_ABSENT: { bucket: string; region: string; key: string; why: string }[] = [
  { ...DR, key: `mirror/${doomed.key}`, why: 'deleted at the source; the rule replicates deletes' },
  { ...DR, key: untaggedReport.key, why: 'tag dr=false does not match the rule' },
  { ...DR, key: scratch.key, why: 'no rule covers scratch/' },
  { ...ARCHIVE, key: scratch.key, why: 'no rule covers scratch/' },
];

export async function runObjectDemo(
  sandbox: Sandbox,
  print: (line: string) => void,
): Promise<DemoPartResult> {
  const source = sandbox.s3(sandbox.bucketRegions[SOURCE] ?? 'us-east-1');
  const put = async (object: DemoObject, note = '') => {
    print(`  put     s3://${SOURCE}/${object.key}${note}`);
    await source.send(
      new PutObjectCommand({
        Bucket: SOURCE,
        Key: object.key,
        Body: object.body,
        ContentType: object.contentType,
        Metadata: object.metadata,
        ...(object.tags ? { Tagging: encodeTagging(object.tags) } : {}),
      }),
    );
    await sandbox.settle();
  };

  print(`Demo: writing objects to s3://${SOURCE} (the handlers' progress follows each write)`);
  await put(readme);
  await put(oddKey, '   (spaces, "+", unicode)');
  await put(taggedReport, '   (tagged dr=true)');
  await put(untaggedReport, '   (tagged dr=false: outside the rule)');
  await put(scratch, '   (outside every rule)');
  await put(doomed);
  await put(readmeV2, '   (overwrite)');
  await put(video, '   (40 MiB: multipart copy in the state machine)');
  // S3 answers the next six copies with SlowDown: three SDK attempts for each of the two destinations.
  // The SDK gives up; the state machine does not.
  sandbox.faults.script('CopyObject', ...Array<'slowdown'>(6).fill('slowdown'));
  await put(throttled, '   (throttled past the SDK: retried by the state machine)');
  print(`  delete  s3://${SOURCE}/${doomed.key}`);
  await source.send(new DeleteObjectCommand({ Bucket: SOURCE, Key: doomed.key }));
  await sandbox.settle();

  const vault = sandbox.s3(VAULT.region);
  print(`  enable  Object Lock on s3://${VAULT.bucket} (versioning, then the lock configuration)`);
  await enableObjectLock(vault, VAULT.bucket);
  await put(ledger, `   (to the vault, locked COMPLIANCE for ${LOCK_DAYS} days)`);
  const locked = await vault
    .send(new HeadObjectCommand({ Bucket: VAULT.bucket, Key: ledger.key }))
    .catch(() => undefined);
  print(`  delete  s3://${SOURCE}/${ledger.key}   (the vault's copy must survive it)`);
  await source.send(new DeleteObjectCommand({ Bucket: SOURCE, Key: ledger.key }));
  await sandbox.settle();
  const lockChecks = await checkLockedReplica(sandbox, vault, locked, print);

  const checks: Check[] = [];
  for (const expected of EXPECTED_REPLICAS) checks.push(await checkReplica(sandbox, expected));
  for (const absent of EXPECTED_ABSENT) checks.push(await checkAbsent(sandbox, absent));
  checks.push(...lockChecks);
  if (sandbox.bus.deadLetters.length > 0) {
    checks.push({
      ok: false,
      label: 'dead letters',
      detail: `${sandbox.bus.deadLetters.length} events failed`,
    });
  }
  return resultOf(checks);
}

/** The S3 part's summary: every check, then what the metrics and the object-copy executions counted. */
export function printObjectSummary(sandbox: Sandbox, result: DemoPartResult, print: (line: string) => void) {
  const { metrics } = sandbox;
  const latencies = [...metrics.latenciesMs].sort((a, b) => a - b);
  const median = latencies[Math.floor(latencies.length / 2)] ?? 0;
  print('Summary, verified by reading every replica back:');
  printChecks(result.checks, print);
  print(
    `Copies ${metrics.copies} · bytes ${metrics.bytes} · replicas deleted ${metrics.deletes} · ` +
      `failures ${total(metrics.failures)} · dead letters ${sandbox.bus.deadLetters.length} · ` +
      `median latency ${median} ms`,
  );
  const executions = [...sandbox.stepFunctions.executions.values()].filter(
    (execution) => execution.stateMachine === 'object-copy',
  );
  print(
    `State machine: ${executions.filter((e) => e.status === 'SUCCEEDED').length} executions succeeded, ` +
      `${executions.filter((e) => e.status === 'FAILED').length} failed · faults injected ${total(sandbox.faults.injected)} · ` +
      `virtual time skipped ${(sandbox.clock.skippedMs / 1000).toFixed(1)} s`,
  );
}

/**
 * One line per destination of a handler invocation, showing what the real handler decided for it. (A failed
 * invocation's line is the narration's, for S3 and EC2 alike.)
 */
export function describeObjectDelivery(delivery: Delivery, print: (line: string) => void) {
  const report = delivery.result as Report | undefined;
  if (!report || report.outcomes.length === 0) return;
  for (const outcome of report.outcomes) {
    const what =
      outcome.status === 'failed'
        ? `failed (${outcome.error.cause})`
        : outcome.status === 'skipped'
          ? `skipped (${outcome.reason})`
          : outcome.status === 'handed-off'
            ? `handed to the state machine (${outcome.reason})`
            : outcome.status === 'deleted' && outcome.lockedVersionKept
              ? 'deleted (a delete marker: Object Lock keeps the version)'
              : outcome.status;
    print(`    ↳ ${delivery.target} [${outcome.rule}] ${what} → ${outcome.target}`);
  }
}

/** One line per finished object-copy execution: how it ended and how long it took on the virtual clock. */
export function describeObjectExecution(execution: Execution, print: (line: string) => void) {
  const retries = total(execution.retries);
  const seconds = ((execution.virtualDurationMs ?? 0) / 1000).toFixed(1);
  const job = execution.input as {
    mode: string;
    plan: { destination: { bucket: string }; destinationKey: string };
  };
  const target = `s3://${job.plan.destination.bucket}/${job.plan.destinationKey}`;
  const ending =
    execution.status === 'FAILED' ? `FAILED (${execution.error?.Cause})` : execution.status.toLowerCase();
  print(
    `    ↳ object-copy (${job.mode}) ${ending} → ${target}, ${retries} retries, ${seconds} s of virtual time`,
  );
}

async function checkReplica(sandbox: Sandbox, expected: ExpectedReplica): Promise<Check> {
  const label = `s3://${expected.bucket}/${expected.key}`;
  const client = sandbox.s3(expected.region);
  try {
    const object = await client.send(new GetObjectCommand({ Bucket: expected.bucket, Key: expected.key }));
    const body = Buffer.from((await object.Body?.transformToByteArray()) ?? []);
    const { TagSet = [] } = await client.send(
      new GetObjectTaggingCommand({ Bucket: expected.bucket, Key: expected.key }),
    );
    const tags = Object.fromEntries(TagSet.map((tag) => [tag.Key, tag.Value]));
    const metadata = object.Metadata ?? {};
    const wantedMetadata = {
      ...expected.from.metadata,
      ...expected.extraMetadata,
      'ferry-rule': expected.rule,
    };
    const problems = [
      body.equals(Buffer.from(expected.from.body)) ? '' : 'bytes differ',
      (object.ContentType ?? '') === (expected.from.contentType ?? 'binary/octet-stream')
        ? ''
        : 'content type',
      Object.entries(wantedMetadata).every(([k, v]) => metadata[k] === v) ? '' : 'metadata',
      sameRecord(tags, expected.tags) ? '' : `tags ${JSON.stringify(tags)}`,
      (object.StorageClass ?? 'STANDARD') === expected.storageClass
        ? ''
        : `storage class ${object.StorageClass}`,
    ].filter(Boolean);
    return problems.length === 0
      ? {
          ok: true,
          label,
          detail: `bytes, content type, metadata, ${TagSet.length} tags, ${expected.storageClass}`,
        }
      : { ok: false, label, detail: problems.join(', ') };
  } catch (error) {
    return { ok: false, label, detail: `missing (${(error as Error).name})` };
  }
}

/** Object Lock on an existing bucket: versioning first, then the configuration (S3: object-lock-configure.html). */
async function enableObjectLock(client: S3Client, bucket: string) {
  await client.send(
    new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }),
  );
  await client.send(
    new PutObjectLockConfigurationCommand({
      Bucket: bucket,
      ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled' },
    }),
  );
}

/**
 * The vault's replica of the ledger, after its source was deleted: written under COMPLIANCE until about 30
 * days after its copy, now behind a delete marker (Ferry's replicated delete), and its version refuses to be
 * deleted, by anyone, with S3's 403 AccessDenied.
 */
async function checkLockedReplica(
  sandbox: Sandbox,
  vault: S3Client,
  locked: HeadObjectCommandOutput | undefined,
  print: (line: string) => void,
): Promise<Check[]> {
  const label = `s3://${VAULT.bucket}/${ledger.key}`;
  const head = locked;
  if (!head?.VersionId) return [{ ok: false, label, detail: 'no locked replica was written' }];
  const until = head.ObjectLockRetainUntilDate?.getTime() ?? 0;
  const days = (until - sandbox.clock.now()) / 86_400_000;
  const lockOk = head.ObjectLockMode === 'COMPLIANCE' && days > LOCK_DAYS - 1 && days <= LOCK_DAYS;
  const { Versions = [], DeleteMarkers = [] } = await vault.send(
    new ListObjectVersionsCommand({ Bucket: VAULT.bucket, Prefix: ledger.key }),
  );
  const kept = Versions.some((version) => version.VersionId === head.VersionId);
  print(`  delete  ${label}?versionId=${head.VersionId}   (as an intruder in the vault would)`);
  const refusal = await vault
    .send(new DeleteObjectCommand({ Bucket: VAULT.bucket, Key: ledger.key, VersionId: head.VersionId }))
    .then(() => 'deleted')
    .catch(
      (error: { name?: string; $metadata?: { httpStatusCode?: number } }) =>
        `${error.$metadata?.httpStatusCode} ${error.name}`,
    );
  print(`    ↳ S3 answered ${refusal}`);
  return [
    {
      ok: lockOk,
      label,
      detail: lockOk
        ? `locked COMPLIANCE until ${head.ObjectLockRetainUntilDate?.toISOString()} (${LOCK_DAYS} days)`
        : `lock ${head.ObjectLockMode ?? 'none'} for ${days.toFixed(1)} days, expected COMPLIANCE for ${LOCK_DAYS}`,
    },
    {
      ok: kept && DeleteMarkers.length === 1,
      label: `${label} (source deleted)`,
      detail:
        kept && DeleteMarkers.length === 1
          ? 'behind a delete marker, its locked version kept'
          : `${DeleteMarkers.length} delete markers, locked version ${kept ? 'kept' : 'gone'}`,
    },
    {
      ok: refusal === '403 AccessDenied',
      label: `${label} (delete of the version)`,
      detail:
        refusal === '403 AccessDenied' ? 'refused by Object Lock: 403 AccessDenied' : `answered ${refusal}`,
    },
  ];
}

async function checkAbsent(
  sandbox: Sandbox,
  absent: { bucket: string; region: string; key: string; why: string },
): Promise<Check> {
  const label = `s3://${absent.bucket}/${absent.key}`;
  try {
    await sandbox.s3(absent.region).send(new HeadObjectCommand({ Bucket: absent.bucket, Key: absent.key }));
    return { ok: false, label, detail: `exists, but should not: ${absent.why}` };
  } catch {
    return { ok: true, label, detail: `absent, as expected: ${absent.why}` };
  }
}
