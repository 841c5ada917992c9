import { type S3Context, type S3Request, sendEmpty } from './context.ts';
import { ownerXml } from './listings.ts';
import { checkVersioningChange, enableAtCreation } from './object-lock.ts';
import { element, malformedXml, readBody, s3Error, sendXml, xmlDate, xmlValue } from './wire.ts';

/**
 * Bucket operations: ListBuckets, HeadBucket, GetBucketLocation, CreateBucket, DeleteBucket,
 * GetBucketVersioning, PutBucketVersioning (https://docs.aws.amazon.com/AmazonS3/latest/API/API_CreateBucket.html,
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketLocation.html,
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketVersioning.html).
 */

const NAMESPACE = 'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"';

export function listBuckets(context: S3Context, request: S3Request): void {
  sendXml(
    request.res,
    `<ListAllMyBucketsResult ${NAMESPACE}>${ownerXml(context)}<Buckets>${context.store
      .list()
      .map(
        (bucket) =>
          `<Bucket>${element('Name', bucket.name)}${element('CreationDate', xmlDate(bucket.created))}` +
          `${element('BucketRegion', bucket.region)}</Bucket>`,
      )
      .join('')}</Buckets></ListAllMyBucketsResult>`,
  );
}

export function headBucket(context: S3Context, request: S3Request): void {
  const bucket = context.store.bucket(request.bucket);
  sendEmpty(request, 200, { 'x-amz-bucket-region': bucket.region });
}

/** us-east-1 answers an empty LocationConstraint, every other Region its name. */
export function getBucketLocation(context: S3Context, request: S3Request): void {
  const bucket = context.store.bucket(request.bucket);
  const constraint = bucket.region === 'us-east-1' ? '' : bucket.region;
  sendXml(request.res, `<LocationConstraint ${NAMESPACE}>${constraint}</LocationConstraint>`);
}

/** https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html */
const BUCKET_NAME = /^(?!xn--)(?!.*-s3alias$)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

export async function createBucket(context: S3Context, request: S3Request): Promise<void> {
  const body = (await readBody(request.body)).toString('utf8');
  const constraint = body.trim() ? xmlValue(body, 'LocationConstraint') : undefined;
  if (body.trim() && !body.includes('<CreateBucketConfiguration')) throw malformedXml();
  if (!BUCKET_NAME.test(request.bucket) || request.bucket.includes('..')) {
    throw s3Error(400, 'InvalidBucketName', 'The specified bucket is not valid.', {
      extra: { BucketName: request.bucket },
    });
  }
  if (constraint === 'us-east-1') {
    throw s3Error(400, 'InvalidLocationConstraint', 'The specified location-constraint is not valid', {
      extra: { LocationConstraint: constraint },
    });
  }
  const region = constraint || 'us-east-1';
  const signedFor = request.scope?.region ?? region;
  if (signedFor !== region) {
    throw s3Error(
      400,
      'IllegalLocationConstraintException',
      `The ${region} location constraint is incompatible for the region specific endpoint this request was sent to.`,
    );
  }
  const existing = context.store.find(request.bucket);
  if (existing) {
    // S3's legacy answer in us-east-1: re-creating a bucket you own there succeeds and changes nothing.
    if (existing.region === 'us-east-1' && region === 'us-east-1') {
      return sendEmpty(request, 200, { location: `/${request.bucket}` });
    }
    throw s3Error(
      409,
      'BucketAlreadyOwnedByYou',
      'Your previous request to create the named bucket succeeded and you already own it.',
      { extra: { BucketName: request.bucket } },
    );
  }
  enableAtCreation(context.store.createBucket(request.bucket, region), request.headers);
  sendEmpty(request, 200, { location: `/${request.bucket}` });
}

export function deleteBucket(context: S3Context, request: S3Request): void {
  context.store.deleteBucket(request.bucket);
  sendEmpty(request, 204);
}

export function getBucketVersioning(context: S3Context, request: S3Request): void {
  const bucket = context.store.bucket(request.bucket);
  const status = bucket.versioning === 'Unversioned' ? '' : element('Status', bucket.versioning);
  sendXml(request.res, `<VersioningConfiguration ${NAMESPACE}>${status}</VersioningConfiguration>`);
}

/** Enabled or Suspended; a bucket that had versioning can be suspended, never unversioned again. */
export async function putBucketVersioning(context: S3Context, request: S3Request): Promise<void> {
  const bucket = context.store.bucket(request.bucket);
  const body = (await readBody(request.body)).toString('utf8');
  const status = xmlValue(body, 'Status');
  if (!body.includes('<VersioningConfiguration') || (status !== 'Enabled' && status !== 'Suspended')) {
    throw malformedXml();
  }
  checkVersioningChange(bucket, status);
  bucket.versioning = status;
  sendEmpty(request, 200);
}
