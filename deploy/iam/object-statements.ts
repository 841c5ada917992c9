import type { ObjectRule } from '#rules/schema';
import { replicaKeys, s3BucketArn, sourceKeys } from './arns.ts';
import { keyCondition, kmsKeyResource, sourceKeyDrafts } from './kms.ts';
import { assumeRoles, startCopies } from './shared-statements.ts';
import { StatementList } from './statement-list.ts';
import type { IamContext, Names } from './types.ts';

/** Statements of the S3 object functions (object-created, object-deleted, object-copy-step: src/objects). */

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
/** Reading a version's Object Lock, as HEAD answers it (x-amz-object-lock-*). */
const SOURCE_LOCK_READ = ['s3:GetObjectRetention', 's3:GetObjectLegalHold'];
export type ObjectFunction = 'objectCreated' | 'objectCopyStep' | 'objectDeleted';

export function objectStatements(
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
    // A destination that carries the source's Object Lock reads it from the source's HEAD, which answers the
    // lock headers only to a caller with these ("Permissions for viewing lock information",
    // https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock-managing.html#object-lock-managing-view).
    const carrying = rules.filter((rule) => rule.to.some((destination) => destination.lock?.copy));
    if (carrying.length > 0)
      list.add({
        sid: 'ReadSourceLocks',
        actions: SOURCE_LOCK_READ,
        resources: carrying.map((rule) => sourceKeys(names, rule)),
      });
    list.add({
      sid: 'ListSourceBuckets',
      actions: ['s3:ListBucket'],
      resources: rules.map((rule) => s3BucketArn(names, rule.objects.bucket)),
    });
    // CopyObject and UploadPartCopy read the source's bytes: kms:Decrypt on the keys the rule names, for the
    // rules with a destination the function copies to itself (a destination role's copies decrypt with the
    // role's permissions: deploy/cross-account-parameters.ts).
    const homeRegion = context.homeRegion ?? { Ref: 'AWS::Region' };
    for (const rule of rules)
      if (rule.to.some((destination) => !destination.roleArn)) sourceKeyDrafts(list, names, rule, homeRegion);
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
    if (destination.lock) {
      // The same HEAD shows a locked replica's lock only with these (see ReadSourceLocks): the delete path
      // names a replica whose version the lock keeps.
      list.add({ sid: 'ReadReplicaLocks', actions: SOURCE_LOCK_READ, resources: [replicas] });
      if (writes) {
        // A write with lock headers: s3:PutObjectRetention for x-amz-object-lock-mode and -retain-until-date,
        // s3:PutObjectLegalHold for x-amz-object-lock-legal-hold (Service Authorization Reference, S3's
        // PutObject row and its condition keys s3:object-lock-*, list_amazons3.html; "Required permissions",
        // https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock.html#object-lock-permissions).
        // Ferry sets a legal hold only when it carries the source's.
        list.add({
          sid: 'LockReplicas',
          actions: ['s3:PutObjectRetention', ...(destination.lock.copy ? ['s3:PutObjectLegalHold'] : [])],
          resources: [replicas],
        });
        // GetObjectLockConfiguration, once per bucket per invocation, before the first locked write.
        list.add({
          sid: 'CheckDestinationLocks',
          actions: ['s3:GetBucketObjectLockConfiguration'],
          resources: [s3BucketArn(names, destination.bucket)],
        });
      }
    }
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
