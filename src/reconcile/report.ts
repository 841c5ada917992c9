import { z } from 'zod';
import type { RuleKind } from '#rules/config';
import { InvalidResumeTokenError, ListingFailedError, type ListingTarget } from './errors.ts';

/** What one pass found and did for one rule. */
export interface RuleReport {
  rule: string;
  kind: RuleKind;
  /** Sources listed that pass the rule's filters (objects: keys listed under the prefix). */
  scanned: number;
  /** Sources without a replica or copy at some destination. */
  missing: number;
  /** Objects whose replica is of another or older source (snapshots and images are never stale). */
  stale: number;
  /** Items sent through the entry point that did not fail there. */
  sent: number;
  /** Items sent whose entry point rightly copied nothing (a replica source, tags that do not match, …). */
  skipped: number;
  /**
   * Object rules with a `replicateDeletes` destination: Ferry's replicas of this rule whose source is gone
   * (its delete event was lost). `found`: confirmed by the replica's markers and a 404 from the source;
   * `deleted`: removed as the object-deleted handler would have. One not deleted is in `failed`.
   */
  orphanedReplicas?: { found: number; deleted: number };
  /**
   * Object rules with a destination that copies tags: replicas whose tags differed from their destination's
   * policy of the source's tags (a tag-change event lost), set right by PutObjectTagging, never a re-copy.
   */
  tagsRepaired?: number;
  /**
   * Object rules with a destination with `lock` (object-locks.ts): replicas whose retention was missing or
   * shorter, or whose legal hold was off, than the lock computation wants (a source's lock changed since the
   * copy: S3 emits no event for that), raised by PutObjectRetention / PutObjectLegalHold, never shortened.
   */
  locksRepaired?: number;
  /** Replicas locked more than wanted (longer, COMPLIANCE, a legal hold the source released): left, counted. */
  locksStronger?: number;
  /** Replicas in GOVERNANCE where COMPLIANCE is wanted: the mode needs the governance bypass, Ferry has none. */
  locksModeKept?: number;
  failed: Failure[];
}

/**
 * An item reconcile could not check or send, with its error. `listing`: a listing of the rule's sources or
 * replicas that still failed after its client's patient retries (`item` names it: `listing of snapshots in
 * us-east-1`); the rule stopped there, the pass went on, and its `next` comes back to it once the walk
 * reaches the end of the rules (reconcile.ts).
 */
export interface Failure {
  item: string;
  cause: string;
  listing?: true;
  /** A failed S3 listing: the bucket it listed. */
  bucket?: string;
}

export interface ReconcileReport {
  rules: RuleReport[];
  /** Where the next pass continues, or undefined when this pass reached the end of every rule. */
  next: string | undefined;
}

/** Several passes as one report: counts added and failures joined per rule, the last pass's `next`. */
export function mergeReports(reports: readonly ReconcileReport[]): ReconcileReport {
  const byRule = new Map<string, RuleReport>();
  for (const report of reports) {
    for (const rule of report.rules) {
      const seen = byRule.get(rule.rule);
      byRule.set(
        rule.rule,
        seen
          ? {
              ...seen,
              scanned: seen.scanned + rule.scanned,
              missing: seen.missing + rule.missing,
              stale: seen.stale + rule.stale,
              sent: seen.sent + rule.sent,
              skipped: seen.skipped + rule.skipped,
              ...addOrphans(seen.orphanedReplicas, rule.orphanedReplicas),
              ...(seen.tagsRepaired !== undefined || rule.tagsRepaired !== undefined
                ? { tagsRepaired: (seen.tagsRepaired ?? 0) + (rule.tagsRepaired ?? 0) }
                : {}),
              ...addCount('locksRepaired', seen, rule),
              ...addCount('locksStronger', seen, rule),
              ...addCount('locksModeKept', seen, rule),
              failed: [...seen.failed, ...rule.failed],
            }
          : {
              ...rule,
              ...(rule.orphanedReplicas ? { orphanedReplicas: { ...rule.orphanedReplicas } } : {}),
              failed: [...rule.failed],
            },
      );
    }
  }
  return { rules: [...byRule.values()], next: reports.at(-1)?.next };
}

type OptionalCount = 'locksRepaired' | 'locksStronger' | 'locksModeKept';

/** An optional count of two reports added, present when either has it. */
function addCount(
  name: OptionalCount,
  a: RuleReport,
  b: RuleReport,
): Partial<Pick<RuleReport, OptionalCount>> {
  if (a[name] === undefined && b[name] === undefined) return {};
  return { [name]: (a[name] ?? 0) + (b[name] ?? 0) };
}

function addOrphans(
  a: RuleReport['orphanedReplicas'],
  b: RuleReport['orphanedReplicas'],
): Pick<RuleReport, 'orphanedReplicas'> {
  if (!a && !b) return {};
  return {
    orphanedReplicas: {
      found: (a?.found ?? 0) + (b?.found ?? 0),
      deleted: (a?.deleted ?? 0) + (b?.deleted ?? 0),
    },
  };
}

/** Where a bounded pass stopped: the rule, and within it the Region and the position in its listing. */
const PositionSchema = z.object({
  rule: z.string(),
  /** EC2 rules: the source Region being listed. */
  region: z.string().optional(),
  /**
   * Objects: the last key listed (of the source, or with `destination` of that destination). EC2: the
   * page token of the page being read.
   */
  after: z.string().optional(),
  /** Objects: the source is done; the index (in the rule's `to`) of the destination swept for orphans. */
  destination: z.number().int().optional(),
  /** EC2: items of that page already handled (pages cannot be cut smaller than EC2's minimum). */
  skip: z.number().int().optional(),
});

/**
 * A pass's `next`: the position, and what the walk owes a listing that failed for good on the way (see
 * reconcile.ts): `back`, the first such listing, come back to when the walk reaches the end of the rules;
 * `retry`, this cursor is that coming back, so a listing of its rule failing again is not come back to again.
 */
const CursorSchema = PositionSchema.extend({
  back: PositionSchema.optional(),
  retry: z.literal(true).optional(),
});

export type Position = z.infer<typeof PositionSchema>;
export type Cursor = z.infer<typeof CursorSchema>;

export const encodeCursor = (cursor: Cursor): string =>
  Buffer.from(JSON.stringify(cursor), 'utf8').toString('base64url');

export function decodeCursor(token: string): Cursor {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    throw new InvalidResumeTokenError(token);
  }
  const cursor = CursorSchema.safeParse(value);
  if (!cursor.success) throw new InvalidResumeTokenError(token);
  return cursor.data;
}

/** Whether the pass's `next` comes back to a listing that failed in the walk (nothing else is left to do). */
export const comesBackToFailure = (report: ReconcileReport): boolean =>
  report.next !== undefined && decodeCursor(report.next).retry === true;

export const emptyRuleReport = (rule: string, kind: RuleKind): RuleReport => ({
  rule,
  kind,
  scanned: 0,
  missing: 0,
  stale: 0,
  sent: 0,
  skipped: 0,
  failed: [],
});

export const causeOf = (error: unknown): string => {
  const { name, message } = error as { name?: string; message?: string };
  return message ? `${name ?? 'Error'}: ${message}` : String(error);
};

/**
 * Records a listing that failed for good (a ListingFailedError, from `listing`) as the report's failure; any
 * other error is not a listing's and is thrown on. The caller then stops its rule before the page it could
 * not read.
 */
export function recordListingFailure(report: Pick<RuleReport, 'failed'>, error: unknown): void {
  if (!(error instanceof ListingFailedError)) throw error;
  report.failed.push({
    item: `listing of ${error.what}`,
    ...(error.bucket !== undefined ? { bucket: error.bucket } : {}),
    cause: causeOf(error.cause),
    listing: true,
  });
}

/**
 * One listing call: its error (after the client's own retries) becomes a ListingFailedError naming what
 * was listed (`target`), which the rule's step turns into its report's failure instead of ending the pass.
 */
export async function listing<T>(target: ListingTarget, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw new ListingFailedError(target, error);
  }
}

/** A listing of an S3 key space, named in a failure `s3://bucket/prefix in us-east-1`, with its bucket. */
export const keySpaceOf = (bucket: string, prefix: string, region: string): ListingTarget => ({
  what: `s3://${bucket}/${prefix} in ${region}`,
  bucket,
});

/**
 * The bucket of the first listing that failed because its bucket does not exist (NoSuchBucket: a
 * configuration to fix, not a throttle to wait out).
 */
export function missingBucketOf(report: ReconcileReport): string | undefined {
  for (const rule of report.rules)
    for (const failure of rule.failed)
      if (failure.listing && failure.bucket !== undefined && failure.cause.startsWith('NoSuchBucket'))
        return failure.bucket;
  return undefined;
}
