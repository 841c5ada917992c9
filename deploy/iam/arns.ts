import type { ObjectDestination, ObjectRule } from '#rules/schema';
import { type Cfn, join, literalInArn } from './cfn.ts';
import type { Names } from './types.ts';

/** IAM resource ARNs (S3 key spaces, EBS snapshots and AMIs, state machine executions) and service names for `kms:ViaService`. */

export const s3BucketArn = (names: Names, bucket: string): Cfn =>
  join('arn:', names.partition, ':s3:::', bucket);

/** Every key that starts with `prefix` and ends with `suffix`. */
export const s3KeysArn = (names: Names, bucket: string, prefix: string, suffix = ''): Cfn =>
  join('arn:', names.partition, ':s3:::', bucket, '/', literalInArn(prefix), '*', literalInArn(suffix));

export type Ec2ResourceType = 'snapshot' | 'image';

/** Snapshot and image ARNs carry no account: `arn:aws:ec2:us-west-2::snapshot/*`. */
export const ec2Arn = (names: Names, region: string, type: Ec2ResourceType): Cfn =>
  join('arn:', names.partition, ':ec2:', region, '::', type, '/*');

export const ec2Arns = (names: Names, regions: readonly string[], types: readonly Ec2ResourceType[]): Cfn[] =>
  types.flatMap((type) => regions.map((region) => ec2Arn(names, region, type)));

export const viaService = (names: Names, service: 's3' | 'ec2', region: Cfn): Cfn =>
  join(service, '.', region, '.', names.urlSuffix);
export const sourceKeys = (names: Names, rule: ObjectRule): Cfn =>
  s3KeysArn(names, rule.objects.bucket, rule.objects.prefix, rule.objects.suffix);

/** The replica's key space: the rule's prefix is replaced by `keyPrefix` when one is set (objects/router). */
export const replicaKeys = (names: Names, rule: ObjectRule, destination: ObjectDestination): Cfn =>
  s3KeysArn(names, destination.bucket, destination.keyPrefix ?? rule.objects.prefix, rule.objects.suffix);
/**
 * Every execution of a state machine: `arn:P:states:R:A:stateMachine:NAME` → `arn:P:states:R:A:execution:NAME:*`.
 * A plain ARN or an `Fn::Sub` of one (as the package builds it) is rewritten; any other intrinsic (a `Ref`
 * to the machine) is split on `:` at deploy time.
 */
export function executionsArnOf(stateMachineArn: Cfn): Cfn {
  const rewrite = (arn: string) => {
    const at = arn.lastIndexOf(':stateMachine:');
    if (at < 0) throw new Error(`${arn} is not a state machine ARN`);
    return `${arn.slice(0, at)}:execution:${arn.slice(at + ':stateMachine:'.length)}:*`;
  };
  if (typeof stateMachineArn === 'string') return rewrite(stateMachineArn);
  if ('Fn::Sub' in stateMachineArn && typeof stateMachineArn['Fn::Sub'] === 'string')
    return { 'Fn::Sub': rewrite(stateMachineArn['Fn::Sub']) };
  const part = (index: number): Cfn => ({ 'Fn::Select': [index, { 'Fn::Split': [':', stateMachineArn] }] });
  return { 'Fn::Join': [':', [0, 1, 2, 3, 4].map(part).concat(['execution', part(6), '*'])] };
}
