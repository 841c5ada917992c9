/**
 * Which of Ferry's older copies a `retain` setting removes. Pure: the Finalize step lists the copies of
 * one group (the same rule, destination and source volume or AMI name, found by Ferry's tags) and deletes
 * what this returns.
 */

import { z } from 'zod';

/**
 * How many copies to keep: the newest `count` per source, or those younger than `days`. One schema for
 * the rule (`retain`, whose messages name what a count is per) and the copy job that carries it.
 */
export const retentionSchema = (perSource = 'source volume or AMI name') =>
  z
    .strictObject({
      count: z.number().int().min(1, 'expected 1–1000 copies').max(1000, 'expected 1–1000 copies').optional(),
      days: z.number().int().min(1, 'expected 1–3650 days').max(3650, 'expected 1–3650 days').optional(),
    })
    .superRefine((retain, ctx) => {
      if ((retain.count === undefined) === (retain.days === undefined)) {
        ctx.addIssue({
          code: 'custom',
          message: `expected exactly one of count (copies kept per ${perSource}) or days (age of the copies kept)`,
        });
      }
    })
    // After the check above exactly one is set.
    .transform((retain): { count: number } | { days: number } =>
      retain.count !== undefined ? { count: retain.count } : { days: retain.days as number },
    );

export type Retention = z.infer<ReturnType<typeof retentionSchema>>;

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
