import { mkdtempSync, rmSync } from 'node:fs';
import http, { type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import S3rver from '@20minutes/s3rver';
import { AwsChunkedDecoder, decodedUploadHeaders } from './aws-chunked.ts';
import { answerWithFault, type FaultInjector } from './faults.ts';
import { KeyLocks } from './key-locks.ts';
import { createS3EventSource, type S3Event } from './s3-events.ts';
import { v1QueryOf, v2BodyOf } from './s3-list-v2.ts';
import { MultipartStore, type PartLayout } from './s3-multipart.ts';
import {
  escapeXml,
  noSuchUpload,
  parseCopySource,
  preconditionFailed,
  readBody,
  relay,
  type S3ErrorAnswer,
  sendError,
  sendXml,
  type UpstreamResponse,
  unescapeXml,
} from './s3-wire.ts';
import { SIGNATURE_QUERY_PARAMETERS, type SigningScope } from './sigv4.ts';

/**
 * The sandbox's S3: `@20minutes/s3rver` (the real S3 wire protocol) behind a thin layer that fills the gaps
 * Ferry relies on, in the open:
 * - tags: the `x-amz-tagging` header on PutObject / CreateMultipartUpload, `TaggingDirective` on CopyObject;
 * - conditions: `x-amz-copy-source-if-match` / `-if-none-match` and destination `If-Match` / `If-None-Match`
 *   on CopyObject (and the copy-source conditions on UploadPartCopy);
 * - copy sources with any characters in the key (s3rver decodes them with `decodeURI` only);
 * - Regions: each bucket lives in one Region; a request signed for another Region is refused as S3 does;
 * - events: every write becomes an EventBridge-shaped "Object Created" / "Object Deleted" event.
 * - multipart: abort, ListParts, ListMultipartUploads, the `md5-of-md5s-N` ETag and HEAD `?partNumber`
 *   (`s3-multipart.ts`);
 * Not emulated: versioning (a copy source with a versionId is answered 501), ACLs, SSE, archive restores.
 */

export interface S3GatewayOptions {
  bucketRegions: Readonly<Record<string, string>>;
  account: string;
  onEvent: (event: S3Event) => void;
  faults: FaultInjector;
  /** Benchmarks: how fast S3 copies bytes server-side per copy request (unlimited when unset). */
  copyBytesPerSecond?: number;
}

export interface S3Gateway {
  handle(req: IncomingMessage, res: ServerResponse, url: URL, scope: SigningScope | undefined): Promise<void>;
  close(): Promise<void>;
}

/** Headers that only make sense on the client's connection, or that carry the client's signature. */
const HOP_HEADERS = new Set(['authorization', 'host', 'connection', 'x-amz-security-token', 'x-amz-date']);

/** s3rver predates the GLACIER_IR storage class; teach it, so configurations using it run in the sandbox. */
function acceptNewerStorageClasses() {
  const require = createRequire(import.meta.url);
  const objectModel = require('@20minutes/s3rver/lib/models/object.js') as { STORAGE_CLASSES: string[] };
  for (const storageClass of ['GLACIER_IR', 'EXPRESS_ONEZONE']) {
    if (!objectModel.STORAGE_CLASSES.includes(storageClass)) objectModel.STORAGE_CLASSES.push(storageClass);
  }
}

export async function startS3Gateway(options: S3GatewayOptions): Promise<S3Gateway> {
  acceptNewerStorageClasses();
  const directory = mkdtempSync(join(tmpdir(), 'ferry-s3-'));
  const s3rver = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory,
    configureBuckets: Object.keys(options.bucketRegions).map((name) => ({ name })),
  });
  const { port } = await s3rver.run();
  const agent = new http.Agent({ keepAlive: true });
  const multipart = new MultipartStore(directory);
  const pendingTags = new Map<string, string>();
  const keyLocks = new KeyLocks();

  const upstream = (
    method: string,
    path: string,
    headers: IncomingHttpHeaders = {},
    body?: Buffer | Readable,
  ): Promise<UpstreamResponse> =>
    new Promise((resolve, reject) => {
      const request = http.request({ host: '127.0.0.1', port, method, path, headers, agent }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({
            status: response.statusCode ?? 500,
            headers: response.headers,
            body: Buffer.concat(chunks),
          }),
        );
        response.on('error', reject);
      });
      request.on('error', reject);
      if (body === undefined || Buffer.isBuffer(body)) request.end(body);
      else body.pipe(request);
    });

  const objectPath = (bucket: string, key: string) =>
    `/${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;

  const head = async (bucket: string, key: string) => {
    const response = await upstream('HEAD', objectPath(bucket, key));
    if (response.status !== 200) return undefined;
    return {
      etag: String(response.headers.etag ?? '').replaceAll('"', ''),
      size: Number(response.headers['content-length'] ?? 0),
    };
  };

  const { emitCreated, emitDeleted } = createS3EventSource({
    account: options.account,
    bucketRegions: options.bucketRegions,
    onEvent: options.onEvent,
    head,
    forgetLayout: (bucket, key) => multipart.forget(bucket, key),
  });

  /** Writes an object's tag set (the `x-amz-tagging` query-string form), replacing any it had. */
  const putTags = async (bucket: string, key: string, tagging: string) => {
    const tags = [...new URLSearchParams(tagging)]
      .map(([k, v]) => `<Tag><Key>${escapeXml(k)}</Key><Value>${escapeXml(v)}</Value></Tag>`)
      .join('');
    await upstream(
      'PUT',
      `${objectPath(bucket, key)}?tagging`,
      {},
      Buffer.from(`<Tagging><TagSet>${tags}</TagSet></Tagging>`),
    );
  };

  const tagCount = async (bucket: string, key: string) => {
    const tagging = await upstream('GET', `${objectPath(bucket, key)}?tagging`);
    return tagging.status === 200 ? (tagging.body.toString().match(/<Tag>/g) ?? []).length : 0;
  };

  const copyTags = async (from: { bucket: string; key: string }, bucket: string, key: string) => {
    const tagging = await upstream('GET', `${objectPath(from.bucket, from.key)}?tagging`);
    await upstream('PUT', `${objectPath(bucket, key)}?tagging`, {}, tagging.body);
  };

  /** Takes as long as S3 would to copy the request's bytes at the modelled per-request rate. */
  const copyTime = async (
    headers: IncomingHttpHeaders,
    from: { bucket: string; key: string },
    bytesPerSecond: number,
  ) => {
    const range = /bytes=(\d+)-(\d+)/.exec(String(headers['x-amz-copy-source-range'] ?? ''));
    const bytes = range
      ? Number(range[2]) - Number(range[1]) + 1
      : ((await head(from.bucket, from.key))?.size ?? 0);
    await new Promise((resolve) => setTimeout(resolve, (bytes / bytesPerSecond) * 1000));
  };

  /** Evaluates the copy-source and destination conditions S3 supports on a copy; an error answer, or none. */
  const checkCopyConditions = async (
    headers: IncomingHttpHeaders,
    from: { bucket: string; key: string },
    bucket: string,
    key: string,
  ): Promise<S3ErrorAnswer | undefined> => {
    const source = await head(from.bucket, from.key);
    if (!source) return { status: 404, code: 'NoSuchKey', message: 'The specified key does not exist.' };
    const ifMatch = headers['x-amz-copy-source-if-match'];
    if (typeof ifMatch === 'string' && ifMatch.replaceAll('"', '') !== source.etag) {
      return preconditionFailed('x-amz-copy-source-If-Match');
    }
    const ifNoneMatch = headers['x-amz-copy-source-if-none-match'];
    if (typeof ifNoneMatch === 'string' && ifNoneMatch.replaceAll('"', '') === source.etag) {
      return preconditionFailed('x-amz-copy-source-If-None-Match');
    }
    const destinationIfMatch = headers['if-match'];
    const destinationIfNoneMatch = headers['if-none-match'];
    if (destinationIfMatch !== undefined || destinationIfNoneMatch !== undefined) {
      const existing = await head(bucket, key);
      if (destinationIfNoneMatch === '*' && existing) return preconditionFailed('If-None-Match');
      if (typeof destinationIfMatch === 'string') {
        if (!existing)
          return { status: 404, code: 'NoSuchKey', message: 'The specified key does not exist.' };
        if (destinationIfMatch.replaceAll('"', '') !== existing.etag) return preconditionFailed('If-Match');
      }
    }
    return undefined;
  };

  const handle = async (
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    scope: SigningScope | undefined,
  ) => {
    const [bucket = '', ...rest] = url.pathname.slice(1).split('/');
    const key = decodeURIComponent(rest.join('/'));
    const bucketRegion = options.bucketRegions[bucket];
    if (bucketRegion && scope && scope.region !== bucketRegion) {
      return sendError(res, {
        status: 400,
        code: 'AuthorizationHeaderMalformed',
        message: `The authorization header is malformed; the region '${scope.region}' is wrong; expecting '${bucketRegion}'`,
        extra: { Region: bucketRegion },
        headers: { 'x-amz-bucket-region': bucketRegion },
      });
    }
    for (const name of SIGNATURE_QUERY_PARAMETERS) url.searchParams.delete(name);
    // The SDK names the operation in `x-id`; it is not a subresource.
    const subresources = [...url.searchParams.keys()].filter((name) => name !== 'x-id');
    let headers = Object.fromEntries(
      Object.entries(req.headers).filter(([name]) => !HOP_HEADERS.has(name)),
    ) as IncomingHttpHeaders;
    // Streaming uploads arrive aws-chunked (framing and a checksum trailer): hand s3rver the plain bytes.
    const decoded = decodedUploadHeaders(headers);
    const body: Readable = decoded ? req.pipe(new AwsChunkedDecoder()) : req;
    if (decoded) headers = decoded as IncomingHttpHeaders;
    const path = `${url.pathname}${url.search}`;
    const query = url.searchParams;
    const method = req.method ?? 'GET';
    const copySource = headers['x-amz-copy-source'];

    if (method === 'PUT' && key && typeof copySource === 'string') {
      const partCopy = query.has('uploadId');
      const fault = options.faults.next(partCopy ? 'UploadPartCopy' : 'CopyObject');
      if (fault) return answerWithFault(res, fault);
      const from = parseCopySource(copySource);
      if (!from)
        return sendError(res, { status: 400, code: 'InvalidArgument', message: 'Invalid copy source' });
      if (from.versionId && from.versionId !== 'null') {
        return sendError(res, {
          status: 501,
          code: 'NotImplemented',
          message:
            'The Ferry sandbox does not emulate versioning: a copy source with a versionId is not supported',
        });
      }
      // The source is read under a shared lock, so its conditions hold for the bytes copied. A copy also
      // writes its destination (conditions, bytes, tags, event) under that key's lock; a part copy writes
      // no object until the completion.
      const source = { bucket: from.bucket, key: from.key, mode: 'read' } as const;
      const copy = async () => {
        const refused = await checkCopyConditions(headers, from, bucket, key);
        if (refused) return sendError(res, refused);
        // The modelled S3 copy time runs alongside the local copy: the answer comes after the longer of the two.
        const modelled = options.copyBytesPerSecond
          ? copyTime(headers, from, options.copyBytesPerSecond)
          : undefined;
        headers['x-amz-copy-source'] = encodeURI(`/${from.bucket}/${from.key}`);
        // s3rver keeps the old object's ETag when a metadata-REPLACE copy overwrites a key (it does not rewrite
        // the stored digest). S3 overwrites atomically; the sandbox clears the destination first instead,
        // under the key's lock. A part copy leaves the object alone: it changes only at the completion.
        const overwrites = !partCopy && (from.bucket !== bucket || from.key !== key);
        if (overwrites) await upstream('DELETE', objectPath(bucket, key));
        for (const name of [
          'if-match',
          'if-none-match',
          'x-amz-copy-source-if-match',
          'x-amz-copy-source-if-none-match',
        ]) {
          delete headers[name];
        }
        const response = await upstream(method, path, headers, body);
        await modelled;
        if (partCopy || response.status !== 200) return relay(res, response);
        const directive = String(headers['x-amz-tagging-directive'] ?? 'COPY').toUpperCase();
        if (directive === 'REPLACE') await putTags(bucket, key, String(headers['x-amz-tagging'] ?? ''));
        else await copyTags(from, bucket, key);
        await emitCreated(bucket, key, 'CopyObject');
        return relay(res, response);
      };
      const destination = { bucket, key, mode: 'write' } as const;
      return keyLocks.run(partCopy ? [source] : [source, destination], copy);
    }

    if (method === 'PUT' && key && subresources.length === 0) {
      return keyLocks.write(bucket, key, async () => {
        const response = await upstream(method, path, headers, body);
        if (response.status === 200) {
          await putTags(bucket, key, String(headers['x-amz-tagging'] ?? ''));
          await emitCreated(bucket, key, 'PutObject');
        }
        return relay(res, response);
      });
    }

    if (method === 'POST' && key && query.has('uploads')) {
      const response = await upstream(method, path, headers, body);
      const uploadId = /<UploadId>([^<]+)<\/UploadId>/.exec(response.body.toString())?.[1];
      if (response.status === 200 && uploadId)
        pendingTags.set(uploadId, String(headers['x-amz-tagging'] ?? ''));
      return relay(res, response);
    }

    if (method === 'POST' && key && query.has('uploadId')) {
      const fault = options.faults.next('CompleteMultipartUpload');
      if (fault) return answerWithFault(res, fault);
      const uploadId = query.get('uploadId') ?? '';
      const requestBody = await readBody(body);
      const partNumbers = [...requestBody.toString().matchAll(/<PartNumber>(\d+)<\/PartNumber>/g)].map((m) =>
        Number(m[1]),
      );
      let layout: PartLayout;
      try {
        layout = await multipart.layoutOf(bucket, uploadId, partNumbers);
      } catch (error) {
        return sendError(res, { status: 400, code: 'InvalidPart', message: (error as Error).message });
      }
      return keyLocks.write(bucket, key, async () => {
        const response = await upstream(method, path, headers, requestBody);
        if (response.status === 200 && !response.body.includes('<Error>')) {
          await multipart.record(bucket, key, layout);
          await putTags(bucket, key, pendingTags.get(uploadId) ?? '');
          pendingTags.delete(uploadId);
          await emitCreated(bucket, key, 'CompleteMultipartUpload');
          const withETag = response.body
            .toString()
            .replace(/<ETag>[^<]*<\/ETag>/, `<ETag>&quot;${layout.etag}&quot;</ETag>`);
          return relay(res, { ...response, body: Buffer.from(withETag) });
        }
        return relay(res, response);
      });
    }

    if (method === 'DELETE' && key && query.has('uploadId')) {
      const aborted = await multipart.abort(bucket, query.get('uploadId') ?? '');
      pendingTags.delete(query.get('uploadId') ?? '');
      if (!aborted) return sendError(res, noSuchUpload);
      res.writeHead(204).end();
      return;
    }

    if (method === 'GET' && key && query.has('uploadId')) {
      const uploadId = query.get('uploadId') ?? '';
      if (!(await multipart.exists(bucket, uploadId))) return sendError(res, noSuchUpload);
      const marker = Number(query.get('part-number-marker') ?? 0);
      const maxParts = Math.min(Number(query.get('max-parts') ?? 1000), 1000);
      const after = (await multipart.listParts(bucket, uploadId)).filter((part) => part.partNumber > marker);
      const page = after.slice(0, maxParts);
      return sendXml(
        res,
        `<ListPartsResult><Bucket>${escapeXml(bucket)}</Bucket><Key>${escapeXml(key)}</Key><UploadId>${uploadId}</UploadId>` +
          `<PartNumberMarker>${marker}</PartNumberMarker><NextPartNumberMarker>${page.at(-1)?.partNumber ?? marker}</NextPartNumberMarker>` +
          `<MaxParts>${maxParts}</MaxParts><IsTruncated>${after.length > page.length}</IsTruncated>` +
          page
            .map(
              (part) =>
                `<Part><PartNumber>${part.partNumber}</PartNumber><LastModified>${part.lastModified.toISOString()}</LastModified>` +
                `<ETag>&quot;${part.etag}&quot;</ETag><Size>${part.size}</Size></Part>`,
            )
            .join('') +
          '</ListPartsResult>',
      );
    }

    if (method === 'GET' && !key && query.has('uploads')) {
      // As S3 lists them: by key then upload, filtered by prefix, at most max-uploads per page after the markers.
      const prefix = query.get('prefix') ?? '';
      const keyMarker = query.get('key-marker') ?? '';
      const uploadIdMarker = query.get('upload-id-marker') ?? '';
      const maxUploads = Math.min(Number(query.get('max-uploads') ?? 1000), 1000);
      const after = (await multipart.listUploads(bucket))
        .filter((upload) => upload.key.startsWith(prefix))
        .sort((a, b) => byteOrder(a.key, b.key) || byteOrder(a.uploadId, b.uploadId))
        .filter((upload) => {
          if (!keyMarker) return true;
          const order = byteOrder(upload.key, keyMarker);
          return (
            order > 0 ||
            (order === 0 && uploadIdMarker !== '' && byteOrder(upload.uploadId, uploadIdMarker) > 0)
          );
        });
      const page = after.slice(0, maxUploads);
      const last = page.at(-1);
      const truncated = after.length > page.length;
      return sendXml(
        res,
        `<ListMultipartUploadsResult><Bucket>${escapeXml(bucket)}</Bucket><Prefix>${escapeXml(prefix)}</Prefix>` +
          `<MaxUploads>${maxUploads}</MaxUploads><IsTruncated>${truncated}</IsTruncated>` +
          (truncated && last
            ? `<NextKeyMarker>${escapeXml(last.key)}</NextKeyMarker><NextUploadIdMarker>${last.uploadId}</NextUploadIdMarker>`
            : '') +
          page
            .map(
              (upload) =>
                `<Upload><Key>${escapeXml(upload.key)}</Key><UploadId>${upload.uploadId}</UploadId>` +
                `<Initiated>${upload.initiated.toISOString()}</Initiated><StorageClass>STANDARD</StorageClass></Upload>`,
            )
            .join('') +
          '</ListMultipartUploadsResult>',
      );
    }

    // HeadObject with partNumber: the object's headers, with the size of that part and the part count.
    if (method === 'HEAD' && key && query.has('partNumber')) {
      const partNumber = Number(query.get('partNumber'));
      const whole = await upstream('HEAD', objectPath(bucket, key), headers);
      if (whole.status !== 200) return relay(res, whole);
      const etag = String(whole.headers.etag ?? '').replaceAll('"', '');
      const layout = await multipart.layout(bucket, key, etag);
      const size = (layout?.sizes ?? [Number(whole.headers['content-length'] ?? 0)])[partNumber - 1];
      if (size === undefined) {
        return sendError(res, {
          status: 416,
          code: 'InvalidPartNumber',
          message: 'The requested partnumber is not satisfiable',
        });
      }
      const count = await tagCount(bucket, key);
      res.writeHead(206, {
        ...whole.headers,
        'content-length': String(size),
        ...(layout ? { 'x-amz-mp-parts-count': String(layout.sizes.length) } : {}),
        ...(count > 0 ? { 'x-amz-tagging-count': String(count) } : {}),
      });
      res.end();
      return;
    }

    if (method === 'DELETE' && key && !query.has('uploadId') && !query.has('tagging')) {
      return keyLocks.write(bucket, key, async () => {
        const existed = await head(bucket, key);
        const response = await upstream(method, path, headers, body);
        if (existed && response.status < 300) await emitDeleted(bucket, key, 'DeleteObject');
        return relay(res, response);
      });
    }

    if (method === 'POST' && !key && query.has('delete')) {
      const requestBody = await readBody(body);
      const keys = [...requestBody.toString().matchAll(/<Key>([^<]*)<\/Key>/g)].map((m) =>
        unescapeXml(m[1] ?? ''),
      );
      const locks = keys.map((k) => ({ bucket, key: k, mode: 'write' }) as const);
      return keyLocks.run(locks, async () => {
        const existed = await Promise.all(keys.map(async (k) => ((await head(bucket, k)) ? k : undefined)));
        const response = await upstream(method, path, headers, requestBody);
        if (response.status === 200) {
          for (const deleted of existed) {
            if (deleted === undefined) continue;
            await emitDeleted(bucket, deleted, 'DeleteObjects');
          }
        }
        return relay(res, response);
      });
    }

    if (method === 'GET' && !key && query.get('list-type') === '2') {
      const response = await upstream('GET', `/${bucket}?${v1QueryOf(query)}`, headers);
      if (response.status !== 200) return relay(res, response);
      const xml = v2BodyOf(response.body.toString('utf8'), query);
      res.writeHead(200, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(xml) });
      res.end(xml);
      return;
    }

    // S3 reports how many tags an object has on HEAD and GET (HeadObject's TagCount); s3rver does not.
    const extraHeaders: Record<string, string> = {};
    if ((method === 'GET' || method === 'HEAD') && key && subresources.length === 0) {
      const count = await tagCount(bucket, key);
      if (count > 0) extraHeaders['x-amz-tagging-count'] = String(count);
    }

    // Everything else goes through untouched, streamed both ways (GET of large objects included).
    await new Promise<void>((resolve, reject) => {
      const request = http.request({ host: '127.0.0.1', port, method, path, headers, agent }, (response) => {
        res.writeHead(response.statusCode ?? 500, { ...response.headers, ...extraHeaders });
        response.pipe(res);
        response.on('end', resolve);
        response.on('error', reject);
      });
      request.on('error', reject);
      body.pipe(request);
    });
  };

  return {
    handle,
    async close() {
      agent.destroy();
      await s3rver.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

/** S3 lists keys in the order of their UTF-8 bytes. */
const byteOrder = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));
