// npm run bench -- reconcile [--objects 3000]
//
// What the list reconcile's replica check costs per destination (README, "Catching up: reconcile and
// backfill"): in the sandbox, with the real reconcile pass, N source objects whose replicas are all current
// are reconciled twice, once with a HEAD per replica (the check before the listing join) and once joined
// with a listing of the destination (src/reconcile/listing-join.ts). Three destination key spaces: only
// the replicas (dense), nine other objects after each replica (interleaved), and 99 after each (sparse,
// with a tenth of the sources: a LIST page holds about 10 replicas, less than it costs in HEADs, the case
// the listing budget hands back to HEADs); and a destination that copies tags, whose HEADs are kept. Counted at the
// sandbox's S3 gateway through the call recorder: the requests reconcile made to the destination bucket
// (the source listing, one LIST per 1,000 keys either way, is left out). Priced at S3 Standard us-east-1
// request prices (S3_REQUEST_PRICES). Request counts are deterministic: one run per row.
// Writes bench/results/reconcile.{md,json}.
import { mkdir, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { type Sandbox, startSandbox } from '#local/sandbox';
import { S3_REQUEST_PRICES } from '#reconcile/listing-join';
import { parseConfig } from '#rules/load';

const CONFIG = `
rules:
  - name: dense
    objects: { bucket: rb-src, prefix: dense/ }
    to: [{ bucket: rb-dense, region: us-west-2, tags: { copy: false } }]
  - name: interleaved
    objects: { bucket: rb-src, prefix: mixed/ }
    to: [{ bucket: rb-mixed, region: us-west-2, tags: { copy: false } }]
  - name: sparse
    objects: { bucket: rb-src, prefix: sparse/ }
    to: [{ bucket: rb-sparse, region: us-west-2, tags: { copy: false } }]
  - name: tags-compared
    objects: { bucket: rb-src, prefix: tagged/ }
    to: [{ bucket: rb-tagged, region: us-west-2 }]
`;

interface Scenario {
  rule: string;
  prefix: string;
  bucket: string;
  /** Other destination objects after each replica in the key space. */
  others: number;
  /** Source objects, as a fraction of `--objects` (the sparse key space would hold 100× more). */
  share?: number;
  label: string;
}

const SCENARIOS: Scenario[] = [
  { rule: 'dense', prefix: 'dense/', bucket: 'rb-dense', others: 0, label: 'dense: only the replicas' },
  {
    rule: 'interleaved',
    prefix: 'mixed/',
    bucket: 'rb-mixed',
    others: 9,
    label: 'interleaved: 9 other objects after each replica',
  },
  {
    rule: 'sparse',
    prefix: 'sparse/',
    bucket: 'rb-sparse',
    others: 99,
    share: 0.1,
    label: 'sparse: 99 other objects after each replica',
  },
  {
    rule: 'tags-compared',
    prefix: 'tagged/',
    bucket: 'rb-tagged',
    others: 0,
    label: 'a destination that copies tags (compared: HEAD kept)',
  },
];

export interface Row {
  scenario: string;
  check: 'HEAD per replica' | 'listing join';
  objects: number;
  /** Requests to the destination bucket, by operation. */
  requests: Record<string, number>;
  dollarsPerMillion: number;
  current: number;
}

const TIER_1 = new Set(['ListObjectsV2', 'PutObject', 'CopyObject', 'PutObjectTagging']);

async function putAll(sandbox: Sandbox, region: string, bucket: string, keys: readonly string[]) {
  const client = sandbox.s3(region);
  for (let start = 0; start < keys.length; start += 32)
    await Promise.all(
      keys
        .slice(start, start + 32)
        .map((Key) => client.send(new PutObjectCommand({ Bucket: bucket, Key, Body: `body of ${Key}` }))),
    );
}

async function runScenario(sandbox: Sandbox, scenario: Scenario, objects: number): Promise<Row[]> {
  const count = Math.round(objects * (scenario.share ?? 1));
  const keys = Array.from({ length: count }, (_, i) => `${scenario.prefix}${String(i).padStart(7, '0')}`);
  await putAll(sandbox, 'us-east-1', 'rb-src', keys);
  await sandbox.settle();
  // The other objects sort right after each replica key (`…0000042/…`), before the next one.
  const others = keys.flatMap((key) =>
    Array.from({ length: scenario.others }, (_, j) => `${key}/other-${String(j).padStart(3, '0')}`),
  );
  await putAll(sandbox, 'us-west-2', scenario.bucket, others);
  const rows: Row[] = [];
  for (const headEveryReplica of [true, false]) {
    const before = sandbox.calls().length;
    const pass = await sandbox.reconcile({ rule: scenario.rule, limit: 100_000 }, { headEveryReplica });
    const report = pass.rules[0];
    const requests: Record<string, number> = {};
    for (const call of sandbox.calls().slice(before))
      if (call.function === 'reconcile' && call.input.Bucket === scenario.bucket)
        requests[call.operation] = (requests[call.operation] ?? 0) + 1;
    const dollars = Object.entries(requests).reduce(
      (sum, [operation, count]) =>
        sum + count * (TIER_1.has(operation) ? S3_REQUEST_PRICES.tier1 : S3_REQUEST_PRICES.tier2),
      0,
    );
    rows.push({
      scenario: scenario.label,
      check: headEveryReplica ? 'HEAD per replica' : 'listing join',
      objects: count,
      requests,
      dollarsPerMillion: (dollars / count) * 1e6,
      current: (report?.scanned ?? 0) - (report?.missing ?? 0) - (report?.stale ?? 0),
    });
  }
  return rows;
}

export async function runReconcileBench(options: { objects: number }): Promise<Row[]> {
  const sandbox = await startSandbox({ config: parseConfig(CONFIG, 'reconcile-bench.yml'), port: 0 });
  try {
    const rows: Row[] = [];
    for (const scenario of SCENARIOS) rows.push(...(await runScenario(sandbox, scenario, options.objects)));
    return rows;
  } finally {
    await sandbox.stop();
  }
}

const perThousand = (requests: Record<string, number>, objects: number) =>
  Object.entries(requests)
    .map(([operation, count]) => `${operation} ${((1000 * count) / objects).toFixed(1)}`)
    .join(', ') || 'none';

export function reconcileReport(rows: readonly Row[]): string {
  const lines = [
    '| destination key space | check | requests to the destination per 1,000 objects | $ per 1M objects per destination | ratio (HEAD per replica ÷ this) | replicas found current |',
    '|---|---|---|---|---|---|',
  ];
  for (const row of rows) {
    const head = rows.find((other) => other.scenario === row.scenario && other.check === 'HEAD per replica');
    const ratio = head && row.dollarsPerMillion > 0 ? head.dollarsPerMillion / row.dollarsPerMillion : 0;
    lines.push(
      `| ${row.scenario} | ${row.check} | ${perThousand(row.requests, row.objects)} | ` +
        `$${row.dollarsPerMillion.toFixed(4)} | ${ratio.toFixed(1)}× | ${row.current} of ${row.objects} |`,
    );
  }
  return lines.join('\n');
}

if (process.argv[2] === 'reconcile') {
  process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
  const { values } = parseArgs({
    args: process.argv.slice(3),
    options: { objects: { type: 'string', default: '3000' } },
  });
  const options = { objects: Number(values.objects) };
  const rows = await runReconcileBench(options);
  const report = reconcileReport(rows);
  console.log(report);
  await mkdir('bench/results', { recursive: true });
  await writeFile('bench/results/reconcile.md', `${report}\n`);
  await writeFile(
    'bench/results/reconcile.json',
    `${JSON.stringify({ options, prices: S3_REQUEST_PRICES, rows }, null, 2)}\n`,
  );
}
