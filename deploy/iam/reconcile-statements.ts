import { sourceRegionsOf } from '#rules/config';
import type { ImageRule, SnapshotRule } from '#rules/ec2-schema';
import type { ObjectRule } from '#rules/schema';
import { replicaKeys } from './arns.ts';
import { objectStatements } from './object-statements.ts';
import { startCopies } from './shared-statements.ts';
import type { StatementList } from './statement-list.ts';
import type { IamContext, Names } from './types.ts';

/** Statements of the reconcile function (src/reconcile). */

/**
 * The reconcile function (src/reconcile): it lists each rule's sources, looks for their replicas and
 * copies, and sends what is missing through the handlers' own code: so what object-created does (copy,
 * hand off), listing the source key spaces, and describing sources and copies in every rule Region.
 */
export function reconcileStatements(
  objects: readonly ObjectRule[],
  snapshots: readonly SnapshotRule[],
  images: readonly ImageRule[],
  names: Names,
  context: IamContext,
): StatementList {
  const list = objectStatements('objectCreated', objects, names, context);
  // Listing a source (ListObjectsV2 under the rule's prefix) needs s3:ListBucket on the bucket, which
  // objectStatements already grants whole (ListSourceBuckets: a HEAD needs it to tell gone from refused).
  for (const rule of objects) {
    for (const destination of rule.to) {
      // A replica whose source is gone (its delete event lost) is deleted by the pass, as object-deleted
      // would have; a destination role does that in its own account.
      if (!destination.replicateDeletes || destination.roleArn) continue;
      list.add({
        sid: 'DeleteReplicasOfDeletedSources',
        actions: ['s3:DeleteObject'],
        resources: [replicaKeys(names, rule, destination)],
      });
    }
  }
  const regionsOf = (rules: readonly (SnapshotRule | ImageRule)[]) =>
    rules.flatMap((rule) => [...sourceRegionsOf(rule), ...rule.to.map((destination) => destination.region)]);
  if (snapshots.length > 0) {
    list.describe('ec2:DescribeSnapshots', regionsOf(snapshots));
    startCopies(list, 'Snapshot', context.stateMachineArns.snapshotCopy);
  }
  if (images.length > 0) {
    list.describe('ec2:DescribeImages', regionsOf(images));
    startCopies(list, 'Image', context.stateMachineArns.imageCopy);
  }
  return list;
}
