import { MARKER } from '#ec2/markers';
import type { ImageRule, SnapshotRule } from '#rules/ec2-schema';
import { type Ec2ResourceType, ec2Arns } from './arns.ts';
import { literalInArn, unique } from './cfn.ts';
import { ebsKeyDrafts } from './kms.ts';
import { assumeRoles } from './shared-statements.ts';
import { StatementList } from './statement-list.ts';
import type { Condition, Names } from './types.ts';

/** Statements of the EBS snapshot and AMI copy function, ec2-copy-step (src/ec2). */

const MARKED = { Null: { [`aws:ResourceTag/${MARKER.sourceId}`]: 'false' } } satisfies Condition;
/** A source, never one of Ferry's copies: the handlers skip those (no loops), so Ferry never shares one. */
const NOT_MARKED = { Null: { [`aws:ResourceTag/${MARKER.sourceId}`]: 'true' } } satisfies Condition;

/**
 * The bounds of sharing an image (ModifyImageAttribute, launch permission). IAM has no key for the account
 * a launch permission is given to: `ec2:Add/userId` is defined for ModifySnapshotAttribute only, and the
 * image resource of ModifyImageAttribute takes `aws:ResourceTag/${TagKey}`, `ec2:Attribute`, `ec2:ImageID`,
 * `ec2:Owner`, `ec2:Public`, … (Service Authorization Reference, Amazon EC2:
 * https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonec2.html). A condition on a
 * key the request does not carry never matches, so `ec2:Add/userId` here would deny every share. What bounds
 * the statement instead: the source Regions (its resources), the rule's own source filter (`images.tags`,
 * the tags every image the rule copies carries) and never one of Ferry's copies. The image's snapshots,
 * which the destination needs to copy it, are shared only with the destination accounts (above).
 */
function imageShareCondition(rule: ImageRule): Condition {
  const tags = Object.entries(rule.images.tags ?? {});
  return {
    ...(tags.length > 0
      ? {
          StringEquals: Object.fromEntries(
            tags.map(([key, value]) => [`aws:ResourceTag/${key}`, literalInArn(value)]),
          ),
        }
      : {}),
    ...NOT_MARKED,
  };
}

/**
 * Locks and protection (src/ec2/copy-machine/protect-copy.ts), only for the destinations that ask for them and
 * only on Ferry's copies. Retention reads locks before it deletes anything (DescribeLockedSnapshots, which has
 * no resource-level permissions: `*`, by Region), so a destination with `retain` needs that read too.
 * Actions and resources: "Control access to Amazon EBS snapshot lock"
 * (https://docs.aws.amazon.com/ebs/latest/userguide/snapshot-lock-iam.html), "Protect an Amazon EC2 AMI from
 * deregistration" (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/ami-deregistration-protection.html),
 * and the Service Authorization Reference's EC2 page (LockSnapshot on snapshot, EnableImageDeregistrationProtection
 * and EnableImageDeprecation on image, each with aws:ResourceTag/${TagKey}).
 */
function ec2ProtectionDrafts(
  list: StatementList,
  names: Names,
  image: boolean,
  destination: SnapshotRule['to'][number] | ImageRule['to'][number],
): void {
  const region = destination.region;
  if (destination.lock || destination.retain) list.describe('ec2:DescribeLockedSnapshots', [region]);
  if (destination.lock) {
    list.add({
      sid: 'LockFerryCopies',
      actions: ['ec2:LockSnapshot'],
      resources: ec2Arns(names, [region], ['snapshot']),
      condition: MARKED,
    });
  }
  if (!image) return;
  const { deregistrationProtection, deprecateAfter } = destination as ImageRule['to'][number];
  const actions = [
    ...(deregistrationProtection ? ['ec2:EnableImageDeregistrationProtection'] : []),
    ...(deprecateAfter ? ['ec2:EnableImageDeprecation'] : []),
  ];
  if (actions.length > 0) {
    list.add({
      sid: 'ProtectFerryImageCopies',
      actions,
      resources: ec2Arns(names, [region], ['image']),
      condition: MARKED,
    });
  }
}

/** The ec2-copy-step function: start, check, finalize and clean up copies (src/ec2/copy-machine/copy-steps.ts). */
export function ec2CopyStepStatements(
  snapshotRules: readonly SnapshotRule[],
  imageRules: readonly ImageRule[],
  names: Names,
): StatementList {
  const list = new StatementList();
  const roles: string[] = [];
  const kinds = [
    ...snapshotRules.map((rule) => ({ type: 'snapshot' as const, sources: rule.snapshots.regions, rule })),
    ...imageRules.map((rule) => ({ type: 'image' as const, sources: rule.images.regions, rule })),
  ];
  for (const { type, sources, rule } of kinds) {
    const image = type === 'image';
    const owned: Ec2ResourceType[] = image ? ['image', 'snapshot'] : ['snapshot'];
    for (const destination of rule.to) {
      if (destination.account) {
        // Sharing the source with the destination account, from the source Region with Ferry's own role.
        // The share stays once the copy is done (README, "Permissions"): a share is per account, not per
        // copy, and other copies of the same source into that account (another Region, another rule, a
        // retry) may still be reading it; Ferry keeps no count of them, so removing it could fail those.
        list.add({
          sid: 'ShareSourceSnapshots',
          actions: ['ec2:ModifySnapshotAttribute'],
          resources: ec2Arns(names, sources, ['snapshot']),
          condition: { StringEquals: { 'ec2:Add/userId': [destination.account] }, ...NOT_MARKED },
        });
        if ('images' in rule) {
          list.add({
            sid: 'ShareSourceImages',
            actions: ['ec2:ModifyImageAttribute'],
            resources: ec2Arns(names, sources, ['image']),
            condition: imageShareCondition(rule),
          });
          list.describe('ec2:DescribeImages', sources); // the shared image's snapshots
        }
      }
      if (destination.roleArn) {
        roles.push(destination.roleArn);
        continue;
      }
      const region = destination.region;
      list.describe('ec2:DescribeSnapshots', [region]);
      if (image) list.describe('ec2:DescribeImages', [region]);
      // The copy is authorized on the new resource (destination Region) and on the source (its Region); the
      // request reaches both Regions (CopySnapshot signs a presigned URL for the source Region).
      list.add({
        sid: image ? 'CopyImages' : 'CopySnapshots',
        actions: [image ? 'ec2:CopyImage' : 'ec2:CopySnapshot'],
        resources: [...ec2Arns(names, [region], owned), ...ec2Arns(names, sources, owned)],
        condition: { StringEquals: { 'aws:RequestedRegion': unique([region, ...sources]) } },
      });
      // Tags given with the copy (TagSpecifications) are a CreateTags authorized by the creating action.
      list.add({
        sid: 'TagNewCopies',
        actions: ['ec2:CreateTags'],
        resources: ec2Arns(names, [region], owned),
        condition: { StringEquals: { 'ec2:CreateAction': [image ? 'CopyImage' : 'CopySnapshot'] } },
      });
      // Finalize re-tags what is missing, only on Ferry's copies.
      list.add({
        sid: 'RetagFerryCopies',
        actions: ['ec2:CreateTags'],
        resources: ec2Arns(names, [region], owned),
        condition: MARKED,
      });
      // Failed copies, and copies past their retention, are removed: only Ferry's.
      list.add({
        sid: 'RemoveFerryCopies',
        actions: ['ec2:DeleteSnapshot', ...(image ? ['ec2:DeregisterImage'] : [])],
        resources: ec2Arns(names, [region], owned),
        condition: MARKED,
      });
      if ('archive' in destination && destination.archive) {
        list.add({
          sid: 'ArchiveFerryCopies',
          actions: ['ec2:ModifySnapshotTier'],
          resources: ec2Arns(names, [region], ['snapshot']),
          condition: MARKED,
        });
      }
      ec2ProtectionDrafts(list, names, image, destination);
      if (destination.kmsKeyId) ebsKeyDrafts(list, names, destination.kmsKeyId, region);
    }
  }
  assumeRoles(list, roles);
  return list;
}
