/**
 * How long a copy's state machine waits before it checks the copy again.
 *
 * A fixed poll either wastes transitions on long copies (a 60 s loop spends ~8,600 on a 48 h copy and
 * hits the 25,000-event history limit) or notices short ones late. This wait is a pure function of the
 * elapsed time and the progress EC2 reports, so the state machine can compute it in its Check step:
 * - while EC2 reports 0 %, the wait grows with the elapsed time (×5 per check), from `minSeconds`;
 * - once progress shows, it aims towards the earliest end consistent with the report (EC2 floors the
 *   percentage, so `elapsed × 100 / (progress + 1)` is a lower bound for a steady copy): a small share of
 *   the remaining time at low progress, up to three quarters of it near the end;
 * - from there it steps by 5 % of the estimated duration (at least `minSeconds`), half the 10 % lag the
 *   design allows.
 * Every wait is bounded by `minSeconds` and `maxSeconds`, and never passes the execution's deadline.
 */

export const WAIT_BOUNDS = {
  /** Short copies (a small snapshot copies in about a minute) are still noticed within a minute. */
  minSeconds: 30,
  /** A reported progress can be wrong; no copy goes unchecked for longer than this. */
  maxSeconds: 12 * 3600,
} as const;

/** While nothing is reported, each wait is this multiple of the time elapsed so far. */
const GROWTH_WITHOUT_PROGRESS = 4;
/**
 * The share of the estimated remaining time to wait: little progress says little about the end (a copy
 * that sat at 0 % before it moved looks slower than it is), so early waits aim short, later ones close.
 */
const aimShare = (progress: number): number => Math.min(0.75, Math.max(0.1, progress / 50));
/** The step after the estimated end, as a share of the estimated duration. */
const STEP_SHARE = 0.05;

export interface CopyObservation {
  /** Seconds since the copy was started. */
  elapsedSeconds: number;
  /** The integer percentage EC2 reports (`Progress: "42%"`), 0 when it reports none. */
  progress: number;
  /** Seconds left before the execution's deadline, if it has one. */
  secondsToDeadline?: number;
}

/**
 * What a report says of a steady copy's whole duration: EC2 floors its percentage, so a copy at `progress` %
 * after `elapsed` seconds takes more than `elapsed × 100 / (progress + 1)` (`earliest`) and at most
 * `elapsed × 100 / progress` (`latest`). Undefined while EC2 reports nothing (0 %, or no time elapsed).
 * The adaptive poll aims at the earliest end; the safety check of the copy waited for by event comes after
 * the latest (safety-check.ts).
 */
export function steadyDurationSeconds(
  elapsedSeconds: number,
  progress: number,
): { earliest: number; latest: number } | undefined {
  const elapsed = Math.max(0, elapsedSeconds);
  if (progress <= 0 || elapsed === 0) return undefined;
  const reported = Math.min(progress, 100);
  return { earliest: (elapsed * 100) / (Math.min(reported, 99) + 1), latest: (elapsed * 100) / reported };
}

export function nextWaitSeconds(
  { elapsedSeconds, progress, secondsToDeadline }: CopyObservation,
  bounds: { minSeconds: number; maxSeconds: number } = WAIT_BOUNDS,
): number {
  const elapsed = Math.max(0, elapsedSeconds);
  const duration = steadyDurationSeconds(elapsed, progress);
  let wait: number;
  if (!duration) {
    wait = GROWTH_WITHOUT_PROGRESS * elapsed;
  } else {
    const reported = Math.min(progress, 99);
    const earliestTotal = duration.earliest;
    const step = STEP_SHARE * earliestTotal;
    wait = Math.max(aimShare(reported) * (earliestTotal - elapsed), step);
  }
  return boundedSeconds(wait, bounds, secondsToDeadline);
}

/**
 * A wait within its bounds that never passes the execution's deadline, in whole seconds: Step Functions'
 * SecondsPath and TimeoutSecondsPath take positive integers.
 */
export function boundedSeconds(
  seconds: number,
  bounds: { minSeconds: number; maxSeconds: number },
  secondsToDeadline?: number,
): number {
  let bounded = Math.min(Math.max(seconds, bounds.minSeconds), bounds.maxSeconds);
  if (secondsToDeadline !== undefined) bounded = Math.min(bounded, Math.max(1, secondsToDeadline));
  return Math.ceil(bounded);
}

/** Parses EC2's `Progress` ("42%", "", undefined) into an integer percentage. */
export function progressPercent(progress: string | undefined): number {
  const value = Number.parseInt(progress ?? '', 10);
  return Number.isFinite(value) ? Math.min(100, Math.max(0, value)) : 0;
}
