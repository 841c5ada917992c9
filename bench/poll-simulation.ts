import { nextWaitSeconds } from '#ec2/copy-machine/adaptive-wait';

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

/**
 * Event-driven waiting (the machines rendered with AwaitCopy): Enqueue, StartCopy, IsCopyStarted, then
 * AwaitCopy → CheckCopy → IsCopyDone once the event ends the wait, then Finalize: 7 transitions. A lost event
 * ends the wait at the safety check instead (`safetySeconds`, then every `safetySeconds` until the copy ended),
 * 3 transitions per check. History events: AwaitCopy 6 (entered, scheduled, started, submitted, succeeded or
 * timed out, exited) with CheckCopy 5 and the Choice 2 per wait.
 * `eventLatencySeconds` is a model input: AWS publishes no delivery latency for EBS or AMI events.
 */
export function simulateEventDriven(
  durationSeconds: number,
  {
    eventLatencySeconds,
    safetySeconds,
    lost,
  }: { eventLatencySeconds: number; safetySeconds: number; lost: boolean },
): PollRun {
  const waits = lost ? Math.max(1, Math.ceil(durationSeconds / safetySeconds)) : 1;
  const noticedAt = lost ? waits * safetySeconds : durationSeconds + eventLatencySeconds;
  return {
    checks: waits,
    transitions: FIXED_TRANSITIONS + TRANSITIONS_PER_CHECK * waits,
    historyEvents: FIXED_EVENTS + 13 * waits,
    lagSeconds: noticedAt - durationSeconds,
  };
}
