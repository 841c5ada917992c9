import { FaultSchedule, parseFaultRates } from '../fault-schedule.ts';
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

/** The sandbox EC2's faults: copy-only kinds (`limit`, `copy-error`) hit CopySnapshot and CopyImage only. */
export class Ec2Faults extends FaultSchedule<Ec2FaultKind, string> {
  constructor(random: () => number = Math.random) {
    super(EC2_FAULT_KINDS, random, (kind, action) => !COPY_ONLY.includes(kind) || isCopyAction(action));
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
export const parseEc2FaultRates = (text: string): Ec2FaultRates =>
  parseFaultRates(text, EC2_FAULT_KINDS, 'EC2');
