import { boundedSeconds, type CopyObservation, steadyDurationSeconds } from './adaptive-wait.ts';

/**
 * The safety check of a copy waited for by event: how long AwaitCopy waits for the copy's completion event
 * before CheckCopy looks by itself (AwaitCopy's `TimeoutSecondsPath`, statemachines/ec2-copy.ts).
 *
 * Why there is one: EC2 sends "EC2 AMI State Change" on a best-effort basis
 * (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/monitor-ami-events.html), and EBS documents its
 * `copySnapshot` result only as "sent to your AWS account", "not saved, logged, or archived"
 * (https://docs.aws.amazon.com/ebs/latest/userguide/ebs-cloud-watch-events.html#copy-snapshot-complete),
 * no at-least-once promise; best effort means "in some rare cases an event might not be delivered"
 * (https://docs.aws.amazon.com/eventbridge/latest/ref/event-delivery-level.html). A lost event must cost
 * about the copy's own duration, not a flat wait: the replica's RPO verdict, its Finalize (tags, retention)
 * and the copy slot it holds for the next queued copy all wait for the check.
 *
 * The timeout is the shorter of
 * - twice as long as the copy has run (`RUN_MULTIPLE × elapsed`): whatever EC2 reports, a lost event is
 *   noticed at most twice the copy's duration after its end; the checks come at 5, 15, 45 min, 2 h 15 …
 *   while EC2 reports nothing (each at three times the last). Twice, not once: a copy whose event arrives
 *   meets a check at each tripling of its run instead of each doubling (a 48 h copy 13 waits, 43
 *   transitions, not 16 and 49; the 6 h ceiling alone makes 8 of them: BENCHMARKS.md);
 * - the latest end a steady copy's report allows (EC2 floors its percentage: `steadyDurationSeconds`, the
 *   estimate the adaptive poll aims with) plus a margin of 10 % of that duration, the lag the design allows
 *   a polled copy (adaptive-wait.ts): a steady copy whose event is lost is noticed within about 10 % of its
 *   duration, and one whose event arrives meets no check before its end;
 * bounded by `SAFETY_CHECK_BOUNDS` and never past the copy's deadline (CheckCopy then enforces it on time).
 *
 * History: each safety check costs AwaitCopy 6 events, CheckCopy 5 and IsCopyDone 2 (13). Every timeout is at
 * least the floor and at least 10 % of the elapsed time (the margin, even at 100 %), so a copy whose event
 * never comes is checked about 60 times in 72 hours, under 1,000 events
 * (test/unit/ec2/safety-check.test.ts, test/unit/statemachines/ec2-copy.test.ts).
 */
export const SAFETY_CHECK_BOUNDS = {
  /**
   * 5 min: a copy shorter than this (a small snapshot copies in about a minute) costs no check before its
   * event; if its event is lost, it is noticed within 5 min.
   */
  minSeconds: 300,
  /**
   * 6 h, the flat timeout this rule replaced: however wrong a report, no copy goes unlooked-at for longer,
   * and the waiter's TTL (copy-waiters.ts) never outlives 7 h.
   */
  maxSeconds: 6 * 3600,
} as const;

/** The margin after the latest steady end, as a share of that duration. */
const MARGIN_SHARE = 0.1;
/** The longest a wait may be, as a multiple of the time the copy has run so far. */
const RUN_MULTIPLE = 2;

/** Whole seconds AwaitCopy waits for the copy's event before CheckCopy looks (a positive integer). */
export function safetyCheckSeconds({ elapsedSeconds, progress, secondsToDeadline }: CopyObservation): number {
  const elapsed = Math.max(0, elapsedSeconds);
  const duration = steadyDurationSeconds(elapsed, progress);
  const afterLatestEnd = duration
    ? duration.latest - elapsed + MARGIN_SHARE * duration.latest
    : Number.POSITIVE_INFINITY;
  return boundedSeconds(
    Math.min(RUN_MULTIPLE * elapsed, afterLatestEnd),
    SAFETY_CHECK_BOUNDS,
    secondsToDeadline,
  );
}
