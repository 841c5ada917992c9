import type { IdSource } from './ids.ts';
import type { KmsKeys } from './kms.ts';
import type { Lifecycle } from './lifecycle.ts';
import type { QueryParams } from './query.ts';
import type { RegionStore } from './records.ts';

/** What every action of the fake works with. */
export interface Ec2Context {
  account: string;
  /** The sandbox's virtual clock (ms). */
  now: () => number;
  ids: IdSource;
  kms: KmsKeys;
  lifecycle: Lifecycle;
  store(region: string): RegionStore;
  /** Every Region's store that exists so far. */
  stores(): Iterable<RegionStore>;
  /** Bytes per second each copy moves, in virtual time. */
  copyBytesPerSecond: number;
  /** How long a RegisterImage takes before the image is available, in virtual ms. */
  registrationMs: number;
  limits: { snapshotCopies: number; imageCopies: number };
}

export interface ActionRequest {
  action: string;
  /** From the SigV4 credential scope: one server serves every Region. */
  region: string;
  params: QueryParams;
  requestId: string;
  /** A `copy-error` fault drawn for this copy request: the copy fails when it would complete. */
  failCopy: boolean;
}

/** An action answers the inner XML of `<ActionResponse>` (after its `requestId`). */
export type ActionHandler = (context: Ec2Context, request: ActionRequest) => string;

export const GiB = 1024 ** 3;
