import type { SFNClient } from '@aws-sdk/client-sfn';
import { z } from 'zod';
import { instrumented } from '#observability/middleware';
import type { Powertools } from '#observability/powertools';
import { type BacklogPass, monitorBacklog } from '#rpo/backlog-monitor';
import { type CopyMachine, inFlightItems } from '#rpo/in-flight';
import type { RpoDeps } from '#rpo/observe';

/** A scheduled invocation sends a "Scheduled Event"; its fields are not used. */
export const RpoMonitorInputSchema = z.object({});

export interface RpoMonitorDeps {
  /** The rules that set `rpo`: each gets its backlog published, zero included. */
  rules: readonly string[];
  sfn: SFNClient;
  machines: readonly { machine: CopyMachine; stateMachineArn: string }[];
  rpo: RpoDeps;
  now: () => number;
}

/**
 * The backlog monitor's pass, once per window on an EventBridge schedule (`rate(1 minute)`): what is in flight
 * for each rule with an RPO, a missed-threshold event for each item whose deadline fell in the window just
 * closed, and the rules' backlog metrics (src/rpo/backlog-monitor.ts).
 */
export function createRpoMonitorHandler(tools: Powertools, deps: RpoMonitorDeps) {
  return instrumented(
    tools,
    RpoMonitorInputSchema,
    async (): Promise<{ window: BacklogPass['window']; missed: number; pending: number }> => {
      if (deps.rules.length === 0) return { window: { start: 0, end: 0 }, missed: 0, pending: 0 };
      const pending = await inFlightItems(deps.sfn, deps.machines);
      const pass = await monitorBacklog(deps.now(), deps.rules, pending, deps.rpo);
      const result = { window: pass.window, missed: pass.missed.length, pending: pending.length };
      tools.logger.info('RPO backlog pass', result);
      return result;
    },
  );
}
