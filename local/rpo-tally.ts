import { type Backlog, RPO_METRIC, type RpoMetrics } from '#rpo/metrics';
import type { ItemKind } from '#rpo/threshold';

/** The sandbox's CloudWatch for the RPO figures: every value each rule reported, for tests and the demo. */
export class RpoTally implements RpoMetrics {
  /**
   * Every value with the moment it was reported, as CloudWatch keeps datapoints (local/cloudwatch-api.ts
   * serves them with GetMetricData). The moment is the real time: Powertools stamps an EMF record with
   * Date.now() (its `_aws.Timestamp`), not with the handlers' injected clock, and so does this tally.
   */
  readonly datapoints: { rule: string; metric: string; value: number; at: number }[] = [];

  constructor(private readonly stamp: () => number = Date.now) {}

  private record(rule: string, metric: string, value: number): void {
    this.datapoints.push({ rule, metric, value, at: this.stamp() });
  }

  readonly latenciesMs = new Map<string, number[]>();
  readonly within = new Map<string, number>();
  readonly over = new Map<string, number>();
  readonly missedEvents = new Map<string, number>();
  readonly backlogs = new Map<string, Backlog[]>();
  /** Each verdict by item (`detail.id`), so the soak can match it with the events sent about the item. */
  readonly verdicts = new Map<string, { rule: string; latencyMs: number; withinRpo: boolean }[]>();
  eventFailures = 0;

  verified(rule: string, _kind: ItemKind, latencyMs: number, withinRpo: boolean, itemId: string): void {
    this.verdicts.set(itemId, [...(this.verdicts.get(itemId) ?? []), { rule, latencyMs, withinRpo }]);
    this.latenciesMs.set(rule, [...(this.latenciesMs.get(rule) ?? []), latencyMs]);
    const counts = withinRpo ? this.within : this.over;
    counts.set(rule, (counts.get(rule) ?? 0) + 1);
    this.record(rule, RPO_METRIC.latency, latencyMs);
    this.record(rule, withinRpo ? RPO_METRIC.within : RPO_METRIC.over, 1);
  }
  missed(rule: string): void {
    this.missedEvents.set(rule, (this.missedEvents.get(rule) ?? 0) + 1);
  }
  backlog(rule: string, backlog: Backlog): void {
    this.backlogs.set(rule, [...(this.backlogs.get(rule) ?? []), backlog]);
  }
  eventFailed(): void {
    this.eventFailures += 1;
  }
}
