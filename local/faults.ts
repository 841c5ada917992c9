import type { ServerResponse } from 'node:http';
import { FaultSchedule, parseFaultRates as parseRates } from './fault-schedule.ts';

/**
 * Faults the sandbox's S3 injects into the requests that copy data, the way S3 fails under load:
 * - `slowdown`: 503 SlowDown; `unavailable`: 503 ServiceUnavailable;
 * - `embedded`: 200 OK whose body is an `<Error>` (the SDK detects it and retries);
 * - `embedded-newline`: the same with a newline after `</Error>`: the SDK does not detect it and the call
 *   resolves with an empty result (a copy without ETag);
 * - `drop`: the connection is cut before any answer;
 * - `denied`: 403 AccessDenied (a policy that refuses the call: not retried by the SDK).
 * Codes and statuses as S3 documents them (https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html#ErrorCodeList).
 */
/** The faults a retry outlasts (the SDK's, then the state machine's): all but `denied`. */
export const TRANSIENT_FAULT_KINDS = [
  'slowdown',
  'unavailable',
  'embedded',
  'embedded-newline',
  'drop',
] as const;
export const FAULT_KINDS = [...TRANSIENT_FAULT_KINDS, 'denied'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export const COPY_OPERATIONS = ['CopyObject', 'UploadPartCopy', 'CompleteMultipartUpload'] as const;
export type CopyOperation = (typeof COPY_OPERATIONS)[number];

/** Requests whose faults are only scripted, per bucket (no rate applies): a source read, and the listings. */
export const SCRIPTED_OPERATIONS = ['HeadObject', 'ListObjectsV2', 'ListObjectVersions'] as const;
export type ScriptedOperation = (typeof SCRIPTED_OPERATIONS)[number];
export const isScriptedOperation = (operation: string): operation is ScriptedOperation =>
  (SCRIPTED_OPERATIONS as readonly string[]).includes(operation);

export type FaultRates = Partial<Record<FaultKind, number>>;

/**
 * The sandbox S3's faults: any kind can hit any copy request. A script may also be aimed at one destination
 * bucket (`scriptFor`), as S3 throttles per prefix of a bucket, not the whole service: the copies into other
 * buckets go on unharmed (the demo throttles one rule's destination this way).
 */
export class FaultInjector extends FaultSchedule<FaultKind, CopyOperation> {
  private readonly bucketScripts = new Map<string, FaultKind[]>();

  constructor(random: () => number = Math.random) {
    super(FAULT_KINDS, random);
  }

  /**
   * The next requests of `operation` into `bucket` fail with these faults, in order (before any other).
   * HeadObject too: a source read that fails, for a handler's retries; and the listings (ListObjectsV2,
   * ListObjectVersions) of a bucket, for reconcile's (no rate applies to those).
   */
  scriptFor(bucket: string, operation: CopyOperation | ScriptedOperation, ...faults: FaultKind[]): void {
    const key = `${bucket}/${operation}`;
    this.bucketScripts.set(key, [...(this.bucketScripts.get(key) ?? []), ...faults]);
  }

  /** The fault for this request into `bucket`: its bucket's script first, then the operation's. */
  nextFor(operation: CopyOperation, bucket: string): FaultKind | undefined {
    const fault = this.bucketScripts.get(`${bucket}/${operation}`)?.shift();
    if (!fault) return this.next(operation);
    this.injected.set(fault, (this.injected.get(fault) ?? 0) + 1);
    return fault;
  }

  /** The scripted fault for this HeadObject or listing of `bucket`, if any. */
  scriptedFor(operation: ScriptedOperation, bucket: string): FaultKind | undefined {
    const fault = this.bucketScripts.get(`${bucket}/${operation}`)?.shift();
    if (fault) this.injected.set(fault, (this.injected.get(fault) ?? 0) + 1);
    return fault;
  }

  override clear(): void {
    super.clear();
    this.bucketScripts.clear();
  }
}

const errorXml = (code: string, message: string) =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>ferry-fault</RequestId></Error>`;

/** What S3 sends for each fault that gets an answer (a `drop` gets none). */
const ANSWERS: Record<
  Exclude<FaultKind, 'drop'>,
  { status: number; code: string; message: string; tail: string }
> = {
  slowdown: { status: 503, code: 'SlowDown', message: 'Please reduce your request rate.', tail: '' },
  unavailable: {
    status: 503,
    code: 'ServiceUnavailable',
    message: 'Service is unable to handle request.',
    tail: '',
  },
  embedded: {
    status: 200,
    code: 'InternalError',
    message: 'We encountered an internal error. Please try again.',
    tail: '',
  },
  denied: { status: 403, code: 'AccessDenied', message: 'Access Denied', tail: '' },
  'embedded-newline': {
    status: 200,
    code: 'InternalError',
    message: 'We encountered an internal error. Please try again.',
    tail: '\n',
  },
};

/** Answers the request with the fault, as S3 would have. */
export function answerWithFault(res: ServerResponse, fault: FaultKind): void {
  if (fault === 'drop') {
    res.socket?.destroy();
    return;
  }
  const { status, code, message, tail } = ANSWERS[fault];
  res.writeHead(status, { 'content-type': 'application/xml' }).end(`${errorXml(code, message)}${tail}`);
}

/** `slowdown=0.1,embedded=0.05` → rates; every name and number checked. */
export const parseFaultRates = (text: string): FaultRates => parseRates(text, FAULT_KINDS, 'S3');
