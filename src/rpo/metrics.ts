import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { ItemKind } from './threshold.ts';

/**
 * The RPO figures per rule, as CloudWatch metrics in the `Ferry` namespace (Powertools' embedded metric
 * format: https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format.html),
 * named after S3 Replication Time Control's own (ReplicationLatency, OperationsPendingReplication,
 * BytesPendingReplication, OperationsFailedReplication:
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/repl-metrics.html).
 */
export const RPO_METRIC = {
  latency: 'RpoLatency',
  within: 'ItemsWithinRpo',
  over: 'ItemsOverRpo',
  missed: 'RpoThresholdsMissed',
  oldestPendingAge: 'OldestPendingAge',
  pendingItems: 'PendingItems',
  pendingBytes: 'PendingBytes',
  eventFailures: 'RpoEventFailures',
} as const;

export interface Backlog {
  /** Age of the oldest pending item, ms (0 when nothing is pending). */
  oldestAgeMs: number;
  count: number;
  bytes: number;
}

export interface RpoMetrics {
  /**
   * An item of a rule with an RPO was verified `latencyMs` after its source was created. `itemId` is the
   * item's `detail.id` (itemIdOf): not a metric dimension (one per item would be a metric each), but what
   * lets the sandbox match verdicts with the events sent about the same item.
   */
  verified(rule: string, kind: ItemKind, latencyMs: number, withinRpo: boolean, itemId: string): void;
  /** A missed-threshold event was sent (by the verifying step or by the backlog monitor). */
  missed(rule: string): void;
  /** What the backlog monitor found pending for a rule. */
  backlog(rule: string, backlog: Backlog): void;
  /** PutEvents failed: the event is lost, the item's metrics are not. */
  eventFailed(rule: string): void;
}

export function powertoolsRpoMetrics(metrics: Metrics): RpoMetrics {
  const emit = (
    name: string,
    unit: (typeof MetricUnit)[keyof typeof MetricUnit],
    value: number,
    rule: string,
  ) => {
    const single = metrics.singleMetric();
    single.addDimension('rule', rule);
    single.addMetric(name, unit, value);
  };
  return {
    verified(rule, _kind, latencyMs, withinRpo) {
      emit(RPO_METRIC.latency, MetricUnit.Milliseconds, latencyMs, rule);
      emit(withinRpo ? RPO_METRIC.within : RPO_METRIC.over, MetricUnit.Count, 1, rule);
    },
    missed(rule) {
      emit(RPO_METRIC.missed, MetricUnit.Count, 1, rule);
    },
    backlog(rule, backlog) {
      emit(RPO_METRIC.oldestPendingAge, MetricUnit.Seconds, Math.round(backlog.oldestAgeMs / 1000), rule);
      emit(RPO_METRIC.pendingItems, MetricUnit.Count, backlog.count, rule);
      emit(RPO_METRIC.pendingBytes, MetricUnit.Bytes, backlog.bytes, rule);
    },
    eventFailed(rule) {
      emit(RPO_METRIC.eventFailures, MetricUnit.Count, 1, rule);
    },
  };
}
