import {
  contentOf,
  encryptionOf,
  etagIsMd5,
  invalidObjectState,
  isArchived,
  metadataOf,
  storageClassOf,
  wholeObjectETag,
} from './attributes.ts';
import { checkCopySourceConditions, checkWriteConditions, writeConditionsOf } from './conditions.ts';
import { header, type S3Context, type S3Request } from './context.ts';
import {
  checkCopySourceSize,
  checkKey,
  checkPartNumber,
  MAX_SINGLE_PUT_BYTES,
  tagsOfHeader,
} from './limits.ts';
import { lockOfRequest, withDefaultRetention } from './object-lock.ts';
import { eventVersionId, objectOf, writeAnswerHeaders } from './objects.ts';
import type { Bucket, ObjectAttributes, StoredObject } from './store.ts';
import {
  element,
  invalidArgument,
  noSuchUpload,
  parseCopySource,
  S3ServiceError,
  s3Error,
  sendXml,
  xmlDate,
} from './wire.ts';

/**
 * CopyObject and UploadPartCopy (https://docs.aws.amazon.com/AmazonS3/latest/API/API_CopyObject.html,
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_UploadPartCopy.html). A copy checks its source's
 * conditions on the very version it then copies: it takes the version at once and holds its bytes, so a
 * write to the source meanwhile changes nothing of it. The bytes are shared with the source, not written
 * again; a copy's ETag is its source's MD5 (computed when the source is a multipart object, whose ETag is
 * not one).
 */

interface CopySource {
  bucket: Bucket;
  object: StoredObject;
}

/** The source a copy names (`x-amz-copy-source`), checked as S3 checks it, conditions included. */
function copySourceOf(context: S3Context, request: S3Request): CopySource {
  const from = parseCopySource(header(request, 'x-amz-copy-source') ?? '');
  if (!from) {
    throw invalidArgument(
      'Copy Source must mention the source bucket and key: sourcebucket/sourcekey',
      'x-amz-copy-source',
      header(request, 'x-amz-copy-source'),
    );
  }
  const bucket = context.store.bucket(from.bucket);
  let object: StoredObject;
  try {
    object = objectOf(context, bucket, from.key, from.versionId);
  } catch (error) {
    if (error instanceof S3ServiceError && error.answer.status === 405) {
      throw s3Error(
        400,
        'InvalidRequest',
        'The source of a copy request may not specifically refer to a delete marker by version id.',
      );
    }
    throw error;
  }
  if (isArchived(object)) throw invalidObjectState(object.storageClass);
  checkCopySourceConditions(object, request.headers);
  return { bucket, object };
}

const copySourceVersionHeader = (source: CopySource): Record<string, string> =>
  source.bucket.versioning === 'Unversioned'
    ? {}
    : { 'x-amz-copy-source-version-id': source.object.versionId };

/**
 * Runs the local work of a copy (hashing) beside its modelled S3 copy time (benchmarks; copy-model.ts): the
 * answer comes after the longer of the two, and how much the local work outlasted the model is recorded.
 */
async function alongsideModel<T>(
  context: S3Context,
  pair: { from: string; to: string; bytes: number },
  work: Promise<T>,
): Promise<T> {
  const model = context.copyModel;
  if (!model?.limited) return work;
  const startedAt = performance.now();
  const [result, modelledEnd] = await Promise.all([work, model.transfer(pair.from, pair.to, pair.bytes)]);
  model.answered(startedAt, modelledEnd);
  return result;
}

/**
 * A part copy's ETag: the MD5 of its bytes. S3 computes it as it copies; the sandbox reuses one it already
 * knows, when the range is exactly one part of a multipart source (that part's MD5) or all of a
 * source whose ETag is its MD5 (etagIsMd5), and hashes the range otherwise.
 */
function partCopyMd5(context: S3Context, object: StoredObject, start: number, end: number): Promise<string> {
  if (etagIsMd5(object) && start === 0 && end === object.size) return Promise.resolve(object.etag);
  if (object.partSizes && object.partETags) {
    let position = 0;
    for (const [index, size] of object.partSizes.entries()) {
      if (position === start && position + size === end) {
        const known = object.partETags[index];
        if (known) return Promise.resolve(known);
      }
      position += size;
      if (position > start) break;
    }
  }
  return context.store.md5(context.store.slice(object.segments, start, end), 0, end - start);
}

function directiveOf(request: S3Request, name: string): 'COPY' | 'REPLACE' {
  const directive = (header(request, name) ?? 'COPY').toUpperCase();
  if (directive !== 'COPY' && directive !== 'REPLACE') {
    throw invalidArgument(
      `Unknown ${name === 'x-amz-metadata-directive' ? 'metadata' : 'tagging'} directive.`,
      name,
      directive,
    );
  }
  return directive;
}

/**
 * The copy's attributes: metadata and content headers from the source (COPY) or the request (REPLACE);
 * the website redirect only if the request gives one (S3 does not copy it); storage class and encryption
 * from the request (STANDARD and SSE-S3 otherwise); tags by `x-amz-tagging-directive`.
 */
function copyAttributes(request: S3Request, source: StoredObject): ObjectAttributes {
  const metadataDirective = directiveOf(request, 'x-amz-metadata-directive');
  const taggingDirective = directiveOf(request, 'x-amz-tagging-directive');
  const redirect = header(request, 'x-amz-website-redirect-location');
  const content =
    metadataDirective === 'REPLACE'
      ? { metadata: metadataOf(request.headers), ...contentOf(request.headers) }
      : {
          metadata: { ...source.metadata },
          contentType: source.contentType,
          ...pick(source, [
            'contentEncoding',
            'contentDisposition',
            'contentLanguage',
            'cacheControl',
            'expires',
          ]),
        };
  return {
    ...content,
    ...(redirect !== undefined ? { websiteRedirectLocation: redirect } : {}),
    storageClass: storageClassOf(request.headers),
    ...encryptionOf(request.headers),
    tags: taggingDirective === 'REPLACE' ? tagsOfHeader(header(request, 'x-amz-tagging')) : [...source.tags],
  };
}

function pick<T extends object, K extends keyof T>(object: T, names: K[]): Partial<Pick<T, K>> {
  const picked: Partial<Pick<T, K>> = {};
  for (const name of names) if (object[name] !== undefined) picked[name] = object[name];
  return picked;
}

export async function copyObject(context: S3Context, request: S3Request): Promise<void> {
  const { store } = context;
  const bucket = store.bucket(request.bucket);
  checkKey(request.key);
  const source = copySourceOf(context, request);
  const { object: from } = source;
  checkCopySourceSize(from.size);
  const attributes = copyAttributes(request, from);
  // A copy's lock comes from its request (or the destination's default), never from its source.
  const lock = withDefaultRetention(context, bucket, lockOfRequest(context, bucket, request.headers));
  const toItself = source.bucket === bucket && from.key === request.key;
  if (
    toItself &&
    directiveOf(request, 'x-amz-metadata-directive') === 'COPY' &&
    header(request, 'x-amz-storage-class') === undefined &&
    header(request, 'x-amz-server-side-encryption') === undefined &&
    header(request, 'x-amz-website-redirect-location') === undefined
  ) {
    throw s3Error(
      400,
      'InvalidRequest',
      "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.",
    );
  }
  const conditions = writeConditionsOf(request.headers);
  checkWriteConditions(request.key, store.currentObject(bucket, request.key), conditions);
  const deletions = store.deletions(bucket, request.key);
  const held = store.retain(from.segments);
  let object: StoredObject;
  try {
    const md5 = await alongsideModel(
      context,
      { from: source.bucket.name, to: bucket.name, bytes: from.size },
      etagIsMd5(from) ? Promise.resolve(from.etag) : store.md5(from.segments, 0, from.size),
    );
    // A copy's ETag is its bytes' MD5 unless the copy is under KMS (wholeObjectETag), whatever its source's.
    const etag = wholeObjectETag(md5, attributes.serverSideEncryption);
    checkWriteConditions(
      request.key,
      store.currentObject(bucket, request.key),
      conditions,
      store.deletions(bucket, request.key) !== deletions,
    );
    object = store.put(bucket, {
      ...attributes,
      ...(lock ? { lock } : {}),
      key: request.key,
      etag,
      size: from.size,
      lastModified: new Date(),
      segments: from.segments,
    });
  } finally {
    store.release(held);
  }
  context.events.emitCreated(bucket.name, request.key, 'CopyObject', {
    size: object.size,
    etag: object.etag,
    versionId: eventVersionId(bucket, object.versionId),
  });
  const { etag: _etag, ...headers } = writeAnswerHeaders(bucket, object);
  sendXml(
    request.res,
    `<CopyObjectResult>${element('LastModified', xmlDate(object.lastModified))}${element('ETag', `"${object.etag}"`)}</CopyObjectResult>`,
    { ...headers, ...copySourceVersionHeader(source) },
  );
}

/** `x-amz-copy-source-range: bytes=first-last`, within the source, as [start, end). */
function copyRangeOf(text: string | undefined, size: number): [number, number] {
  if (text === undefined) {
    checkCopySourceSize(size);
    return [0, size];
  }
  const match = /^bytes=(\d+)-(\d+)$/.exec(text.trim());
  if (!match) {
    throw invalidArgument(
      'The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy',
      'x-amz-copy-source-range',
      text,
    );
  }
  const start = Number(match[1]);
  const last = Number(match[2]);
  if (last < start || last >= size) {
    throw invalidArgument(
      `Range specified is not valid for source object of size: ${size}`,
      'x-amz-copy-source-range',
      text,
    );
  }
  if (last - start + 1 > MAX_SINGLE_PUT_BYTES) {
    throw s3Error(400, 'EntityTooLarge', 'Your proposed upload exceeds the maximum allowed size');
  }
  return [start, last + 1];
}

export async function uploadPartCopy(context: S3Context, request: S3Request): Promise<void> {
  const { store } = context;
  const bucket = store.bucket(request.bucket);
  const uploadId = request.query.get('uploadId') ?? '';
  const upload = bucket.uploads.get(uploadId);
  if (!upload || upload.key !== request.key) throw noSuchUpload();
  const partNumber = checkPartNumber(request.query.get('partNumber'));
  const source = copySourceOf(context, request);
  const [start, end] = copyRangeOf(header(request, 'x-amz-copy-source-range'), source.object.size);
  // The part shares the source's bytes; reading them once gives the part's MD5 (its ETag).
  const segments = store.retain(store.slice(source.object.segments, start, end));
  let etag: string;
  try {
    etag = await alongsideModel(
      context,
      { from: source.bucket.name, to: bucket.name, bytes: end - start },
      partCopyMd5(context, source.object, start, end),
    );
  } catch (error) {
    store.release(segments);
    throw error;
  }
  if (bucket.uploads.get(uploadId) !== upload) {
    store.release(segments);
    throw noSuchUpload();
  }
  const replaced = upload.parts.get(partNumber);
  if (replaced) store.release(replaced.segments);
  const lastModified = new Date();
  upload.parts.set(partNumber, { partNumber, etag, size: end - start, lastModified, segments });
  sendXml(
    request.res,
    `<CopyPartResult>${element('LastModified', xmlDate(lastModified))}${element('ETag', `"${etag}"`)}</CopyPartResult>`,
    {
      ...copySourceVersionHeader(source),
      ...(upload.attributes.serverSideEncryption
        ? { 'x-amz-server-side-encryption': upload.attributes.serverSideEncryption }
        : {}),
    },
  );
}
