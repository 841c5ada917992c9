// npm run bench -- waits
//
// How the snapshot-copy and image-copy state machines follow a copy, against the two usual ways: a fixed
// 60 s poll loop, and the AWS SDK's waiter schedule (15–120 s). For copies of 1 minute to 48 hours it
// prints the checks, the Step Functions state transitions (and their price) and history events each
// schedule spends, and how late it notices the end. Pure arithmetic over the real wait function. Each row
// is the median over 101 copies spread from the named duration to 5 % longer (a copy does not end on the
// minute, which would flatter a fixed poll).
import { mkdir, writeFile } from 'node:fs/promises';
import { FIRST_CHECK_SECONDS } from '#ec2/copy-machine/safety-check';
import { COPY_SWEEP_PERIOD_SECONDS } from '#ec2/copy-machine/sweep';
import {
  adaptiveSafety,
  adaptiveSchedule,
  fixedSchedule,
  flatSafety,
  lateProgress,
  type PollRun,
  type PollSchedule,
  type ProgressModel,
  type SafetySchedule,
  sdkWaiterSchedule,
  simulateEventDriven,
  simulatePolling,
  steadyProgress,
} from './poll-simulation.ts';
import { linePlot } from './svg-plot.ts';

/** Standard workflows: $0.025 per 1,000 state transitions. */
const DOLLARS_PER_TRANSITION = 0.025 / 1000;
const HISTORY_LIMIT = 25_000;
const DURATIONS: [string, number][] = [
  ['1 min', 60],
  ['10 min', 600],
  ['1 h', 3600],
  ['6 h', 6 * 3600],
  ['24 h', 24 * 3600],
  ['48 h', 48 * 3600],
];
const SCHEDULES = [
  ['Ferry (adaptive)', adaptiveSchedule],
  ['fixed 60 s', fixedSchedule(60)],
  ['SDK waiter 15–120 s', sdkWaiterSchedule()],
] as const;

const lag = (seconds: number) =>
  seconds < 120 ? `${Math.round(seconds)} s` : `${(seconds / 60).toFixed(1)} min`;
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;

/** The median run over copies from `seconds` to 5 % longer. */
function medianRun(
  seconds: number,
  schedule: PollSchedule,
  progress: ProgressModel = steadyProgress,
): PollRun {
  const runs = Array.from({ length: 101 }, (_, i) =>
    simulatePolling(seconds * (1 + (0.05 * i) / 100), schedule, progress),
  );
  return {
    checks: median(runs.map((run) => run.checks)),
    transitions: median(runs.map((run) => run.transitions)),
    historyEvents: median(runs.map((run) => run.historyEvents)),
    lagSeconds: median(runs.map((run) => run.lagSeconds)),
  };
}

const cell = (run: PollRun, duration: number) => {
  const allowed = Math.max(60, 0.1 * duration);
  const history = run.historyEvents > HISTORY_LIMIT ? `${run.historyEvents} ✘` : `${run.historyEvents}`;
  return `${run.transitions} · ${history} · ${lag(run.lagSeconds)}${run.lagSeconds > allowed ? ' ✘' : ''}`;
};

const lines = [
  `| copy | goal | ${SCHEDULES.map(([name]) => name).join(' | ')} |`,
  `| --- | --- | ${SCHEDULES.map(() => '---').join(' | ')} |`,
];
for (const [label, seconds] of DURATIONS) {
  const goal = `≤ 40 · < ${HISTORY_LIMIT} · ≤ ${lag(Math.max(60, 0.1 * seconds))}`;
  const cells = SCHEDULES.map(([, schedule]) => cell(medianRun(seconds, schedule), seconds));
  lines.push(`| ${label} | ${goal} | ${cells.join(' | ')} |`);
}

const late = [
  '| copy | Ferry, progress from the start | Ferry, progress after 10 % of the copy |',
  '| --- | --- | --- |',
  ...DURATIONS.map(([label, seconds]) => {
    const a = medianRun(seconds, adaptiveSchedule, steadyProgress);
    const b = medianRun(seconds, adaptiveSchedule, lateProgress(0.1));
    return `| ${label} | ${cell(a, seconds)} | ${cell(b, seconds)} |`;
  }),
];

const cost = [
  `| copy | ${SCHEDULES.map(([name]) => name).join(' | ')} |`,
  `| --- | ${SCHEDULES.map(() => '---').join(' | ')} |`,
  ...DURATIONS.map(([label, seconds]) => {
    const cells = SCHEDULES.map(([, schedule]) => {
      const dollars = medianRun(seconds, schedule).transitions * DOLLARS_PER_TRANSITION;
      return `$${dollars.toFixed(5)}`;
    });
    return `| ${label} | ${cells.join(' | ')} |`;
  }),
];

/**
 * Event-driven waiting (AwaitCopy + the completion handler), the peer issue 17 asks for. Its lag is the
 * event's delivery plus one Lambda and one CheckCopy: AWS publishes no latency for EBS/AMI events, so it is
 * modelled at EVENT_LATENCY_SECONDS (an assumption, stated in BENCHMARKS.md), and shown with the event lost:
 * with the safety check computed from the copy (safety-check.ts), and with the flat 6 h timeout it replaced.
 */
const EVENT_LATENCY_SECONDS = 30;
const FLAT_SAFETY = flatSafety(FIRST_CHECK_SECONDS);
const eventRun = (
  seconds: number,
  lost: boolean,
  safety: SafetySchedule = adaptiveSafety,
  progress: ProgressModel = steadyProgress,
  swept = false,
) => {
  // With the sweep, each of the 101 copies starts at another point of the sweep's hour (spread over it).
  const runs = Array.from({ length: 101 }, (_, i) =>
    simulateEventDriven(seconds * (1 + (0.05 * i) / 100), {
      eventLatencySeconds: EVENT_LATENCY_SECONDS,
      safety,
      lost,
      progress,
      ...(swept
        ? {
            sweep: {
              periodSeconds: COPY_SWEEP_PERIOD_SECONDS,
              phaseSeconds: ((i * 37) % 101) * (COPY_SWEEP_PERIOD_SECONDS / 101),
            },
          }
        : {}),
    }),
  );
  return {
    checks: median(runs.map((run) => run.checks)),
    transitions: median(runs.map((run) => run.transitions)),
    historyEvents: median(runs.map((run) => run.historyEvents)),
    lagSeconds: median(runs.map((run) => run.lagSeconds)),
  };
};
const mark = (run: PollRun) =>
  `${run.transitions}${run.transitions > 10 ? ' ✘' : ''} · ${run.historyEvents} · ${lag(run.lagSeconds)}${run.lagSeconds > 60 ? ' ✘' : ''}`;
const flatHours = FIRST_CHECK_SECONDS / 3600;
const sweepHours = COPY_SWEEP_PERIOD_SECONDS / 3600;
const events = [
  `| copy | goal | events (${EVENT_LATENCY_SECONDS} s event latency) | event lost, sweep every ${sweepHours} h | event lost, sweep down | before: events, flat ${flatHours} h check | before: event lost | adaptive polling |`,
  '| --- | --- | --- | --- | --- | --- | --- | --- |',
  ...DURATIONS.map(([label, seconds]) => {
    const goal = `≤ 10 · < ${HISTORY_LIMIT} · ≤ 60 s`;
    const cells = [
      eventRun(seconds, false),
      eventRun(seconds, true, adaptiveSafety, steadyProgress, true),
      eventRun(seconds, true),
      eventRun(seconds, false, FLAT_SAFETY),
      eventRun(seconds, true, FLAT_SAFETY),
      medianRun(seconds, adaptiveSchedule),
    ];
    return `| ${label} | ${goal} | ${cells.map(mark).join(' | ')} |`;
  }),
];

/** The lost event's cost when EC2 reports nothing for the first tenth (or half) of the copy. */
const lostLate = [
  `| copy | event lost, steady progress | progress after 10 % of the copy | progress after 50 % | progress after 50 %, sweep every ${sweepHours} h | before: flat ${flatHours} h check |`,
  '| --- | --- | --- | --- | --- | --- |',
  ...DURATIONS.map(([label, seconds]) => {
    const cells = [
      eventRun(seconds, true),
      eventRun(seconds, true, adaptiveSafety, lateProgress(0.1)),
      eventRun(seconds, true, adaptiveSafety, lateProgress(0.5)),
      eventRun(seconds, true, adaptiveSafety, lateProgress(0.5), true),
      eventRun(seconds, true, FLAT_SAFETY),
    ];
    return `| ${label} | ${cells.map(mark).join(' | ')} |`;
  }),
];

const report = [
  '### Following a copy: transitions · history events · detection lag',
  '',
  ...lines,
  '',
  '### The same, when EC2 reports no progress for the first 10 % of the copy',
  '',
  ...late,
  '',
  '### Step Functions price of following one copy ($0.025 per 1,000 transitions)',
  '',
  ...cost,
  '',
  '### Event-driven waiting (AwaitCopy and the completion handler) against adaptive polling',
  '',
  ...events,
  '',
  '### A lost event when EC2 reports no progress at first (safety check from the copy; sweep down but the 5th column)',
  '',
  ...lostLate,
  '',
  '✘ marks a figure past its goal (or past the 25,000-event history limit, where the execution fails).',
].join('\n');

/** Copy durations from 1 min to 48 h, evenly spaced on a log scale, for the plot. */
const PLOT_DURATIONS = Array.from({ length: 49 }, (_, i) => 60 * (48 * 60) ** (i / 48));
const durationTick = (seconds: number) =>
  seconds < 3600 ? `${Math.round(seconds / 60)} min` : `${Math.round(seconds / 3600)} h`;
const plot = linePlot({
  title: 'State transitions to follow one snapshot or AMI copy',
  xLabel: 'copy duration (log scale)',
  yLabel: 'state transitions per copy (log scale)',
  xLog: true,
  yLog: true,
  xTick: durationTick,
  xTicks: DURATIONS.map(([, seconds]) => seconds),
  series: SCHEDULES.map(([name, schedule]) => ({
    name,
    points: PLOT_DURATIONS.map((seconds) => [seconds, medianRun(seconds, schedule).transitions] as const),
  })),
  guides: [{ label: 'goal: ≤ 40', y: 40 }],
});

console.log(report);
await mkdir('bench/results', { recursive: true });
await writeFile('bench/results/waits.md', `${report}\n`);
// The plot is part of the report in BENCHMARKS.md, so it lives beside it, under version control.
await mkdir('bench/plots', { recursive: true });
await writeFile('bench/plots/waits-transitions.svg', plot);
