import { MONITOR_WINDOW_MS, windowOf } from '#rpo/threshold';
import { type ScheduledPasses, scheduledPasses } from './scheduled-pass.ts';
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
 * virtual clock at each window's end, as the EventBridge schedule runs it in AWS. `run` gets the window's
 * end, so a pass the clock reached late still judges the window it stands for.
 */
export type SandboxRpoMonitor = ScheduledPasses<RpoMonitorPass>;

export const sandboxRpoMonitor = (options: {
  clock: VirtualClock;
  run: (at?: number) => Promise<RpoMonitorPass>;
}): SandboxRpoMonitor =>
  scheduledPasses({ ...options, nextAt: (now) => windowOf(now, MONITOR_WINDOW_MS).end });
