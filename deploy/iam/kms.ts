import { viaService } from './arns.ts';
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
 * An alias or a key id resolves in the caller's account and the destination's Region.
 */
export function kmsKeyResource(key: string, region: string, names: Pick<Names, 'partition' | 'account'>) {
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

export function keyCondition(
  names: Names,
  service: 's3' | 'ec2',
  region: string,
  key: KeyResource,
): Condition {
  return {
    StringEquals: { 'kms:ViaService': viaService(names, service, region) },
    ...(key.alias ? { 'ForAnyValue:StringEquals': { 'kms:ResourceAliases': [key.alias] } } : {}),
  };
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
