import type { PendingItem } from './backlog-monitor.ts';
import { describeAge, formatDuration } from './duration.ts';
import { deadlineOf } from './threshold.ts';

/**
 * `ferry status`, per rule with `rpo`: the RPO; p50, p99 and maximum latency over the window, the share of
 * items within the RPO and the items over it (CloudWatch: RpoLatency with ExtendedStatistics p50/p99 and
 * Maximum, ItemsWithinRpo and ItemsOverRpo summed over the window); and the oldest pending item, read from
 * the copy machines' RUNNING executions (ListExecutions + DescribeExecution, as the backlog monitor reads
 * them), and the object events waiting in the dead-letter queue (src/rpo/dead-letters.ts, when the rules
 * file is given), which the sandbox serves as AWS does.
 */

export interface RuleRpo {
  rule: string;
  rpoMs: number;
}

/** A rule's latency figures over the window, when a metrics source gave them. */
export interface RpoFigures {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  within: number;
  over: number;
}

export function rpoStatusLines(
  rules: readonly RuleRpo[],
  pending: readonly PendingItem[],
  figures: ReadonlyMap<string, RpoFigures> | undefined,
  now: number,
  windowText: string,
): string[] {
  if (rules.length === 0) return [];
  const lines = [`RPO per rule (latency over ${windowText}):`];
  for (const { rule, rpoMs } of rules) {
    lines.push(`  ${rule}: RPO ${formatDuration(rpoMs)}`);
    const stats = figures?.get(rule);
    if (!figures)
      lines.push('    latency: not read (CloudWatch metrics RpoLatency, ItemsWithinRpo, ItemsOverRpo)');
    else if (!stats || stats.within + stats.over === 0)
      lines.push('    latency: no item verified in the window');
    else {
      const total = stats.within + stats.over;
      const share = ((100 * stats.within) / total).toFixed(2);
      lines.push(
        `    latency p50 ${describeAge(stats.p50Ms)}, p99 ${describeAge(stats.p99Ms)}, max ${describeAge(stats.maxMs)}; ` +
          `${share} % of ${total} within the RPO, ${stats.over} over it`,
      );
    }
    const mine = pending.filter((item) => item.rule === rule).sort((a, b) => a.sourceTime - b.sourceTime);
    const oldest = mine[0];
    if (!oldest) lines.push('    pending: none in flight or in the dead letters');
    else {
      const late = mine.filter((item) => deadlineOf(item) < now).length;
      const letters = mine.filter((item) => item.where === 'dead-letter').length;
      const where = [
        ...(mine.length > letters ? [`${mine.length - letters} in flight`] : []),
        ...(letters > 0 ? [`${letters} in the dead-letter queue`] : []),
      ].join(', ');
      lines.push(
        `    pending: ${where}${late > 0 ? `, ${late} past the RPO` : ''}; oldest ${oldest.item} → ` +
          `${oldest.destination}, ${describeAge(now - oldest.sourceTime)} old${oldest.cause ? ` (${oldest.cause})` : ''}`,
      );
    }
  }
  return lines;
}
