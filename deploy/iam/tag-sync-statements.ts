import { MARKER } from '#ec2/markers';
import type { ImageRule, SnapshotRule } from '#rules/ec2-schema';
import type { ObjectRule } from '#rules/schema';
import { ec2Arns, replicaKeys, s3BucketArn, sourceKeys } from './arns.ts';
import { unique } from './cfn.ts';
import { assumeRoles } from './shared-statements.ts';
import { StatementList } from './statement-list.ts';
import type { Condition, Names } from './types.ts';

/**
 * Statements of the functions that make replicas and copies follow their source's tag changes:
 * object-tags-changed (src/objects/tag-sync.ts) and ec2-tags-changed (src/ec2/tag-follow/follow.ts), and
 * what reconcile adds to compare and repair replica tags. Only rules with a destination that copies tags.
 */

/** Only Ferry's copies: what carries its ferry:source-id marker (as issue 13 bounded every later write). */
const MARKED = { Null: { [`aws:ResourceTag/${MARKER.sourceId}`]: 'false' } } satisfies Condition;

/**
 * Reading the tagged source (HEAD of its current object, GetObjectTagging of the event's version:
 * s3:GetObjectTagging, or s3:GetObjectVersionTagging with a version id,
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObjectTagging.html) and writing each replica's
 * tags (PutObjectTagging on the replica's version: s3:PutObjectTagging, or s3:PutObjectVersionTagging with a
 * VersionId, https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObjectTagging.html), after its HEAD.
 * s3:ListBucket on both buckets lets a HEAD of a missing key answer 404, not 403. With `compare`
 * (reconcile), the replica's tags are read too.
 */
export function objectTagSyncStatements(
  rules: readonly ObjectRule[],
  names: Names,
  options: { compare?: boolean; sourceReads?: boolean } = {},
): StatementList {
  const list = new StatementList();
  addObjectTagSync(list, rules, names, options);
  return list;
}

export function addObjectTagSync(
  list: StatementList,
  rules: readonly ObjectRule[],
  names: Names,
  options: { compare?: boolean; sourceReads?: boolean } = {},
): void {
  const copying = rules.filter((rule) => rule.to.some((destination) => destination.tags.copy));
  if (copying.length === 0) return;
  if (options.sourceReads !== false) {
    list.add({
      sid: 'ReadTaggedSources',
      actions: ['s3:GetObject', 's3:GetObjectTagging', 's3:GetObjectVersionTagging'],
      resources: copying.map((rule) => sourceKeys(names, rule)),
    });
    list.add({
      sid: 'ListSourceBuckets',
      actions: ['s3:ListBucket'],
      resources: copying.map((rule) => s3BucketArn(names, rule.objects.bucket)),
    });
  }
  const roles: string[] = [];
  for (const rule of copying) {
    for (const destination of rule.to) {
      if (!destination.tags.copy) continue;
      if (destination.roleArn) {
        roles.push(destination.roleArn);
        continue;
      }
      const replicas = replicaKeys(names, rule, destination);
      list.add({ sid: 'ReadReplicas', actions: ['s3:GetObject'], resources: [replicas] });
      list.add({
        sid: 'ListDestinationBuckets',
        actions: ['s3:ListBucket'],
        resources: [s3BucketArn(names, destination.bucket)],
      });
      list.add({
        sid: 'TagReplicas',
        actions: [
          's3:PutObjectTagging',
          's3:PutObjectVersionTagging',
          ...(options.compare ? ['s3:GetObjectTagging', 's3:GetObjectVersionTagging'] : []),
        ],
        resources: [replicas],
      });
    }
  }
  assumeRoles(list, roles);
}

/**
 * ec2-tags-changed: DescribeSnapshots / DescribeImages of the source in its Region and of Ferry's copies in
 * each destination Region, then CreateTags and DeleteTags on those copies only, bounded by
 * `aws:ResourceTag/ferry:source-id` (EC2 authorizes both on the resource's existing tags:
 * https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/supported-iam-actions-tagging.html).
 */
export function ec2TagSyncStatements(
  snapshotRules: readonly SnapshotRule[],
  imageRules: readonly ImageRule[],
  names: Names,
): StatementList {
  const list = new StatementList();
  const roles: string[] = [];
  const kinds = [
    ...snapshotRules.map((rule) => ({ image: false, sources: rule.snapshots.regions, rule })),
    ...imageRules.map((rule) => ({ image: true, sources: rule.images.regions, rule })),
  ];
  for (const { image, sources, rule } of kinds) {
    const copying = rule.to.filter((destination) => destination.copyTags);
    if (copying.length === 0) continue;
    list.describe(image ? 'ec2:DescribeImages' : 'ec2:DescribeSnapshots', sources);
    for (const destination of copying) {
      if (destination.roleArn) {
        roles.push(destination.roleArn);
        continue;
      }
      // An AMI copy's snapshots carry its tags (and Ferry's markers) and follow it (tag-follow/follow.ts).
      list.describe('ec2:DescribeSnapshots', [destination.region]);
      if (image) list.describe('ec2:DescribeImages', [destination.region]);
      list.add({
        sid: 'RetagFerryCopies',
        actions: ['ec2:CreateTags', 'ec2:DeleteTags'],
        resources: ec2Arns(names, [destination.region], image ? ['image', 'snapshot'] : ['snapshot']),
        condition: MARKED,
      });
    }
  }
  assumeRoles(list, unique(roles));
  return list;
}
