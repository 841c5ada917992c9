// npm run bench -- routing [--rules 10,100,1000] [--events 10000] [--rounds 7] [--warmup 2] [--seed 1]
//
// Routing throughput of the pure routers (objects, EBS snapshots, AMIs) against generated rule sets of
// each size, read by the real loader, over generated event streams (test/support/routing-workload.ts). Each
// router is timed as the handlers call it (indexed above a few rules) and as it was before the indexes
// (every rule tested in file order), alternating the two round by round; both must plan the same copies.
// Prints the median events/s over the timed rounds with min–max, and writes bench/results/routing.{md,json}.
import { mkdir, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { INDEX_MIN_RULES, ObjectRuleIndex } from '#objects/router';
import { RegionTagIndex } from '#rules/region-tag-index';
import { type RoutingWorkload, routingWorkload } from '#test/support/routing-workload';
import { indexedRouters, linearRouters, measureThroughput, type Throughput } from './routing-throughput.ts';

const GOAL_EVENTS_PER_SECOND = 100_000;
const GOAL_RULES = 1000;
const KINDS = ['objects', 'snapshots', 'images'] as const;
type Kind = (typeof KINDS)[number];
const KIND_LABEL: Record<Kind, string> = { objects: 'objects', snapshots: 'EBS snapshots', images: 'AMIs' };

export interface RoutingRow {
  rules: number;
  kind: Kind;
  events: number;
  plansPerEvent: number;
  matchedShare: number;
  linear: Throughput;
  indexed: Throughput;
  indexBuildMs: number;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;

/** Median time to build a kind's index from scratch (once per Lambda container). */
function indexBuildMs(workload: RoutingWorkload, kind: Kind): number {
  const build = () => {
    if (kind === 'objects') return new ObjectRuleIndex(workload.objects.rules);
    if (kind === 'snapshots') return new RegionTagIndex(workload.snapshots.rules, (rule) => rule.snapshots);
    return new RegionTagIndex(workload.images.rules, (rule) => rule.images);
  };
  const times = Array.from({ length: 11 }, () => {
    const start = process.hrtime.bigint();
    build();
    return Number(process.hrtime.bigint() - start) / 1e6;
  });
  return median(times);
}

/** One kind at one rule count: the linear scan and the index, alternating, on the same events. */
function measureKind(workload: RoutingWorkload, kind: Kind, options: { rounds: number; warmup: number }) {
  const run = <Event>(events: readonly Event[], routes: [(e: Event) => number, (e: Event) => number]) => {
    const matched = events.filter((event) => (routes[1] as (e: Event) => number)(event) > 0).length;
    const [linear, indexed] = measureThroughput(events, routes, options) as [Throughput, Throughput];
    return { linear, indexed, matchedShare: matched / events.length, count: events.length };
  };
  switch (kind) {
    case 'objects':
      return run(workload.objects.events, [
        linearRouters.objects(workload.objects.rules),
        indexedRouters.objects(workload.objects.rules),
      ]);
    case 'snapshots':
      return run(workload.snapshots.events, [
        linearRouters.snapshots(workload.snapshots.rules),
        indexedRouters.snapshots(workload.snapshots.rules),
      ]);
    case 'images':
      return run(workload.images.events, [
        linearRouters.images(workload.images.rules),
        indexedRouters.images(workload.images.rules),
      ]);
  }
}

/** Every kind at every rule count. Exported for the test that runs it on a tiny input. */
export function runRouting(options: {
  ruleCounts: number[];
  events: number;
  rounds: number;
  warmup: number;
  seed: number;
}): RoutingRow[] {
  const rows: RoutingRow[] = [];
  for (const rules of options.ruleCounts) {
    const workload = routingWorkload(rules, options.events, options.seed);
    for (const kind of KINDS) {
      const { linear, indexed, matchedShare, count } = measureKind(workload, kind, options);
      rows.push({
        rules,
        kind,
        events: count,
        plansPerEvent: indexed.plans / count,
        matchedShare,
        linear,
        indexed,
        indexBuildMs: indexBuildMs(workload, kind),
      });
    }
  }
  return rows;
}

const rate = (value: number) => Math.round(value).toLocaleString('en-US');
const cell = (t: Throughput) => `${rate(t.median)} (${rate(t.min)}–${rate(t.max)})`;

export function routingReport(rows: readonly RoutingRow[], settings: string): string {
  const lines = [
    `Events/s, median of the timed rounds (min–max); ${settings}.`,
    '',
    '| rules | kind | goal | before: linear scan | after: indexed | × | copies per event | events routed to ≥ 1 copy | index build |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const row of rows) {
    const atGoal = row.rules >= GOAL_RULES;
    const goal = atGoal ? `≥ ${rate(GOAL_EVENTS_PER_SECOND)}` : '—';
    const miss = atGoal && row.indexed.median < GOAL_EVENTS_PER_SECOND ? ' ✘' : '';
    const speedup = row.indexed.median / row.linear.median;
    // Below INDEX_MIN_RULES the routers scan: both columns run the same code, and differ by noise only.
    const scans = row.rules < INDEX_MIN_RULES ? ' (scan)' : '';
    lines.push(
      `| ${rate(row.rules)} | ${KIND_LABEL[row.kind]} | ${goal} | ${cell(row.linear)} | ${cell(row.indexed)}${scans}${miss} | ` +
        `${speedup.toFixed(1)}× | ${row.plansPerEvent.toFixed(2)} | ${Math.round(100 * row.matchedShare)} % | ` +
        `${row.indexBuildMs.toFixed(2)} ms |`,
    );
  }
  lines.push(
    '',
    `(scan): below ${INDEX_MIN_RULES} rules the routers test every rule, as before; both columns run the same code.`,
    '✘ marks a figure below its goal.',
  );
  return lines.join('\n');
}

if (process.argv[2] === 'routing') {
  const { values } = parseArgs({
    args: process.argv.slice(3),
    options: {
      rules: { type: 'string', default: '10,100,1000' },
      events: { type: 'string', default: '10000' },
      rounds: { type: 'string', default: '7' },
      warmup: { type: 'string', default: '2' },
      seed: { type: 'string', default: '1' },
    },
  });
  const options = {
    ruleCounts: values.rules.split(',').map((count) => Number(count.trim())),
    events: Number(values.events),
    rounds: Number(values.rounds),
    warmup: Number(values.warmup),
    seed: Number(values.seed),
  };
  const rows = runRouting(options);
  const settings =
    `${rate(options.events)} events per kind and round, ${options.warmup} warm-up and ${options.rounds} timed ` +
    `rounds per router, seed ${options.seed}, Node ${process.versions.node}`;
  const report = routingReport(rows, settings);
  console.log(report);
  await mkdir('bench/results', { recursive: true });
  await writeFile('bench/results/routing.md', `${report}\n`);
  await writeFile('bench/results/routing.json', `${JSON.stringify({ options, rows }, null, 2)}\n`);
}
