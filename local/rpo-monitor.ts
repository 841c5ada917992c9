import { type BacklogPass, monitorBacklog, type PendingItem, pendingOfExecution } from '#rpo/backlog-monitor';
import type { RpoDeps } from '#rpo/observe';
import { DETAIL_TYPE, EVENT_SOURCE, MONITOR_WINDOW_MS, windowOf } from '#rpo/threshold';
import { type FerryConfig, imageRulesOf, objectRulesOf, snapshotRulesOf } from '#rules/config';
import type { EventBus } from './event-bus.ts';
import { publishEvent } from './events-api.ts';
import type { RpoTally } from './rpo-tally.ts';
import type { LocalStepFunctions } from './step-functions.ts';
import type { VirtualClock } from './virtual-clock.ts';

/**
 * The backlog monitor in the sandbox (src/rpo/backlog-monitor.ts), on the virtual clock: a pass at each
 * window's end, as the EventBridge schedule runs it in AWS. What is in flight is read from the runner's
 * executions (in AWS: ListExecutions + DescribeExecution); events go onto the bus in EventBridge's envelope.
 */
export interface SandboxRpoMonitor {
  /** One pass now. */
  pass(): Promise<BacklogPass>;
  /** Passes at every window end from now on while executions run; the returned function stops them. */
  start(): () => void;
  readonly passes: BacklogPass[];
}

export function sandboxRpoMonitor(options: {
  config: FerryConfig;
  stepFunctions: LocalStepFunctions;
  clock: VirtualClock;
  bus: EventBus;
  metrics: RpoTally;
  account: string;
  region: string;
}): SandboxRpoMonitor {
  const { config, stepFunctions, clock, bus } = options;
  const rules = [...objectRulesOf(config), ...snapshotRulesOf(config), ...imageRulesOf(config)]
    .filter((rule) => rule.rpo !== undefined)
    .map((rule) => rule.name);
  const quiet = { debug() {}, info() {}, warn() {}, error() {} };
  const deps: RpoDeps = {
    log: quiet,
    metrics: options.metrics,
    events: {
      async put(kind, detail) {
        publishEvent(
          bus,
          { source: EVENT_SOURCE, detailType: DETAIL_TYPE[kind], detail },
          { account: options.account, region: options.region, time: clock.now() },
        );
      },
    },
  };
  const passes: BacklogPass[] = [];
  const pass = async () => {
    const pending: PendingItem[] = [];
    for (const execution of stepFunctions.executions.values()) {
      if (execution.status !== 'RUNNING') continue;
      const item = pendingOfExecution(execution.stateMachine, execution.input);
      if (item) pending.push(item);
    }
    const result = await monitorBacklog(clock.now(), rules, pending, deps);
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
        await pass();
        next();
      });
    };
    next();
    return () => {
      stopped = true;
    };
  };
  return { pass, start, passes };
}
