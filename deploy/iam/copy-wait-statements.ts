import { SLOT_QUEUE_INDEX } from '#ec2/copy-machine/slot-queue';
import type { ImageRule, SnapshotRule } from '#rules/ec2-schema';
import { completionRegionsOf } from '#rules/event-patterns';
import { join } from './cfn.ts';
import type { StatementList } from './statement-list.ts';
import type { IamContext } from './types.ts';

/**
 * Event-driven waiting for EC2 copies (statemachines/ec2-copy.ts, AwaitCopy): the copy step stores each
 * waiting task's token in the copy-waiters table and, when it finds the copy already settled, ends the wait
 * itself (src/ec2/copy-machine/await-step.ts: PutItem, SendTaskSuccess, conditional DeleteItem); the
 * completion handler reads the waiter, ends the wait and deletes it (src/ec2/copy-machine/completion.ts:
 * GetItem, SendTaskSuccess, conditional DeleteItem). A copy refused for the copy limit stores its token in its
 * slot queue (AwaitSlot: PutItem), and the end of a copy wakes the oldest such waiter: the completion handler,
 * and the copy's own Finalize or RecordFailure as a fallback (a conditional PutItem that claims the slot, a
 * Query on the slot-queue index, SendTaskSuccess, a conditional DeleteItem). Each gets exactly the item actions it calls, on the one
 * table (DynamoDB's table resource: https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazondynamodb.html).
 *
 * SendTaskSuccess names only a task token, and the Service Authorization Reference lists no resource type
 * and no condition key of its own for it: "you must specify all resources ("*")"
 * (https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsstepfunctions.html). So it is
 * on `*`, bounded to the home Region (`aws:RequestedRegion`, where the machines run); what it can end is
 * bounded by the token, an opaque string Step Functions gives only to the waiting task, which these two
 * functions learn only from the table (README, "The remaining `*` grants"). SendTaskFailure is not granted: a failed copy is signalled with SendTaskSuccess too, and CheckCopy judges
 * it from EC2 (README, "Waiting for the copy by event").
 *
 * Nothing when no destination can be waited for by event (no EC2 rules, or every copy made by a
 * destination's role in another account, which is polled).
 */
/** The Region the stack (and so its state machines) is deployed in. */
const HOME_REGION = { Ref: 'AWS::Region' };

export function copyWaitStatements(
  list: StatementList,
  snapshotRules: readonly SnapshotRule[],
  imageRules: readonly ImageRule[],
  context: IamContext,
  itemActions: readonly ('dynamodb:PutItem' | 'dynamodb:GetItem' | 'dynamodb:DeleteItem' | 'dynamodb:Scan')[],
  /**
   * The copy step waits for a slot by token for every destination (a copy a role makes queues under that
   * account's limit too, woken by the Finalize of the copy before it), so it needs the table whenever
   * there are EC2 rules, not only when some copy's event reaches the stack.
   */
  slotsForEveryCopy = false,
): StatementList {
  const awaited = completionRegionsOf(snapshotRules).length > 0 || completionRegionsOf(imageRules).length > 0;
  const copies = snapshotRules.length > 0 || imageRules.length > 0;
  if (!awaited && !(slotsForEveryCopy && copies)) return list;
  list.add({ sid: 'CopyWaiters', actions: itemActions, resources: [context.copyWaitersTableArn] });
  // Both wake the oldest copy waiting for a slot (src/ec2/copy-machine/slot-queue.ts): a Query on the
  // table's slot-queue index, whose ARN is the table's `/index/<name>` (the Service Authorization Reference's
  // `index` resource type of dynamodb:Query).
  list.add({
    sid: 'SlotQueue',
    actions: ['dynamodb:Query'],
    resources: [join(context.copyWaitersTableArn, `/index/${SLOT_QUEUE_INDEX.name}`)],
  });
  list.add({
    sid: 'EndCopyWaits',
    actions: ['states:SendTaskSuccess'],
    resources: '*',
    condition: { StringEquals: { 'aws:RequestedRegion': [HOME_REGION] } },
  });
  return list;
}

/**
 * The hourly sweep (src/ec2/copy-machine/sweep.ts): a Scan of the table (the table resource, as the item
 * actions), then what the completion handler does for each copy that ended (the same path: GetItem, the slot
 * claim's PutItem, DeleteItem, the slot-queue Query, SendTaskSuccess), and DescribeSnapshots / DescribeImages,
 * which have no resource-level permissions, on `*` in the destination Regions whose copies are awaited
 * (`aws:RequestedRegion`, as every Describe: statement-list.ts). Nothing when no copy is waited for by event.
 */
export function copySweepStatements(
  snapshotRules: readonly SnapshotRule[],
  imageRules: readonly ImageRule[],
  context: IamContext,
  list: StatementList,
): StatementList {
  const snapshots = completionRegionsOf(snapshotRules);
  const images = completionRegionsOf(imageRules);
  if (snapshots.length === 0 && images.length === 0) return list;
  if (snapshots.length > 0) list.describe('ec2:DescribeSnapshots', snapshots);
  if (images.length > 0) list.describe('ec2:DescribeImages', images);
  return copyWaitStatements(list, snapshotRules, imageRules, context, [
    'dynamodb:Scan',
    'dynamodb:GetItem',
    'dynamodb:PutItem',
    'dynamodb:DeleteItem',
  ]);
}
