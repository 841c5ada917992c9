// npm run bench -- burst [--snapshots 200] [--gib 50] [--seeds 1,2,3] [--completion polling|events]
//
// A burst of snapshots far past EC2's 20-copies-per-Region limit, copied by the real snapshot-created handler,
// the real snapshot-copy state machine and the real copy steps against the sandbox's fake EC2 (copies
// progress at 64 MiB/s on the virtual clock, the limit and request throttling enforced). It reports the
// makespan (the snapshots taken → the last copy completed in EC2, and → the last execution ended) against the
// ideal ⌈N/20⌉ × copy time, and what the burst spent: EC2 API calls by action, refusals, slot waits, state
// transitions and Lambda invocations. Virtual time, so the figures do not depend on this machine's load;
// each seed changes the jitter.
import { mkdir, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { CreateSnapshotCommand } from '@aws-sdk/client-ec2';
import { tagList } from '#ec2/markers';
import { startSandbox } from '#local/sandbox';
import type { Execution } from '#local/step-functions';
import { parseConfig } from '#rules/load';
import { type Ec2CompletionMode, SLOT_WAIT_STATES } from '../statemachines/ec2-copy.ts';
import { linePlot } from './svg-plot.ts';

const GiB = 1024 ** 3;
const COPY_BYTES_PER_SECOND = 64 * 1024 ** 2;
const COPY_LIMIT = 20;
const GOAL_RATIO = 1.15;
const SNAPSHOTS_PER_WAVE = 25;

const CONFIG = parseConfig(
  `
rules:
  - name: burst-to-dr
    snapshots: { regions: [us-east-1], tags: { backup: dr } }
    to:
      - region: us-west-2
`,
  'burst.yml',
);

export interface BurstRun {
  seed: number;
  snapshots: number;
  copySeconds: number;
  idealSeconds: number;
  /** Snapshots taken → the last copy completed in EC2. */
  copiesSeconds: number;
  /** Snapshots taken → the last execution ended (the last copy noticed, tagged and verified). */
  executionsSeconds: number;
  succeeded: number;
  /** The executions that did not succeed, by their error (or status when they ended without one). */
  failures: Record<string, number>;
  peakConcurrentCopies: number;
  /** EC2 calls Ferry made during the burst, by action (the benchmark's own CreateSnapshot calls excluded). */
  ec2Calls: Record<string, number>;
  refusals: { limit: number; throttled: number };
  slotWaits: number;
  transitions: number;
  lambdaInvocations: number;
  wallSeconds: number;
  /** Copies in flight in the destination over virtual minutes since the snapshots were taken: [minute, count]. */
  inFlight: [number, number][];
  /** Seconds from a slot freed (a copy completed) to the next copy started in it: one per queued copy. */
  slotHandoffSeconds: number[];
  /** Executions the snapshots started (one each unless an event was lost on the way). */
  started: number;
  /** Events a handler failed on for good (the bus's dead letters), by target and error. */
  deadLetters: Record<string, number>;
}

/**
 * How long each freed slot stayed empty. The first `COPY_LIMIT` copies start into empty slots; every later
 * start takes the slot the next completion freed, in order: the n-th start past the limit takes the slot of
 * the n-th completion (no copy starts before one frees, as the limit holds).
 */
export function slotHandoffSeconds(copies: { startTime: number; completionTime?: number }[]): number[] {
  const starts = copies.map((copy) => copy.startTime).sort((a, b) => a - b);
  const ends = copies.flatMap((copy) => (copy.completionTime === undefined ? [] : [copy.completionTime]));
  ends.sort((a, b) => a - b);
  return starts.slice(COPY_LIMIT).flatMap((start, n) => {
    const freed = ends[n];
    return freed === undefined ? [] : [Math.max(0, start - freed) / 1000];
  });
}

/** The count of copies running over time, from each copy's start and completion. */
function inFlightOverTime(copies: { startTime: number; completionTime?: number }[], start: number) {
  const edges = copies
    .flatMap((copy) => [
      { at: copy.startTime, delta: 1 },
      { at: copy.completionTime ?? Number.POSITIVE_INFINITY, delta: -1 },
    ])
    .sort((a, b) => a.at - b.at || a.delta - b.delta);
  const points: [number, number][] = [[0, 0]];
  let current = 0;
  for (const edge of edges) {
    current += edge.delta;
    if (Number.isFinite(edge.at)) points.push([(edge.at - start) / 60_000, current]);
  }
  return points;
}

const countStates = (executions: Execution[], predicate: (name: string, type: string) => boolean) =>
  executions.reduce(
    (sum, execution) =>
      sum +
      execution.events.filter(
        (event) => event.type === 'StateEntered' && predicate(event.state.name, event.state.type),
      ).length,
    0,
  );

export async function runBurst(options: {
  snapshots: number;
  gib: number;
  seed: number;
  /** How the copy machines notice a copy's end (statemachines/ec2-copy.ts); absent, the sandbox's default (events, as deployed). */
  completion?: Ec2CompletionMode;
}): Promise<BurstRun> {
  const wallStart = performance.now();
  const executions: Execution[] = [];
  const sandbox = await startSandbox({
    config: CONFIG,
    port: 0,
    seed: options.seed,
    onExecutionEnd: (execution) => executions.push(execution),
    ec2: { copyBytesPerSecond: COPY_BYTES_PER_SECOND },
    ...(options.completion ? { ec2Completion: options.completion } : {}),
  });
  try {
    const east = sandbox.ec2Client('us-east-1');
    const volumes = Array.from({ length: options.snapshots }, () =>
      sandbox.ec2.createVolume('us-east-1', { sizeGiB: options.gib }),
    );
    const start = sandbox.clock.now();
    sandbox.ec2.requests.clear();
    // As a backup job takes them: in waves EC2's CreateSnapshot rate allows (a bucket of 50, 5 per second).
    for (let i = 0; i < volumes.length; i += SNAPSHOTS_PER_WAVE) {
      if (i > 0) sandbox.clock.advance((SNAPSHOTS_PER_WAVE / 5) * 1000);
      await Promise.all(
        volumes.slice(i, i + SNAPSHOTS_PER_WAVE).map((VolumeId) =>
          east.send(
            new CreateSnapshotCommand({
              VolumeId,
              TagSpecifications: [{ ResourceType: 'snapshot', Tags: tagList({ backup: 'dr' }) }],
            }),
          ),
        ),
      );
    }
    await sandbox.settle();
    const end = sandbox.clock.now();
    const copies = sandbox.ec2.snapshots('us-west-2');
    const lastCopy = Math.max(start, ...copies.map((copy) => copy.completionTime ?? start));
    // Ferry never creates snapshots: those calls (and the SDK's retries of them) are the benchmark's.
    const ec2Calls = Object.fromEntries(
      [...sandbox.ec2.requests].filter(([action]) => action !== 'CreateSnapshot'),
    );
    const copySeconds = (options.gib * GiB) / COPY_BYTES_PER_SECOND;
    const taskStates = countStates(executions, (_name, type) => type === 'Task');
    return {
      seed: options.seed,
      snapshots: options.snapshots,
      copySeconds,
      idealSeconds: Math.ceil(options.snapshots / COPY_LIMIT) * copySeconds,
      copiesSeconds: (lastCopy - start) / 1000,
      executionsSeconds: (end - start) / 1000,
      succeeded: executions.filter((execution) => execution.status === 'SUCCEEDED').length,
      failures: executions
        .filter((execution) => execution.status !== 'SUCCEEDED')
        .reduce<Record<string, number>>((counts, execution) => {
          const key = `${execution.error?.Error ?? execution.status}: ${execution.error?.Cause?.slice(0, 160) ?? ''}`;
          counts[key] = (counts[key] ?? 0) + 1;
          return counts;
        }, {}),
      peakConcurrentCopies: sandbox.ec2.peakConcurrentCopies('us-west-2'),
      ec2Calls,
      refusals: {
        limit: sandbox.metrics.queuedCopies.get('limit') ?? 0,
        throttled: sandbox.metrics.queuedCopies.get('throttled') ?? 0,
      },
      // Timed (WaitForSlot) and by token (AwaitSlot, with completion events).
      slotWaits: countStates(executions, (name) => SLOT_WAIT_STATES.includes(name)),
      transitions: countStates(executions, () => true),
      // The snapshot-created handler once per event, and every Task of every execution.
      lambdaInvocations: options.snapshots + taskStates,
      wallSeconds: (performance.now() - wallStart) / 1000,
      inFlight: inFlightOverTime(copies, start),
      slotHandoffSeconds: slotHandoffSeconds(copies),
      started: sandbox.stepFunctions.executions.size,
      deadLetters: sandbox.bus.deadLetters.reduce<Record<string, number>>((counts, delivery) => {
        const key = `${delivery.target}: ${delivery.error?.name ?? 'error'}: ${delivery.error?.message.slice(0, 160) ?? ''}`;
        counts[key] = (counts[key] ?? 0) + 1;
        return counts;
      }, {}),
    };
  } finally {
    await sandbox.stop();
  }
}

/** Copies in flight over time in one run, against the limit and the ideal makespan. */
function burstPlot(run: BurstRun): string {
  return linePlot({
    title: `${run.snapshots} snapshot copies under EC2's limit of ${COPY_LIMIT} (seed ${run.seed})`,
    xLabel: `virtual minutes since the snapshots were taken (ideal makespan ${minutes(run.idealSeconds)})`,
    yLabel: 'copies in flight in the destination Region',
    series: [
      { name: 'Ferry', points: run.inFlight, steps: true },
      {
        name: 'ideal (waves of 20)',
        steps: true,
        points: Array.from({ length: Math.ceil(run.snapshots / COPY_LIMIT) + 1 }, (_, wave) => {
          const left = run.snapshots - wave * COPY_LIMIT;
          return [(wave * run.copySeconds) / 60, Math.max(0, Math.min(COPY_LIMIT, left))] as const;
        }),
      },
    ],
    guides: [{ label: `EC2 limit: ${COPY_LIMIT}`, y: COPY_LIMIT }],
  });
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
/** The value 99 % of the sorted values are at or below (nearest rank). */
const p99 = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.max(0, Math.ceil(values.length * 0.99) - 1)] ?? 0;
const minutes = (seconds: number) =>
  `${Math.floor(seconds / 60)}m${String(Math.round(seconds % 60)).padStart(2, '0')}s`;
const range = (values: number[], format: (value: number) => string) =>
  `${format(median(values))} (${format(Math.min(...values))}–${format(Math.max(...values))})`;

export function burstReport(runs: BurstRun[]): string {
  const [first] = runs;
  if (!first) return '';
  const ratios = runs.map((run) => run.copiesSeconds / run.idealSeconds);
  const endRatios = runs.map((run) => run.executionsSeconds / run.idealSeconds);
  const perCopy = (value: (run: BurstRun) => number) =>
    range(
      runs.map((run) => value(run) / run.snapshots),
      (v) => v.toFixed(1),
    );
  const actions = [...new Set(runs.flatMap((run) => Object.keys(run.ec2Calls)))].sort();
  const allCalls = (run: BurstRun) => Object.values(run.ec2Calls).reduce((sum, n) => sum + n, 0);
  const worst = Math.max(...ratios);
  return [
    `### ${first.snapshots} snapshots at once, ${minutes(first.copySeconds)} of copy each, EC2's limit ${COPY_LIMIT} copies per Region (${runs.length} seeds: median (min–max))`,
    '',
    '| figure | goal | Ferry |',
    '| --- | --- | --- |',
    `| ideal ⌈${first.snapshots}/${COPY_LIMIT}⌉ × ${minutes(first.copySeconds)} | — | ${minutes(first.idealSeconds)} |`,
    `| makespan: snapshots taken → last copy completed in EC2 | ≤ ${GOAL_RATIO} × ideal | ${range(
      runs.map((run) => run.copiesSeconds),
      minutes,
    )} = ${range(ratios, (r) => `${r.toFixed(3)}×`)}${worst > GOAL_RATIO ? ' ✘' : ''} |`,
    `| snapshots taken → last execution ended (noticed, tagged, verified) | — | ${range(
      runs.map((run) => run.executionsSeconds),
      minutes,
    )} = ${range(endRatios, (r) => `${r.toFixed(3)}×`)} |`,
    `| copies succeeded | all | ${range(
      runs.map((run) => run.succeeded),
      String,
    )} of ${first.snapshots} |`,
    `| most copies in flight at once | ≤ ${COPY_LIMIT} | ${range(
      runs.map((run) => run.peakConcurrentCopies),
      String,
    )} |`,
    `| copy calls refused: limit · throttled | — | ${range(
      runs.map((run) => run.refusals.limit),
      String,
    )} · ${range(
      runs.map((run) => run.refusals.throttled),
      String,
    )} |`,
    `| waits for a slot, per snapshot | — | ${perCopy((run) => run.slotWaits)} |`,
    `| slot freed → next copy started: median · p99 | within seconds | ${range(
      runs.map((run) => median(run.slotHandoffSeconds)),
      (s) => `${s.toFixed(0)} s`,
    )} · ${range(
      runs.map((run) => p99(run.slotHandoffSeconds)),
      (s) => `${s.toFixed(0)} s`,
    )} |`,
    `| EC2 API calls, per snapshot | — | ${perCopy(allCalls)} |`,
    ...actions.map(
      (action) => `| · ${action}, per snapshot | — | ${perCopy((run) => run.ec2Calls[action] ?? 0)} |`,
    ),
    `| state transitions, per snapshot | ≤ 40 + the queue | ${perCopy((run) => run.transitions)} |`,
    `| Lambda invocations, per snapshot | — | ${perCopy((run) => run.lambdaInvocations)} |`,
    `| wall time of the run on this machine | — | ${range(
      runs.map((run) => run.wallSeconds),
      (s) => `${s.toFixed(1)} s`,
    )} |`,
  ].join('\n');
}

if (process.argv.includes('burst')) {
  // Thousands of handler invocations, whose expected refusals would drown the figures.
  process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
  const { values } = parseArgs({
    args: process.argv.slice(2).filter((arg) => arg !== 'burst'),
    options: {
      snapshots: { type: 'string', default: '200' },
      gib: { type: 'string', default: '50' },
      seeds: { type: 'string', default: '1,2,3' },
      completion: { type: 'string', default: 'polling' },
    },
  });
  if (values.completion !== 'polling' && values.completion !== 'events')
    throw new Error(`--completion must be polling or events, not ${values.completion}`);
  const completion: Ec2CompletionMode = values.completion;
  // Event-driven runs are written beside the polling ones, which BENCHMARKS.md's plot shows.
  const suffix = completion === 'events' ? '-events' : '';
  const runs: BurstRun[] = [];
  for (const seed of values.seeds.split(',').map(Number)) {
    const run = await runBurst({
      snapshots: Number(values.snapshots),
      gib: Number(values.gib),
      seed,
      completion,
    });
    if (Object.keys(run.failures).length > 0) console.error(`seed ${seed} failures:`, run.failures);
    // A run whose events did not all start an execution measured fewer copies than it says: say so.
    if (run.started !== run.snapshots || Object.keys(run.deadLetters).length > 0)
      console.error(`seed ${seed}: ${run.started} executions started; dead letters:`, run.deadLetters);
    console.error(
      `seed ${seed}: last copy ${minutes(run.copiesSeconds)} (${(run.copiesSeconds / run.idealSeconds).toFixed(3)}× ideal), ${run.succeeded} succeeded, ${run.wallSeconds.toFixed(1)} s wall`,
    );
    runs.push(run);
  }
  const report = burstReport(runs);
  console.log(report);
  await mkdir('bench/results', { recursive: true });
  await writeFile(`bench/results/burst${suffix}.md`, `${report}\n`);
  await writeFile(`bench/results/burst${suffix}.json`, `${JSON.stringify(runs, null, 2)}\n`);
  const [first] = runs;
  if (first && !suffix) {
    await mkdir('bench/plots', { recursive: true });
    await writeFile('bench/plots/burst-in-flight.svg', burstPlot(first));
  }
}
