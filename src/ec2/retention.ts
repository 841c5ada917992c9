/**
 * Which of Ferry's older copies a `retain` setting removes. Pure: the Finalize step lists the copies of
 * one group (the same rule, destination and source volume or AMI name, found by Ferry's tags) and deletes
 * what this returns.
 */

export type Retention = { count: number } | { days: number };

export interface RetainedCopy {
  id: string;
  /** When the copy was started (snapshot StartTime, image CreationDate), epoch ms. */
  createdAt: number;
  /** Only finished copies count and are pruned; a pending one belongs to a running execution. */
  finished: boolean;
}

const DAY_MS = 86_400_000;

export function copiesToPrune(
  copies: readonly RetainedCopy[],
  retention: Retention,
  { now, keep }: { now: number; keep: string },
): string[] {
  // The copy just made counts first: it is the newest, even when a clock skew says otherwise.
  const rank = (copy: RetainedCopy) => (copy.id === keep ? Number.POSITIVE_INFINITY : copy.createdAt);
  const finished = copies
    .filter((copy) => copy.finished || copy.id === keep)
    .sort((a, b) => rank(b) - rank(a) || a.id.localeCompare(b.id));
  const expired =
    'count' in retention
      ? finished.slice(retention.count)
      : finished.filter((copy) => copy.createdAt < now - retention.days * DAY_MS);
  return expired.filter((copy) => copy.id !== keep && copy.finished).map((copy) => copy.id);
}
