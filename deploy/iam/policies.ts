import { rpoMachinesOf } from '#rpo/rules';
import { type FerryConfig, imageRulesOf, objectRulesOf, snapshotRulesOf } from '#rules/config';
import { DELIVERY_POLL_ACTIONS, deliveryQueueArn } from '../sqs-delivery.ts';
import { copySweepStatements, copyWaitStatements } from './copy-wait-statements.ts';
import { ec2CopyStepStatements } from './ec2-statements.ts';
import { addInventoryReads } from './inventory-statements.ts';
import { objectStatements } from './object-statements.ts';
import { reconcileStatements } from './reconcile-statements.ts';
import { putRpoEvents, rpoDeadLetterReads, rpoMonitorStatements } from './rpo-statements.ts';
import { startCopies } from './shared-statements.ts';
import { StatementList } from './statement-list.ts';
import { addObjectTagSync, ec2TagSyncStatements, objectTagSyncStatements } from './tag-sync-statements.ts';
import type { FunctionPolicies, IamContext, Names } from './types.ts';

/**
 * Least-privilege IAM statements for each Lambda function, generated from `replication.yml` at package time.
 * Pure: the rules and the deployment's names (partition, account, state machines) in, statements out. Every
 * statement names exactly what the function calls (the modules cited below), on the resources the rules name:
 *
 * - S3: read only the configured source key spaces (`bucket/prefix*suffix`), write only the replicas' key
 *   spaces (`keyPrefix` or the prefix). A destination with `roleArn` gets no S3 permission here: Ferry
 *   assumes that role (`sts:AssumeRole` on exactly those roles) and the role writes.
 * - KMS: only the configured keys, each through `kms:ViaService` (S3 or EC2 in the destination Region); an
 *   alias becomes `key/*` in that Region and account, narrowed by `kms:ResourceAliases`.
 * - EC2: Describe* (no resource-level permissions) on `*`, but only in the Regions the rules name
 *   (`aws:RequestedRegion`); copies on snapshot/image ARNs of the source and destination Regions; tags only
 *   on creation by a copy or on Ferry's own copies; delete, deregister and archive only what carries
 *   Ferry's `ferry:source-id` marker: never touch what Ferry did not make.
 * - Step Functions: StartExecution only on the machine each function starts, and DescribeExecution on that
 *   machine's executions (a copy whose execution failed gets another attempt); SendTaskSuccess, which names
 *   no resource, on `*` in the home Region, for the waits the copy-waiters table holds (copy-wait-statements.ts).
 * - DynamoDB: only the item actions each function calls, only on the copy-waiters table, and Query only on
 *   its slot-queue index.
 *
 * No write action is on `*` but those without a resource (`WILDCARD_ONLY_WRITES`: SendTaskSuccess), which
 * `writeActionsOnWildcard` checks.
 */
export function namesOf(context: IamContext): Names {
  const partition = context.partition ?? 'aws';
  const urlSuffix =
    context.urlSuffix ??
    (typeof partition !== 'string'
      ? { Ref: 'AWS::URLSuffix' }
      : partition === 'aws-cn'
        ? 'amazonaws.com.cn'
        : 'amazonaws.com');
  return { partition, urlSuffix, account: context.account };
}

/**
 * One statement list per Lambda function, each with exactly what that function calls for this
 * configuration; a function with nothing to do gets none.
 */
export function iamPolicies(
  config: Pick<FerryConfig, 'rules'> & { deployment?: Pick<FerryConfig['deployment'], 'delivery'> },
  context: IamContext,
): FunctionPolicies {
  const names = namesOf(context);
  const objects = objectRulesOf(config);
  const snapshots = snapshotRulesOf(config);
  const images = imageRulesOf(config);

  const snapshotCreated = new StatementList();
  if (snapshots.length > 0) {
    // Reads the created snapshots in their Region (tags, volume, encryption), then starts one copy each.
    snapshotCreated.describe(
      'ec2:DescribeSnapshots',
      snapshots.flatMap((rule) => rule.snapshots.regions),
    );
    startCopies(snapshotCreated, 'Snapshot', context.stateMachineArns.snapshotCopy);
  }
  const imageAvailable = new StatementList();
  if (images.length > 0) {
    imageAvailable.describe(
      'ec2:DescribeImages',
      images.flatMap((rule) => rule.images.regions),
    );
    startCopies(imageAvailable, 'Image', context.stateMachineArns.imageCopy);
  }

  // Functions that verify copies of rules with `rpo` send RPO events (src/rpo): the object fast path (also
  // reconcile's, which copies through it), the object-copy step, and the EC2 copy step.
  const objectRpo = objects.some((rule) => rule.rpo !== undefined);
  const ec2Rpo = [...snapshots, ...images].some((rule) => rule.rpo !== undefined);
  const withRpo = (list: StatementList, judged: boolean): StatementList => {
    if (judged) putRpoEvents(list, names);
    return list;
  };
  const rpoMonitor = new StatementList();
  const judgedMachines = rpoMachinesOf(config);
  if (judgedMachines.length > 0) {
    const { objectCopy, snapshotCopy, imageCopy } = context.stateMachineArns;
    const arnOf = { 'object-copy': objectCopy, 'snapshot-copy': snapshotCopy, 'image-copy': imageCopy };
    rpoMonitorStatements(
      rpoMonitor,
      names,
      judgedMachines.map((machine) => arnOf[machine]),
    );
    rpoDeadLetterReads(rpoMonitor, names, { objects, snapshots, images });
  }
  // Reconcile compares replica tags where a destination copies them, and repairs them by PutObjectTagging.
  const reconcileWithTags = reconcileStatements(objects, snapshots, images, names, context);
  addObjectTagSync(reconcileWithTags, objects, names, { compare: true });
  // The inventory join sends through the same paths as reconcile (and HEAD-checks rows it cannot compare), so
  // it may do what reconcile does for object rules, and read the inventories and its work folder.
  const inventoryRules = objects.filter((rule) => rule.objects.inventory !== undefined);
  // The scheduled reconcile starts the inventory-reconcile machine for those rules (src/reconcile/scheduled.ts).
  const inventoryMachine = context.stateMachineArns.inventoryReconcile;
  if (inventoryRules.length > 0 && inventoryMachine !== undefined)
    reconcileWithTags.add({
      sid: 'StartInventoryRuns',
      actions: ['states:StartExecution'],
      resources: [inventoryMachine],
    });
  const inventoryBatch = reconcileStatements(inventoryRules, [], [], names, context);
  if (inventoryRules.length > 0) {
    addObjectTagSync(inventoryBatch, inventoryRules, names, { compare: true });
    addInventoryReads(inventoryBatch, inventoryRules, names);
  }

  // objectCreated's batch form (deployed with `deployment.delivery.mode: queue`): the same create path per
  // record, and what Lambda's poller does with the function's role on its own queue, and only there (the
  // actions of AWS's managed AWSLambdaSQSQueueExecutionRole; README, "Delivery in batches through SQS").
  const queued = config.deployment?.delivery.mode === 'queue';
  const objectCreatedBatch = queued
    ? withRpo(objectStatements('objectCreated', objects, names, context), objectRpo)
    : new StatementList();
  objectCreatedBatch.add({
    sid: 'PollDeliveryQueue',
    actions: [...DELIVERY_POLL_ACTIONS],
    resources: queued ? [deliveryQueueArn('objectCreatedBatch')] : [],
  });

  return {
    objectCreatedBatch: objectCreatedBatch.build('objectCreatedBatch'),
    objectCreated: withRpo(objectStatements('objectCreated', objects, names, context), objectRpo).build(
      'objectCreated',
    ),
    objectDeleted: objectStatements('objectDeleted', objects, names, context).build('objectDeleted'),
    objectCopyStep: withRpo(objectStatements('objectCopyStep', objects, names, context), objectRpo).build(
      'objectCopyStep',
    ),
    snapshotCreated: snapshotCreated.build('snapshotCreated'),
    imageAvailable: imageAvailable.build('imageAvailable'),
    ec2CopyStep: withRpo(
      copyWaitStatements(
        ec2CopyStepStatements(snapshots, images, names),
        snapshots,
        images,
        context,
        ['dynamodb:PutItem', 'dynamodb:DeleteItem'],
        true,
      ),
      ec2Rpo,
    ).build('ec2CopyStep'),
    ec2CopyCompleted: copyWaitStatements(new StatementList(), snapshots, images, context, [
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:DeleteItem',
    ]).build('ec2CopyCompleted'),
    ec2CopySweep: copySweepStatements(snapshots, images, context, new StatementList()).build('ec2CopySweep'),
    objectTagsChanged: objectTagSyncStatements(objects, names).build('objectTagsChanged'),
    ec2TagsChanged: ec2TagSyncStatements(snapshots, images, names).build('ec2TagsChanged'),
    reconcile: withRpo(reconcileWithTags, objectRpo).build('reconcile'),
    rpoMonitor: rpoMonitor.build('rpoMonitor'),
    inventoryBatch: withRpo(inventoryBatch, objectRpo).build('inventoryBatch'),
  };
}
