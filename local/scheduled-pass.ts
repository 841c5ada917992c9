import type { LocalStepFunctions } from './step-functions.ts';
import type { VirtualClock } from './virtual-clock.ts';

/**
 * A scheduled function in the sandbox (the RPO monitor, the copy sweep): the real handler, run on the
 * virtual clock at each of its schedule's times, as an EventBridge schedule runs it in AWS.
 */
export interface ScheduledPasses<Pass> {
  /** One pass now. */
  pass(): Promise<Pass>;
  /** Passes at every scheduled time from now on while executions run; the returned function stops them. */
  start(): () => void;
  readonly passes: Pass[];
  /**
   * Scheduled passes that failed (a timeout under load, say). A failed scheduled invocation in AWS is just
   * that one run lost; the schedule goes on, so here too: counted, never an unhandled rejection.
   */
  readonly failures: Error[];
}

export function scheduledPasses<Pass>(options: {
  stepFunctions: LocalStepFunctions;
  clock: VirtualClock;
  /** The next scheduled time after `now` (epoch ms). */
  nextAt: (now: number) => number;
  /**
   * The furthest ahead one wake-up is set (a schedule longer than this waits in steps): a wake-up on the
   * clock is a timer the runner may jump to when nothing else is due, so an hour's wake-up left set while
   * executions end would let time race an hour ahead past the RPO monitor's windows. Unset: no limit.
   */
  maxStepMs?: number;
  run: () => Promise<Pass>;
}): ScheduledPasses<Pass> {
  const { stepFunctions, clock } = options;
  const passes: Pass[] = [];
  const failures: Error[] = [];
  const pass = async () => {
    const result = await options.run();
    passes.push(result);
    return result;
  };
  const start = () => {
    let stopped = false;
    let due: number | undefined;
    // A wake-up on the clock only while executions run: with none, a waiting pass would be all the
    // runner sees and time would race ahead. Until one runs, look again in real time (and reckon the
    // next scheduled time afresh once one does).
    const next = () => {
      if (stopped) return;
      if (stepFunctions.running === 0) {
        due = undefined;
        setTimeout(next, 2).unref();
        return;
      }
      due ??= options.nextAt(clock.now());
      const wake = Math.min(due, clock.now() + (options.maxStepMs ?? Number.POSITIVE_INFINITY));
      void clock.until(wake).then(async () => {
        if (stopped) return;
        if (due !== undefined && clock.now() >= due) {
          await pass().catch((error: unknown) => failures.push(error as Error));
          due = options.nextAt(clock.now());
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
