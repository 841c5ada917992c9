import type { RecordedCall, ResourceState } from './recorded-call.ts';
import type { IamRequest } from './request.ts';

/**
 * The IAM authorizations one recorded AWS call needs, after AWS's Service Authorization Reference, whose
 * "API operations" tables map each operation to the actions it is authorized by:
 * - S3: https://docs.aws.amazon.com/service-authorization/latest/reference/list_s3.html ("API operations
 *   defined by Amazon S3": CopyObject → s3:GetObject/GetObjectVersion, s3:PutObject, s3:PutObjectAcl,
 *   s3:PutObjectTagging; CompleteMultipartUpload → s3:PutObject; AbortMultipartUpload → s3:AbortMultipartUpload)
 * - EC2: https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonec2.html
 * - STS: https://docs.aws.amazon.com/service-authorization/latest/reference/list_awssecuritytokenservice.html
 * - Step Functions: https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsstepfunctions.html
 * - EventBridge: https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoneventbridge.html
 *   (PutEvents → events:PutEvents on each entry's event bus, with `events:source` and `events:detail-type`:
 *   https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-conditions.html)
 * - KMS condition keys: https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html
 * - Global keys (aws:RequestedRegion, aws:RequestTag/*, aws:TagKeys, aws:ResourceTag/*):
 *   https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html
 *
 * Pure: a recorded call in, requests out. An operation it does not know fails with
 * `UnmappedOperationError`, so a new call Ferry starts making cannot slip past the proof unmapped.
 */

/** The names a request's ARNs are built with. */
export interface AuthorizationNames {
  /** The account of the functions' own roles (where a bare KMS key id or an alias resolves). */
  account: string;
  partition?: string;
  /** The domain of service endpoints, for `kms:ViaService`. */
  urlSuffix?: string;
}

/** The sandbox's account: the default for requests of recorded sandbox runs. */
const SANDBOX_NAMES: AuthorizationNames = { account: '000000000000' };

export class UnmappedOperationError extends Error {
  constructor(readonly call: string) {
    super(
      `${call} has no mapping to IAM actions in deploy/iam-proof/authorization.ts: add one (after the ` +
        'Service Authorization Reference) so that the proof covers it',
    );
    this.name = 'UnmappedOperationError';
  }
}

type Context = IamRequest['context'];

interface Names {
  partition: string;
  urlSuffix: string;
  /** The account of the principal: the function's, or the assumed role's. */
  account: string;
}

const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

/** `arn:aws:iam::123456789012:role/x` → `123456789012`. */
const accountOfRole = (roleArn: string): string | undefined => /^arn:[^:]+:iam::(\d{12}):/.exec(roleArn)?.[1];

// ---------------------------------------------------------------------------------------------------------
// Tags as condition keys

/** `aws:RequestTag/<key>` for each tag the request sets, and `aws:TagKeys` with all their keys. */
function requestTagContext(tags: Readonly<Record<string, string>>): Context {
  const keys = Object.keys(tags);
  if (keys.length === 0) return {};
  return {
    ...Object.fromEntries(keys.map((key) => [`aws:RequestTag/${key}`, tags[key] ?? ''])),
    'aws:TagKeys': keys,
  };
}

/** `aws:ResourceTag/<key>` for each tag the resource has when the request comes. */
function resourceTagContext(state: ResourceState | undefined): Context {
  if (!state) return {};
  return Object.fromEntries(
    Object.entries(state.tags).map(([key, value]) => [`aws:ResourceTag/${key}`, value]),
  );
}

/** EC2's `Tags: [{ Key, Value }]` as a record. */
function tagRecord(tags: unknown): Record<string, string> {
  if (!Array.isArray(tags)) return {};
  const record: Record<string, string> = {};
  for (const tag of tags as { Key?: unknown; Value?: unknown }[]) {
    if (typeof tag.Key === 'string') record[tag.Key] = typeof tag.Value === 'string' ? tag.Value : '';
  }
  return record;
}

/** S3's `x-amz-tagging` (URL-encoded `k=v&…`) as a record. */
const s3TagRecord = (tagging: unknown): Record<string, string> =>
  typeof tagging === 'string' && tagging !== '' ? Object.fromEntries(new URLSearchParams(tagging)) : {};

// ---------------------------------------------------------------------------------------------------------
// KMS

/**
 * The key ARN a request names (the key's ARN, an alias, an alias ARN or a bare key id), resolved where AWS
 * resolves it: the Region of the request, the principal's account. An alias has no key id in the sandbox,
 * so the request is on `key/<alias name>` carrying `kms:ResourceAliases`, which is what a policy scoped to
 * an alias tests (https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-resource-aliases).
 */
function kmsKey(key: string, region: string, names: Names): { resource: string; context: Context } {
  const arn = /^arn:([^:]+):kms:([^:]+):(\d{12}):(key|alias)\/(.+)$/.exec(key);
  if (arn) {
    const [, partition, keyRegion, account, type, id] = arn;
    if (type === 'key') return { resource: key, context: {} };
    return {
      resource: `arn:${partition}:kms:${keyRegion}:${account}:key/${id}`,
      context: { 'kms:ResourceAliases': [`alias/${id}`] },
    };
  }
  const inRegion = (id: string) => `arn:${names.partition}:kms:${region}:${names.account}:key/${id}`;
  if (key.startsWith('alias/'))
    return { resource: inRegion(key.slice('alias/'.length)), context: { 'kms:ResourceAliases': [key] } };
  return { resource: inRegion(key), context: {} };
}

/** KMS requests a service makes with the caller's permissions, `kms:ViaService` naming it. */
function kmsRequests(
  actions: readonly string[],
  key: string,
  via: 's3' | 'ec2',
  region: string,
  names: Names,
  extra: (action: string) => Context = () => ({}),
) {
  const { resource, context } = kmsKey(key, region, names);
  return actions.map((action) => ({
    action,
    resource,
    context: {
      'kms:ViaService': `${via}.${region}.${names.urlSuffix}`,
      'aws:RequestedRegion': region,
      ...context,
      ...extra(action),
    },
  }));
}

// ---------------------------------------------------------------------------------------------------------
// S3

const objectArn = (names: Names, bucket: string, key: string) =>
  `arn:${names.partition}:s3:::${bucket}/${key}`;
const bucketArn = (names: Names, bucket: string) => `arn:${names.partition}:s3:::${bucket}`;

/** `bucket/key?versionId=v`, URL-encoded (CopyObject's `x-amz-copy-source`), as its parts. */
export function parseCopySource(copySource: string): { bucket: string; key: string; versionId?: string } {
  const [path = '', query = ''] = copySource.replace(/^\//, '').split('?');
  const slash = path.indexOf('/');
  const versionId = new URLSearchParams(query).get('versionId') ?? undefined;
  return {
    bucket: decodeURIComponent(path.slice(0, slash)),
    key: decodeURIComponent(path.slice(slash + 1)),
    ...(versionId ? { versionId } : {}),
  };
}

type Draft = Omit<IamRequest, 'principal' | 'call'>;

/**
 * The condition keys S3 sets on a write from its headers
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/amazon-s3-policy-keys.html).
 */
function writeContext(input: Record<string, unknown>): Context {
  const context: Context = {};
  const sse = str(input.ServerSideEncryption);
  if (sse) context['s3:x-amz-server-side-encryption'] = sse;
  const kmsKeyId = str(input.SSEKMSKeyId);
  if (kmsKeyId) context['s3:x-amz-server-side-encryption-aws-kms-key-id'] = kmsKeyId;
  const acl = str(input.ACL);
  if (acl) context['s3:x-amz-acl'] = acl;
  const copySource = str(input.CopySource);
  if (copySource) context['s3:x-amz-copy-source'] = copySource;
  const directive = str(input.MetadataDirective);
  if (directive) context['s3:x-amz-metadata-directive'] = directive;
  // Object Lock headers of a write (S3's s3:object-lock-* condition keys, list_amazons3.html).
  const lockMode = str(input.ObjectLockMode);
  if (lockMode) context['s3:object-lock-mode'] = lockMode;
  const until = input.ObjectLockRetainUntilDate;
  if (until instanceof Date || typeof until === 'string')
    context['s3:object-lock-retain-until-date'] = new Date(until).toISOString();
  const legalHold = str(input.ObjectLockLegalHoldStatus);
  if (legalHold) context['s3:object-lock-legal-hold'] = legalHold;
  const tags = s3TagRecord(input.Tagging);
  if (Object.keys(tags).length > 0) {
    for (const [key, value] of Object.entries(tags)) context[`s3:RequestObjectTag/${key}`] = value;
    context['s3:RequestObjectTagKeys'] = Object.keys(tags);
  }
  return context;
}

/** Reading a source object (or one version of it). */
const readObject = (names: Names, bucket: string, key: string, versionId: string | undefined): Draft => ({
  action: versionId ? 's3:GetObjectVersion' : 's3:GetObject',
  resource: objectArn(names, bucket, key),
  context: versionId ? { 's3:versionid': versionId } : {},
});

/**
 * A write of a new object (CopyObject, CreateMultipartUpload): s3:PutObject, and what its headers add.
 * "To use the x-amz-tagging header you need s3:PutObjectTagging" and an ACL header needs s3:PutObjectAcl
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html, "Permissions";
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_CopyObject.html). With SSE-KMS, S3 asks KMS for a
 * data key with the caller's permissions
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html#require-sse-kms).
 */
function writeObject(names: Names, region: string, input: Record<string, unknown>, tagsWritten: boolean) {
  const bucket = str(input.Bucket) ?? '';
  const key = str(input.Key) ?? '';
  const resource = objectArn(names, bucket, key);
  const context = writeContext(input);
  const drafts: Draft[] = [{ action: 's3:PutObject', resource, context }];
  if (tagsWritten) drafts.push({ action: 's3:PutObjectTagging', resource, context });
  const acl = str(input.ACL);
  if (acl) drafts.push({ action: 's3:PutObjectAcl', resource, context: { 's3:x-amz-acl': acl } });
  drafts.push(...lockWrites(input, resource, context));
  const kmsKeyId = str(input.SSEKMSKeyId);
  if (str(input.ServerSideEncryption) === 'aws:kms' && kmsKeyId)
    drafts.push(...kmsRequests(['kms:GenerateDataKey'], kmsKeyId, 's3', region, names));
  return drafts;
}

/**
 * A write that locks the new object: its retention headers need s3:PutObjectRetention, its legal-hold header
 * s3:PutObjectLegalHold ("Required permissions",
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock.html#object-lock-permissions; the
 * Service Authorization Reference lists both actions with the s3:object-lock-* keys).
 */
function lockWrites(input: Record<string, unknown>, resource: string, context: Context): Draft[] {
  const drafts: Draft[] = [];
  if (str(input.ObjectLockMode)) drafts.push({ action: 's3:PutObjectRetention', resource, context });
  if (str(input.ObjectLockLegalHoldStatus))
    drafts.push({ action: 's3:PutObjectLegalHold', resource, context });
  return drafts;
}

/**
 * A HEAD or GET that answered a version's Object Lock: S3 returns x-amz-object-lock-mode and
 * -retain-until-date only to a caller with s3:GetObjectRetention, x-amz-object-lock-legal-hold only with
 * s3:GetObjectLegalHold (https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html, response
 * headers; "Permissions for viewing lock information", object-lock-managing.html). Without them the call
 * succeeds and Ferry would not see the lock it carries, so the proof asks for them where one was answered.
 */
function lockReads(call: RecordedCall, resource: string): Draft[] {
  const drafts: Draft[] = [];
  if (call.output?.ObjectLockMode !== undefined)
    drafts.push({ action: 's3:GetObjectRetention', resource, context: {} });
  if (call.output?.ObjectLockLegalHoldStatus !== undefined)
    drafts.push({ action: 's3:GetObjectLegalHold', resource, context: {} });
  return drafts;
}

/**
 * A HEAD or GET that S3 answered 404: S3 says "not found" only to a caller with s3:ListBucket on the bucket
 * (without it, 403 Access Denied), and Ferry's code tells the two apart
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html, "Permissions").
 */
const notFoundNeedsList = (call: RecordedCall, names: Names, bucket: string): Draft[] =>
  call.outcome.status === 404
    ? [{ action: 's3:ListBucket', resource: bucketArn(names, bucket), context: {} }]
    : [];

/**
 * A copy reading an SSE-KMS source: S3 decrypts it with the caller's permissions, kms:Decrypt on the
 * source's key through S3 in the source bucket's Region
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html: "to download an object
 * encrypted with a KMS key you need kms:Decrypt"), with the encryption context S3 gives it: `aws:s3:arn`, the
 * object's ARN, or the bucket's under an S3 Bucket Key
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/configuring-bucket-key.html). A source under the
 * AWS managed key (no key id stored) needs no IAM grant: that key's own policy lets S3 use it for the account.
 */
function decryptSource(call: RecordedCall, names: Names, source: { bucket: string; key: string }): Draft[] {
  const state = call.copySource;
  if (state?.sse !== 'aws:kms' || !state.kmsKeyId) return [];
  const context = state.bucketKey
    ? bucketArn(names, source.bucket)
    : objectArn(names, source.bucket, source.key);
  return kmsRequests(['kms:Decrypt'], state.kmsKeyId, 's3', state.region, names, () => ({
    'kms:EncryptionContext:aws:s3:arn': context,
  }));
}

function s3Drafts(call: RecordedCall, names: Names): Draft[] {
  const { input, region } = call;
  const bucket = str(input.Bucket) ?? '';
  const key = str(input.Key) ?? '';
  const versionId = str(input.VersionId);
  const object = objectArn(names, bucket, key);
  const uploadKms = call.upload?.sse === 'aws:kms' ? call.upload.kmsKeyId : undefined;
  switch (call.operation) {
    case 'HeadObject':
    case 'GetObject':
      return [
        readObject(names, bucket, key, versionId),
        ...lockReads(call, object),
        ...notFoundNeedsList(call, names, bucket),
      ];
    case 'GetObjectLockConfiguration':
      return [
        { action: 's3:GetBucketObjectLockConfiguration', resource: bucketArn(names, bucket), context: {} },
      ];
    case 'GetObjectTagging':
      return [
        {
          action: versionId ? 's3:GetObjectVersionTagging' : 's3:GetObjectTagging',
          resource: object,
          context: versionId ? { 's3:versionid': versionId } : {},
        },
        ...notFoundNeedsList(call, names, bucket),
      ];
    // PutObjectTagging with a VersionId is s3:PutObjectVersionTagging (Service Authorization Reference,
    // Amazon S3: https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html).
    case 'PutObjectTagging':
      return [
        {
          action: versionId ? 's3:PutObjectVersionTagging' : 's3:PutObjectTagging',
          resource: object,
          context: versionId ? { 's3:versionid': versionId } : {},
        },
      ];
    // PutObjectRetention is s3:PutObjectRetention, PutObjectLegalHold s3:PutObjectLegalHold, with or without a
    // VersionId; a retention change with x-amz-bypass-governance-retention also s3:BypassGovernanceRetention
    // (Service Authorization Reference, Amazon S3, list_amazons3.html; API_PutObjectRetention.html).
    case 'PutObjectRetention':
      return [
        {
          action: 's3:PutObjectRetention',
          resource: object,
          context: versionId ? { 's3:versionid': versionId } : {},
        },
        ...(input.BypassGovernanceRetention === true
          ? [{ action: 's3:BypassGovernanceRetention', resource: object, context: {} }]
          : []),
      ];
    case 'PutObjectLegalHold':
      return [
        {
          action: 's3:PutObjectLegalHold',
          resource: object,
          context: versionId ? { 's3:versionid': versionId } : {},
        },
      ];
    case 'CopyObject': {
      const source = parseCopySource(str(input.CopySource) ?? '');
      // TaggingDirective defaults to COPY: the source's tags are written onto the replica (s3:PutObjectTagging,
      // in CopyObject's row of the reference). The reference's row does not list s3:GetObjectTagging for
      // the source's tags; it is asked for anyway, conservatively: a copy that S3 refused for it would be a
      // production failure, while asking for one more read costs at most a justified surplus.
      const copiesTags = (str(input.TaggingDirective) ?? 'COPY') === 'COPY';
      const setsTags = Object.keys(s3TagRecord(input.Tagging)).length > 0;
      const drafts = [
        ...writeObject(names, region, input, copiesTags || setsTags),
        readObject(names, source.bucket, source.key, source.versionId),
        ...decryptSource(call, names, source),
      ];
      if (copiesTags) {
        drafts.push({
          action: source.versionId ? 's3:GetObjectVersionTagging' : 's3:GetObjectTagging',
          resource: objectArn(names, source.bucket, source.key),
          context: source.versionId ? { 's3:versionid': source.versionId } : {},
        });
      }
      return drafts;
    }
    case 'CreateMultipartUpload':
      return writeObject(names, region, input, Object.keys(s3TagRecord(input.Tagging)).length > 0);
    case 'UploadPartCopy': {
      // Each part is a write of the upload (s3:PutObject) reading the source; a part of an SSE-KMS upload
      // is encrypted under the upload's key, and "the requester must have permission to the kms:Decrypt
      // and kms:GenerateDataKey actions" for such an upload
      // (https://docs.aws.amazon.com/AmazonS3/latest/userguide/mpuoverview.html#mpuAndPermissions).
      const source = parseCopySource(str(input.CopySource) ?? '');
      return [
        { action: 's3:PutObject', resource: object, context: writeContext({ CopySource: input.CopySource }) },
        readObject(names, source.bucket, source.key, source.versionId),
        ...decryptSource(call, names, source),
        ...(uploadKms ? kmsRequests(['kms:GenerateDataKey'], uploadKms, 's3', region, names) : []),
      ];
    }
    case 'CompleteMultipartUpload':
      // Completing reads the encrypted parts back (kms:Decrypt), same page as above.
      return [
        { action: 's3:PutObject', resource: object, context: {} },
        ...(uploadKms ? kmsRequests(['kms:Decrypt'], uploadKms, 's3', region, names) : []),
      ];
    case 'AbortMultipartUpload':
      return [{ action: 's3:AbortMultipartUpload', resource: object, context: {} }];
    case 'ListParts':
      return [{ action: 's3:ListMultipartUploadParts', resource: object, context: {} }];
    case 'ListMultipartUploads':
      return [
        {
          action: 's3:ListBucketMultipartUploads',
          resource: bucketArn(names, bucket),
          context: {},
        },
      ];
    case 'ListObjectsV2':
    case 'ListObjects':
      return [
        {
          action: 's3:ListBucket',
          resource: bucketArn(names, bucket),
          context: { 's3:prefix': str(input.Prefix) ?? '' },
        },
      ];
    case 'ListObjectVersions':
      return [
        {
          action: 's3:ListBucketVersions',
          resource: bucketArn(names, bucket),
          context: { 's3:prefix': str(input.Prefix) ?? '' },
        },
      ];
    case 'DeleteObject':
      return [
        {
          action: versionId ? 's3:DeleteObjectVersion' : 's3:DeleteObject',
          resource: object,
          context: versionId ? { 's3:versionid': versionId } : {},
        },
      ];
    case 'PutObject':
      return writeObject(names, region, input, Object.keys(s3TagRecord(input.Tagging)).length > 0);
    default:
      throw new UnmappedOperationError(`s3:${call.operation}`);
  }
}

// ---------------------------------------------------------------------------------------------------------
// EC2

/**
 * An EC2 resource's ARN from its id. Snapshots and AMIs carry no account in their ARN
 * (`arn:aws:ec2:REGION::snapshot/ID`, "Resource types defined by Amazon EC2"); volumes and instances do.
 */
function ec2Arn(names: Names, region: string, id: string): string {
  const base = `arn:${names.partition}:ec2:${region}`;
  if (id.startsWith('snap-') || id === '*snapshot')
    return `${base}::snapshot/${id.replace('*snapshot', '*')}`;
  if (id.startsWith('ami-') || id === '*image') return `${base}::image/${id.replace('*image', '*')}`;
  if (id.startsWith('vol-')) return `${base}:${names.account}:volume/${id}`;
  if (id.startsWith('i-')) return `${base}:${names.account}:instance/${id}`;
  throw new UnmappedOperationError(`ec2 resource ${id}`);
}

/** A new resource's ARN: its id when the answer named it, else every resource of the type (`…/*`). */
const newArn = (names: Names, region: string, type: 'snapshot' | 'image', id: unknown) =>
  ec2Arn(names, region, typeof id === 'string' ? id : `*${type}`);

/** The tags a create request's TagSpecifications give, per resource type. */
function tagSpecifications(input: Record<string, unknown>): { type: string; tags: Record<string, string> }[] {
  if (!Array.isArray(input.TagSpecifications)) return [];
  return (input.TagSpecifications as { ResourceType?: unknown; Tags?: unknown }[]).map((spec) => ({
    type: str(spec.ResourceType) ?? '',
    tags: tagRecord(spec.Tags),
  }));
}

/** The account ids a Modify*Attribute call adds, in either of the API's forms. */
function addedUserIds(
  input: Record<string, unknown>,
  attribute: 'CreateVolumePermission' | 'LaunchPermission',
) {
  const ids: string[] = [];
  if (str(input.OperationType) === 'add' && Array.isArray(input.UserIds))
    for (const id of input.UserIds) if (typeof id === 'string') ids.push(id);
  const permission = input[attribute] as { Add?: { UserId?: unknown }[] } | undefined;
  for (const grant of permission?.Add ?? []) if (typeof grant.UserId === 'string') ids.push(grant.UserId);
  return ids;
}

/**
 * What EBS needs of the caller on the key of an encrypted copy. AWS lists them for EBS encryption as a
 * whole, not per operation ("Amazon EBS encryption requirements", permissions for users: "You must grant
 * users permission to call the following actions in order to use EBS encryption: kms:CreateGrant,
 * kms:Decrypt, kms:DescribeKey, kms:GenerateDataKeyWithoutPlainText, kms:ReEncrypt",
 * https://docs.aws.amazon.com/ebs/latest/userguide/ebs-encryption-requirements.html), with CreateGrant
 * best bounded by kms:GrantIsForAWSResource; so a copy under a key asks for all of them (ReEncrypt* as
 * its two actions).
 */
function ebsKeyDrafts(key: string, region: string, names: Names): Draft[] {
  const actions = [
    'kms:CreateGrant',
    'kms:Decrypt',
    'kms:DescribeKey',
    'kms:GenerateDataKeyWithoutPlaintext',
    'kms:ReEncryptFrom',
    'kms:ReEncryptTo',
  ];
  return kmsRequests(
    actions,
    key,
    'ec2',
    region,
    names,
    (action): Context => (action === 'kms:CreateGrant' ? { 'kms:GrantIsForAWSResource': 'true' } : {}),
  );
}

/**
 * A copy (CopySnapshot, CopyImage): authorized on the source (in its Region) and on the new resource (in
 * the destination), as EC2's resource-level permissions for CopySnapshot/CopyImage list both
 * (https://docs.aws.amazon.com/ebs/latest/userguide/ebs-copy-snapshot.html, IAM policy; the Service
 * Authorization Reference's CopySnapshot row). Tags given at creation are a CreateTags authorized with
 * `ec2:CreateAction` naming the creating action
 * (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/supported-iam-actions-tagging.html).
 */
function copyDrafts(call: RecordedCall, names: Names, type: 'snapshot' | 'image'): Draft[] {
  const { input, region } = call;
  const action = type === 'snapshot' ? 'CopySnapshot' : 'CopyImage';
  const sourceRegion = str(input.SourceRegion) ?? region;
  const sourceId = str(type === 'snapshot' ? input.SourceSnapshotId : input.SourceImageId) ?? '';
  const source = call.resources?.[sourceId];
  const created = newArn(
    names,
    region,
    type,
    type === 'snapshot' ? call.output?.SnapshotId : call.output?.ImageId,
  );
  const specs = tagSpecifications(input);
  const ownTags = specs.find((spec) => spec.type === type)?.tags ?? {};
  const drafts: Draft[] = [
    {
      action: `ec2:${action}`,
      resource: ec2Arn(names, sourceRegion, sourceId),
      context: { 'aws:RequestedRegion': sourceRegion, ...resourceTagContext(source) },
    },
    {
      action: `ec2:${action}`,
      resource: created,
      context: { 'aws:RequestedRegion': region, ...requestTagContext(ownTags) },
    },
  ];
  for (const spec of specs) {
    if (Object.keys(spec.tags).length === 0) continue;
    // CopyImage tags the new image and its new snapshots (their ids are not in the answer: `snapshot/*`).
    const resource = spec.type === type ? created : ec2Arn(names, region, `*${spec.type}`);
    drafts.push({
      action: 'ec2:CreateTags',
      resource,
      context: { 'aws:RequestedRegion': region, 'ec2:CreateAction': action, ...requestTagContext(spec.tags) },
    });
  }
  const key = str(input.KmsKeyId);
  if (key) drafts.push(...ebsKeyDrafts(key, region, names));
  return drafts;
}

/** An action on existing resources, each with the tags it has now. */
function onResources(
  call: RecordedCall,
  names: Names,
  action: string,
  ids: readonly string[],
  context: Context = {},
): Draft[] {
  return ids.map((id) => ({
    action,
    resource: ec2Arn(names, call.region, id),
    context: { 'aws:RequestedRegion': call.region, ...resourceTagContext(call.resources?.[id]), ...context },
  }));
}

function ec2Drafts(call: RecordedCall, names: Names): Draft[] {
  const { input, operation, region } = call;
  // Describe* have no resource-level permissions: `*`, scoped only by Region.
  if (operation.startsWith('Describe'))
    return [{ action: `ec2:${operation}`, resource: '*', context: { 'aws:RequestedRegion': region } }];
  const ids = (field: string) => (str(input[field]) ? [str(input[field]) as string] : []);
  switch (operation) {
    case 'CopySnapshot':
      return copyDrafts(call, names, 'snapshot');
    case 'CopyImage':
      return copyDrafts(call, names, 'image');
    case 'CreateTags': {
      const resources = Array.isArray(input.Resources)
        ? (input.Resources as unknown[]).filter((id): id is string => typeof id === 'string')
        : [];
      return onResources(call, names, 'ec2:CreateTags', resources, requestTagContext(tagRecord(input.Tags)));
    }
    // DeleteTags is authorized on each resource with the tags it has (aws:ResourceTag), as CreateTags is
    // (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/supported-iam-actions-tagging.html).
    case 'DeleteTags': {
      const resources = Array.isArray(input.Resources)
        ? (input.Resources as unknown[]).filter((id): id is string => typeof id === 'string')
        : [];
      return onResources(call, names, 'ec2:DeleteTags', resources);
    }
    case 'DeleteSnapshot':
      return onResources(call, names, 'ec2:DeleteSnapshot', ids('SnapshotId'));
    case 'ModifySnapshotTier':
      return onResources(call, names, 'ec2:ModifySnapshotTier', ids('SnapshotId'));
    case 'DeregisterImage':
      return onResources(call, names, 'ec2:DeregisterImage', ids('ImageId'));
    case 'ModifySnapshotAttribute': {
      const users = addedUserIds(input, 'CreateVolumePermission');
      return onResources(
        call,
        names,
        'ec2:ModifySnapshotAttribute',
        ids('SnapshotId'),
        users.length > 0 ? { 'ec2:Add/userId': users } : {},
      );
    }
    // No `ec2:Add/userId` here: the Service Authorization Reference defines it for ModifySnapshotAttribute
    // only, so IAM never sees the grantee of a launch permission (a policy testing it would deny the share).
    case 'ModifyImageAttribute':
      return onResources(call, names, 'ec2:ModifyImageAttribute', ids('ImageId'));
    // Locks and protection act on one existing snapshot or image, authorized on it with its tags ("Control
    // access to Amazon EBS snapshot lock", https://docs.aws.amazon.com/ebs/latest/userguide/snapshot-lock-iam.html;
    // the Service Authorization Reference's LockSnapshot, EnableImageDeregistrationProtection and
    // EnableImageDeprecation rows, image or snapshot resource, aws:ResourceTag/${TagKey}).
    case 'LockSnapshot':
      return onResources(call, names, 'ec2:LockSnapshot', ids('SnapshotId'));
    case 'EnableImageDeregistrationProtection':
    case 'EnableImageDeprecation':
      return onResources(call, names, `ec2:${operation}`, ids('ImageId'));
    default:
      throw new UnmappedOperationError(`ec2:${operation}`);
  }
}

// ---------------------------------------------------------------------------------------------------------

function drafts(call: RecordedCall, names: Names): Draft[] {
  const region = { 'aws:RequestedRegion': call.region };
  switch (call.service) {
    case 's3':
      return s3Drafts(call, names).map((draft) => ({ ...draft, context: { ...region, ...draft.context } }));
    case 'ec2':
      return ec2Drafts(call, names);
    case 'sts': {
      if (call.operation !== 'AssumeRole') throw new UnmappedOperationError(`sts:${call.operation}`);
      const externalId = str(call.input.ExternalId);
      return [
        {
          action: 'sts:AssumeRole',
          resource: str(call.input.RoleArn) ?? '',
          context: { ...region, ...(externalId ? { 'sts:ExternalId': externalId } : {}) },
        },
      ];
    }
    case 'states': {
      // A callback names a task token only: no resource-level permissions (deploy/iam/copy-wait-statements.ts).
      if (call.operation === 'SendTaskSuccess' || call.operation === 'SendTaskFailure')
        return [{ action: `states:${call.operation}`, resource: '*', context: region }];
      // StartExecution and ListExecutions are on the state machine, DescribeExecution on the execution.
      const resource =
        call.operation === 'StartExecution' || call.operation === 'ListExecutions'
          ? str(call.input.stateMachineArn)
          : call.operation === 'DescribeExecution'
            ? str(call.input.executionArn)
            : undefined;
      if (resource === undefined) throw new UnmappedOperationError(`states:${call.operation}`);
      return [{ action: `states:${call.operation}`, resource, context: region }];
    }
    case 'events': {
      if (call.operation !== 'PutEvents') throw new UnmappedOperationError(`events:${call.operation}`);
      const entries = Array.isArray(call.input.Entries)
        ? (call.input.Entries as Record<string, unknown>[])
        : [];
      // One request per entry: each names its bus (the default one when unnamed, or an ARN).
      return entries.map((entry) => {
        const bus = str(entry.EventBusName) ?? 'default';
        const resource = bus.startsWith('arn:')
          ? bus
          : `arn:${names.partition}:events:${call.region}:${names.account}:event-bus/${bus}`;
        const source = str(entry.Source);
        const detailType = str(entry.DetailType);
        return {
          action: 'events:PutEvents',
          resource,
          context: {
            ...region,
            ...(source ? { 'events:source': [source] } : {}),
            ...(detailType ? { 'events:detail-type': detailType } : {}),
          },
        };
      });
    }
    case 'dynamodb': {
      // Item actions and a Scan of the table are on the table, a Query on an index on the index
      // (`table/<name>/index/<index>`)
      // (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazondynamodb.html).
      if (!['PutItem', 'GetItem', 'DeleteItem', 'Query', 'Scan'].includes(call.operation))
        throw new UnmappedOperationError(`dynamodb:${call.operation}`);
      const table = str(call.input.TableName) ?? '';
      const index = call.operation === 'Query' ? str(call.input.IndexName) : undefined;
      return [
        {
          action: `dynamodb:${call.operation}`,
          resource: `arn:${names.partition}:dynamodb:${call.region}:${names.account}:table/${table}${index ? `/index/${index}` : ''}`,
          context: region,
        },
      ];
    }
    case 'sqs': {
      // ReceiveMessage is on the queue (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsqs.html);
      // its URL ends in `/account/name`, the queue's ARN is built from the same.
      if (call.operation !== 'ReceiveMessage') throw new UnmappedOperationError(`sqs:${call.operation}`);
      const name = (str(call.input.QueueUrl) ?? '').split('/').at(-1) ?? '';
      return [
        {
          action: 'sqs:ReceiveMessage',
          resource: `arn:${names.partition}:sqs:${call.region}:${names.account}:${name}`,
          context: region,
        },
      ];
    }
    case 'monitoring': {
      if (call.operation !== 'PutMetricData')
        throw new UnmappedOperationError(`cloudwatch:${call.operation}`);
      // No resource types; `cloudwatch:namespace` scopes it.
      const namespace = str(call.input.Namespace);
      return [
        {
          action: 'cloudwatch:PutMetricData',
          resource: '*',
          context: { ...region, ...(namespace ? { 'cloudwatch:namespace': namespace } : {}) },
        },
      ];
    }
    default:
      throw new UnmappedOperationError(`${call.service}:${call.operation}`);
  }
}

/**
 * The IAM requests one recorded call needs, each with its principal: the function itself, or the
 * destination role it assumed (whose account then names bare KMS keys and aliases).
 */
export function requestsOf(call: RecordedCall, given: AuthorizationNames = SANDBOX_NAMES): IamRequest[] {
  const partition = given.partition ?? 'aws';
  const names: Names = {
    partition,
    urlSuffix: given.urlSuffix ?? (partition === 'aws-cn' ? 'amazonaws.com.cn' : 'amazonaws.com'),
    account: ('role' in call.principal ? accountOfRole(call.principal.role) : undefined) ?? given.account,
  };
  const label = `${call.service === 'monitoring' ? 'cloudwatch' : call.service}:${call.operation}`;
  return drafts(call, names).map((draft) => ({ principal: call.principal, ...draft, call: label }));
}
