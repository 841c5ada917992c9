import type { IncomingHttpHeaders } from 'node:http';
import { type S3Context, type S3Request, sendEmpty } from './context.ts';
import { objectOf } from './objects.ts';
import type { Bucket, StoredObject } from './store.ts';
import { element, invalidArgument, malformedXml, readBody, s3Error, sendXml, xmlValue } from './wire.ts';

/**
 * S3 Object Lock, as the S3 User Guide and the API Reference describe it:
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock.html (retention modes, periods, legal
 * holds, bucket defaults), https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock-configure.html
 * (enabling it at CreateBucket, or on an existing versioned bucket), and the operations'
 * pages: PutObjectLockConfiguration, GetObjectLockConfiguration, PutObjectRetention, GetObjectRetention,
 * PutObjectLegalHold, GetObjectLegalHold (https://docs.aws.amazon.com/AmazonS3/latest/API/API_<Name>.html).
 *
 * A lock belongs to one object version. "Now" is the context's clock (the sandbox's virtual clock), so a
 * test moves time past a retain-until date instead of waiting for it.
 */

export type LockMode = 'GOVERNANCE' | 'COMPLIANCE';
const MODES: readonly string[] = ['GOVERNANCE', 'COMPLIANCE'];

/** What an object version is locked with: a retention (mode and date), a legal hold, or both. */
export interface ObjectLock {
  mode?: LockMode;
  retainUntil?: Date;
  legalHold?: 'ON' | 'OFF';
}

/** A bucket's Object Lock configuration: enabled (for good), with an optional default retention. */
export interface BucketObjectLock {
  defaultRetention?: { mode: LockMode; days?: number; years?: number };
}

const NAMESPACE = 'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"';

export const objectLockMissing = () =>
  s3Error(400, 'InvalidRequest', 'Bucket is missing Object Lock Configuration');

/** The answer S3 gives a delete (or a weakening of a lock) that the lock forbids. */
export const protectedByObjectLock = () =>
  s3Error(403, 'AccessDenied', 'Access Denied because object protected by object lock.');

const noObjectLockConfiguration = () =>
  s3Error(
    404,
    'NoSuchObjectLockConfiguration',
    'The specified object does not have a ObjectLock configuration',
  );

const retainUntilInThePast = () => invalidArgument('The retain until date must be in the future!');

/** `x-amz-bypass-governance-retention: true`: the caller asks to override GOVERNANCE retention. */
export const bypassesGovernance = (headers: IncomingHttpHeaders) =>
  String(headers['x-amz-bypass-governance-retention'] ?? '').toLowerCase() === 'true';

function parseDate(text: string, name: string): Date {
  const date = new Date(text);
  if (Number.isNaN(date.getTime())) {
    throw invalidArgument('The retain until date must be provided in ISO 8601 format', name, text);
  }
  return date;
}

/** The retain-until date a default retention gives a version created at `now`. */
function defaultRetainUntil(rule: NonNullable<BucketObjectLock['defaultRetention']>, now: number): Date {
  const until = new Date(now);
  if (rule.years !== undefined) until.setUTCFullYear(until.getUTCFullYear() + rule.years);
  else until.setTime(now + (rule.days ?? 0) * 86_400_000);
  return until;
}

/**
 * The lock a new version gets from its write's headers (PutObject, CopyObject, CreateMultipartUpload):
 * `x-amz-object-lock-mode` with `x-amz-object-lock-retain-until-date` (both or neither), in the future, and
 * `x-amz-object-lock-legal-hold`. Lock headers on a bucket without Object Lock are refused. The lock is
 * never copied from a copy's source. Undefined when the request sets none (the bucket default is applied
 * when the version is created: `withDefaultRetention`).
 */
export function lockOfRequest(
  context: S3Context,
  bucket: Bucket,
  headers: IncomingHttpHeaders,
): ObjectLock | undefined {
  const text = (name: string) => {
    const value = headers[name];
    return Array.isArray(value) ? value.join(',') : value;
  };
  const mode = text('x-amz-object-lock-mode');
  const until = text('x-amz-object-lock-retain-until-date');
  const legalHold = text('x-amz-object-lock-legal-hold');
  if (mode === undefined && until === undefined && legalHold === undefined) return undefined;
  if (!bucket.objectLock) throw objectLockMissing();
  if (mode !== undefined && !MODES.includes(mode)) {
    throw invalidArgument('Unknown wormMode directive.', 'x-amz-object-lock-mode', mode);
  }
  if ((mode === undefined) !== (until === undefined)) {
    throw invalidArgument(
      'x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both be supplied',
    );
  }
  if (legalHold !== undefined && legalHold !== 'ON' && legalHold !== 'OFF') {
    throw invalidArgument(
      "Legal Hold must be either of 'ON' or 'OFF'",
      'x-amz-object-lock-legal-hold',
      legalHold,
    );
  }
  const lock: ObjectLock = {};
  if (mode !== undefined && until !== undefined) {
    const retainUntil = parseDate(until, 'x-amz-object-lock-retain-until-date');
    if (retainUntil.getTime() <= context.now()) throw retainUntilInThePast();
    lock.mode = mode as LockMode;
    lock.retainUntil = retainUntil;
  }
  if (legalHold !== undefined) lock.legalHold = legalHold;
  return lock;
}

/**
 * The lock a version is created with: the request's, and the bucket's default retention when the request
 * gave no retention of its own ("explicit settings override the bucket default"); computed from the
 * version's creation time.
 */
export function withDefaultRetention(
  context: S3Context,
  bucket: Bucket,
  lock: ObjectLock | undefined,
): ObjectLock | undefined {
  const rule = bucket.objectLock?.defaultRetention;
  if (!rule || lock?.mode !== undefined) return lock;
  return { ...lock, mode: rule.mode, retainUntil: defaultRetainUntil(rule, context.now()) };
}

/**
 * A PutObject that gives its version a retention period (its own, or the bucket's default) must carry an
 * integrity check of its body: `Content-MD5` or an additional checksum (an `x-amz-checksum-*` header, or
 * a trailing one, which the SDKs announce with `x-amz-sdk-checksum-algorithm`); S3 refuses it otherwise.
 * API_PutObject.html: "The Content-MD5 or x-amz-sdk-checksum-algorithm header is required for any request
 * to upload an object with a retention period configured using Amazon S3 Object Lock"; object-lock.html:
 * with a default retention period, "requests to upload objects in such a bucket must include the
 * Content-MD5 header". A legal hold alone is not documented to need one, so it does not here.
 */
export function checkLockedPutIntegrity(headers: IncomingHttpHeaders, lock: ObjectLock | undefined): void {
  if (!lock?.mode) return;
  const checked =
    headers['content-md5'] !== undefined ||
    headers['x-amz-sdk-checksum-algorithm'] !== undefined ||
    Object.keys(headers).some((name) => name.startsWith('x-amz-checksum-') && name !== 'x-amz-checksum-type');
  if (!checked) {
    throw s3Error(
      400,
      'InvalidRequest',
      'Content-MD5 OR x-amz-checksum- HTTP header is required for Put Object requests with Object Lock parameters',
    );
  }
}

const retentionActive = (lock: ObjectLock | undefined, now: number) =>
  lock?.retainUntil !== undefined && lock.retainUntil.getTime() > now;

/**
 * Whether a version may be deleted for good (DeleteObject or DeleteObjects with its version id): not under
 * a legal hold, and past its retain-until date, or in GOVERNANCE mode with the bypass header. A delete
 * without a version id only adds a delete marker, which no lock forbids.
 */
export function checkDeletable(context: S3Context, object: StoredObject, bypass: boolean): void {
  const { lock } = object;
  if (lock?.legalHold === 'ON') throw protectedByObjectLock();
  if (!retentionActive(lock, context.now())) return;
  if (lock?.mode === 'GOVERNANCE' && bypass) return;
  throw protectedByObjectLock();
}

/** The lock headers HEAD and GET answer a version with. */
export function lockHeaders(object: StoredObject): Record<string, string> {
  const { lock } = object;
  return {
    ...(lock?.mode ? { 'x-amz-object-lock-mode': lock.mode } : {}),
    ...(lock?.retainUntil ? { 'x-amz-object-lock-retain-until-date': lock.retainUntil.toISOString() } : {}),
    ...(lock?.legalHold ? { 'x-amz-object-lock-legal-hold': lock.legalHold } : {}),
  };
}

/** CreateBucket with `x-amz-bucket-object-lock-enabled: true`: Object Lock on, and versioning with it. */
export function enableAtCreation(bucket: Bucket, headers: IncomingHttpHeaders): void {
  if (String(headers['x-amz-bucket-object-lock-enabled'] ?? '').toLowerCase() !== 'true') return;
  bucket.objectLock = {};
  bucket.versioning = 'Enabled';
}

/** Versioning cannot be suspended on a bucket with Object Lock (PutBucketVersioning answers 409). */
export function checkVersioningChange(bucket: Bucket, status: string): void {
  if (bucket.objectLock && status !== 'Enabled') {
    throw s3Error(
      409,
      'InvalidBucketState',
      'An Object Lock configuration is present on this bucket, so the versioning state cannot be changed.',
    );
  }
}

/** A default retention period: a positive whole number, at most 36,500 days or 100 years. */
function periodOf(text: string | undefined, max: number): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value <= 0) {
    throw invalidArgument('Default retention period must be a positive integer value', 'Days/Years', text);
  }
  if (value > max) throw invalidArgument('Default retention period is too large.', 'Days/Years', text);
  return value;
}

/**
 * PutObjectLockConfiguration: `ObjectLockEnabled` is `Enabled`; a `Rule` has a `DefaultRetention` with a
 * mode and either `Days` or `Years`, not both; no `Rule` removes the default (Object Lock stays on). On a
 * bucket without Object Lock it enables it, which S3 allows on an existing bucket whose versioning is
 * enabled (object-lock-configure.html, "Enable Object Lock on an existing S3 bucket"); otherwise 409.
 */
export async function putObjectLockConfiguration(context: S3Context, request: S3Request): Promise<void> {
  const bucket = context.store.bucket(request.bucket);
  const body = (await readBody(request.body)).toString('utf8');
  if (!body.includes('<ObjectLockConfiguration') || xmlValue(body, 'ObjectLockEnabled') !== 'Enabled') {
    throw malformedXml();
  }
  let defaultRetention: BucketObjectLock['defaultRetention'];
  if (body.includes('<Rule')) {
    const mode = xmlValue(body, 'Mode');
    const days = xmlValue(body, 'Days');
    const years = xmlValue(body, 'Years');
    if (!body.includes('<DefaultRetention') || mode === undefined || !MODES.includes(mode))
      throw malformedXml();
    if ((days === undefined) === (years === undefined)) throw malformedXml();
    const period = days !== undefined ? { days: periodOf(days, 36_500) } : { years: periodOf(years, 100) };
    defaultRetention = { mode: mode as LockMode, ...period };
  }
  if (!bucket.objectLock && bucket.versioning !== 'Enabled') {
    throw s3Error(
      409,
      'InvalidBucketState',
      "Versioning must be 'Enabled' on the bucket to apply a Object Lock configuration",
    );
  }
  bucket.objectLock = defaultRetention ? { defaultRetention } : {};
  sendEmpty(request, 200);
}

export function getObjectLockConfiguration(context: S3Context, request: S3Request): void {
  const bucket = context.store.bucket(request.bucket);
  if (!bucket.objectLock) {
    throw s3Error(
      404,
      'ObjectLockConfigurationNotFoundError',
      'Object Lock configuration does not exist for this bucket',
      {
        extra: { BucketName: bucket.name },
      },
    );
  }
  const rule = bucket.objectLock.defaultRetention;
  sendXml(
    request.res,
    `<ObjectLockConfiguration ${NAMESPACE}><ObjectLockEnabled>Enabled</ObjectLockEnabled>` +
      (rule
        ? `<Rule><DefaultRetention>${element('Mode', rule.mode)}${element('Days', rule.days)}${element('Years', rule.years)}</DefaultRetention></Rule>`
        : '') +
      '</ObjectLockConfiguration>',
  );
}

/** The version a retention or legal-hold request names, in a bucket that has Object Lock. */
function lockedVersionOf(context: S3Context, request: S3Request): { bucket: Bucket; object: StoredObject } {
  const bucket = context.store.bucket(request.bucket);
  if (!bucket.objectLock) throw objectLockMissing();
  return { bucket, object: objectOf(context, bucket, request.key, request.query.get('versionId')) };
}

/**
 * Whether a version's retention may become `next` (undefined: removed). Extending is always allowed, in
 * either mode. While the retention is in force, COMPLIANCE can be neither shortened, removed, nor changed
 * to GOVERNANCE, bypass or not; GOVERNANCE can be altered only with the bypass header
 * (object-lock.html, "Retention modes"). An expired retention can be replaced freely.
 */
function checkRetentionChange(
  context: S3Context,
  current: ObjectLock | undefined,
  next: { mode: LockMode; retainUntil: Date } | undefined,
  bypass: boolean,
): void {
  if (!retentionActive(current, context.now()) || !current?.retainUntil) return;
  const extension =
    next !== undefined && next.mode === current.mode && next.retainUntil >= current.retainUntil;
  if (extension) return;
  if (current.mode === 'GOVERNANCE' && bypass) return;
  throw protectedByObjectLock();
}

/** PutObjectRetention: `<Retention><Mode/><RetainUntilDate/></Retention>`; an empty one removes it. */
export async function putObjectRetention(context: S3Context, request: S3Request): Promise<void> {
  const body = (await readBody(request.body)).toString('utf8');
  const { object } = lockedVersionOf(context, request);
  if (!body.includes('<Retention')) throw malformedXml();
  const mode = xmlValue(body, 'Mode');
  const until = xmlValue(body, 'RetainUntilDate');
  if ((mode === undefined) !== (until === undefined)) throw malformedXml();
  if (mode !== undefined && !MODES.includes(mode)) throw malformedXml();
  let next: { mode: LockMode; retainUntil: Date } | undefined;
  if (mode !== undefined && until !== undefined) {
    const retainUntil = parseDate(until, 'RetainUntilDate');
    if (retainUntil.getTime() <= context.now()) throw retainUntilInThePast();
    next = { mode: mode as LockMode, retainUntil };
  }
  checkRetentionChange(context, object.lock, next, bypassesGovernance(request.headers));
  const { mode: _mode, retainUntil: _until, ...rest } = object.lock ?? {};
  // A lock change is metadata only: it neither makes a new version nor touches Last-Modified.
  object.lock = { ...rest, ...next };
  sendEmpty(request, 200);
}

export function getObjectRetention(context: S3Context, request: S3Request): void {
  const { object } = lockedVersionOf(context, request);
  const { lock } = object;
  if (!lock?.mode || !lock.retainUntil) throw noObjectLockConfiguration();
  sendXml(
    request.res,
    `<Retention ${NAMESPACE}>${element('Mode', lock.mode)}${element('RetainUntilDate', lock.retainUntil.toISOString())}</Retention>`,
  );
}

/** PutObjectLegalHold: `<LegalHold><Status>ON|OFF</Status></LegalHold>`, independent of any retention. */
export async function putObjectLegalHold(context: S3Context, request: S3Request): Promise<void> {
  const body = (await readBody(request.body)).toString('utf8');
  const { object } = lockedVersionOf(context, request);
  const status = xmlValue(body, 'Status');
  if (!body.includes('<LegalHold') || (status !== 'ON' && status !== 'OFF')) throw malformedXml();
  object.lock = { ...object.lock, legalHold: status };
  sendEmpty(request, 200);
}

export function getObjectLegalHold(context: S3Context, request: S3Request): void {
  const { object } = lockedVersionOf(context, request);
  const status = object.lock?.legalHold;
  if (!status) throw noObjectLockConfiguration();
  sendXml(request.res, `<LegalHold ${NAMESPACE}>${element('Status', status)}</LegalHold>`);
}
