import type { ServerResponse } from 'node:http';

/**
 * Faults the sandbox's S3 injects into the requests that copy data, the way S3 fails under load:
 * - `slowdown`: 503 SlowDown; `unavailable`: 503 ServiceUnavailable;
 * - `embedded`: 200 OK whose body is an `<Error>` (the SDK detects it and retries);
 * - `embedded-newline`: the same with a newline after `</Error>`: the SDK does not detect it and the call
 *   resolves with an empty result (a copy without ETag);
 * - `drop`: the connection is cut before any answer.
 */
export const FAULT_KINDS = ['slowdown', 'unavailable', 'embedded', 'embedded-newline', 'drop'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export const COPY_OPERATIONS = ['CopyObject', 'UploadPartCopy', 'CompleteMultipartUpload'] as const;
export type CopyOperation = (typeof COPY_OPERATIONS)[number];

export type FaultRates = Partial<Record<FaultKind, number>>;

export class FaultInjector {
  private rates: FaultRates = {};
  private readonly scripts = new Map<CopyOperation, FaultKind[]>();
  readonly injected = new Map<FaultKind, number>();

  constructor(private readonly random: () => number = Math.random) {}

  /** Each copy request fails with these probabilities (0–1, summed at most 1). */
  setRates(rates: FaultRates): void {
    const total = Object.values(rates).reduce((sum, rate) => sum + (rate ?? 0), 0);
    if (total > 1) throw new RangeError(`fault rates add up to ${total}, more than 1`);
    this.rates = { ...rates };
  }

  /** The next requests of `operation` fail with these faults, in order (before any rate applies). */
  script(operation: CopyOperation, ...faults: FaultKind[]): void {
    this.scripts.set(operation, [...(this.scripts.get(operation) ?? []), ...faults]);
  }

  clear(): void {
    this.rates = {};
    this.scripts.clear();
  }

  /** The fault for this request, if any. */
  next(operation: CopyOperation): FaultKind | undefined {
    const scripted = this.scripts.get(operation)?.shift();
    const fault = scripted ?? this.drawn();
    if (fault) this.injected.set(fault, (this.injected.get(fault) ?? 0) + 1);
    return fault;
  }

  private drawn(): FaultKind | undefined {
    let draw = this.random();
    for (const kind of FAULT_KINDS) {
      const rate = this.rates[kind] ?? 0;
      if (draw < rate) return kind;
      draw -= rate;
    }
    return undefined;
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
export function parseFaultRates(text: string): FaultRates {
  const rates: FaultRates = {};
  for (const pair of text.split(',').filter(Boolean)) {
    const [name = '', value = ''] = pair.split('=');
    if (!(FAULT_KINDS as readonly string[]).includes(name)) {
      throw new Error(`unknown fault "${name}": expected one of ${FAULT_KINDS.join(', ')}`);
    }
    const rate = Number(value);
    if (!(rate >= 0 && rate <= 1))
      throw new Error(`fault rate of ${name} must be between 0 and 1, not "${value}"`);
    rates[name as FaultKind] = rate;
  }
  return rates;
}
