import type { VirtualClock } from './virtual-clock.ts';

/**
 * A scheduled function in the sandbox (the RPO monitor, the copy sweep): the real handler, run on the
 * virtual clock at each of its schedule's times, as an EventBridge schedule runs it in AWS — every time,
 * whether or not anything else is under way
 * (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rate-expressions.html).
 */
export interface ScheduledPasses<Pass> {
  /** One pass now, or as the one scheduled at `at` (epoch ms). */
  pass(at?: number): Promise<Pass>;
  /** Passes at every scheduled time from now on; the returned function stops them. */
  start(): () => void;
  readonly passes: Pass[];
  /**
   * Scheduled passes that failed (a timeout under load, say). A failed scheduled invocation in AWS is just
   * that one run lost; the schedule goes on, so here too: counted, never an unhandled rejection.
   */
  readonly failures: Error[];
}

export function scheduledPasses<Pass>(options: {
  clock: VirtualClock;
  /** The next scheduled time after `now` (epoch ms). */
  nextAt: (now: number) => number;
  /** One pass; `at` is the scheduled time it stands for (unset: a pass asked for now). */
  run: (at?: number) => Promise<Pass>;
}): ScheduledPasses<Pass> {
  const { clock } = options;
  const passes: Pass[] = [];
  const failures: Error[] = [];
  const pass = async (at?: number) => {
    const result = await options.run(at);
    passes.push(result);
    return result;
  };
  const start = () => {
    let stopped = false;
    let due = options.nextAt(clock.now());
    // A passive wake-up: the clock stops at each scheduled time on its way to a later wake-up, but a
    // schedule alone never makes it jump (time would race ahead with nothing else under way). One pass
    // per scheduled time the clock reached, in order, even when a jump or an SDK retry's advance passed
    // several at once: each stands for the run AWS would have made then.
    const next = () => {
      if (stopped) return;
      void clock.until(due, { passive: true }).then(async () => {
        while (!stopped && clock.now() >= due) {
          await pass(due).catch((error: unknown) => failures.push(error as Error));
          due = options.nextAt(due);
        }
        next();
      });
    };
    next();
    return () => {
      stopped = true;
    };
  };
  return { pass, start, passes, failures };
}
