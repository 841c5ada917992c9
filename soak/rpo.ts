import { statisticOf } from '#local/cloudwatch-api';
import type { Sandbox } from '#local/sandbox';
import { ObjectCreatedEventSchema, sourceObjectOf } from '#objects/event';
import { endedItemOf } from '#rpo/ended';
import type { CopyMachine } from '#rpo/in-flight';
import { objectRpoItem } from '#rpo/items';
import {
  DETAIL_TYPE,
  deadlineOf,
  EVENT_SOURCE,
  fallsIn,
  itemIdOf,
  type RpoEventDetail,
} from '#rpo/threshold';
import type { FerryConfig } from '#rules/config';
import { plansOf } from './options.ts';

/** RPO compliance of one rule with an `rpo`, measured from the sandbox's RPO tally and its default bus. */
export interface RpoRuleFigures {
  rule: string;
  rpo: string;
  /** Items verified (distinct `detail.id`), and how many of them within the RPO. */
  verified: number;
  within: number;
  over: number;
  /**
   * Of those over, the items whose own Object Created event the bus lost. Nothing knew of them until
   * reconcile found them, and the soak's reconcile runs once every copy has ended, which is hours of
   * virtual time when an EC2 copy's completion event was lost as well (the safety check). So their latency
   * measures when reconcile ran, not the copy; deployed, reconcile runs every 6 h.
   */
  overAfterLostEvent: number;
  /** Latency, source created to replica or copy verified, ms (nearest rank, as CloudWatch's pNN). */
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Distinct `detail.id` of the missed-threshold and completed-after-threshold events seen. */
  missedEvents: number;
  completedAfterEvents: number;
  /** Missed events of items never verified (a copy that failed for good, judged at its deadline). */
  missedUnverified: number;
  /**
   * Items within the RPO whose first copy execution failed and whose later attempt (reconcile's) was
   * verified within it. Such an item gets no event: the failing step sends none, the monitor judges an
   * ended execution at the deadline only when no other attempt is running or succeeded (src/rpo/ended.ts).
   * Counted to show the case happened; a missed event for one of them is a violation like any other.
   */
  retriedWithin: number;
  /** Items breaking the invariant below, with why (empty when it holds). */
  violations: string[];
}

interface BusEvent {
  source?: string;
  'detail-type'?: string;
  detail?: RpoEventDetail;
}

/**
 * Per rule with an `rpo`: the figures, and the invariant the soak checks. A missed event comes exactly for
 * the items not verified within their RPO: every item verified over it has a missed event and a completion
 * event with its `detail.id` (events are at least once, so repeats of one id count once); an item verified
 * within it has neither; an item never verified has a missed event if a copy execution of it ended without
 * the copy and a monitor pass judged its deadline, and no item gets a missed event otherwise. Items the
 * soak cannot enumerate (a dead letter's, say) would show up as a missed event for an unknown item: a
 * violation, to be looked at, rather than a silent pass.
 */
export function rpoCompliance(sandbox: Sandbox, config: FerryConfig): RpoRuleFigures[] {
  const events = (sandbox.bus.published as BusEvent[]).filter((event) => event.source === EVENT_SOURCE);
  const idsOf = (type: string, rule: string) =>
    new Set(
      events
        .filter((event) => event['detail-type'] === type && event.detail?.rule === rule)
        .map((event) => event.detail?.id ?? ''),
    );
  const judged = sandbox.rpoMonitor.passes.map((pass) => pass.window);
  // Items with an execution that ended without its copy, by id: whether a monitor pass judged the deadline.
  const failedItems = new Map<string, { rule: string; deadlineJudged: boolean }>();
  for (const execution of sandbox.stepFunctions.executions.values()) {
    if (execution.status !== 'FAILED' || execution.stateMachine === 'inventory-reconcile') continue;
    const ended = endedItemOf(execution.stateMachine satisfies CopyMachine, execution.input);
    if (!ended) continue;
    const deadline = deadlineOf(ended.item);
    failedItems.set(itemIdOf(ended.item), {
      rule: ended.item.rule,
      deadlineJudged: judged.some((window) => fallsIn(deadline, window)),
    });
  }
  const verdicts = sandbox.rpoMetrics.verdicts;
  const lostEvents = lostEventItemIds(sandbox, config);
  return config.rules.flatMap((rule) => {
    if (rule.rpo === undefined) return [];
    const missed = idsOf(DETAIL_TYPE.missed, rule.name);
    const completed = idsOf(DETAIL_TYPE['completed-after'], rule.name);
    const violations: string[] = [];
    const latencies: number[] = [];
    let within = 0;
    let over = 0;
    let overAfterLostEvent = 0;
    let retriedWithin = 0;
    for (const [id, itemVerdicts] of verdicts) {
      const own = itemVerdicts.filter((verdict) => verdict.rule === rule.name);
      if (own.length === 0) continue;
      const isOver = own.some((verdict) => !verdict.withinRpo);
      if (isOver && own.some((verdict) => verdict.withinRpo))
        violations.push(`${id}: judged both within and over its RPO`);
      latencies.push(Math.max(...own.map((verdict) => verdict.latencyMs)));
      if (isOver) {
        over += 1;
        if (lostEvents.has(id)) overAfterLostEvent += 1;
        if (!missed.has(id)) violations.push(`${id}: over its RPO without a missed event`);
        if (!completed.has(id)) violations.push(`${id}: over its RPO without a completion event`);
      } else {
        within += 1;
        if (failedItems.has(id)) retriedWithin += 1;
        if (missed.has(id)) violations.push(`${id}: within its RPO, yet a missed event`);
        if (completed.has(id)) violations.push(`${id}: within its RPO, yet a completion event`);
      }
    }
    for (const [id, failed] of failedItems) {
      if (failed.rule !== rule.name || verdicts.has(id) || !failed.deadlineJudged) continue;
      if (!missed.has(id)) violations.push(`${id}: failed for good past its deadline without a missed event`);
    }
    const missedUnverified = [...missed].filter((id) => !verdicts.has(id));
    for (const id of missedUnverified)
      if (!failedItems.has(id))
        violations.push(`${id}: a missed event for an item neither verified nor failed`);
    for (const id of completed)
      if (!verdicts.has(id)) violations.push(`${id}: a completion event for an item never verified`);
    return [
      {
        rule: rule.name,
        rpo: rule.rpo,
        verified: within + over,
        within,
        over,
        overAfterLostEvent,
        p50Ms: latencies.length ? statisticOf('p50', latencies) : 0,
        p99Ms: latencies.length ? statisticOf('p99', latencies) : 0,
        maxMs: latencies.length ? statisticOf('Maximum', latencies) : 0,
        missedEvents: missed.size,
        completedAfterEvents: completed.size,
        missedUnverified: missedUnverified.length,
        retriedWithin,
        violations,
      },
    ];
  });
}

/**
 * The RPO item ids (`detail.id`) of every replica of an object whose Object Created event the bus lost.
 * Reconcile finds such an object in a listing of current keys (ListObjectsV2 names no version), so its item
 * has no `?versionId=`; the id with the event's version is kept too, for a copy sent with it.
 */
function lostEventItemIds(sandbox: Sandbox, config: FerryConfig): Set<string> {
  const ids = new Set<string>();
  for (const event of sandbox.bus.dropped) {
    const parsed = ObjectCreatedEventSchema.safeParse(event);
    if (!parsed.success) continue;
    const source = sourceObjectOf(parsed.data);
    for (const plan of plansOf(source.bucket, source.key, config))
      for (const versionId of [source.versionId, undefined]) {
        const item = objectRpoItem({ ...plan, destinationKey: plan.key }, { ...source, versionId });
        if (item) ids.add(itemIdOf(item));
      }
  }
  return ids;
}
