import { Ec2Error, requestLimitExceeded } from './errors.ts';

/**
 * Faults the sandbox's EC2 injects, the way EC2 fails under load or mid-copy:
 * - `throttle`: 503 RequestLimitExceeded (any action; the SDK retries it as throttling);
 * - `unavailable`: 503 Unavailable; `internal`: 500 InternalError (any action);
 * - `limit`: ResourceLimitExceeded, as if the concurrent-copy limit were reached (CopySnapshot, CopyImage);
 * - `copy-error`: the request succeeds, but the copy goes to `error` / `failed` when it would complete;
 * - `lost-answer`: the request is carried out, then the connection is cut before the answer (a crash or a
 *   network cut between the call and its result: the caller cannot know the copy exists).
 */
export const EC2_FAULT_KINDS = [
  'throttle',
  'unavailable',
  'internal',
  'limit',
  'copy-error',
  'lost-answer',
] as const;
export type Ec2FaultKind = (typeof EC2_FAULT_KINDS)[number];
export type Ec2FaultRates = Partial<Record<Ec2FaultKind, number>>;

export const COPY_ACTIONS = ['CopySnapshot', 'CopyImage'] as const;
const COPY_ONLY: readonly Ec2FaultKind[] = ['limit', 'copy-error'];
const isCopyAction = (action: string) => (COPY_ACTIONS as readonly string[]).includes(action);

export class Ec2Faults {
  private rates: Ec2FaultRates = {};
  private readonly scripts = new Map<string, Ec2FaultKind[]>();
  readonly injected = new Map<Ec2FaultKind, number>();

  constructor(private readonly random: () => number = Math.random) {}

  /** Each request fails with these probabilities (0–1, summed at most 1); copy-only kinds hit copies only. */
  setRates(rates: Ec2FaultRates): void {
    const total = Object.values(rates).reduce((sum, rate) => sum + (rate ?? 0), 0);
    if (total > 1) throw new RangeError(`fault rates add up to ${total}, more than 1`);
    this.rates = { ...rates };
  }

  /** The next requests of `action` fail with these faults, in order (before any rate applies). */
  script(action: string, ...faults: Ec2FaultKind[]): void {
    const misplaced = faults.find((fault) => COPY_ONLY.includes(fault) && !isCopyAction(action));
    if (misplaced)
      throw new RangeError(`the fault "${misplaced}" applies to ${COPY_ACTIONS.join(' and ')} only`);
    this.scripts.set(action, [...(this.scripts.get(action) ?? []), ...faults]);
  }

  clear(): void {
    this.rates = {};
    this.scripts.clear();
  }

  /** The fault for this request, if any. */
  next(action: string): Ec2FaultKind | undefined {
    const fault = this.scripts.get(action)?.shift() ?? this.drawn(action);
    if (fault) this.injected.set(fault, (this.injected.get(fault) ?? 0) + 1);
    return fault;
  }

  private drawn(action: string): Ec2FaultKind | undefined {
    let draw = this.random();
    for (const kind of EC2_FAULT_KINDS) {
      const rate = this.rates[kind] ?? 0;
      if (draw < rate) return COPY_ONLY.includes(kind) && !isCopyAction(action) ? undefined : kind;
      draw -= rate;
    }
    return undefined;
  }
}

/** The error a request-level fault answers with (`copy-error` and `lost-answer` are not: the request is carried out). */
export function faultError(
  fault: Exclude<Ec2FaultKind, 'copy-error' | 'lost-answer'>,
  account: string,
  action: string,
): Ec2Error {
  switch (fault) {
    case 'throttle':
      return requestLimitExceeded(account, action);
    case 'unavailable':
      return new Ec2Error('Unavailable', "The server is overloaded and can't handle the request.", 503);
    case 'internal':
      return new Ec2Error('InternalError', 'An internal error has occurred.', 500);
    case 'limit':
      return action === 'CopyImage' ? imageCopyLimit(50) : snapshotCopyLimit(20);
  }
}

/** EC2's wording, as seen in the field ("… The limit is 5 for this destination region." before the limit rose). */
export const snapshotCopyLimit = (limit: number) =>
  new Ec2Error(
    'ResourceLimitExceeded',
    `Too many snapshot copies in progress. The limit is ${limit} for this destination region.`,
  );

/** By analogy with the snapshot message (no sample of the AMI wording was found). */
export const imageCopyLimit = (limit: number) =>
  new Ec2Error(
    'ResourceLimitExceeded',
    `Too many image copies in progress. The limit is ${limit} for this destination region.`,
  );

/** `throttle=0.1,copy-error=0.05` → rates; every name and number checked. */
export function parseEc2FaultRates(text: string): Ec2FaultRates {
  const rates: Ec2FaultRates = {};
  for (const pair of text.split(',').filter(Boolean)) {
    const [name = '', value = ''] = pair.split('=');
    if (!(EC2_FAULT_KINDS as readonly string[]).includes(name)) {
      throw new Error(`unknown EC2 fault "${name}": expected one of ${EC2_FAULT_KINDS.join(', ')}`);
    }
    const rate = Number(value);
    if (!(rate >= 0 && rate <= 1))
      throw new Error(`fault rate of ${name} must be between 0 and 1, not "${value}"`);
    rates[name as Ec2FaultKind] = rate;
  }
  return rates;
}
