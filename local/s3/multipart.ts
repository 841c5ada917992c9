import { createHash, randomBytes } from 'node:crypto';
import { attributesOf } from './attributes.ts';
import { checkWriteConditions, writeConditionsOf } from './conditions.ts';
import { header, type S3Context, type S3Request, sendEmpty } from './context.ts';
import { checkKey, checkPartNumber, checkPutSize, MIN_PART_BYTES, pageSize } from './limits.ts';
import { commonPrefixes, keysOf, nextMarkers, ownerXml, pageOf } from './listings.ts';
import { lockOfRequest, withDefaultRetention } from './object-lock.ts';
import { eventVersionId, writeAnswerHeaders } from './objects.ts';
import { type Bucket, byteOrder, type Part, type Upload } from './store.ts';
import {
  element,
  malformedXml,
  noSuchUpload,
  readBody,
  S3ServiceError,
  s3Error,
  sendXml,
  unescapeXml,
  xmlDate,
  xmlElements,
} from './wire.ts';

/**
 * Multipart uploads (https://docs.aws.amazon.com/AmazonS3/latest/userguide/mpuoverview.html): create with
 * the object's attributes, upload parts (UploadPartCopy is in copy.ts), complete, abort, list parts and
 * uploads with S3's paging. A completed upload keeps its parts' bytes as the object's segments: nothing is
 * copied, read or hashed again, whatever the object's size. Its ETag is S3's, computed from the parts' MD5s
 * alone: the MD5 of their binary MD5s, a dash, the part count.
 */

function uploadOf(bucket: Bucket, request: S3Request): Upload {
  const upload = bucket.uploads.get(request.query.get('uploadId') ?? '');
  if (!upload || upload.key !== request.key) throw noSuchUpload();
  return upload;
}

const uploadOwner = (context: S3Context) => `${ownerXml(context, 'Initiator')}${ownerXml(context)}`;

export function createMultipartUpload(context: S3Context, request: S3Request): void {
  const bucket = context.store.bucket(request.bucket);
  checkKey(request.key);
  // The lock the upload's object will have is set here, and applied by the completion.
  const lock = lockOfRequest(context, bucket, request.headers);
  const upload: Upload = {
    uploadId: randomBytes(48).toString('base64url'),
    key: request.key,
    initiated: new Date(),
    attributes: { ...attributesOf(request.headers), ...(lock ? { lock } : {}) },
    parts: new Map(),
    deletions: context.store.deletions(bucket, request.key),
  };
  bucket.uploads.set(upload.uploadId, upload);
  sendXml(
    request.res,
    `<InitiateMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${element('Bucket', bucket.name)}` +
      `${element('Key', request.key)}${element('UploadId', upload.uploadId)}</InitiateMultipartUploadResult>`,
    upload.attributes.serverSideEncryption
      ? { 'x-amz-server-side-encryption': upload.attributes.serverSideEncryption }
      : {},
  );
}

export async function uploadPart(context: S3Context, request: S3Request): Promise<void> {
  const { store } = context;
  const bucket = store.bucket(request.bucket);
  const upload = uploadOf(bucket, request);
  const partNumber = checkPartNumber(request.query.get('partNumber'));
  const length = header(request, 'content-length');
  if (length !== undefined) checkPutSize(Number(length));
  const { segment, md5 } = await store.writeBlob(request.body, header(request, 'content-md5'));
  if (bucket.uploads.get(upload.uploadId) !== upload) {
    store.discard([segment]);
    throw noSuchUpload();
  }
  const replaced = upload.parts.get(partNumber);
  if (replaced) store.release(replaced.segments);
  upload.parts.set(partNumber, {
    partNumber,
    etag: md5,
    size: segment.length,
    lastModified: new Date(),
    segments: store.retain([segment]),
  });
  sendEmpty(request, 200, {
    etag: `"${md5}"`,
    ...(upload.attributes.serverSideEncryption
      ? { 'x-amz-server-side-encryption': upload.attributes.serverSideEncryption }
      : {}),
  });
}

/** The parts a completion names, in its order, each checked as S3 checks it. */
function chosenParts(upload: Upload, body: string): Part[] {
  const listed = xmlElements(body, 'Part').map((part) => ({
    partNumber: Number(xmlElements(part, 'PartNumber')[0]?.trim()),
    etag: unescapeXml(xmlElements(part, 'ETag')[0] ?? '')
      .trim()
      .replaceAll('"', ''),
  }));
  if (!body.includes('<CompleteMultipartUpload') || listed.length === 0) throw malformedXml();
  const invalidPart = (partNumber: number, etag: string) =>
    s3Error(
      400,
      'InvalidPart',
      "One or more of the specified parts could not be found.  The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.",
      { extra: { UploadId: upload.uploadId, PartNumber: String(partNumber), ETag: etag } },
    );
  return listed.map(({ partNumber, etag }, index) => {
    const previous = listed[index - 1];
    if (previous && partNumber <= previous.partNumber) {
      throw s3Error(
        400,
        'InvalidPartOrder',
        'The list of parts was not in ascending order. The parts list must be specified in order by part number.',
        { extra: { UploadId: upload.uploadId } },
      );
    }
    const part = upload.parts.get(partNumber);
    if (!part || part.etag !== etag) throw invalidPart(partNumber, etag);
    return part;
  });
}

export async function completeMultipartUpload(context: S3Context, request: S3Request): Promise<void> {
  const { store } = context;
  const bucket = store.bucket(request.bucket);
  const body = (await readBody(request.body)).toString('utf8');
  const upload = uploadOf(bucket, request);
  const conditions = writeConditionsOf(request.headers);
  const parts = chosenParts(upload, body);
  parts.forEach((part, index) => {
    if (index < parts.length - 1 && part.size < MIN_PART_BYTES) {
      throw s3Error(400, 'EntityTooSmall', 'Your proposed upload is smaller than the minimum allowed size', {
        extra: {
          ProposedSize: String(part.size),
          MinSizeAllowed: String(MIN_PART_BYTES),
          PartNumber: String(part.partNumber),
          ETag: part.etag,
        },
      });
    }
  });
  // x-amz-mp-object-size: the size the caller expects; S3 refuses any other total with 400 InvalidRequest
  // (https://docs.aws.amazon.com/AmazonS3/latest/API/API_CompleteMultipartUpload.html, MpuObjectSize).
  const expectedSize = header(request, 'x-amz-mp-object-size');
  const total = parts.reduce((sum, part) => sum + part.size, 0);
  if (expectedSize !== undefined && Number(expectedSize) !== total) {
    throw s3Error(
      400,
      'InvalidRequest',
      `The provided 'x-amz-mp-object-size' header value ${expectedSize} does not match what was computed: ${total}`,
    );
  }
  // The completion takes effect here, in one step, checked against the object it replaces; a delete of
  // the key since the upload began makes a conditional completion a conflict, after which the upload is
  // gone (S3 says to initiate another; a 412 leaves the upload to complete or abort).
  const overtaken = store.deletions(bucket, request.key) !== upload.deletions;
  try {
    checkWriteConditions(request.key, store.currentObject(bucket, request.key), conditions, overtaken);
  } catch (error) {
    if (error instanceof S3ServiceError && error.answer.status === 409) {
      store.releaseParts(upload);
      bucket.uploads.delete(upload.uploadId);
    }
    throw error;
  }
  const digest = createHash('md5');
  for (const part of parts) digest.update(Buffer.from(part.etag, 'hex'));
  const lock = withDefaultRetention(context, bucket, upload.attributes.lock);
  const object = store.put(bucket, {
    ...upload.attributes,
    ...(lock ? { lock } : {}),
    key: request.key,
    etag: `${digest.digest('hex')}-${parts.length}`,
    size: total,
    lastModified: new Date(),
    segments: parts.flatMap((part) => part.segments),
    partSizes: parts.map((part) => part.size),
    partETags: parts.map((part) => part.etag),
  });
  store.releaseParts(upload);
  bucket.uploads.delete(upload.uploadId);
  context.events.emitCreated(bucket.name, request.key, 'CompleteMultipartUpload', {
    size: object.size,
    etag: object.etag,
    versionId: eventVersionId(bucket, object.versionId),
  });
  const { etag: _etag, ...headers } = writeAnswerHeaders(bucket, object);
  const path = `/${bucket.name}/${request.key.split('/').map(encodeURIComponent).join('/')}`;
  sendXml(
    request.res,
    `<CompleteMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">` +
      `${element('Location', `http://${header(request, 'host') ?? 'localhost'}${path}`)}${element('Bucket', bucket.name)}` +
      `${element('Key', request.key)}${element('ETag', `"${object.etag}"`)}</CompleteMultipartUploadResult>`,
    headers,
  );
}

export function abortMultipartUpload(context: S3Context, request: S3Request): void {
  const bucket = context.store.bucket(request.bucket);
  const upload = uploadOf(bucket, request);
  context.store.releaseParts(upload);
  bucket.uploads.delete(upload.uploadId);
  sendEmpty(request, 204);
}

export function listParts(context: S3Context, request: S3Request): void {
  const bucket = context.store.bucket(request.bucket);
  const upload = uploadOf(bucket, request);
  const marker = Number(request.query.get('part-number-marker') ?? 0) || 0;
  const max = pageSize(request.query.get('max-parts'), 'max-parts');
  const after = [...upload.parts.values()]
    .filter((part) => part.partNumber > marker)
    .sort((a, b) => a.partNumber - b.partNumber);
  const page = after.slice(0, max);
  const truncated = after.length > page.length;
  sendXml(
    request.res,
    `<ListPartsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${element('Bucket', bucket.name)}` +
      `${element('Key', upload.key)}${element('UploadId', upload.uploadId)}${uploadOwner(context)}` +
      `${element('StorageClass', upload.attributes.storageClass)}${element('PartNumberMarker', marker)}` +
      `${element('NextPartNumberMarker', page.at(-1)?.partNumber ?? marker)}${element('MaxParts', max)}` +
      `${element('IsTruncated', truncated)}` +
      page
        .map(
          (part) =>
            `<Part>${element('PartNumber', part.partNumber)}${element('LastModified', xmlDate(part.lastModified))}` +
            `${element('ETag', `"${part.etag}"`)}${element('Size', part.size)}</Part>`,
        )
        .join('') +
      '</ListPartsResult>',
  );
}

/**
 * ListMultipartUploads as S3 pages it: by key, then by initiation time for one key; after `key-marker`
 * (and, for that key, after `upload-id-marker`); a delimiter rolls keys up into common prefixes.
 */
export function listMultipartUploads(context: S3Context, request: S3Request): void {
  const bucket = context.store.bucket(request.bucket);
  const { query } = request;
  const prefix = query.get('prefix') ?? '';
  const delimiter = query.get('delimiter') ?? '';
  const max = pageSize(query.get('max-uploads'), 'max-uploads');
  const keyMarker = query.get('key-marker') ?? '';
  const uploadIdMarker = query.get('upload-id-marker') ?? '';
  const byKey = new Map<string, Upload[]>();
  // Map order is creation order, so each key's uploads are in the order they were initiated.
  for (const upload of bucket.uploads.values())
    byKey.set(upload.key, [...(byKey.get(upload.key) ?? []), upload]);
  const keys = [...byKey.keys()].sort(byteOrder);
  function* rows() {
    if (keyMarker && uploadIdMarker) {
      const uploads = byKey.get(keyMarker) ?? [];
      const at = uploads.findIndex((upload) => upload.uploadId === uploadIdMarker);
      if (at >= 0) for (const upload of uploads.slice(at + 1)) yield { key: keyMarker, item: upload };
    }
    for (const key of keysOf(keys, prefix, keyMarker || undefined)) {
      for (const upload of byKey.get(key) ?? []) yield { key, item: upload };
    }
  }
  const page = pageOf(rows(), { prefix, delimiter, max, ...(keyMarker ? { after: keyMarker } : {}) });
  const next = nextMarkers(page, 'NextUploadIdMarker', (upload) => upload.uploadId);
  sendXml(
    request.res,
    `<ListMultipartUploadsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${element('Bucket', bucket.name)}` +
      `${element('KeyMarker', keyMarker)}${element('UploadIdMarker', uploadIdMarker)}${next}` +
      `${element('Prefix', prefix)}${delimiter ? element('Delimiter', delimiter) : ''}` +
      `${element('MaxUploads', max)}${element('IsTruncated', page.truncated)}` +
      page.entries
        .map((entry) => {
          if (entry.kind === 'prefix') return '';
          const upload = entry.row.item;
          return (
            `<Upload>${element('Key', upload.key)}${element('UploadId', upload.uploadId)}${uploadOwner(context)}` +
            `${element('StorageClass', upload.attributes.storageClass)}${element('Initiated', xmlDate(upload.initiated))}</Upload>`
          );
        })
        .join('') +
      commonPrefixes(page.entries) +
      '</ListMultipartUploadsResult>',
  );
}
