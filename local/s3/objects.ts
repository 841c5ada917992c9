import {
  attributesOf,
  invalidObjectState,
  isArchived,
  objectHeaders,
  versionHeader,
  wholeObjectETag,
} from './attributes.ts';
import {
  checkDeleteConditions,
  checkReadConditions,
  checkWriteConditions,
  writeConditionsOf,
} from './conditions.ts';
import { header, type S3Context, type S3Request, sendEmpty } from './context.ts';
import { checkKey, checkPutSize } from './limits.ts';
import {
  bypassesGovernance,
  checkDeletable,
  checkLockedPutIntegrity,
  lockOfRequest,
  withDefaultRetention,
} from './object-lock.ts';
import type { Bucket, StoredObject, Version } from './store.ts';
import {
  element,
  httpDate,
  malformedXml,
  noSuchKey,
  readBody,
  S3ServiceError,
  s3Error,
  sendXml,
  unescapeXml,
  xmlElements,
  xmlValue,
} from './wire.ts';

/**
 * Object operations: PutObject, GetObject, HeadObject, DeleteObject, DeleteObjects, RestoreObject, and the
 * sandbox's lifecycle expiration. Versions and delete markers as in
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/Versioning.html.
 */

/** The version id an event carries: only versions a versioned bucket issued have one (not `null` ones). */
export const eventVersionId = (bucket: Bucket, versionId: string) =>
  bucket.versioning === 'Unversioned' || versionId === 'null' ? undefined : versionId;

const noSuchVersion = (key: string, versionId: string) =>
  s3Error(404, 'NoSuchVersion', 'The specified version does not exist.', {
    extra: { Key: key, VersionId: versionId },
  });

/** A version id S3 could have issued: `null` or 32 URL-safe characters (anything else is a 400). */
function checkVersionId(versionId: string): void {
  if (versionId !== 'null' && !/^[A-Za-z0-9._-]{1,1024}$/.test(versionId)) {
    throw s3Error(400, 'InvalidArgument', 'Invalid version id specified', {
      extra: { ArgumentName: 'versionId', ArgumentValue: versionId },
    });
  }
}

/**
 * The version a request names (`versionId`), or the current one. A missing key is 404 NoSuchKey; a missing
 * version 404 NoSuchVersion; a delete marker, current, is NoSuchKey with `x-amz-delete-marker`, and named
 * by its id is 405 MethodNotAllowed (the answers GetObject documents).
 */
export function objectOf(
  context: S3Context,
  bucket: Bucket,
  key: string,
  versionId: string | null | undefined,
): StoredObject {
  const version = versionOf(context, bucket, key, versionId);
  if (version.kind === 'object') return version;
  const headers = { 'x-amz-delete-marker': 'true', 'x-amz-version-id': version.versionId };
  if (versionId) {
    throw s3Error(405, 'MethodNotAllowed', 'The specified method is not allowed against this resource.', {
      extra: { Method: 'GET', ResourceType: 'DeleteMarker' },
      headers: { ...headers, 'last-modified': httpDate(version.lastModified) },
    });
  }
  throw s3Error(404, 'NoSuchKey', 'The specified key does not exist.', { extra: { Key: key }, headers });
}

export function versionOf(
  context: S3Context,
  bucket: Bucket,
  key: string,
  versionId: string | null | undefined,
): Version {
  if (versionId) {
    checkVersionId(versionId);
    const version = context.store.version(bucket, key, versionId);
    if (!version) throw noSuchVersion(key, versionId);
    return version;
  }
  const current = context.store.current(bucket, key);
  if (!current) throw noSuchKey(key);
  return current;
}

export async function putObject(context: S3Context, request: S3Request): Promise<void> {
  const { store } = context;
  const bucket = store.bucket(request.bucket);
  checkKey(request.key);
  const attributes = attributesOf(request.headers);
  const conditions = writeConditionsOf(request.headers);
  const length = header(request, 'content-length');
  if (length !== undefined) checkPutSize(Number(length));
  const lock = withDefaultRetention(context, bucket, lockOfRequest(context, bucket, request.headers));
  checkLockedPutIntegrity(request.headers, lock);
  const deletions = store.deletions(bucket, request.key);
  const { segment, md5 } = await store.writeBlob(request.body, header(request, 'content-md5'));
  // The write takes effect here, in one step: its conditions are checked against the object it replaces,
  // and its event is emitted with its own ETag before any other write can take effect.
  try {
    checkWriteConditions(
      request.key,
      store.currentObject(bucket, request.key),
      conditions,
      store.deletions(bucket, request.key) !== deletions,
    );
  } catch (error) {
    store.discard([segment]);
    throw error;
  }
  const object = store.put(bucket, {
    ...attributes,
    ...(lock ? { lock } : {}),
    key: request.key,
    etag: wholeObjectETag(md5, attributes.serverSideEncryption),
    size: segment.length,
    lastModified: new Date(),
    segments: [segment],
  });
  context.events.emitCreated(bucket.name, request.key, 'PutObject', {
    size: object.size,
    etag: object.etag,
    versionId: eventVersionId(bucket, object.versionId),
  });
  sendEmpty(request, 200, writeAnswerHeaders(bucket, object));
}

/** The headers a write answers with: ETag, version id, encryption. */
export function writeAnswerHeaders(bucket: Bucket, object: StoredObject): Record<string, string> {
  return {
    etag: `"${object.etag}"`,
    ...versionHeader(bucket, object.versionId),
    ...(object.serverSideEncryption ? { 'x-amz-server-side-encryption': object.serverSideEncryption } : {}),
    ...(object.kmsKeyId ? { 'x-amz-server-side-encryption-aws-kms-key-id': object.kmsKeyId } : {}),
  };
}

/** `bytes=a-b`, `bytes=a-`, `bytes=-n` → [start, end) within the size; undefined when there is none. */
function rangeOf(text: string | undefined, size: number): [number, number] | undefined {
  const match = /^bytes=(\d*)-(\d*)$/.exec(text?.trim() ?? '');
  if (!match || (match[1] === '' && match[2] === '')) return undefined; // S3 ignores a range it cannot parse
  const unsatisfiable = () =>
    s3Error(416, 'InvalidRange', 'The requested range is not satisfiable', {
      extra: { RangeRequested: text ?? '', ActualObjectSize: String(size) },
      headers: { 'content-range': `bytes */${size}` },
    });
  if (match[1] === '') {
    const suffix = Number(match[2]);
    if (suffix === 0) throw unsatisfiable();
    return [Math.max(0, size - suffix), size];
  }
  const start = Number(match[1]);
  const last = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
  if (start >= size || last < start) throw unsatisfiable();
  return [start, last + 1];
}

/** The byte range of a part (`partNumber`), and the part count to answer with. */
function partRangeOf(object: StoredObject, text: string): { range: [number, number]; count: number } {
  const partNumber = Number(text);
  const sizes = object.partSizes ?? [object.size];
  const size = sizes[partNumber - 1];
  if (!Number.isInteger(partNumber) || size === undefined) {
    throw s3Error(416, 'InvalidPartNumber', 'The requested partnumber is not satisfiable', {
      extra: { PartNumberRequested: text, ActualPartCount: String(sizes.length) },
    });
  }
  const start = sizes.slice(0, partNumber - 1).reduce((sum, n) => sum + n, 0);
  return { range: [start, start + size], count: sizes.length };
}

/** GetObject's `response-*` parameters, which override the stored content headers in the answer. */
const RESPONSE_OVERRIDES: [string, string][] = [
  ['response-content-type', 'content-type'],
  ['response-content-language', 'content-language'],
  ['response-expires', 'expires'],
  ['response-cache-control', 'cache-control'],
  ['response-content-disposition', 'content-disposition'],
  ['response-content-encoding', 'content-encoding'],
];

async function readObject(context: S3Context, request: S3Request, withBody: boolean): Promise<void> {
  const bucket = context.store.bucket(request.bucket);
  const object = objectOf(context, bucket, request.key, request.query.get('versionId'));
  if (withBody && isArchived(object)) throw invalidObjectState(object.storageClass);
  checkReadConditions(object, request.headers);
  const headers = objectHeaders(bucket, object);
  for (const [parameter, name] of RESPONSE_OVERRIDES) {
    const value = request.query.get(parameter);
    if (value !== null) headers[name] = value;
  }
  const partNumber = request.query.get('partNumber');
  let range: [number, number] | undefined;
  if (partNumber !== null) {
    const part = partRangeOf(object, partNumber);
    range = part.range;
    if (object.partSizes) headers['x-amz-mp-parts-count'] = String(part.count);
  } else {
    range = rangeOf(header(request, 'range'), object.size);
  }
  const [start, end] = range ?? [0, object.size];
  if (range) headers['content-range'] = `bytes ${start}-${end - 1}/${object.size}`;
  headers['content-length'] = String(end - start);
  request.res.writeHead(range ? 206 : 200, headers);
  if (!withBody || end === start) {
    request.res.end();
    return;
  }
  const bytes = context.store.read(object.segments, start, end);
  await new Promise<void>((resolve, reject) => {
    bytes.on('error', (error) => {
      request.res.destroy(error);
      reject(error);
    });
    request.res.on('close', () => {
      bytes.destroy();
      resolve();
    });
    bytes.pipe(request.res);
  });
}

export const getObject = (context: S3Context, request: S3Request) => readObject(context, request, true);
export const headObject = (context: S3Context, request: S3Request) => readObject(context, request, false);

interface DeleteOutcome {
  versionId?: string;
  deleteMarker: boolean;
}

/**
 * Deletes what a DeleteObject (or one entry of DeleteObjects) names, and emits its event: a version, for
 * good; or the current object, by a delete marker in a versioned bucket or for good in an unversioned one.
 */
function deleteOne(
  context: S3Context,
  bucket: Bucket,
  key: string,
  versionId: string | undefined,
  reason: string,
  check: (current: StoredObject | undefined) => void = () => undefined,
  bypassGovernance = false,
): DeleteOutcome {
  const { store, events } = context;
  if (versionId) {
    checkVersionId(versionId);
    // Only a delete of a version is a delete for good, which a lock forbids; a delete marker is allowed.
    const target = store.version(bucket, key, versionId);
    if (target?.kind === 'object') checkDeletable(context, target, bypassGovernance);
    const removed = store.removeVersion(bucket, key, versionId);
    if (removed) {
      events.emitDeleted(bucket.name, key, reason, {
        deletionType: 'Permanently Deleted',
        versionId: eventVersionId(bucket, versionId),
      });
    }
    return { versionId, deleteMarker: removed?.kind === 'marker' };
  }
  check(store.currentObject(bucket, key));
  const { marker, removed } = store.deleteCurrent(bucket, key);
  if (marker) {
    events.emitDeleted(bucket.name, key, reason, {
      deletionType: 'Delete Marker Created',
      versionId: eventVersionId(bucket, marker.versionId),
    });
    return { versionId: marker.versionId, deleteMarker: true };
  }
  if (removed) events.emitDeleted(bucket.name, key, reason, { deletionType: 'Permanently Deleted' });
  return { deleteMarker: false };
}

export function deleteObject(context: S3Context, request: S3Request): void {
  const bucket = context.store.bucket(request.bucket);
  const outcome = deleteOne(
    context,
    bucket,
    request.key,
    request.query.get('versionId') ?? undefined,
    'DeleteObject',
    (current) => checkDeleteConditions(current, request.headers),
    bypassesGovernance(request.headers),
  );
  sendEmpty(request, 204, {
    ...(outcome.deleteMarker ? { 'x-amz-delete-marker': 'true' } : {}),
    ...(outcome.versionId && bucket.versioning !== 'Unversioned'
      ? { 'x-amz-version-id': outcome.versionId }
      : {}),
  });
}

/** DeleteObjects: up to 1,000 keys (and versions), each deleted as DeleteObject would, errors per key. */
export async function deleteObjects(context: S3Context, request: S3Request): Promise<void> {
  const bucket = context.store.bucket(request.bucket);
  const body = (await readBody(request.body)).toString('utf8');
  if (!body.includes('<Delete')) throw malformedXml();
  const quiet = xmlValue(body, 'Quiet') === 'true';
  const entries = xmlElements(body, 'Object');
  if (entries.length === 0 || entries.length > 1000) throw malformedXml();
  const results = entries.map((entry) => {
    const key = unescapeXml(xmlElements(entry, 'Key')[0] ?? '');
    const versionId = xmlValue(entry, 'VersionId');
    const etag = xmlValue(entry, 'ETag');
    try {
      checkKey(key);
      const outcome = deleteOne(
        context,
        bucket,
        key,
        versionId,
        'DeleteObjects',
        (current) => {
          if (etag !== undefined) checkDeleteConditions(current, { 'if-match': etag });
        },
        bypassesGovernance(request.headers),
      );
      if (quiet) return '';
      const markerVersion = outcome.deleteMarker && !versionId ? outcome.versionId : undefined;
      return (
        `<Deleted>${element('Key', key)}${element('VersionId', versionId)}` +
        (outcome.deleteMarker ? '<DeleteMarker>true</DeleteMarker>' : '') +
        `${element('DeleteMarkerVersionId', outcome.deleteMarker ? (markerVersion ?? versionId) : undefined)}</Deleted>`
      );
    } catch (error) {
      if (!(error instanceof S3ServiceError)) throw error;
      return (
        `<Error>${element('Key', key)}${element('VersionId', versionId)}` +
        `${element('Code', error.answer.code)}${element('Message', error.answer.message)}</Error>`
      );
    }
  });
  sendXml(
    request.res,
    `<DeleteResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${results.join('')}</DeleteResult>`,
  );
}

/**
 * RestoreObject, minimally: an archived object (GLACIER, DEEP_ARCHIVE) gets a readable copy for the days
 * asked at once (S3 takes minutes to hours), `x-amz-restore` on HEAD says until when. 202 the first time,
 * 200 when a restored copy exists (https://docs.aws.amazon.com/AmazonS3/latest/API/API_RestoreObject.html).
 */
export async function restoreObject(context: S3Context, request: S3Request): Promise<void> {
  const bucket = context.store.bucket(request.bucket);
  const object = objectOf(context, bucket, request.key, request.query.get('versionId'));
  const body = (await readBody(request.body)).toString('utf8');
  if (!['GLACIER', 'DEEP_ARCHIVE'].includes(object.storageClass)) {
    throw s3Error(403, 'InvalidObjectState', "Restore is not allowed for the object's current storage class");
  }
  const days = Number(xmlValue(body, 'Days') ?? '1');
  if (!Number.isInteger(days) || days < 1) throw malformedXml();
  const restored = object.restoredUntil !== undefined;
  object.restoredUntil = new Date(Date.now() + days * 86_400_000);
  sendEmpty(request, restored ? 200 : 202);
}

/**
 * The sandbox's S3 Lifecycle: expires the current object of a key as an Expiration action would
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/lifecycle-expire-general-considerations.html):
 * a delete marker in a versioned bucket, a permanent delete in an unversioned one, the event's reason
 * "Lifecycle Expiration". False when there was no current object to expire.
 */
export function expireObject(context: S3Context, bucketName: string, key: string): boolean {
  const bucket = context.store.bucket(bucketName);
  if (!context.store.currentObject(bucket, key)) return false;
  deleteOne(context, bucket, key, undefined, 'Lifecycle Expiration');
  return true;
}
