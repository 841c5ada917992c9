import { nextWaitSeconds } from '#ec2/copy-machine/adaptive-wait';
import { COPY_DEADLINE_HOURS } from '#ec2/copy-machine/progress';
import { safetyCheckSeconds } from '#ec2/copy-machine/safety-check';

/**
 * A copy followed by a state machine, simulated: how many checks a polling schedule makes before it sees the
 * copy end, what that costs in Step Functions transitions and history events, and how late it notices.
 * The snapshot-copy and image-copy machines run Enqueue, StartCopy, IsCopyStarted, then Wait → Check → Choice per check, then
 * Finalize: 3 transitions and 9 history events per check (Wait entered/exited; Task entered, scheduled,
 * started, succeeded, exited; Choice entered/exited).
 */
export const TRANSITIONS_PER_CHECK = 3;
export const EVENTS_PER_CHECK = 9;
/** Enqueue, StartCopy, IsCopyStarted and Finalize (a copy EC2 starts at the first call). */
export const FIXED_TRANSITIONS = 4;
/** Execution started and succeeded, the Enqueue pass and IsCopyStarted choice, the StartCopy and Finalize tasks. */
export const FIXED_EVENTS = 2 + 2 + 2 + 5 + 5;

/** The progress EC2 reports after `elapsed` seconds of a copy lasting `duration` (an integer percentage). */
export type ProgressModel = (elapsed: number, duration: number) => number;
export const steadyProgress: ProgressModel = (t, d) => Math.floor((100 * t) / d);
/** EC2 often sits at 0 % before a copy moves: here for the first `share` of its duration. */
export const lateProgress =
  (share: number): ProgressModel =>
  (t, d) =>
    Math.max(0, Math.floor((100 * (t - share * d)) / ((1 - share) * d)));

/** The next wait of a schedule, from what the last check saw; `check` counts from 1. */
export type PollSchedule = (observation: {
  elapsedSeconds: number;
  progress: number;
  check: number;
}) => number;

export const adaptiveSchedule: PollSchedule = ({ elapsedSeconds, progress }) =>
  nextWaitSeconds({ elapsedSeconds, progress });
export const fixedSchedule =
  (seconds: number): PollSchedule =>
  () =>
    seconds;
/**
 * The SDK's `waitUntilSnapshotCompleted` (minDelay 15 s, maxDelay 120 s): its n-th delay is random between
 * 15 s and 15·2^(n-1) s, and 120 s from the 5th on. `random` picks within the range (0.5: its middle).
 */
export const sdkWaiterSchedule =
  (random: () => number = () => 0.5): PollSchedule =>
  ({ check }) => {
    const n = check + 1;
    if (n > 4) return 120;
    const upper = Math.min(120, 15 * 2 ** (n - 1));
    return 15 + (upper - 15) * random();
  };

export interface PollRun {
  checks: number;
  transitions: number;
  historyEvents: number;
  /** Seconds between the copy's end and the check that saw it. */
  lagSeconds: number;
}

export function simulatePolling(
  durationSeconds: number,
  schedule: PollSchedule,
  progress: ProgressModel = steadyProgress,
): PollRun {
  let elapsed = 0;
  let checks = 0;
  let wait = schedule({ elapsedSeconds: 0, progress: 0, check: 0 });
  for (;;) {
    elapsed += wait;
    checks += 1;
    if (elapsed >= durationSeconds) break;
    wait = schedule({ elapsedSeconds: elapsed, progress: progress(elapsed, durationSeconds), check: checks });
  }
  return {
    checks,
    transitions: FIXED_TRANSITIONS + TRANSITIONS_PER_CHECK * checks,
    historyEvents: FIXED_EVENTS + EVENTS_PER_CHECK * checks,
    lagSeconds: elapsed - durationSeconds,
  };
}

/** A safety-check rule: AwaitCopy's timeout from what the step before it saw. */
export type SafetySchedule = (observation: {
  elapsedSeconds: number;
  progress: number;
  secondsToDeadline: number;
}) => number;
export const adaptiveSafety: SafetySchedule = (observation) => safetyCheckSeconds(observation);
/** The rule before: one flat timeout whatever the copy. */
export const flatSafety =
  (seconds: number): SafetySchedule =>
  () =>
    seconds;

/**
 * Event-driven waiting (the machines rendered with AwaitCopy): Enqueue, StartCopy, IsCopyStarted, then
 * AwaitCopy → CheckCopy → IsCopyDone per wait, then Finalize. A wait ends at the copy's event
 * (`eventLatencySeconds` after its end) or, first, at its safety check (the `safety` rule's timeout from
 * what the step before saw, as StartCopy and CheckCopy compute it); a lost event leaves only the checks.
 * 3 transitions per wait; history events: AwaitCopy 6 (entered, scheduled, started, submitted, succeeded or
 * timed out, exited) with CheckCopy 5 and the Choice 2 per wait.
 * `eventLatencySeconds` is a model input: AWS publishes no delivery latency for EBS or AMI events.
 * `sweep`: the scheduled sweep (src/ec2/copy-machine/sweep.ts) every `periodSeconds`, its first run
 * `phaseSeconds` after the copy started; it ends the wait of a copy whose event is lost at its first run
 * after the copy's end, as the event would. The copy's deadline is the general one (progress.ts).
 */
export function simulateEventDriven(
  durationSeconds: number,
  {
    eventLatencySeconds,
    safety,
    lost,
    progress = steadyProgress,
    sweep,
  }: {
    eventLatencySeconds: number;
    safety: SafetySchedule;
    lost: boolean;
    progress?: ProgressModel;
    sweep?: { periodSeconds: number; phaseSeconds: number };
  },
): PollRun {
  const sweptAt = sweep
    ? sweep.phaseSeconds +
      Math.max(0, Math.ceil((durationSeconds - sweep.phaseSeconds) / sweep.periodSeconds)) *
        sweep.periodSeconds
    : Number.POSITIVE_INFINITY;
  const eventAt = lost ? sweptAt : Math.min(durationSeconds + eventLatencySeconds, sweptAt);
  const deadline = COPY_DEADLINE_HOURS * 3600;
  let elapsed = 0;
  let waits = 0;
  let timeout = safety({ elapsedSeconds: 0, progress: 0, secondsToDeadline: deadline });
  for (;;) {
    waits += 1;
    if (elapsed + timeout >= eventAt) {
      elapsed = eventAt;
      break;
    }
    elapsed += timeout;
    if (elapsed >= durationSeconds) break;
    timeout = safety({
      elapsedSeconds: elapsed,
      progress: progress(elapsed, durationSeconds),
      secondsToDeadline: deadline - elapsed,
    });
  }
  return {
    checks: waits,
    transitions: FIXED_TRANSITIONS + TRANSITIONS_PER_CHECK * waits,
    historyEvents: FIXED_EVENTS + 13 * waits,
    lagSeconds: elapsed - durationSeconds,
  };
}
