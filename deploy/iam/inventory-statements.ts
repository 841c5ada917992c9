import { reportFolderOf } from '#reconcile/inventory/manifest';
import { workLocationOf } from '#reconcile/inventory/work';
import type { ObjectRule } from '#rules/schema';
import { s3BucketArn, s3KeysArn } from './arns.ts';
import type { StatementList } from './statement-list.ts';
import type { Names } from './types.ts';

/**
 * The inventory-batch function (src/reconcile/inventory/), beside what reconcile may do (it sends through
 * the same create and delete paths): read the reports of each rule's source and destination inventories
 * (list the report folders, get manifests and data files), and read and write its runs' work folder.
 */
export function addInventoryReads(list: StatementList, rules: readonly ObjectRule[], names: Names): void {
  for (const rule of rules) {
    const sides = [
      { bucket: rule.objects.bucket, location: rule.objects.inventory },
      ...rule.to.map((destination) => ({ bucket: destination.bucket, location: destination.inventory })),
    ];
    for (const { bucket, location } of sides) {
      if (!location) continue;
      list.add({
        sid: 'ReadInventoryReports',
        actions: ['s3:GetObject'],
        resources: [s3KeysArn(names, location.bucket, reportFolderOf(location, bucket))],
      });
      list.add({
        sid: 'ListInventoryReports',
        actions: ['s3:ListBucket'],
        resources: [s3BucketArn(names, location.bucket)],
      });
    }
    const work = workLocationOf(rule);
    if (!work) continue;
    list.add({
      sid: 'UseInventoryWorkFolder',
      actions: ['s3:GetObject', 's3:PutObject'],
      resources: [s3KeysArn(names, work.bucket, work.prefix)],
    });
  }
}
