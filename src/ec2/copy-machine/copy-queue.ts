/**
 * How long a copy waits for a slot when EC2 refuses to start it.
 *
 * EC2 runs at most 20 snapshot copies (and a quota of AMI copies) per destination Region at once, and a
 * burst past that is refused with `ResourceLimitExceeded`. A blind exponential backoff either hammers EC2 or
 * sleeps long after a slot has freed: a 30-snapshot burst behind a 1 → 15 min backoff took 1.48× the ideal
 * makespan. A slot frees when one of the copies in flight ends, and EC2 says how far each has got, so the
 * wait aims at the earliest estimated end among them; a little jitter spreads the copies that queue behind
 * the same slot. A throttled copy call (`RequestLimitExceeded`) is a request-rate problem, not a slot
 * problem: it gets a short exponential backoff with full jitter.
 *
 * Every queued attempt costs one loop (Task → Choice → Wait, 9 history events), so the wait's floor grows
 * with the attempts: however wrong the estimates, a copy can queue for the execution's 21 days without
 * reaching the 25,000-event history limit (`test/unit/statemachines/ec2-copy.test.ts` checks the worst
 * case). Where the machine waits by event, a copy refused for the limit waits for a wake-up from the next copy
 * to end instead (slot-queue.ts), with its turn in the slot queue as its timeout (`slotTimeoutSeconds`);
 * throttling keeps the short backoff.
 */

export const QUEUE_BOUNDS = {
  /** The first retry after a refusal: a slot can free within seconds. */
  minSeconds: 15,
  /** No queued copy sleeps longer than this between attempts. */
  maxSeconds: 900,
  /** The floor grows by this factor per attempt, from `minSeconds` to `maxSeconds`. */
  floorGrowth: 1.03,
  /**
   * Refusals after which a copy no longer waits for a slot by token (AwaitSlot), only by the timed wait. A
   * wake-up skips the floor, and a token wait costs 13 history events a loop (Task 5, Choice 2, the
   * `.waitForTaskToken` Task 6) against the timed loop's 9: 300 of them leave room for the timed worst case.
   */
  tokenWaits: 300,
  /**
   * The longest a copy waits for a wake-up (AwaitSlot) before it tries again by itself: what a lost wake-up
   * (a waker that crashed, a wake the eventually consistent index missed) costs at worst, however wrong the
   * estimate of its turn. A copy whose turn is further off tries again after this long, and learns its new
   * turn.
   */
  slotTimeoutMaxSeconds: 3600,
} as const;

/** While no copy in flight reports progress, look again after this long (EC2 reports within a minute). */
const WAIT_WITHOUT_ESTIMATE_SECONDS = 60;
/** The jitter added to a slot wait: this share of it, at least 10 s, at most 2 min. */
const JITTER_SHARE = 0.1;
const JITTER_BOUNDS = { min: 10, max: 120 } as const;
/** AwaitSlot's timeout comes this long after the estimated turn (and as much again in jitter). */
const SLOT_MARGIN_BOUNDS = { min: 30, max: 120 } as const;
/** A throttled call backs off 5 s × 2^attempts (capped), with full jitter. */
const THROTTLE_BASE_SECONDS = 5;
const THROTTLE_MAX_DOUBLINGS = 6;

/** A copy in flight in the destination Region, as EC2 reports it. */
export interface InFlightCopy {
  /** Epoch ms the copy started. */
  createdAt: number;
  /** EC2's integer percentage (floored), 0 when it reports none. */
  progress: number;
}

export type QueueReason = 'limit' | 'throttled';

export interface QueueObservation {
  reason: QueueReason;
  /** How many times this copy has been refused before this refusal. */
  attempts: number;
  now: number;
  /** The copies in flight in the destination Region (read only for `limit`). */
  inFlight?: readonly InFlightCopy[];
}

/**
 * The seconds until a copy in flight ends, estimated from its progress: EC2 floors the percentage, so the
 * middle of the reported point is used. Undefined while it reports nothing.
 */
export function estimatedSecondsLeft(copy: InFlightCopy, now: number): number | undefined {
  if (copy.progress >= 100) return 0;
  if (copy.progress <= 0) return undefined;
  const elapsed = Math.max(0, now - copy.createdAt) / 1000;
  const done = copy.progress + 0.5;
  return (elapsed * (100 - done)) / done;
}

/** The earliest estimated end among the copies in flight (undefined when none has an estimate). */
export function earliestSlotSeconds(inFlight: readonly InFlightCopy[], now: number): number | undefined {
  let earliest: number | undefined;
  for (const copy of inFlight) {
    const left = estimatedSecondsLeft(copy, now);
    if (left !== undefined && (earliest === undefined || left < earliest)) earliest = left;
  }
  return earliest;
}

/** The least a queued copy waits after this many refusals. */
export function queueFloorSeconds(attempts: number): number {
  return Math.min(QUEUE_BOUNDS.maxSeconds, QUEUE_BOUNDS.minSeconds * QUEUE_BOUNDS.floorGrowth ** attempts);
}

/** Whole seconds (Step Functions' SecondsPath) before the refused copy tries again. */
export function queueWaitSeconds(observation: QueueObservation, random: () => number = Math.random): number {
  const floor = queueFloorSeconds(observation.attempts);
  let wait: number;
  if (observation.reason === 'throttled') {
    const ceiling = THROTTLE_BASE_SECONDS * 2 ** Math.min(observation.attempts, THROTTLE_MAX_DOUBLINGS);
    wait = Math.max(THROTTLE_BASE_SECONDS, random() * ceiling);
    // Throttling clears in seconds: only the history-protecting floor applies after many attempts.
    wait = Math.max(wait, observation.attempts > 20 ? floor : 0);
  } else {
    const slot =
      earliestSlotSeconds(observation.inFlight ?? [], observation.now) ?? WAIT_WITHOUT_ESTIMATE_SECONDS;
    const jitter = Math.min(JITTER_BOUNDS.max, Math.max(JITTER_BOUNDS.min, JITTER_SHARE * slot));
    wait = Math.max(floor, slot + random() * jitter);
  }
  return Math.ceil(Math.min(QUEUE_BOUNDS.maxSeconds, wait));
}

export interface SlotTurnObservation {
  /** How many times this copy has been refused before this refusal. */
  attempts: number;
  now: number;
  /** The copies in flight in the destination Region. */
  inFlight: readonly InFlightCopy[];
  /** The copies waiting in the same slot queue since before this one (the oldest are woken first). */
  ahead: number;
}

/**
 * AwaitSlot's timeout (whole seconds, TimeoutSecondsPath): a little after this copy's turn. A copy ending
 * wakes the oldest waiter, so the copy with `ahead` waiters before it is woken by the (ahead+1)-th copy to
 * end: among the n copies in flight that report progress, the slot of the (ahead mod n)-th earliest end,
 * after ⌊ahead / n⌋ more copies have each held it for the mean copy time of those in flight. The timeout
 * is only the safety net under the wake-up, so it comes a margin after the turn (10 % of it, 30 s to
 * 2 min, and as much again in jitter): waiters no longer time out together at the earliest end, as they
 * did when every one's timeout was that one estimate (BENCHMARKS.md, the burst with AwaitSlot), and a lost
 * wake-up costs the margin past a good estimate, `slotTimeoutMaxSeconds` at worst.
 */
export function slotTimeoutSeconds(
  observation: SlotTurnObservation,
  random: () => number = Math.random,
): number {
  const { now, inFlight, ahead } = observation;
  const estimates = inFlight.flatMap((copy) => {
    const left = estimatedSecondsLeft(copy, now);
    return left === undefined ? [] : [{ left, total: Math.max(0, now - copy.createdAt) / 1000 + left }];
  });
  let turn: number;
  if (estimates.length === 0) {
    turn = WAIT_WITHOUT_ESTIMATE_SECONDS;
  } else {
    const ends = estimates.map((estimate) => estimate.left).sort((a, b) => a - b);
    const meanCopySeconds = estimates.reduce((sum, estimate) => sum + estimate.total, 0) / estimates.length;
    const slot = ends[ahead % ends.length] ?? 0;
    turn = slot + Math.floor(ahead / ends.length) * meanCopySeconds;
  }
  const margin = Math.min(SLOT_MARGIN_BOUNDS.max, Math.max(SLOT_MARGIN_BOUNDS.min, JITTER_SHARE * turn));
  const timeout = Math.max(queueFloorSeconds(observation.attempts), turn + margin * (1 + random()));
  return Math.ceil(Math.min(QUEUE_BOUNDS.slotTimeoutMaxSeconds, timeout));
}
