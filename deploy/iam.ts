import { MARKER } from '#ec2/markers';
import {
  type FerryConfig,
  imageRulesOf,
  objectRulesOf,
  snapshotRulesOf,
  sourceRegionsOf,
} from '#rules/config';
import { LAMBDA_FUNCTIONS, type LambdaFunction } from '#rules/deployment';
import type { ImageRule, SnapshotRule } from '#rules/ec2-schema';
import type { ObjectDestination, ObjectRule } from '#rules/schema';

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
 *   machine's executions (a copy whose execution failed gets another attempt).
 *
 * No write action is ever on `*` (`writeActionsOnWildcard` checks it).
 */

/** A CloudFormation intrinsic function, where the value is only known at deploy time. */
export type CfnIntrinsic =
  | { Ref: string }
  | { 'Fn::GetAtt': [string, string] | string }
  | { 'Fn::Sub': string | [string, Record<string, Cfn>] }
  | { 'Fn::Join': [string, Cfn[]] }
  | { 'Fn::ImportValue': Cfn }
  | { 'Fn::Select': [number, { 'Fn::Split': [string, Cfn] }] };

/** A plain string, or a CloudFormation intrinsic that resolves to one. */
export type Cfn = string | CfnIntrinsic;

export interface IamContext {
  /** `aws` unless given: `aws-cn`, `aws-us-gov`, or `{ Ref: 'AWS::Partition' }`. */
  partition?: Cfn;
  /** Domain of service endpoints, for `kms:ViaService`; derived from the partition unless given. */
  urlSuffix?: Cfn;
  /** The account Ferry runs in: where an alias or a bare key id in the rules resolves. */
  account: Cfn;
  stateMachineArns: { objectCopy: Cfn; snapshotCopy: Cfn; imageCopy: Cfn };
}

export const FUNCTION_NAMES = LAMBDA_FUNCTIONS;
export type FunctionName = LambdaFunction;

/** `{ operator: { key: value } }`, e.g. `{ StringEquals: { 'kms:ViaService': 's3.us-west-2.amazonaws.com' } }`. */
export type Condition = Record<string, Record<string, Cfn | Cfn[]>>;

export interface PolicyStatement {
  Sid: string;
  Effect: 'Allow';
  Action: string[];
  Resource: '*' | Cfn[];
  Condition?: Condition;
}

export type FunctionPolicies = Record<FunctionName, PolicyStatement[]>;

// ---------------------------------------------------------------------------------------------------------
// Values that may be CloudFormation intrinsics

/** Concatenates parts: a plain string when every part is one, else one `Fn::Join`. */
export function join(...parts: Cfn[]): Cfn {
  const merged: Cfn[] = [];
  for (const part of parts) {
    const last = merged.at(-1);
    if (typeof part === 'string' && typeof last === 'string') merged[merged.length - 1] = last + part;
    else if (part !== '') merged.push(part);
  }
  if (merged.length === 0) return '';
  if (merged.length === 1 && typeof merged[0] === 'string') return merged[0];
  return { 'Fn::Join': ['', merged] };
}

const keyOf = (value: unknown): string => JSON.stringify(value);

/** Values without repeats, in first-seen order (intrinsics compared by their JSON). */
function unique<T>(values: Iterable<T>): T[] {
  const seen = new Map<string, T>();
  for (const value of values) if (!seen.has(keyOf(value))) seen.set(keyOf(value), value);
  return [...seen.values()];
}

export interface Names {
  partition: Cfn;
  urlSuffix: Cfn;
  account: Cfn;
}

function namesOf(context: IamContext): Names {
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
 * Text matched literally in an IAM resource: `*`, `?` and `$` are written as the policy variables `${*}`,
 * `${?}` and `${$}` (policy version 2012-10-17), so a key prefix cannot widen what it grants.
 */
export const literalInArn = (text: string): string => text.replace(/[$*?]/g, (char) => `\${${char}}`);

const s3BucketArn = (names: Names, bucket: string): Cfn => join('arn:', names.partition, ':s3:::', bucket);

/** Every key that starts with `prefix` and ends with `suffix`. */
const s3KeysArn = (names: Names, bucket: string, prefix: string, suffix = ''): Cfn =>
  join('arn:', names.partition, ':s3:::', bucket, '/', literalInArn(prefix), '*', literalInArn(suffix));

type Ec2ResourceType = 'snapshot' | 'image';

/** Snapshot and image ARNs carry no account: `arn:aws:ec2:us-west-2::snapshot/*`. */
const ec2Arn = (names: Names, region: string, type: Ec2ResourceType): Cfn =>
  join('arn:', names.partition, ':ec2:', region, '::', type, '/*');

const ec2Arns = (names: Names, regions: readonly string[], types: readonly Ec2ResourceType[]): Cfn[] =>
  types.flatMap((type) => regions.map((region) => ec2Arn(names, region, type)));

const viaService = (names: Names, service: 's3' | 'ec2', region: string): Cfn =>
  join(service, '.', region, '.', names.urlSuffix);

// ---------------------------------------------------------------------------------------------------------
// Statements of one function

/** A statement before its Sid is made unique: named by what it lets the function do. */
interface Draft {
  sid: string;
  actions: readonly string[];
  resources: '*' | readonly Cfn[];
  condition?: Condition;
}

/**
 * Collects one function's drafts, then merges those that differ only in their resources (same actions and
 * conditions) and gives each a Sid unique across all functions (`ObjectCreatedReadSourceObjects`).
 */
class StatementList {
  private readonly drafts: Draft[] = [];
  private readonly describes = new Map<string, Set<string>>();

  add(draft: Draft): void {
    if (draft.resources !== '*' && draft.resources.length === 0) return;
    this.drafts.push(draft);
  }

  /** A Describe* action in these Regions: reads without resource-level permissions, scoped by Region. */
  describe(action: string, regions: Iterable<string>): void {
    const set = this.describes.get(action) ?? new Set<string>();
    for (const region of regions) set.add(region);
    this.describes.set(action, set);
  }

  build(fn: FunctionName): PolicyStatement[] {
    // Describe actions asked for in the same Regions share one statement.
    const byRegions = new Map<string, { regions: string[]; actions: string[] }>();
    for (const [action, set] of this.describes) {
      const regions = [...set].sort();
      const group = byRegions.get(keyOf(regions)) ?? { regions, actions: [] };
      group.actions.push(action);
      byRegions.set(keyOf(regions), group);
    }
    const describeDrafts: Draft[] = [...byRegions.values()].map(({ regions, actions }) => ({
      sid: 'DescribeInRuleRegions',
      actions: actions.sort(),
      resources: '*',
      condition: { StringEquals: { 'aws:RequestedRegion': regions } },
    }));

    const merged = new Map<string, Draft & { resources: '*' | Cfn[] }>();
    // The resources each merged draft holds, by their JSON: a thousand rules add thousands of drafts, and
    // re-deduplicating the whole list on each would be quadratic.
    const held = new Map<string, Set<string>>();
    for (const draft of [...describeDrafts, ...this.drafts]) {
      const actions = [...new Set(draft.actions)].sort();
      const key = keyOf({ actions, condition: draft.condition ?? null, wildcard: draft.resources === '*' });
      const existing = merged.get(key);
      if (existing && existing.resources !== '*' && draft.resources !== '*') {
        const seen = held.get(key) ?? new Set(existing.resources.map(keyOf));
        held.set(key, seen);
        for (const resource of draft.resources) {
          if (seen.has(keyOf(resource))) continue;
          seen.add(keyOf(resource));
          existing.resources.push(resource);
        }
      } else if (!existing) {
        merged.set(key, {
          ...draft,
          actions,
          resources: draft.resources === '*' ? '*' : unique(draft.resources),
        });
      }
    }

    const prefix = fn.charAt(0).toUpperCase() + fn.slice(1);
    const used = new Map<string, number>();
    return [...merged.values()].map((draft) => {
      const base = `${prefix}${draft.sid}`;
      const count = (used.get(base) ?? 0) + 1;
      used.set(base, count);
      return {
        Sid: count === 1 ? base : `${base}${count}`,
        Effect: 'Allow' as const,
        Action: [...draft.actions],
        Resource: draft.resources === '*' ? '*' : [...draft.resources],
        ...(draft.condition ? { Condition: draft.condition } : {}),
      };
    });
  }
}

// ---------------------------------------------------------------------------------------------------------
// KMS

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

function keyCondition(names: Names, service: 's3' | 'ec2', region: string, key: KeyResource): Condition {
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

function ebsKeyDrafts(list: StatementList, names: Names, kmsKeyId: string, region: string): void {
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

// ---------------------------------------------------------------------------------------------------------
// S3 objects (src/objects)

/**
 * Reading a source: HeadObject (s3:GetObject, or s3:GetObjectVersion with the event's version id),
 * GetObjectTagging (+Version), and CopyObject / UploadPartCopy reading it (GetObject(+Version), and
 * GetObjectTagging(+Version) when tags are copied). Whether a bucket is versioned is not in the rules, so
 * both forms are granted.
 */
const SOURCE_READ = [
  's3:GetObject',
  's3:GetObjectVersion',
  's3:GetObjectTagging',
  's3:GetObjectVersionTagging',
];

export const sourceKeys = (names: Names, rule: ObjectRule): Cfn =>
  s3KeysArn(names, rule.objects.bucket, rule.objects.prefix, rule.objects.suffix);

/** The replica's key space: the rule's prefix is replaced by `keyPrefix` when one is set (objects/router). */
export const replicaKeys = (names: Names, rule: ObjectRule, destination: ObjectDestination): Cfn =>
  s3KeysArn(names, destination.bucket, destination.keyPrefix ?? rule.objects.prefix, rule.objects.suffix);

type ObjectFunction = 'objectCreated' | 'objectCopyStep' | 'objectDeleted';

function objectStatements(
  fn: ObjectFunction,
  rules: readonly ObjectRule[],
  names: Names,
  context: IamContext,
): StatementList {
  const list = new StatementList();
  const writes = fn !== 'objectDeleted';
  const destinations = rules.flatMap((rule) =>
    rule.to
      .filter((destination) => writes || destination.replicateDeletes)
      .map((destination) => ({ rule, destination })),
  );
  if (destinations.length === 0) return list;

  if (writes) {
    list.add({
      sid: 'ReadSourceObjects',
      actions: SOURCE_READ,
      resources: rules.map((rule) => sourceKeys(names, rule)),
    });
    // A HEAD of a source deleted before its event was handled answers 404 only with s3:ListBucket on the
    // bucket, 403 without (https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html): Ferry skips
    // a gone source, but fails on a refusal. Found by the IAM proof (deploy/iam-proof) on the sandbox tests.
    list.add({
      sid: 'ListSourceBuckets',
      actions: ['s3:ListBucket'],
      resources: rules.map((rule) => s3BucketArn(names, rule.objects.bucket)),
    });
  }
  const roles: string[] = [];
  for (const { rule, destination } of destinations) {
    if (destination.roleArn) {
      // The role in the destination account does every read and write of the replica.
      roles.push(destination.roleArn);
      continue;
    }
    const replicas = replicaKeys(names, rule, destination);
    // HEAD of the replica (sequencer check before a versioned copy, verify after a multipart copy, the
    // marker check before a delete). Without s3:ListBucket a missing key answers 403, not 404.
    list.add({ sid: 'ReadReplicas', actions: ['s3:GetObject'], resources: [replicas] });
    list.add({
      sid: 'ListDestinationBuckets',
      actions: ['s3:ListBucket'],
      resources: [s3BucketArn(names, destination.bucket)],
    });
    if (!writes) {
      list.add({ sid: 'DeleteReplicas', actions: ['s3:DeleteObject'], resources: [replicas] });
      continue;
    }
    if (fn === 'objectCopyStep') {
      // A multipart copy finds the uploads a crashed attempt left on its replica key, to abort them.
      list.add({
        sid: 'ListUploadsToClean',
        actions: ['s3:ListBucketMultipartUploads'],
        resources: [s3BucketArn(names, destination.bucket)],
      });
    }
    // CopyObject, CreateMultipartUpload, UploadPartCopy and CompleteMultipartUpload are s3:PutObject; tags
    // set or copied on write need s3:PutObjectTagging.
    list.add({
      sid: 'WriteReplicas',
      actions: [
        's3:PutObject',
        's3:PutObjectTagging',
        ...(fn === 'objectCopyStep' ? ['s3:AbortMultipartUpload', 's3:ListMultipartUploadParts'] : []),
      ],
      resources: [replicas],
    });
    if (destination.account) {
      // A replica in another account's bucket is written with the bucket-owner-full-control ACL, and only it.
      list.add({
        sid: 'GiveReplicasToBucketOwners',
        actions: ['s3:PutObjectAcl'],
        resources: [replicas],
        condition: { StringEquals: { 's3:x-amz-acl': 'bucket-owner-full-control' } },
      });
    }
    const encryption = destination.encryption;
    if (encryption?.sse === 'aws:kms') {
      // SSE-KMS writes need GenerateDataKey; a multipart upload also Decrypt (UploadPartCopy, ListParts).
      const key = kmsKeyResource(encryption.kmsKeyId, destination.region, names);
      list.add({
        sid: 'EncryptReplicas',
        actions: ['kms:GenerateDataKey', ...(fn === 'objectCopyStep' ? ['kms:Decrypt'] : [])],
        resources: [key.resource],
        condition: keyCondition(names, 's3', destination.region, key),
      });
    }
  }
  assumeRoles(list, roles);
  if (fn === 'objectCreated') {
    startCopies(list, 'Object', context.stateMachineArns.objectCopy);
  }
  return list;
}

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

/**
 * Starting copies on a state machine (src/aws/step-functions.ts): StartExecution on the machine, and
 * DescribeExecution on its executions, to see whether a taken name failed for good (then the next attempt
 * starts: src/aws/execution-attempts.ts).
 */
function startCopies(list: StatementList, what: 'Object' | 'Snapshot' | 'Image', stateMachineArn: Cfn): void {
  list.add({ sid: `Start${what}Copies`, actions: ['states:StartExecution'], resources: [stateMachineArn] });
  list.add({
    sid: `Read${what}CopyExecutions`,
    actions: ['states:DescribeExecution'],
    resources: [executionsArnOf(stateMachineArn)],
  });
}

/** Destinations with `roleArn`: the client factory (src/aws/clients.ts) assumes exactly these roles. */
function assumeRoles(list: StatementList, roles: readonly string[]): void {
  list.add({ sid: 'AssumeDestinationRoles', actions: ['sts:AssumeRole'], resources: unique(roles) });
}

// ---------------------------------------------------------------------------------------------------------
// EBS snapshots and AMIs (src/ec2, src/snapshots, src/images)

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

/** The ec2-copy-step function: start, check, finalize and clean up copies (src/ec2/copy-steps.ts). */
function ec2CopyStepStatements(
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
      if (destination.kmsKeyId) ebsKeyDrafts(list, names, destination.kmsKeyId, region);
    }
  }
  assumeRoles(list, roles);
  return list;
}

// ---------------------------------------------------------------------------------------------------------

/**
 * One statement list per Lambda function, each with exactly what that function calls for this
 * configuration; a function with nothing to do gets none.
 */
export function iamPolicies(config: Pick<FerryConfig, 'rules'>, context: IamContext): FunctionPolicies {
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

  return {
    objectCreated: objectStatements('objectCreated', objects, names, context).build('objectCreated'),
    objectDeleted: objectStatements('objectDeleted', objects, names, context).build('objectDeleted'),
    objectCopyStep: objectStatements('objectCopyStep', objects, names, context).build('objectCopyStep'),
    snapshotCreated: snapshotCreated.build('snapshotCreated'),
    imageAvailable: imageAvailable.build('imageAvailable'),
    ec2CopyStep: ec2CopyStepStatements(snapshots, images, names).build('ec2CopyStep'),
    reconcile: reconcileStatements(objects, snapshots, images, names, context).build('reconcile'),
  };
}

/**
 * The reconcile function (src/reconcile): it lists each rule's sources, looks for their replicas and
 * copies, and sends what is missing through the handlers' own code: so what object-created does (copy,
 * hand off), listing the source key spaces, and describing sources and copies in every rule Region.
 */
function reconcileStatements(
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

// ---------------------------------------------------------------------------------------------------------
// Checks

/** Describe*, Get* and List* actions only read; everything else (Put, Copy, Create, Delete, …) writes. */
export const isReadAction = (action: string): boolean =>
  /^[a-z0-9-]+:(Describe|Get|List)[A-Za-z0-9]/.test(action);

/** Any statement, ours or written by hand: `Action` and `Resource` may be a string or a list. */
export interface AnyStatement {
  Sid?: string;
  Action: string | readonly string[];
  Resource?: unknown;
}

const asList = <T>(value: T | readonly T[]): readonly T[] =>
  Array.isArray(value) ? (value as readonly T[]) : [value as T];

const onWildcard = (resource: unknown): boolean =>
  resource !== undefined && asList(resource).some((item) => item === '*');

/**
 * Every write action granted on `*`, as `function Sid: action`; empty when the policies keep the rule that
 * only reads may name every resource.
 */
export function writeActionsOnWildcard(
  policies: Readonly<Record<string, readonly AnyStatement[] | undefined>> | readonly AnyStatement[],
): string[] {
  const entries: [string, readonly AnyStatement[]][] = Array.isArray(policies)
    ? [['', policies as readonly AnyStatement[]]]
    : Object.entries(policies as Readonly<Record<string, readonly AnyStatement[] | undefined>>).map(
        ([fn, statements]) => [fn, statements ?? []],
      );
  return entries.flatMap(([fn, statements]) =>
    statements
      .filter((statement) => onWildcard(statement.Resource))
      .flatMap((statement) =>
        asList(statement.Action)
          .filter((action) => !isReadAction(action))
          .map((action) => `${fn ? `${fn} ` : ''}${statement.Sid ?? '(no Sid)'}: ${action}`),
      ),
  );
}
