import { Ec2CopyJobSchema } from '#ec2/copy-machine/contract';
import { CopyJobSchema } from '#objects/copy-machine/contract';
import { ec2RpoItem, objectRpoItem } from './items.ts';
import type { Backlog } from './metrics.ts';
import { type RpoDeps, sendRpoEvent } from './observe.ts';
import {
  deadlineOf,
  fallsIn,
  itemIdOf,
  judgedWindow,
  MONITOR_WINDOW_MS,
  type RpoItem,
  type Window,
} from './threshold.ts';

/**
 * The backlog monitor: one stateless pass per window (threshold.ts, `judgedWindow`). It lists what is
 * pending for every rule with an RPO, sends "Ferry Replication Missed Threshold" for each pending item whose
 * deadline fell in the window just closed (so each item's missed event is sent by exactly one pass), and
 * publishes each rule's backlog: the oldest pending age, the pending count and bytes. What is pending:
 * - in flight: RUNNING executions of the object-copy, snapshot-copy and image-copy machines, read back from
 *   their input (ListExecutions + DescribeExecution), exact;
 * - in the dead-letter queue: the object events waiting there, routed to their rules (dead-letters.ts),
 *   approximate (SQS samples its servers);
 * - not pending but judged: items whose execution ended without the copy before their deadline, with no
 *   other attempt running or succeeded (src/rpo/ended.ts): they get their missed event from the pass too;
 * - what reconcile found missing is copied at once, so it is in flight or judged when verified: see README
 *   "Recovery-point objective" for what is approximated.
 */

export interface PendingItem extends RpoItem {
  /** `failed`: its execution ended without the copy (src/rpo/ended.ts): judged, not counted as pending. */
  where: 'in-flight' | 'dead-letter' | 'missing' | 'failed';
  cause?: string;
}

export interface BacklogPass {
  window: Window;
  missed: PendingItem[];
  backlogs: Map<string, Backlog>;
}

export async function monitorBacklog(
  now: number,
  rules: readonly string[],
  pending: readonly PendingItem[],
  deps: RpoDeps,
  windowMs = MONITOR_WINDOW_MS,
  ended: readonly PendingItem[] = [],
): Promise<BacklogPass> {
  const window = judgedWindow(now, windowMs);
  const judged = [...pending, ...ended].filter((item) => fallsIn(deadlineOf(item), window));
  // One event per item: an ended attempt beside a RUNNING one of the same copy is the pending one's.
  const ids = new Set<string>();
  const missed = judged.filter((item) => {
    const id = itemIdOf(item);
    if (ids.has(id)) return false;
    ids.add(id);
    return true;
  });
  for (const item of missed) await sendRpoEvent('missed', item, now, item.cause ?? item.where, deps);
  const backlogs = new Map<string, Backlog>(
    rules.map((rule) => [rule, { oldestAgeMs: 0, count: 0, bytes: 0 }]),
  );
  for (const item of pending) {
    const backlog = backlogs.get(item.rule);
    if (!backlog) continue;
    backlog.count += 1;
    backlog.bytes += item.bytes ?? 0;
    backlog.oldestAgeMs = Math.max(backlog.oldestAgeMs, now - item.sourceTime);
  }
  for (const [rule, backlog] of backlogs) deps.metrics.backlog(rule, backlog);
  return { window, missed, backlogs };
}

/**
 * The pending item a running execution's input stands for, if its rule sets an RPO: an object-copy job or a
 * snapshot/image-copy job (the machines' own contracts parse it).
 */
export function pendingOfExecution(
  machine: 'object-copy' | 'snapshot-copy' | 'image-copy',
  input: unknown,
): PendingItem | undefined {
  if (machine === 'object-copy') {
    const job = CopyJobSchema.safeParse(input);
    if (!job.success) return undefined;
    const item = objectRpoItem(job.data.plan, job.data.source);
    return item ? { ...item, where: 'in-flight', cause: job.data.reason } : undefined;
  }
  const job = Ec2CopyJobSchema.safeParse(input);
  if (!job.success) return undefined;
  const item = ec2RpoItem(job.data);
  return item ? { ...item, where: 'in-flight', cause: `${job.data.kind} copy in progress` } : undefined;
}
