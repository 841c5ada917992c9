import type { ReplicationMetrics } from '#foundation/observability/replication-metrics';

/** The sandbox's CloudWatch: counts what the handlers report, for the demo summary and tests. */
export class MetricsTally implements ReplicationMetrics {
  copies = 0;
  bytes = 0;
  deletes = 0;
  readonly latenciesMs: number[] = [];
  readonly failures = new Map<string, number>();
  readonly skips = new Map<string, number>();

  copied(_rule: string, bytes: number, latencyMs: number): void {
    this.copies += 1;
    this.bytes += bytes;
    this.latenciesMs.push(latencyMs);
  }
  failed(_rule: string, cause: string): void {
    this.failures.set(cause, (this.failures.get(cause) ?? 0) + 1);
  }
  skipped(_rule: string, reason: string): void {
    this.skips.set(reason, (this.skips.get(reason) ?? 0) + 1);
  }
  deleted(): void {
    this.deletes += 1;
  }
  /** Replicas and copies whose tags followed their source's, by kind. */
  readonly tagSyncs = { object: 0, snapshot: 0, image: 0 };
  tagsSynced(kind: 'object' | 'snapshot' | 'image'): void {
    this.tagSyncs[kind] += 1;
  }
  readonly resourceCopies = { snapshot: 0, image: 0 };
  readonly resourceLatenciesMs: number[] = [];
  prunedCopies = 0;
  resourceCopied(kind: 'snapshot' | 'image', _rule: string, latencyMs: number): void {
    this.resourceCopies[kind] += 1;
    this.resourceLatenciesMs.push(latencyMs);
  }
  pruned(_kind: 'snapshot' | 'image', _rule: string, count: number): void {
    this.prunedCopies += count;
  }
  /** Refused copy starts, by reason (`limit`, `throttled`). */
  readonly queuedCopies = new Map<string, number>();
  queued(_kind: 'snapshot' | 'image', _rule: string, reason: string): void {
    this.queuedCopies.set(reason, (this.queuedCopies.get(reason) ?? 0) + 1);
  }
}
