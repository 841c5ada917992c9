import type { Backlog, RpoMetrics } from '#rpo/metrics';
import type { ItemKind } from '#rpo/threshold';

/** The sandbox's CloudWatch for the RPO figures: every value each rule reported, for tests and the demo. */
export class RpoTally implements RpoMetrics {
  readonly latenciesMs = new Map<string, number[]>();
  readonly within = new Map<string, number>();
  readonly over = new Map<string, number>();
  readonly missedEvents = new Map<string, number>();
  readonly backlogs = new Map<string, Backlog[]>();
  eventFailures = 0;

  verified(rule: string, _kind: ItemKind, latencyMs: number, withinRpo: boolean): void {
    this.latenciesMs.set(rule, [...(this.latenciesMs.get(rule) ?? []), latencyMs]);
    const counts = withinRpo ? this.within : this.over;
    counts.set(rule, (counts.get(rule) ?? 0) + 1);
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
