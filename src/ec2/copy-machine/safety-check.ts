import { boundedSeconds, type CopyObservation, steadyDurationSeconds, WAIT_BOUNDS } from './adaptive-wait.ts';

/**
 * The safety check of a copy waited for by event: how long AwaitCopy waits for the copy's completion event
 * before CheckCopy looks by itself (AwaitCopy's `TimeoutSecondsPath`, statemachines/ec2-copy.ts).
 *
 * Why there is one: EC2 sends "EC2 AMI State Change" on a best-effort basis
 * (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/monitor-ami-events.html), and EBS documents its
 * `copySnapshot` result only as "sent to your AWS account", "not saved, logged, or archived"
 * (https://docs.aws.amazon.com/ebs/latest/userguide/ebs-cloud-watch-events.html#copy-snapshot-complete),
 * no at-least-once promise; best effort means "in some rare cases an event might not be delivered"
 * (https://docs.aws.amazon.com/eventbridge/latest/ref/event-delivery-level.html). Until the check, a lost
 * event holds up the replica's RPO verdict, its Finalize (tags, retention) and the copy slot it holds for the
 * next queued copy.
 *
 * The aims: a lost event costs hours, not a copy, and a copy costs at most 10 state transitions; every check
 * that a copy whose event arrives meets costs 3 (AwaitCopy, CheckCopy, IsCopyDone). Since the hourly sweep
 * (sweep.ts, the `ec2CopySweep` function) looks up every copy waited for, a lost event is noticed within an
 * hour of the copy's end while the sweep runs; these checks are only its backstop, for a sweep that is down
 * (failing, throttled, its schedule disabled). So they are as few as the backstop allows:
 * - the first check comes `FIRST_CHECK_SECONDS` (6 h) after the copy started: a copy shorter than that,
 *   nearly every snapshot and AMI, meets none (7 transitions), and with the sweep down its lost event costs
 *   at most 6 h;
 * - a copy still running then has reported progress, and the next check comes 10 % of its duration after
 *   the latest end a steady copy's report allows (EC2 floors its percentage: `steadyDurationSeconds`, the
 *   estimate the adaptive poll aims with; 10 %, the lag the design allows a polled copy, adaptive-wait.ts),
 *   however far that is: a steady copy whose event arrives meets no further check, so a 24 h or a 48 h copy
 *   meets 1 (10 transitions: BENCHMARKS.md); with the sweep down, its lost event costs about 10 % of its
 *   duration after its end;
 * - while EC2 reports nothing, twice as long as the copy has run;
 * never past the copy's deadline (CheckCopy then enforces it on time), and no sooner than `minSeconds`.
 *
 * Why no ceiling below the deadline (there was one of 12 h, the adaptive poll's): a ceiling only adds checks
 * to long copies whose event arrives (a 48 h copy met 4, 19 transitions) to bound a lost event's cost when
 * the sweep is down too; with the sweep up that cost is an hour whatever the ceiling. The price: a copy
 * whose report is badly wrong (one that sat at 0 % for half its run looks twice as long as it is), whose
 * event is lost and whose sweep is down, is noticed up to that error late, never past its deadline.
 *
 * History: each safety check costs AwaitCopy 6 events, CheckCopy 5 and IsCopyDone 2 (13). Every timeout after
 * the first is at least the floor and at least 10 % of the elapsed time (the margin, even at 100 %), so a copy
 * whose event never comes is checked a few dozen times in 72 hours, under 1,000 events
 * (test/unit/ec2/safety-check.test.ts, test/unit/statemachines/ec2-copy.test.ts).
 */
export const SAFETY_CHECK_BOUNDS = {
  /** 5 min: the shortest check after the first, so a copy near its end is not checked in a tight loop. */
  minSeconds: 300,
  /**
   * The ceiling when no deadline is given (progress.ts always gives one: the copy's deadline is the ceiling,
   * above): the adaptive poll's own, 12 h. The waiter's TTL (copy-waiters.ts) follows each timeout.
   */
  maxSeconds: WAIT_BOUNDS.maxSeconds,
} as const;

/**
 * The first check: 6 h after the copy started, the flat timeout of the first event-driven machine. An
 * execution started before the computed check still waits this long at every AwaitCopy (TimeoutSeconds, no
 * path), so a copy without `safetySeconds` keeps its waiter this long too.
 */
export const FIRST_CHECK_SECONDS = 6 * 3600;

/** The margin after the latest steady end, as a share of that duration. */
const MARGIN_SHARE = 0.1;
/** While EC2 reports no progress, the longest a wait may be, as a multiple of the time the copy has run. */
const RUN_MULTIPLE = 2;

/** Whole seconds AwaitCopy waits for the copy's event before CheckCopy looks (a positive integer). */
export function safetyCheckSeconds({ elapsedSeconds, progress, secondsToDeadline }: CopyObservation): number {
  const elapsed = Math.max(0, elapsedSeconds);
  if (elapsed < FIRST_CHECK_SECONDS)
    return boundedSeconds(
      FIRST_CHECK_SECONDS - elapsed,
      { minSeconds: 1, maxSeconds: FIRST_CHECK_SECONDS },
      secondsToDeadline,
    );
  const duration = steadyDurationSeconds(elapsed, progress);
  const wait = duration ? duration.latest - elapsed + MARGIN_SHARE * duration.latest : RUN_MULTIPLE * elapsed;
  // The deadline is the ceiling (boundedSeconds then cuts at it, down to 1 s past it).
  const maxSeconds = Math.max(
    SAFETY_CHECK_BOUNDS.minSeconds,
    secondsToDeadline ?? SAFETY_CHECK_BOUNDS.maxSeconds,
  );
  return boundedSeconds(wait, { ...SAFETY_CHECK_BOUNDS, maxSeconds }, secondsToDeadline);
}
