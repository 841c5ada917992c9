import { MONITOR_WINDOW_MS, windowOf } from '#rpo/threshold';
import type { LocalStepFunctions } from './step-functions.ts';
import type { VirtualClock } from './virtual-clock.ts';

/** What one pass of the real rpoMonitor handler (src/handlers/rpo-monitor.ts) answers. */
export interface RpoMonitorPass {
  window: { start: number; end: number };
  missed: number;
  pending: number;
  /** Of which in the dead-letter queue. */
  deadLetters: number;
  /** Dead letters that stand for no item of a rule with `rpo`, by cause (src/rpo/dead-letters.ts). */
  unroutable: Record<string, number>;
  /** Items whose execution ended without the copy, judged in the window (src/rpo/ended.ts). */
  ended: number;
}

/**
 * The RPO backlog monitor in the sandbox: the real rpoMonitor handler, which lists the runner's executions
 * through the sandbox's Step Functions API and sends its events through the sandbox's EventBridge, run on the
 * virtual clock at each window's end, as the EventBridge schedule runs it in AWS.
 */
export interface SandboxRpoMonitor {
  /** One pass now. */
  pass(): Promise<RpoMonitorPass>;
  /** Passes at every window end from now on while executions run; the returned function stops them. */
  start(): () => void;
  readonly passes: RpoMonitorPass[];
  /**
   * Scheduled passes that failed (a timeout under load, say). A failed scheduled invocation in AWS is just
   * that one run lost; the schedule goes on, so here too: counted, never an unhandled rejection.
   */
  readonly failures: Error[];
}

export function sandboxRpoMonitor(options: {
  stepFunctions: LocalStepFunctions;
  clock: VirtualClock;
  run: () => Promise<RpoMonitorPass>;
}): SandboxRpoMonitor {
  const { stepFunctions, clock } = options;
  const passes: RpoMonitorPass[] = [];
  const failures: Error[] = [];
  const pass = async () => {
    const result = await options.run();
    passes.push(result);
    return result;
  };
  const start = () => {
    let stopped = false;
    // A wake-up on the clock only while executions run: with none, a waiting monitor would be all the
    // runner sees and time would race ahead. Until one runs, look again in real time.
    const next = () => {
      if (stopped) return;
      if (stepFunctions.running === 0) {
        setTimeout(next, 2).unref();
        return;
      }
      void clock.until(windowOf(clock.now(), MONITOR_WINDOW_MS).end).then(async () => {
        if (stopped) return;
        await pass().catch((error: unknown) => failures.push(error as Error));
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
