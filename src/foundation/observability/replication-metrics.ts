import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { MetricDocumentWriter, MetricEntry } from './metric-documents.ts';

/** What the object path reports; dashboards and alarms are built on these names. */
export interface ReplicationMetrics {
  copied(rule: string, bytes: number, latencyMs: number): void;
  failed(rule: string, cause: string): void;
  skipped(rule: string, reason: string): void;
  deleted(rule: string): void;
  /** A replica's or copy's tags were set to its tag policy after its source's tags changed. */
  tagsSynced(kind: 'object' | 'snapshot' | 'image', rule: string): void;
  /** A snapshot or image copy completed and was verified, `latencyMs` after its source was created. */
  resourceCopied(kind: 'snapshot' | 'image', rule: string, latencyMs: number): void;
  /** Older copies removed by a rule's `retain`. */
  pruned(kind: 'snapshot' | 'image', rule: string, count: number): void;
  /** Copies past a rule's `retain` that a snapshot lock or AMI deregistration protection keeps in place. */
  heldByLock(kind: 'snapshot' | 'image', rule: string, count: number): void;
  /** EC2 refused to start a copy (the concurrent-copy limit, or throttling): it waits for a slot. */
  queued(kind: 'snapshot' | 'image', rule: string, reason: 'limit' | 'throttled'): void;
}

export const METRIC = {
  copies: 'ObjectsCopied',
  bytes: 'BytesCopied',
  latency: 'ReplicationLatency',
  failures: 'CopyFailures',
  skips: 'CopiesSkipped',
  deletes: 'ReplicasDeleted',
  tagsSynced: 'TagsSynced',
  snapshotCopies: 'SnapshotsCopied',
  imageCopies: 'ImagesCopied',
  resourceLatency: 'CopyLatency',
  pruned: 'CopiesPruned',
  heldByLock: 'CopiesHeldByLock',
  queued: 'CopiesQueued',
} as const;

/**
 * Emits each call's figures as one EMF document with its own dimensions (metric-documents.ts), because one
 * invocation serves several rules (and failures need a `cause` dimension) while Powertools' batch shares one
 * dimension set. Figures of one call with different dimension sets are separate documents.
 */
export function powertoolsReplicationMetrics(write: MetricDocumentWriter): ReplicationMetrics {
  const emit = (name: string, unit: MetricEntry['unit'], value: number, dimensions: Record<string, string>) =>
    write(dimensions, [{ name, unit, value }]);
  return {
    copied(rule, bytes, latencyMs) {
      // One document for the three: a replica costs one log event of metrics, not three.
      write({ rule }, [
        { name: METRIC.copies, unit: MetricUnit.Count, value: 1 },
        { name: METRIC.bytes, unit: MetricUnit.Bytes, value: bytes },
        { name: METRIC.latency, unit: MetricUnit.Milliseconds, value: latencyMs },
      ]);
    },
    failed(rule, cause) {
      emit(METRIC.failures, MetricUnit.Count, 1, { rule, cause });
      // The total too (service dimension only): an alarm needs one metric, not one per rule and cause.
      emit(METRIC.failures, MetricUnit.Count, 1, {});
    },
    skipped(rule, reason) {
      emit(METRIC.skips, MetricUnit.Count, 1, { rule, reason });
    },
    deleted(rule) {
      emit(METRIC.deletes, MetricUnit.Count, 1, { rule });
    },
    tagsSynced(kind, rule) {
      emit(METRIC.tagsSynced, MetricUnit.Count, 1, { rule, kind });
    },
    resourceCopied(kind, rule, latencyMs) {
      emit(kind === 'snapshot' ? METRIC.snapshotCopies : METRIC.imageCopies, MetricUnit.Count, 1, { rule });
      emit(METRIC.resourceLatency, MetricUnit.Milliseconds, latencyMs, { rule, kind });
    },
    pruned(kind, rule, count) {
      emit(METRIC.pruned, MetricUnit.Count, count, { rule, kind });
    },
    heldByLock(kind, rule, count) {
      emit(METRIC.heldByLock, MetricUnit.Count, count, { rule, kind });
    },
    queued(kind, rule, reason) {
      emit(METRIC.queued, MetricUnit.Count, 1, { rule, kind, reason });
    },
  };
}
