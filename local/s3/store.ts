import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Worker } from 'node:worker_threads';
import type { StoredInventoryConfiguration } from './inventory-configuration.ts';
import type { BucketObjectLock, ObjectLock } from './object-lock.ts';
import { s3Error } from './wire.ts';

/**
 * The sandbox S3's state: buckets, each key's versions and delete markers, multipart uploads, in memory;
 * the bytes on disk in a temporary folder. Bytes are written once, as they stream in, into immutable
 * blobs; objects and parts are lists of segments (ranges of blobs), so a completed multipart upload keeps
 * its parts as its segments and a copy shares its source's blobs instead of writing the bytes again. A blob
 * counts its users and is deleted when the last one goes.
 */

export type Versioning = 'Unversioned' | 'Enabled' | 'Suspended';

interface Blob {
  path: string;
  refs: number;
  /**
   * MD5s already computed of ranges of this blob (`offset:length`). A blob never changes, so a range's MD5
   * never does: a copy of the same range again (the same part layout copied once more) is not hashed again.
   */
  md5s?: Map<string, string>;
}

export interface Segment {
  blob: Blob;
  offset: number;
  length: number;
}

/** What an object is stored with besides its bytes (all of it returned by HEAD and GET). */
export interface ObjectAttributes {
  /** User metadata: names lower-cased, without `x-amz-meta-`. */
  metadata: Record<string, string>;
  contentType: string;
  contentEncoding?: string;
  contentDisposition?: string;
  contentLanguage?: string;
  cacheControl?: string;
  expires?: string;
  websiteRedirectLocation?: string;
  storageClass: string;
  serverSideEncryption?: string;
  kmsKeyId?: string;
  bucketKeyEnabled?: string;
  tags: [string, string][];
  /** Object Lock retention and legal hold of this version (object-lock.ts). */
  lock?: ObjectLock;
}

export interface StoredObject extends ObjectAttributes {
  kind: 'object';
  key: string;
  versionId: string;
  etag: string;
  size: number;
  lastModified: Date;
  segments: Segment[];
  /** The sizes of its parts, for an object a multipart upload completed. */
  partSizes?: number[];
  /** Its parts' MD5s (hex), beside partSizes: a part copy of exactly one of them reuses it. */
  partETags?: string[];
  /** Until when a restored copy of an archived object can be read. */
  restoredUntil?: Date;
}

export interface DeleteMarker {
  kind: 'marker';
  key: string;
  versionId: string;
  lastModified: Date;
}

export type Version = StoredObject | DeleteMarker;

export interface Part {
  partNumber: number;
  etag: string;
  size: number;
  lastModified: Date;
  segments: Segment[];
}

export interface Upload {
  uploadId: string;
  key: string;
  initiated: Date;
  attributes: ObjectAttributes;
  parts: Map<number, Part>;
  /** The key's deletions when the upload began: a conditional completion after a delete is a conflict. */
  deletions: number;
}

export interface Bucket {
  name: string;
  region: string;
  created: Date;
  versioning: Versioning;
  /** Each key's versions, newest first. */
  versions: Map<string, Version[]>;
  uploads: Map<string, Upload>;
  /** How many deletes each key has had (a conditional write a delete overtook is a 409 conflict). */
  deletions: Map<string, number>;
  sorted: string[] | undefined;
  /** Set once Object Lock is enabled on the bucket: it can never be disabled (object-lock.ts). */
  objectLock?: BucketObjectLock;
  /** Its S3 Inventory configurations by id (inventory-configuration.ts), once one is put. */
  inventoryConfigurations?: Map<string, StoredInventoryConfiguration>;
}

/** S3 lists in the order of UTF-8 bytes. */
export const byteOrder = (a: string, b: string) =>
  a === b ? 0 : Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));

/** S3 version ids: 32 URL-safe characters. */
const newVersionId = () => randomBytes(24).toString('base64url');

export const noSuchBucket = (name: string) =>
  s3Error(404, 'NoSuchBucket', 'The specified bucket does not exist', { extra: { BucketName: name } });

export class S3Store {
  readonly directory = mkdtempSync(join(tmpdir(), 'ferry-s3-'));
  private readonly buckets = new Map<string, Bucket>();
  private blobCount = 0;
  private readonly hashers = new HashWorkers();

  createBucket(name: string, region: string): Bucket {
    const bucket: Bucket = {
      name,
      region,
      created: new Date(),
      versioning: 'Unversioned',
      versions: new Map(),
      uploads: new Map(),
      deletions: new Map(),
      sorted: undefined,
    };
    this.buckets.set(name, bucket);
    return bucket;
  }

  find(name: string): Bucket | undefined {
    return this.buckets.get(name);
  }

  bucket(name: string): Bucket {
    const bucket = this.buckets.get(name);
    if (!bucket) throw noSuchBucket(name);
    return bucket;
  }

  list(): Bucket[] {
    return [...this.buckets.values()].sort((a, b) => byteOrder(a.name, b.name));
  }

  deleteBucket(name: string): void {
    const bucket = this.bucket(name);
    if (bucket.versions.size > 0) {
      throw s3Error(409, 'BucketNotEmpty', 'The bucket you tried to delete is not empty', {
        extra: { BucketName: name },
      });
    }
    for (const upload of bucket.uploads.values()) this.releaseParts(upload);
    this.buckets.delete(name);
  }

  /**
   * Writes a request body to a new blob, its MD5 computed as the bytes stream in (the one pass over them).
   * A `Content-MD5` that does not match is refused as S3 refuses it, and nothing is kept.
   */
  async writeBlob(body: Readable, contentMd5?: string): Promise<{ segment: Segment; md5: string }> {
    const path = join(this.directory, `blob-${++this.blobCount}`);
    const digest = createHash('md5');
    let length = 0;
    const hashing = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        digest.update(chunk);
        length += chunk.length;
        done(null, chunk);
      },
    });
    try {
      await pipeline(body, hashing, createWriteStream(path, { highWaterMark: 1 << 20 }));
    } catch (error) {
      // The client went away mid-body (or the body was not valid aws-chunked): nothing was written.
      await unlink(path).catch(() => undefined);
      throw error;
    }
    const md5 = digest.digest();
    if (contentMd5 !== undefined && md5.toString('base64') !== contentMd5) {
      await unlink(path);
      throw s3Error(400, 'BadDigest', 'The Content-MD5 you specified did not match what we received.');
    }
    const hex = md5.toString('hex');
    return {
      segment: { blob: { path, refs: 0, md5s: new Map([[`0:${length}`, hex]]) }, offset: 0, length },
      md5: hex,
    };
  }

  retain(segments: readonly Segment[]): Segment[] {
    for (const segment of segments) segment.blob.refs += 1;
    return [...segments];
  }

  release(segments: readonly Segment[]): void {
    for (const segment of segments) {
      segment.blob.refs -= 1;
      if (segment.blob.refs === 0) void unlink(segment.blob.path).catch(() => undefined);
    }
  }

  /** Drops freshly written bytes no object or part came to use (a write refused after its body arrived). */
  discard(segments: readonly Segment[]): void {
    for (const segment of segments) {
      if (segment.blob.refs === 0) void unlink(segment.blob.path).catch(() => undefined);
    }
  }

  releaseParts(upload: Upload): void {
    for (const part of upload.parts.values()) this.release(part.segments);
    upload.parts.clear();
  }

  /** The bytes from `start` to `end` (exclusive) of a list of segments, read across them in order. */
  read(segments: readonly Segment[], start: number, end: number): Readable {
    const held = this.retain(segments);
    const release = () => this.release(held);
    async function* bytes() {
      let position = 0;
      try {
        for (const segment of held) {
          const from = Math.max(start, position);
          const to = Math.min(end, position + segment.length);
          if (from < to) {
            yield* createReadStream(segment.blob.path, {
              start: segment.offset + (from - position),
              end: segment.offset + (to - position) - 1,
              highWaterMark: 1 << 20,
            });
          }
          position += segment.length;
          if (position >= end) break;
        }
      } finally {
        release();
      }
    }
    return Readable.from(bytes(), { objectMode: false });
  }

  /**
   * The MD5 of bytes `start`..`end` of a list of segments (a part copy's ETag; a copy's, when its source's
   * ETag is not one). Large ranges are hashed in worker threads, so hashing runs beside the modelled copy
   * time and the event loop keeps answering requests; small ones on this thread, where a worker's round
   * trip would cost more than the hash. A range within one blob is hashed once (Blob.md5s).
   */
  async md5(segments: readonly Segment[], start: number, end: number): Promise<string> {
    const [only, ...others] = this.slice(segments, start, end);
    if (only && others.length === 0) {
      const key = `${only.offset}:${only.length}`;
      const known = only.blob.md5s?.get(key);
      if (known) return known;
      const md5 = await this.hashRange(segments, start, end);
      only.blob.md5s ??= new Map();
      only.blob.md5s.set(key, md5);
      return md5;
    }
    return this.hashRange(segments, start, end);
  }

  private async hashRange(segments: readonly Segment[], start: number, end: number): Promise<string> {
    if (end - start < WORKER_HASH_BYTES) {
      const digest = createHash('md5');
      for await (const chunk of this.read(segments, start, end)) digest.update(chunk as Buffer);
      return digest.digest('hex');
    }
    const held = this.retain(this.slice(segments, start, end));
    try {
      return await this.hashers.md5(
        held.map((segment) => ({
          path: segment.blob.path,
          start: segment.offset,
          end: segment.offset + segment.length - 1,
        })),
      );
    } finally {
      this.release(held);
    }
  }

  /** The segments holding bytes `start`..`end` (exclusive) of an object, sharing its blobs. */
  slice(segments: readonly Segment[], start: number, end: number): Segment[] {
    const sliced: Segment[] = [];
    let position = 0;
    for (const segment of segments) {
      const from = Math.max(start, position);
      const to = Math.min(end, position + segment.length);
      if (from < to) {
        sliced.push({ blob: segment.blob, offset: segment.offset + (from - position), length: to - from });
      }
      position += segment.length;
    }
    return sliced;
  }

  versionsOf(bucket: Bucket, key: string): readonly Version[] {
    return bucket.versions.get(key) ?? [];
  }

  current(bucket: Bucket, key: string): Version | undefined {
    return bucket.versions.get(key)?.[0];
  }

  /** The current version if it is an object (not a delete marker). */
  currentObject(bucket: Bucket, key: string): StoredObject | undefined {
    const current = this.current(bucket, key);
    return current?.kind === 'object' ? current : undefined;
  }

  version(bucket: Bucket, key: string, versionId: string): Version | undefined {
    return bucket.versions.get(key)?.find((version) => version.versionId === versionId);
  }

  deletions(bucket: Bucket, key: string): number {
    return bucket.deletions.get(key) ?? 0;
  }

  /**
   * Makes an object the key's current version: a new version id when versioning is enabled; otherwise the
   * `null` version, replacing the one there was (S3's rule for unversioned and suspended buckets).
   */
  put(bucket: Bucket, object: Omit<StoredObject, 'versionId' | 'kind'>): StoredObject {
    const stored: StoredObject = {
      ...object,
      kind: 'object',
      versionId: bucket.versioning === 'Enabled' ? newVersionId() : 'null',
    };
    this.add(bucket, stored);
    return stored;
  }

  /**
   * DeleteObject without a version id: a delete marker in a versioned bucket (a `null` one, replacing the
   * null version, when versioning is suspended); in an unversioned bucket the object goes for good.
   */
  deleteCurrent(bucket: Bucket, key: string): { marker?: DeleteMarker; removed?: Version } {
    if (bucket.versioning === 'Unversioned') {
      const removed = this.removeVersion(bucket, key, 'null');
      return removed ? { removed } : {};
    }
    const marker: DeleteMarker = {
      kind: 'marker',
      key,
      versionId: bucket.versioning === 'Enabled' ? newVersionId() : 'null',
      lastModified: new Date(),
    };
    this.add(bucket, marker);
    return { marker };
  }

  /** DeleteObject with a version id: that version (object or marker) goes for good. */
  removeVersion(bucket: Bucket, key: string, versionId: string): Version | undefined {
    const versions = bucket.versions.get(key);
    const index = versions?.findIndex((version) => version.versionId === versionId) ?? -1;
    if (!versions || index < 0) return undefined;
    const [removed] = versions.splice(index, 1);
    if (versions.length === 0) {
      bucket.versions.delete(key);
      bucket.sorted = undefined;
    }
    if (removed?.kind === 'object') this.release(removed.segments);
    this.countDeletion(bucket, key);
    return removed;
  }

  private add(bucket: Bucket, version: Version): void {
    let versions = bucket.versions.get(version.key);
    if (!versions) {
      versions = [];
      bucket.versions.set(version.key, versions);
      bucket.sorted = undefined;
    }
    // Taken before the replaced version lets go: the two may share blobs (a copy onto its own source).
    if (version.kind === 'object') this.retain(version.segments);
    const replaced = version.versionId === 'null' ? versions.findIndex((v) => v.versionId === 'null') : -1;
    if (replaced >= 0) {
      const [old] = versions.splice(replaced, 1);
      if (old?.kind === 'object') this.release(old.segments);
    }
    versions.unshift(version);
    if (version.kind === 'marker') this.countDeletion(bucket, version.key);
  }

  private countDeletion(bucket: Bucket, key: string): void {
    bucket.deletions.set(key, this.deletions(bucket, key) + 1);
  }

  /** Every key with at least one version, in S3's order (cached until a key appears or goes). */
  sortedKeys(bucket: Bucket): string[] {
    bucket.sorted ??= [...bucket.versions.keys()].sort(byteOrder);
    return bucket.sorted;
  }

  close(): void {
    this.hashers.close();
    rmSync(this.directory, { recursive: true, force: true });
  }
}

/** Ranges at least this large are hashed off the main thread. */
const WORKER_HASH_BYTES = 8 * 1024 * 1024;

/** Hashes the file ranges it is sent, in order, into one MD5; several requests at a time. */
const HASH_WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const { createReadStream } = require('node:fs');
parentPort.on('message', async ({ id, ranges }) => {
  try {
    const digest = createHash('md5');
    for (const { path, start, end } of ranges) {
      for await (const chunk of createReadStream(path, { start, end, highWaterMark: 1 << 20 })) digest.update(chunk);
    }
    parentPort.postMessage({ id, md5: digest.digest('hex') });
  } catch (error) {
    parentPort.postMessage({ id, error: String(error) });
  }
});
`;

interface HashJob {
  resolve(md5: string): void;
  reject(error: Error): void;
}

/**
 * A few MD5 workers (one per core, at most four), started on first use and unref'd, so an idle store keeps
 * no process alive. Each request goes to the worker with the fewest in progress.
 */
class HashWorkers {
  private workers: { worker: Worker; busy: number }[] = [];
  private readonly jobs = new Map<number, HashJob>();
  private nextId = 0;

  md5(ranges: { path: string; start: number; end: number }[]): Promise<string> {
    if (this.workers.length === 0) this.start();
    const target = this.workers.reduce((a, b) => (b.busy < a.busy ? b : a));
    const id = ++this.nextId;
    target.busy += 1;
    return new Promise<string>((resolve, reject) => {
      const done = () => {
        target.busy -= 1;
        this.jobs.delete(id);
      };
      this.jobs.set(id, {
        resolve: (md5) => {
          done();
          resolve(md5);
        },
        reject: (error) => {
          done();
          reject(error);
        },
      });
      target.worker.postMessage({ id, ranges });
    });
  }

  private start(): void {
    const count = Math.max(1, Math.min(4, availableParallelism()));
    for (let index = 0; index < count; index++) {
      const worker = new Worker(HASH_WORKER_SOURCE, { eval: true });
      worker.unref();
      worker.on('message', (answer: { id: number; md5?: string; error?: string }) => {
        const job = this.jobs.get(answer.id);
        if (answer.md5 !== undefined) job?.resolve(answer.md5);
        else job?.reject(new Error(`hashing failed: ${answer.error}`));
      });
      worker.on('error', (error) => {
        for (const job of this.jobs.values()) job.reject(error);
      });
      this.workers.push({ worker, busy: 0 });
    }
  }

  close(): void {
    for (const { worker } of this.workers) void worker.terminate();
    this.workers = [];
  }
}
