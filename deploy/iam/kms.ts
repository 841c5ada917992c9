import type { ObjectRule } from '#rules/schema';
import { s3BucketArn, sourceKeys, viaService } from './arns.ts';
import { type Cfn, join } from './cfn.ts';
import type { StatementList } from './statement-list.ts';
import type { Condition, Names } from './types.ts';

/** KMS keys as the rules name them (key ARN, alias, bare key id), and the statements that use them. */

interface KeyResource {
  resource: Cfn;
  /** `alias/name` when the rule names the key by an alias: the statement then requires that alias. */
  alias?: string;
}

const KMS_ARN = /^arn:([^:]+):kms:([^:]+):([^:]+):(key|alias)\/(.+)$/;

/**
 * The IAM resource of a key as a rule names it: a key ARN as is; an alias (or alias ARN) as `key/*` of its
 * Region and account plus the alias, which `kms:ResourceAliases` then requires; a bare key id as its ARN.
 * An alias or a key id resolves in the caller's account and the Region of the request S3 or EC2 makes (the
 * destination's for a write, the source bucket's for a source's decryption).
 */
export function kmsKeyResource(key: string, region: Cfn, names: Pick<Names, 'partition' | 'account'>) {
  const arn = KMS_ARN.exec(key);
  if (arn) {
    const [, partition = '', keyRegion = '', account = '', type, id = ''] = arn;
    if (type === 'key') return { resource: key } satisfies KeyResource;
    return {
      resource: `arn:${partition}:kms:${keyRegion}:${account}:key/*`,
      alias: `alias/${id}`,
    } satisfies KeyResource;
  }
  const inRegion = (id: string) =>
    join('arn:', names.partition, ':kms:', region, ':', names.account, ':key/', id);
  if (key.startsWith('alias/')) return { resource: inRegion('*'), alias: key } satisfies KeyResource;
  return { resource: inRegion(key) } satisfies KeyResource;
}

export function keyCondition(names: Names, service: 's3' | 'ec2', region: Cfn, key: KeyResource): Condition {
  return {
    StringEquals: { 'kms:ViaService': viaService(names, service, region) },
    ...(key.alias ? { 'ForAnyValue:StringEquals': { 'kms:ResourceAliases': [key.alias] } } : {}),
  };
}

/**
 * What a copy of an SSE-KMS source needs on the source's key: S3 decrypts the source with the copier's
 * permissions, kms:Decrypt ("Permissions", https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html;
 * the same for UploadPartCopy, https://docs.aws.amazon.com/AmazonS3/latest/userguide/mpuoverview.html#mpuAndPermissions),
 * asked by S3 in the source bucket's Region (`kms:ViaService`). S3 names what it decrypts in the encryption
 * context `aws:s3:arn`: the object's ARN, or the bucket's ARN when the object is under an S3 Bucket Key ("When
 * an S3 Bucket Key is enabled for the source or destination bucket, the encryption context will be the bucket
 * Amazon Resource Name (ARN) and not the object ARN",
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/configuring-bucket-key.html; condition key
 * `kms:EncryptionContext:context-key`, https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html).
 * Both are allowed, and nothing else: the rule's own key space, or its bucket. The bucket form reaches its
 * other keys' data keys only through S3, which still asks for s3:GetObject on the key space alone.
 */
export function sourceKeyDrafts(list: StatementList, names: Names, rule: ObjectRule, homeRegion: Cfn): void {
  // A source without `region` is in the stack's home Region.
  const region: Cfn = rule.objects.region ?? homeRegion;
  for (const kmsKeyId of rule.objects.kmsKeys ?? []) {
    const key = kmsKeyResource(kmsKeyId, region, names);
    list.add({
      sid: 'DecryptSources',
      actions: ['kms:Decrypt'],
      resources: [key.resource],
      condition: {
        ...keyCondition(names, 's3', region, key),
        StringLike: {
          'kms:EncryptionContext:aws:s3:arn': [
            s3BucketArn(names, rule.objects.bucket),
            sourceKeys(names, rule),
          ],
        },
      },
    });
  }
}

/**
 * What EBS needs on the key of an encrypted copy ("Permissions for users", Amazon EBS encryption
 * requirements): a grant for EC2 itself, and the data-key operations. Archiving an encrypted snapshot needs
 * a subset (CreateGrant, Decrypt, DescribeKey).
 */
const EBS_KEY_ACTIONS = [
  'kms:Decrypt',
  'kms:DescribeKey',
  'kms:GenerateDataKeyWithoutPlaintext',
  'kms:ReEncryptFrom',
  'kms:ReEncryptTo',
];

export function ebsKeyDrafts(list: StatementList, names: Names, kmsKeyId: string, region: string): void {
  const key = kmsKeyResource(kmsKeyId, region, names);
  const condition = keyCondition(names, 'ec2', region, key);
  list.add({ sid: 'UseCopyKeys', actions: EBS_KEY_ACTIONS, resources: [key.resource], condition });
  list.add({
    sid: 'GrantCopyKeysToEc2',
    actions: ['kms:CreateGrant'],
    resources: [key.resource],
    condition: { ...condition, Bool: { 'kms:GrantIsForAWSResource': 'true' } },
  });
}
