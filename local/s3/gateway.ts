import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { AwsChunkedDecoder, decodedUploadHeaders } from '../aws-chunked.ts';
import {
  answerWithFault,
  COPY_OPERATIONS,
  type CopyOperation,
  type FaultInjector,
  isScriptedOperation,
} from '../faults.ts';
import { createS3EventSource, type S3Event } from '../s3-events.ts';
import { rawPathOf, s3OperationOf } from '../s3-operations.ts';
import { SIGNATURE_QUERY_PARAMETERS, type SigningScope } from '../sigv4.ts';
import { checkExpectedOwner, refuseCustomerKeys } from './attributes.ts';
import type { S3Context, S3Request } from './context.ts';
import type { CopyModel } from './copy-model.ts';
import {
  type InventoryReport,
  type InventoryRequest,
  inventoryReport,
  requestOfConfiguration,
} from './inventory.ts';
import { expireObject } from './objects.ts';
import { BUCKETLESS_OPERATIONS, ROUTES } from './routes.ts';
import { noSuchBucket, S3Store } from './store.ts';
import { S3ServiceError, s3Error, sendError } from './wire.ts';

/**
 * The sandbox's S3: Ferry's own model of S3 (local/s3/), strict where S3 is strict. It parses a path-style
 * request, refuses a request signed for another Region than its bucket's (as S3 does), injects the
 * scheduled faults into the copy requests, decodes `aws-chunked` bodies, and hands the request to its
 * operation (routes.ts). Every write takes effect in one step of the event loop, with its event.
 */

export interface S3GatewayOptions {
  bucketRegions: Readonly<Record<string, string>>;
  account: string;
  /** Buckets of other accounts (cross-account destinations), by name; the rest are the sandbox account's. */
  bucketOwners?: Readonly<Record<string, string>>;
  onEvent: (event: S3Event) => void;
  faults: FaultInjector;
  /** Benchmarks: how fast S3 copies bytes server-side, per request and per bucket pair (unlimited when unset). */
  copyModel?: CopyModel;
  /**
   * The sandbox's virtual clock (real time otherwise): the time events carry, which the handlers measure
   * latency on, and what Object Lock retain-until dates are held against.
   */
  now?: () => number;
}

export interface S3Gateway {
  handle(req: IncomingMessage, res: ServerResponse, url: URL, scope: SigningScope | undefined): Promise<void>;
  /**
   * Expires the current object of a key as an S3 Lifecycle expiration would: a delete marker in a versioned
   * bucket, a permanent delete otherwise, with an "Object Deleted" event whose reason is "Lifecycle
   * Expiration". False when the key had no current object.
   */
  expire(bucket: string, key: string): boolean;
  /**
   * How an object (its current version, or the given one) is encrypted, and its bucket's Region: what KMS
   * is asked when S3 reads it for a copy (`bucketKey`: under an S3 Bucket Key, which makes the bucket's ARN
   * the encryption context instead of the object's). Undefined when there is no such object.
   */
  encryptionOf(
    bucket: string,
    key: string,
    versionId?: string,
  ): { region: string; sse?: string; kmsKeyId?: string; bucketKey?: boolean } | undefined;
  /**
   * The S3 Inventory report of a bucket as S3 would publish it now (local/s3/inventory.ts), as the bucket's
   * stored configuration of that id says where there is one; not yet written.
   */
  inventory(sourceBucket: string, request: InventoryRequest): InventoryReport;
  /** The Region of a bucket, or undefined when there is none. */
  regionOf(bucket: string): string | undefined;
  close(): Promise<void>;
}

const isCopyOperation = (operation: string): operation is CopyOperation =>
  (COPY_OPERATIONS as readonly string[]).includes(operation);

function decodePath(path: string): { bucket: string; key: string } {
  const [, bucket = '', ...rest] = path.split('/');
  try {
    return { bucket: decodeURIComponent(bucket), key: decodeURIComponent(rest.join('/')) };
  } catch {
    throw s3Error(400, 'InvalidURI', "Couldn't parse the specified URI.", { extra: { URI: path } });
  }
}

export async function startS3Gateway(options: S3GatewayOptions): Promise<S3Gateway> {
  const store = new S3Store();
  for (const [name, region] of Object.entries(options.bucketRegions)) store.createBucket(name, region);
  const context: S3Context = {
    store,
    events: createS3EventSource({
      account: options.account,
      regionOf: (bucket) => store.find(bucket)?.region ?? 'us-east-1',
      onEvent: options.onEvent,
      ...(options.now ? { now: options.now } : {}),
    }),
    account: options.account,
    now: options.now ?? Date.now,
    ...(options.copyModel ? { copyModel: options.copyModel } : {}),
  };

  const serve = async (
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    scope: SigningScope | undefined,
  ) => {
    const method = req.method ?? 'GET';
    const path = rawPathOf(req.url);
    for (const name of SIGNATURE_QUERY_PARAMETERS) url.searchParams.delete(name);
    const operation = s3OperationOf(method, path, url.searchParams, req.headers);
    const { bucket, key } = decodePath(path);
    if (!BUCKETLESS_OPERATIONS.has(operation)) {
      const found = store.find(bucket);
      if (!found) throw noSuchBucket(bucket);
      // GetBucketLocation is how a client learns the Region: S3 answers it whatever the signed Region.
      if (scope && scope.region !== found.region && operation !== 'GetBucketLocation') {
        throw s3Error(
          400,
          'AuthorizationHeaderMalformed',
          `The authorization header is malformed; the region '${scope.region}' is wrong; expecting '${found.region}'`,
          { extra: { Region: found.region }, headers: { 'x-amz-bucket-region': found.region } },
        );
      }
    }
    refuseCustomerKeys(req.headers);
    checkExpectedOwner(req.headers, bucket, (name) => options.bucketOwners?.[name] ?? options.account);
    const route = ROUTES[operation];
    if (!route) {
      throw s3Error(
        501,
        'NotImplemented',
        `The Ferry sandbox does not emulate this S3 operation (${operation})`,
      );
    }
    if (isCopyOperation(operation)) {
      const fault = options.faults.nextFor(operation, bucket);
      if (fault) return answerWithFault(res, fault);
    } else if (isScriptedOperation(operation)) {
      const fault = options.faults.scriptedFor(operation, bucket);
      if (fault) return answerWithFault(res, fault);
    }
    // Streaming uploads arrive aws-chunked (framing and a checksum trailer): the operations get the bytes.
    const decoded = decodedUploadHeaders(req.headers);
    const body: Readable = decoded ? req.pipe(new AwsChunkedDecoder()) : req;
    const request: S3Request = {
      method,
      bucket,
      key,
      query: url.searchParams,
      headers: decoded ?? req.headers,
      body,
      res,
      scope,
    };
    await route(context, request);
  };

  return {
    async handle(req, res, url, scope) {
      try {
        await serve(req, res, url, scope);
      } catch (error) {
        if (!(error instanceof S3ServiceError)) throw error;
        // The answer does not wait for a body the operation did not read.
        if (!req.readableEnded) req.resume();
        if (res.headersSent) res.destroy(error);
        else sendError(res, error.answer, req.method);
      }
    },
    expire: (bucket, key) => expireObject(context, bucket, key),
    encryptionOf(bucket, key, versionId) {
      const found = store.find(bucket);
      if (!found) return undefined;
      const version = versionId ? store.version(found, key, versionId) : store.current(found, key);
      if (version?.kind !== 'object') return undefined;
      return {
        region: found.region,
        ...(version.serverSideEncryption ? { sse: version.serverSideEncryption } : {}),
        ...(version.kmsKeyId ? { kmsKeyId: version.kmsKeyId } : {}),
        ...(version.bucketKeyEnabled === 'true' ? { bucketKey: true } : {}),
      };
    },
    inventory: (sourceBucket, request) =>
      inventoryReport(
        store,
        sourceBucket,
        requestOfConfiguration(
          sourceBucket,
          request,
          store.find(sourceBucket)?.inventoryConfigurations?.get(request.configId),
        ),
        new Date(context.now()),
      ),
    regionOf: (bucket) => store.find(bucket)?.region,
    async close() {
      store.close();
    },
  };
}
