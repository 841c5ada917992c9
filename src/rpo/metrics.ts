import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { MetricDocumentWriter, MetricEntry } from '#foundation/observability/metric-documents';
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

/** Each call's figures share the `rule` dimension: one EMF document per call (metric-documents.ts). */
export function powertoolsRpoMetrics(write: MetricDocumentWriter): RpoMetrics {
  const emit = (name: string, unit: MetricEntry['unit'], value: number, rule: string) =>
    write({ rule }, [{ name, unit, value }]);
  return {
    verified(rule, _kind, latencyMs, withinRpo) {
      write({ rule }, [
        { name: RPO_METRIC.latency, unit: MetricUnit.Milliseconds, value: latencyMs },
        { name: withinRpo ? RPO_METRIC.within : RPO_METRIC.over, unit: MetricUnit.Count, value: 1 },
      ]);
    },
    missed(rule) {
      emit(RPO_METRIC.missed, MetricUnit.Count, 1, rule);
    },
    backlog(rule, backlog) {
      write({ rule }, [
        {
          name: RPO_METRIC.oldestPendingAge,
          unit: MetricUnit.Seconds,
          value: Math.round(backlog.oldestAgeMs / 1000),
        },
        { name: RPO_METRIC.pendingItems, unit: MetricUnit.Count, value: backlog.count },
        { name: RPO_METRIC.pendingBytes, unit: MetricUnit.Bytes, value: backlog.bytes },
      ]);
    },
    eventFailed(rule) {
      emit(RPO_METRIC.eventFailures, MetricUnit.Count, 1, rule);
    },
  };
}
