import type { ImageRule, SnapshotRule } from '#rules/ec2-schema';
import { completionEventReachesStack } from '#rules/event-patterns';
import type { Cfn } from './cfn.ts';
import type { StatementList } from './statement-list.ts';
import type { IamContext } from './types.ts';

/**
 * Event-driven waiting for EC2 copies (statemachines/ec2-copy.ts, AwaitCopy): the copy step stores each
 * waiting task's token in the copy-waiters table and, when it finds the copy already settled, ends the wait
 * itself (src/ec2/copy-machine/await-step.ts: PutItem, SendTaskSuccess, conditional DeleteItem); the
 * completion handler reads the waiter, ends the wait and deletes it (src/ec2/copy-machine/completion.ts:
 * GetItem, SendTaskSuccess, conditional DeleteItem). Each gets exactly the item actions it calls, on the one
 * table (DynamoDB's table resource: https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazondynamodb.html).
 *
 * SendTaskSuccess names only a task token. The Service Authorization Reference lists no resource type for
 * it (https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsstepfunctions.html), but
 * IAM evaluates a callback from a state machine's task against that state machine's ARN: a denial names
 * `…:stateMachine:NAME` as the resource, and a grant on the machine's ARN is honoured (reported in
 * aws/aws-cdk#8486). So it is granted on the copy machines of the kinds the rules copy, never `*`.
 * SendTaskFailure is not granted: a failed copy is signalled with SendTaskSuccess too, and CheckCopy judges
 * it from EC2 (README, "Waiting for the copy by event").
 *
 * Nothing when no destination can be waited for by event (no EC2 rules, or every copy made by a
 * destination's role in another account, which is polled).
 */
export function copyWaitStatements(
  list: StatementList,
  snapshotRules: readonly SnapshotRule[],
  imageRules: readonly ImageRule[],
  context: IamContext,
  itemActions: readonly ('dynamodb:PutItem' | 'dynamodb:GetItem' | 'dynamodb:DeleteItem')[],
): StatementList {
  const awaited = (rules: readonly { to: readonly { roleArn?: string | undefined }[] }[]) =>
    rules.some((rule) => rule.to.some(completionEventReachesStack));
  const machines: Cfn[] = [
    ...(awaited(snapshotRules) ? [context.stateMachineArns.snapshotCopy] : []),
    ...(awaited(imageRules) ? [context.stateMachineArns.imageCopy] : []),
  ];
  if (machines.length === 0) return list;
  list.add({ sid: 'CopyWaiters', actions: itemActions, resources: [context.copyWaitersTableArn] });
  list.add({ sid: 'EndCopyWaits', actions: ['states:SendTaskSuccess'], resources: machines });
  return list;
}
