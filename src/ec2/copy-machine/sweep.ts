import type { CopyView } from '#ec2/copy-kind';
import { type CompletionDeps, type CopyWaitEnd, type EndedCopy, endCopyWait } from './completion.ts';
import type { CopyKindName } from './contract.ts';
import { copyOfWaiterKey, isLive, type WaiterListing, waiterKeyOf } from './copy-waiters.ts';

/**
 * The scheduled sweep of the copies waited for by event (the `ec2CopySweep` function, hourly): the
 * completion events are best effort (safety-check.ts), so once an hour every live copy waiter is looked up
 * in EC2, and a copy that has ended while its event was lost has its wait ended through the event's own path
 * (`endCopyWait`, `by: 'sweep'`): the signal, the waiter's removal, the slot's wake-up. With the sweep up, a
 * lost event costs at most one sweep period; the machine's own safety checks are the backstop for a sweep
 * that is down.
 *
 * One read of the table (a Scan: the table holds only what is in flight, and a copy's end must be looked
 * for in every Region anyway, so no index would spare a read), then per Region and kind one DescribeSnapshots
 * or DescribeImages per 200 copies, by id filter (`CopyKind.describeMany`). A Region whose describe fails,
 * or an ended copy whose wait cannot be ended, is named in the result and the others go on: its copies wait
 * for the next sweep or their check, and the handler fails the invocation once all were tried
 * (`CopySweepIncompleteError`), so a sweep that is not up is seen.
 */

/**
 * How often the sweep runs (its EventBridge schedule: deploy/template-parts.ts). An hour: the bound
 * on what a lost event may cost ("hours, not a copy"); events are lost rarely, so a shorter period buys
 * little and costs in proportion (a fixed cost, whatever the copies: BENCHMARKS.md).
 */
export const COPY_SWEEP_PERIOD_SECONDS = 3600;

/** The copies of one Region and kind that have a live waiter. */
export interface SweepGroup {
  region: string;
  kind: CopyKindName;
  copyIds: string[];
}

/** The live copy waiters by Region and kind; the table's other items and expired waiters are left out. */
export function sweepGroupsOf(
  waiters: readonly { key: string; expiresAt: number }[],
  nowMs: number,
): SweepGroup[] {
  const groups = new Map<string, SweepGroup>();
  for (const waiter of waiters) {
    const copy = copyOfWaiterKey(waiter.key);
    if (!copy || !isLive(waiter, nowMs)) continue;
    const id = `${copy.region}/${copy.kind}`;
    const group = groups.get(id) ?? { region: copy.region, kind: copy.kind, copyIds: [] };
    group.copyIds.push(copy.copyId);
    groups.set(id, group);
  }
  return [...groups.values()];
}

/** What EC2 says of a group's copies: those that ended, those still running, those it did not return. */
export interface GroupVerdict {
  ended: EndedCopy[];
  running: string[];
  missing: string[];
}

/**
 * A snapshot ends `completed` or `error`, an image `available` or `failed` (CopyView's `completed` and
 * `failed`). A copy EC2 does not return by the id filter is left to its own checks, snapshot or image: it
 * was deleted or deregistered, or it is not listed yet. EC2 is eventually consistent ("a resource that you
 * just created might not appear in a describe call":
 * https://docs.aws.amazon.com/ec2/latest/devguide/eventual-consistency.html), and AwaitCopy stores its
 * waiter before it describes the copy, so a sweep may see a waiter whose copy is not listed yet; judging
 * it ended would signal it (CheckCopy would then fail a copy in flight as `CopyVanished`) and free its slot
 * for a queued copy while it still counts against the limit.
 */
export function verdictOf(group: SweepGroup, views: readonly CopyView[]): GroupVerdict {
  const byId = new Map(views.map((view) => [view.id, view]));
  const verdict: GroupVerdict = { ended: [], running: [], missing: [] };
  for (const copyId of group.copyIds) {
    const view = byId.get(copyId);
    const ended = (outcome: EndedCopy['outcome']) =>
      verdict.ended.push({ copyId, region: group.region, kind: group.kind, outcome });
    if (view?.state === 'pending') verdict.running.push(copyId);
    else if (view) ended(view.state);
    else verdict.missing.push(copyId);
  }
  return verdict;
}

export interface SweepDeps extends CompletionDeps {
  listing: WaiterListing;
  /** The caller's copies among these ids in the Region (`CopyKind.describeMany`, Ferry's own EC2 client). */
  describe(region: string, kind: CopyKindName, ids: readonly string[]): Promise<CopyView[]>;
}

export interface SweepResult {
  /** Live copy waiters looked up. */
  waiting: number;
  running: number;
  /** Copies EC2 did not return and that were left to their checks. */
  missing: string[];
  /** Copies that had ended, and what ending their wait did. */
  ended: { key: string; outcome: CopyWaitEnd['outcome'] }[];
  /** Regions (and kinds) whose describe failed: their copies wait for the next sweep. */
  failed: { region: string; kind: CopyKindName; error: string }[];
  /** Ended copies whose wait could not be ended (its signal, its slot's wake-up): the next sweep's. */
  failedEnds: { key: string; error: string }[];
}

const errorName = (error: unknown) => (error as Error).name || String(error);

/** One sweep: every live copy waiter looked up in EC2, and the ended copies' waits ended. */
export async function sweepCopyWaits(deps: SweepDeps): Promise<SweepResult> {
  const groups = sweepGroupsOf(await deps.listing.all(), deps.now());
  const result: SweepResult = {
    waiting: 0,
    running: 0,
    missing: [],
    ended: [],
    failed: [],
    failedEnds: [],
  };
  // One group after the other: a few calls each, and an hourly run has no hurry to share EC2's rate.
  for (const group of groups) {
    result.waiting += group.copyIds.length;
    let verdict: GroupVerdict;
    try {
      verdict = verdictOf(group, await deps.describe(group.region, group.kind, group.copyIds));
    } catch (error) {
      // Throttling has had the SDK's retries already; what is left is this Region's alone.
      result.failed.push({ region: group.region, kind: group.kind, error: errorName(error) });
      deps.log.warn('copy sweep of a Region failed', { region: group.region, kind: group.kind, error });
      continue;
    }
    result.running += verdict.running.length;
    result.missing.push(...verdict.missing);
    // One copy at a time: a wait that cannot be ended (SendTaskSuccess or the table failing after the SDK's
    // retries) is that copy's alone, and the group's other ended copies still have theirs ended.
    for (const ended of verdict.ended) {
      try {
        const end = await endCopyWait(ended, 'sweep', deps);
        result.ended.push({ key: end.key, outcome: end.outcome });
      } catch (error) {
        const key = waiterKeyOf(ended.region, ended.copyId);
        result.failedEnds.push({ key, error: errorName(error) });
        deps.log.warn('copy sweep could not end a wait', { key, error });
      }
    }
  }
  deps.log.info('copy sweep', {
    waiting: result.waiting,
    running: result.running,
    ended: result.ended.length,
    missing: result.missing.length,
    failed: result.failed,
    failedEnds: result.failedEnds,
  });
  return result;
}
