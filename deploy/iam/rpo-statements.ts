import { DETAIL_TYPE, EVENT_SOURCE } from '#rpo/threshold';
import type { ImageRule, SnapshotRule } from '#rules/ec2-schema';
import type { ObjectRule } from '#rules/schema';
import { executionsArnOf, sourceKeys } from './arns.ts';
import { type Cfn, join } from './cfn.ts';
import type { StatementList } from './statement-list.ts';
import type { Names } from './types.ts';

/**
 * The RPO events (src/rpo/events.ts): PutEvents on the default bus of the deployment's own Region, only with
 * Ferry's source and its two detail types. Resource and keys after the Service Authorization Reference
 * (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoneventbridge.html: events:PutEvents
 * on `event-bus`, keys `events:source` and `events:detail-type`) and AWS's own example policy
 * (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-bus-example-policy-cross-account-custom-bus-source.html).
 * Added only to the functions that judge items of rules that set `rpo`.
 */
export function putRpoEvents(list: StatementList, names: Names): void {
  list.add({
    sid: 'PutRpoEvents',
    actions: ['events:PutEvents'],
    resources: [
      join(
        'arn:',
        names.partition,
        ':events:',
        { Ref: 'AWS::Region' },
        ':',
        names.account,
        ':event-bus/default',
      ),
    ],
    condition: {
      'ForAllValues:StringEquals': { 'events:source': [EVENT_SOURCE] },
      StringEquals: { 'events:detail-type': Object.values(DETAIL_TYPE) },
    },
  });
}

/**
 * The backlog monitor (src/rpo/in-flight.ts): ListExecutions on each copy machine (a `stateMachine`
 * resource) and DescribeExecution on its executions
 * (https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsstepfunctions.html), and its
 * missed-threshold events; and ReceiveMessage on the dead-letter queue (a `queue` resource, same reference),
 * whose messages it counts as pending items without deleting them (src/rpo/dead-letters.ts).
 */
export function rpoMonitorStatements(list: StatementList, names: Names, machines: readonly Cfn[]): void {
  list.add({ sid: 'ListCopyExecutions', actions: ['states:ListExecutions'], resources: [...machines] });
  list.add({
    sid: 'ReadCopyExecutions',
    actions: ['states:DescribeExecution'],
    resources: machines.map((machine) => executionsArnOf(machine)),
  });
  list.add({
    sid: 'ReadDeadLetters',
    actions: ['sqs:ReceiveMessage'],
    resources: [{ 'Fn::GetAtt': ['DeadLetterQueue', 'Arn'] }],
  });
  putRpoEvents(list, names);
}

/**
 * Routing the dead letters of rules with `rpo` to their rules (src/rpo/dead-letters.ts), as routing does:
 * DescribeSnapshots / DescribeImages in the source Regions of snapshot and image rules with `rpo` (Describe
 * actions take no resource: `*`, Amazon EC2 in the Service Authorization Reference,
 * https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonec2.html), and
 * GetObjectTagging (+Version: whether the bucket is versioned is not in the rules) on the sources of object
 * rules with `rpo` that filter on tags (https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObjectTagging.html).
 */
export function rpoDeadLetterReads(
  list: StatementList,
  names: Names,
  rules: { objects: readonly ObjectRule[]; snapshots: readonly SnapshotRule[]; images: readonly ImageRule[] },
): void {
  const judged = <Rule extends { rpo?: string | undefined }>(all: readonly Rule[]) =>
    all.filter((rule) => rule.rpo !== undefined);
  const snapshots = judged(rules.snapshots);
  if (snapshots.length > 0)
    list.describe(
      'ec2:DescribeSnapshots',
      snapshots.flatMap((rule) => rule.snapshots.regions),
    );
  const images = judged(rules.images);
  if (images.length > 0)
    list.describe(
      'ec2:DescribeImages',
      images.flatMap((rule) => rule.images.regions),
    );
  const tagged = judged(rules.objects).filter((rule) => Object.keys(rule.objects.tags ?? {}).length > 0);
  if (tagged.length > 0)
    list.add({
      sid: 'ReadDeadLetterSourceTags',
      actions: ['s3:GetObjectTagging', 's3:GetObjectVersionTagging'],
      resources: tagged.map((rule) => sourceKeys(names, rule)),
    });
}
