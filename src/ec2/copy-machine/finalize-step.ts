import type { HeldCopy } from '#ec2/copy-protection';
import { MARKER } from '#ec2/markers';
import { copiesToPrune } from '#ec2/retention';
import { checkTags } from '#ec2/tag-limits';
import { ec2RpoItem, machineMonitorOf } from '#rpo/items';
import { observeVerified } from '#rpo/observe';
import { handOnSlot } from './await-slot-step.ts';
import type { CopyProgress, Ec2CopyJob } from './contract.ts';
import { copyTagsOf, withoutAwsTags } from './copy-tags.ts';
import { permanent, raise, withinTagLimits } from './error-translation.ts';
import { type CopyProtection, heldCopies, protectCopy } from './protect-copy.ts';
import { destinationClient, type Ec2CopyStepDeps } from './step-deps.ts';

/**
 * The finalize step: verify the completed copy's tags, lock and protect it, archive it, and prune its group
 * by retention, leaving the copies a lock or a protection holds (`held`).
 */
export interface FinalizedCopy extends CopyProtection {
  copy: string;
  region: string;
  archived: boolean;
  tagged: string[];
  pruned: string[];
  held: HeldCopy[];
}

export async function finalizeCopy(
  job: Ec2CopyJob,
  copy: CopyProgress,
  deps: Ec2CopyStepDeps,
): Promise<FinalizedCopy> {
  const kind = deps.kinds[job.kind];
  const client = destinationClient(job, deps);
  const view = await kind.describe(client, copy.id).catch(raise);
  if (view?.state !== 'completed') {
    throw permanent(
      'CopyNotCompleted',
      `${copy.id} is ${view?.state ?? 'gone'}; only a completed copy is finalized`,
    );
  }

  // Verify, don't hope: every tag the copy must carry is read back, and the missing ones are set.
  const wanted = withinTagLimits(() => copyTagsOf(job));
  const missing = Object.fromEntries(
    Object.entries(wanted).filter(([key, value]) => view.tags[key] !== value),
  );
  if (Object.keys(missing).length > 0) {
    // CreateTags counts the tags the copy has already (someone may have added some): refused past 50.
    withinTagLimits(() => checkTags({ ...withoutAwsTags(view.tags), ...missing }, `${view.id} once tagged`));
    await kind.tag(client, view, missing).catch(raise);
  }

  // Locked before it is archived or anything is pruned: a copy that counts as kept is a locked one.
  const protection = await protectCopy(job, view, client, kind, deps.now());

  let archived = false;
  if (job.destination.archive && kind.archive) {
    // A retried finalize finds the copy archived already: EC2 would refuse to archive it again.
    if (view.storageTier !== 'archive') await kind.archive(client, view.id).catch(raise);
    archived = true;
  }

  const pruned: string[] = [];
  const held: HeldCopy[] = [];
  if (job.destination.retain) {
    const group = { [MARKER.rule]: job.rule, [MARKER.group]: wanted[MARKER.group] ?? '' };
    const copies = await kind.findCopies(client, group).catch(raise);
    const expired = copiesToPrune(
      copies.map((c) => ({ id: c.id, createdAt: c.createdAt, finished: c.state === 'completed' })),
      job.destination.retain,
      { now: deps.now(), keep: view.id },
    );
    // In retention's order (oldest last), as before locks were read.
    const candidates = expired.flatMap((id) => copies.filter((c) => c.id === id));
    // Never a delete EC2 would refuse: what a lock or a protection holds stays until it allows the delete.
    const holds = candidates.length > 0 ? await heldCopies(job, client, candidates) : new Map();
    for (const old of candidates) {
      const hold = holds.get(old.id);
      if (hold) {
        held.push(hold);
        continue;
      }
      await kind.remove(client, old).catch(raise);
      pruned.push(old.id);
    }
  }

  deps.metrics.resourceCopied(job.kind, job.rule, deps.now() - Date.parse(job.eventTime));
  const rpoItem = deps.rpo ? ec2RpoItem(job) : undefined;
  // The execution ran at least from the copy's start: started past the pass judging the deadline (a copy
  // reconcile sent after a lost event), the monitor never saw it pending, so the missed event is owed here.
  if (rpoItem && deps.rpo)
    await observeVerified(rpoItem, deps.now(), machineMonitorOf(copy.startedAt, job.attempt), deps.rpo);
  if (pruned.length > 0) deps.metrics.pruned(job.kind, job.rule, pruned.length);
  if (held.length > 0) {
    deps.metrics.heldByLock(job.kind, job.rule, held.length);
    deps.log.info('Copies past their retention held by a lock or protection', {
      held,
      rule: job.rule,
      region: job.destination.region,
    });
  }
  const result: FinalizedCopy = {
    copy: view.id,
    region: job.destination.region,
    archived,
    tagged: Object.keys(missing),
    ...protection,
    pruned,
    held,
  };
  deps.log.info('Copy completed and verified', { ...result, source: job.source.id, rule: job.rule });
  await handOnSlot(job, copy.id, deps);
  return result;
}
