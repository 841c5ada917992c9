import type { Log } from '#foundation/observability/powertools';
import type { RpoEvents } from './events.ts';
import type { RpoMetrics } from './metrics.ts';
import {
  eventDetail,
  itemIdOf,
  type MonitorOptions,
  missedAtFailure,
  type RpoEventKind,
  type RpoItem,
  type Verdict,
  verdictAt,
} from './threshold.ts';

/** What judging an item against its RPO takes; absent where no rule sets one. */
export interface RpoDeps {
  metrics: RpoMetrics;
  events: RpoEvents;
  log: Log;
}

/** Sends one RPO event; a refusal is logged and counted, never thrown: the copy itself is done. */
export async function sendRpoEvent(
  kind: RpoEventKind,
  item: RpoItem,
  at: number,
  cause: string | undefined,
  deps: RpoDeps,
): Promise<void> {
  const detail = eventDetail(kind, item, at, cause);
  if (kind === 'missed') deps.metrics.missed(item.rule);
  try {
    await deps.events.put(kind, detail);
    deps.log.warn(kind === 'missed' ? 'RPO missed' : 'Completed after its RPO', { ...detail });
  } catch (error) {
    deps.metrics.eventFailed(item.rule);
    deps.log.error(`Could not send the RPO event (${kind}): ${(error as Error).message}`, { ...detail });
  }
}

/**
 * An item of a rule with an RPO was verified at `verifiedAt`: its latency is counted for the rule, and
 * past the RPO the events it owes are sent (verdictAt says which).
 */
export async function observeVerified(
  item: RpoItem,
  verifiedAt: number,
  options: { monitored: boolean; monitoredSince?: number; cause?: string | undefined },
  deps: RpoDeps,
): Promise<Verdict> {
  const { cause: _, ...monitor } = options;
  const verdict = verdictAt(item, verifiedAt, monitor);
  deps.metrics.verified(item.rule, item.kind, verdict.latencyMs, verdict.withinRpo, itemIdOf(item));
  for (const kind of verdict.events) await sendRpoEvent(kind, item, verifiedAt, options.cause, deps);
  return verdict;
}

/**
 * An item of a rule with an RPO failed for good (the fast path's permanent failure, a copy machine's
 * record-failure). Its missed event is sent now, with the failure's cause, only when no monitor pass judges
 * it (threshold.ts, `missedAtFailure`): a copy machine's failed execution is judged by the pass of its
 * deadline, so that another attempt that verifies it within the RPO gets no missed event.
 */
export async function observeFailed(
  item: RpoItem,
  at: number,
  cause: string,
  deps: RpoDeps,
  monitor: MonitorOptions = { monitored: true },
): Promise<void> {
  if (missedAtFailure(item, monitor)) await sendRpoEvent('missed', item, at, cause, deps);
}
