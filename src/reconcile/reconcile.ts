import { type FerryConfig, kindOf, objectSourceRegionOf, type Rule, sourceRegionsOf } from '#rules/config';
import type { ImageRule, SnapshotRule } from '#rules/ec2-schema';
import type { ObjectRule } from '#rules/schema';
import { type Ec2ReconcileDeps, IMAGES, reconcileEc2Region, SNAPSHOTS } from './ec2.ts';
import { InvalidResumeTokenError, UnknownRuleError } from './errors.ts';
import { emptyObjectRuleReport, type ObjectReconcileDeps, reconcileObjectRule } from './objects.ts';
import { sweepOrphans } from './orphans.ts';
import {
  type Cursor,
  decodeCursor,
  emptyRuleReport,
  encodeCursor,
  type Position,
  type ReconcileReport,
  type RuleReport,
} from './report.ts';

export interface ReconcileOptions {
  /** Only this rule. */
  rule?: string | undefined;
  /**
   * At most this many items listed in this pass (objects: keys of the sources, and of the destinations
   * swept for orphaned replicas; snapshots and AMIs: resources).
   */
  limit?: number | undefined;
  /** The `next` of an earlier pass: continue where it stopped. */
  resume?: string | undefined;
}

export interface ReconcileDeps {
  rules: FerryConfig['rules'];
  objects: ObjectReconcileDeps;
  ec2: Ec2ReconcileDeps;
}

export const DEFAULT_LIMIT = 1000;

function rulesToVisit(rules: readonly Rule[], options: ReconcileOptions): Rule[] {
  if (options.rule === undefined) return [...rules];
  const rule = rules.find((candidate) => candidate.name === options.rule);
  if (!rule)
    throw new UnknownRuleError(
      options.rule,
      rules.map((candidate) => candidate.name),
    );
  return [rule];
}

/**
 * One bounded pass: for each rule (from the resume point on), list its sources, find those without a
 * verified replica or copy, and send each through the handler's own entry point (`replicateObject`,
 * `replicateSnapshots`, `replicateImage`). Object rules then sweep each destination that replicates deletes
 * for Ferry's replicas whose source is gone (a lost delete) and delete them as the object-deleted handler
 * would. Stops after `limit` listed items and returns where to go on.
 */
export async function reconcile(options: ReconcileOptions, deps: ReconcileDeps): Promise<ReconcileReport> {
  const limit = options.limit ?? DEFAULT_LIMIT;
  if (!Number.isInteger(limit) || limit < 1)
    throw new RangeError(`limit must be a positive whole number, got ${limit}`);
  const rules = rulesToVisit(deps.rules, options);
  const cursor = options.resume === undefined ? undefined : decodeCursor(options.resume);
  let start = 0;
  if (cursor) {
    start = rules.findIndex((rule) => rule.name === cursor.rule);
    // A token of a pass over other rules (another --rule) is not this walk's, nor is the listing it owes.
    const owed = cursor.back?.rule;
    if (start < 0 || (owed !== undefined && !rules.some((rule) => rule.name === owed)))
      throw new InvalidResumeTokenError(options.resume ?? '');
  }

  const reports: Listed[] = [];
  let budget = limit;
  // A rule whose listing failed for good stops there (its report says which listing) and the walk goes on
  // from where the pass stopped, so a listing that always fails starves no rule after it. The first such
  // stop rides along in `next` (`back`) until the walk reaches the end of the rules, and then `next` comes
  // back to it (`retry`): so no source is skipped for good. Rules after it are visited again from there
  // (reconciling a verified replica again sends nothing); a listing of that rule failing again is not come
  // back to again, so a walk ends even when a listing never answers.
  let failedAt: Position | undefined = cursor?.back;
  const ending = (next: Position | undefined): ReconcileReport => {
    const back = next
      ? { ...next, ...(failedAt ? { back: failedAt } : {}) }
      : failedAt && { ...failedAt, retry: true as const };
    return { rules: reports.map(withoutListed), next: back ? encodeCursor(back) : undefined };
  };
  for (let index = start; index < rules.length; index++) {
    const rule = rules[index] as Rule;
    const from = index === start ? positionOf(cursor) : undefined;
    const { report, stop, failed } = await reconcileRule(rule, from, budget, deps);
    reports.push(report);
    budget -= report.listed;
    if (failed) {
      const comingBack = index === start && cursor?.retry === true;
      if (!comingBack) failedAt ??= stop ?? { rule: rule.name };
    } else if (stop) return ending(stop);
    if (budget <= 0) {
      const following = rules[index + 1];
      return ending(following ? { rule: following.name } : undefined);
    }
  }
  return ending(undefined);
}

/** A cursor's position in the walk, without what it owes failed listings. */
const positionOf = (cursor: Cursor | undefined): Position | undefined => {
  if (!cursor) return undefined;
  const { back: _, retry: __, ...position } = cursor;
  return position;
};

type Listed = RuleReport & { listed: number };
const withoutListed = ({ listed: _, ...report }: Listed): RuleReport => report;

/** One rule's step: its report, where it stopped, and `failed` when a listing stopped it (see reconcile). */
type RuleStep = { report: Listed; stop?: Position; failed?: true };

async function reconcileRule(
  rule: Rule,
  cursor: Position | undefined,
  budget: number,
  deps: ReconcileDeps,
): Promise<RuleStep> {
  switch (kindOf(rule)) {
    case 'objects': {
      // The source is listed and read in its bucket's Region (S3 refuses a request signed for another).
      const region = objectSourceRegionOf(rule as ObjectRule, deps.objects.source.region);
      const objects = { ...deps.objects, source: { ...deps.objects.source, region } };
      return reconcileObjects(rule as ObjectRule, cursor, budget, objects);
    }
    case 'snapshots':
      return reconcileEc2Rule(
        SNAPSHOTS,
        rule as SnapshotRule,
        sourceRegionsOf(rule as SnapshotRule),
        cursor,
        budget,
        deps,
      );
    case 'images':
      return reconcileEc2Rule(
        IMAGES,
        rule as ImageRule,
        sourceRegionsOf(rule as ImageRule),
        cursor,
        budget,
        deps,
      );
  }
}

/**
 * An object rule: its source listing, then the orphan sweep of each destination that replicates deletes,
 * in the order of `to`, all within the budget. Keys the source listing of this very pass saw need no
 * HEAD in the sweep; a sweep resumed in a later pass HEADs the source of every replica it checks.
 */
async function reconcileObjects(
  rule: ObjectRule,
  cursor: Position | undefined,
  budget: number,
  deps: ObjectReconcileDeps,
): Promise<RuleStep> {
  let report: Listed;
  let known: ReadonlySet<string> = new Set();
  const sweeping = cursor?.destination;
  if (sweeping === undefined) {
    const step = await reconcileObjectRule(rule, cursor?.after, budget, deps);
    report = { ...step.report, listed: step.listed };
    if (!step.done)
      return {
        report,
        stop: { rule: rule.name, ...(step.last ? { after: step.last } : {}) },
        ...(step.failed ? { failed: step.failed } : {}),
      };
    known = step.seen;
  } else {
    report = { ...emptyObjectRuleReport(rule), listed: 0 };
  }
  for (let index = sweeping ?? 0; index < rule.to.length; index++) {
    if (!rule.to[index]?.replicateDeletes) continue;
    const after = index === sweeping ? cursor?.after : undefined;
    if (report.listed >= budget)
      return { report, stop: { rule: rule.name, destination: index, ...(after ? { after } : {}) } };
    const step = await sweepOrphans(rule, index, after, budget - report.listed, known, report, deps);
    report.listed += step.listed;
    if (!step.done)
      return {
        report,
        stop: { rule: rule.name, destination: index, ...(step.last ? { after: step.last } : {}) },
        ...(step.failed ? { failed: step.failed } : {}),
      };
  }
  return { report };
}

async function reconcileEc2Rule<
  Kind extends typeof SNAPSHOTS | typeof IMAGES,
  R extends SnapshotRule | ImageRule,
>(
  kind: Kind,
  rule: R,
  regions: readonly string[],
  cursor: Position | undefined,
  budget: number,
  deps: ReconcileDeps,
): Promise<RuleStep> {
  const report: Listed = { ...emptyRuleReport(rule.name, kind.name), listed: 0 };
  const first = cursor?.region ? Math.max(0, regions.indexOf(cursor.region)) : 0;
  for (let index = first; index < regions.length; index++) {
    const region = regions[index] as string;
    const position =
      index === first && cursor?.region === region ? { token: cursor.after, skip: cursor.skip } : {};
    const step = await reconcileEc2Region(
      kind as never,
      rule as never,
      region,
      position,
      budget - report.listed,
      deps.ec2,
      report,
    );
    report.listed += step.listed;
    if (!step.done && step.next)
      return {
        report,
        stop: {
          rule: rule.name,
          region,
          ...(step.next.token ? { after: step.next.token } : {}),
          skip: step.next.skip,
        },
        ...(step.failed ? { failed: step.failed } : {}),
      };
    if (report.listed >= budget) {
      const following = regions[index + 1];
      return following ? { report, stop: { rule: rule.name, region: following } } : { report };
    }
  }
  return { report };
}
