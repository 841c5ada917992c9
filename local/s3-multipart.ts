import { createHash } from 'node:crypto';
import { readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';

/**
 * The multipart operations s3rver lacks, done on its own storage (the sandbox owns the folder): list and
 * abort uploads, list parts, and the object facts a completed multipart upload has in S3 — the
 * `md5-of-part-md5s-N` ETag and its part layout (HeadObject with `partNumber`).
 */

interface FilesystemStore {
  getResourcePath(bucket: string, key: string | undefined, resource: string): string;
}

export interface StoredPart {
  partNumber: number;
  size: number;
  etag: string;
  lastModified: Date;
}

/** What S3 knows of an object written by a multipart upload. */
export interface PartLayout {
  etag: string;
  sizes: number[];
}

export class MultipartStore {
  private readonly store: FilesystemStore;

  constructor(directory: string) {
    const require = createRequire(import.meta.url);
    const Store = require('@20minutes/s3rver/lib/stores/filesystem.js') as new (
      dir: string,
    ) => FilesystemStore;
    this.store = new Store(directory);
  }

  private uploadsDir(bucket: string) {
    return this.store.getResourcePath(bucket, undefined, 'uploads');
  }

  private uploadDir(bucket: string, uploadId: string) {
    if (!/^[\w-]+$/.test(uploadId)) throw new Error(`invalid upload id ${uploadId}`);
    return join(this.uploadsDir(bucket), uploadId);
  }

  private layoutPath(bucket: string, key: string) {
    return this.store.getResourcePath(bucket, key, 'parts.json');
  }

  async exists(bucket: string, uploadId: string): Promise<boolean> {
    return stat(this.uploadDir(bucket, uploadId)).then(
      () => true,
      () => false,
    );
  }

  async abort(bucket: string, uploadId: string): Promise<boolean> {
    if (!(await this.exists(bucket, uploadId))) return false;
    await rm(this.uploadDir(bucket, uploadId), { recursive: true, force: true });
    return true;
  }

  async listParts(bucket: string, uploadId: string): Promise<StoredPart[]> {
    const dir = this.uploadDir(bucket, uploadId);
    const names = (await readdir(dir)).filter((name) => /^\d+$/.test(name));
    const parts = await Promise.all(
      names.map(async (name) => {
        const [info, md5] = await Promise.all([
          stat(join(dir, name)),
          readFile(join(dir, `${name}.md5`), 'utf8'),
        ]);
        return { partNumber: Number(name), size: info.size, etag: md5.trim(), lastModified: info.mtime };
      }),
    );
    return parts.sort((a, b) => a.partNumber - b.partNumber);
  }

  async listUploads(bucket: string): Promise<{ key: string; uploadId: string; initiated: Date }[]> {
    const dir = this.uploadsDir(bucket);
    const ids = await readdir(dir).catch(() => [] as string[]);
    const uploads = await Promise.all(
      ids.map(async (uploadId) => {
        const [key, info] = await Promise.all([
          readFile(join(dir, uploadId, 'key'), 'utf8').catch(() => undefined),
          stat(join(dir, uploadId, 'key')).catch(() => undefined),
        ]);
        // The key file is written once, when the upload is created: its mtime is when it was initiated.
        return key !== undefined && info ? { key, uploadId, initiated: info.mtime } : undefined;
      }),
    );
    return uploads.filter((upload) => upload !== undefined);
  }

  /** The layout a completion of these parts produces: S3's ETag is the MD5 of the parts' binary MD5s. */
  async layoutOf(bucket: string, uploadId: string, partNumbers: number[]): Promise<PartLayout> {
    const parts = new Map((await this.listParts(bucket, uploadId)).map((part) => [part.partNumber, part]));
    const chosen = partNumbers.map((number) => {
      const part = parts.get(number);
      if (!part) throw new Error(`part ${number} was not uploaded`);
      return part;
    });
    const digest = createHash('md5');
    for (const part of chosen) digest.update(Buffer.from(part.etag, 'hex'));
    return { etag: `${digest.digest('hex')}-${chosen.length}`, sizes: chosen.map((part) => part.size) };
  }

  /** Stores what S3 would report of a completed upload: its ETag (s3rver reads `object.md5`) and layout. */
  async record(bucket: string, key: string, layout: PartLayout): Promise<void> {
    await Promise.all([
      writeFile(`${this.store.getResourcePath(bucket, key, 'object')}.md5`, layout.etag),
      writeFile(this.layoutPath(bucket, key), JSON.stringify(layout)),
    ]);
  }

  /** The layout of the object now under the key, if it was written by a multipart upload. */
  async layout(bucket: string, key: string, currentETag: string): Promise<PartLayout | undefined> {
    const stored = await readFile(this.layoutPath(bucket, key), 'utf8')
      .then((text) => JSON.parse(text) as PartLayout)
      .catch(() => undefined);
    return stored && stored.etag === currentETag ? stored : undefined;
  }

  /** Called on every other write of the key: a stale layout must not describe a new object. */
  async forget(bucket: string, key: string): Promise<void> {
    await rm(this.layoutPath(bucket, key), { force: true });
  }
}
