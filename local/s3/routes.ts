import {
  createBucket,
  deleteBucket,
  getBucketLocation,
  getBucketVersioning,
  headBucket,
  listBuckets,
  putBucketVersioning,
} from './bucket.ts';
import type { S3Operation } from './context.ts';
import { copyObject, uploadPartCopy } from './copy.ts';
import {
  deleteBucketInventoryConfiguration,
  getBucketInventoryConfiguration,
  listBucketInventoryConfigurations,
  putBucketInventoryConfiguration,
} from './inventory-configuration.ts';
import { listObjects, listObjectsV2, listObjectVersions } from './listings.ts';
import {
  abortMultipartUpload,
  completeMultipartUpload,
  createMultipartUpload,
  listMultipartUploads,
  listParts,
  uploadPart,
} from './multipart.ts';
import {
  getObjectLegalHold,
  getObjectLockConfiguration,
  getObjectRetention,
  putObjectLegalHold,
  putObjectLockConfiguration,
  putObjectRetention,
} from './object-lock.ts';
import { deleteObject, deleteObjects, getObject, headObject, putObject, restoreObject } from './objects.ts';
import { deleteObjectTagging, getObjectTagging, putObjectTagging } from './tagging.ts';

/**
 * The routing table: each S3 operation the sandbox serves, by the name `s3OperationOf` gives a request
 * (s3-operations.ts, which also counts requests). An operation not in the table is answered 501.
 */
export const ROUTES: Readonly<Record<string, S3Operation>> = {
  ListBuckets: listBuckets,
  HeadBucket: headBucket,
  GetBucketLocation: getBucketLocation,
  CreateBucket: createBucket,
  DeleteBucket: deleteBucket,
  GetBucketVersioning: getBucketVersioning,
  PutBucketVersioning: putBucketVersioning,
  PutBucketInventoryConfiguration: putBucketInventoryConfiguration,
  GetBucketInventoryConfiguration: getBucketInventoryConfiguration,
  ListBucketInventoryConfigurations: listBucketInventoryConfigurations,
  DeleteBucketInventoryConfiguration: deleteBucketInventoryConfiguration,
  ListObjects: listObjects,
  ListObjectsV2: listObjectsV2,
  ListObjectVersions: listObjectVersions,
  ListMultipartUploads: listMultipartUploads,
  DeleteObjects: deleteObjects,
  PutObject: putObject,
  CopyObject: copyObject,
  GetObject: getObject,
  HeadObject: headObject,
  DeleteObject: deleteObject,
  RestoreObject: restoreObject,
  GetObjectTagging: getObjectTagging,
  PutObjectTagging: putObjectTagging,
  DeleteObjectTagging: deleteObjectTagging,
  CreateMultipartUpload: createMultipartUpload,
  UploadPart: uploadPart,
  UploadPartCopy: uploadPartCopy,
  CompleteMultipartUpload: completeMultipartUpload,
  AbortMultipartUpload: abortMultipartUpload,
  ListParts: listParts,
  GetObjectLockConfiguration: getObjectLockConfiguration,
  PutObjectLockConfiguration: putObjectLockConfiguration,
  GetObjectRetention: getObjectRetention,
  PutObjectRetention: putObjectRetention,
  GetObjectLegalHold: getObjectLegalHold,
  PutObjectLegalHold: putObjectLegalHold,
};

/** Operations that name no existing bucket (or create it): no NoSuchBucket, no Region check. */
export const BUCKETLESS_OPERATIONS = new Set(['ListBuckets', 'CreateBucket']);
