/**
 * Event-driven waiting's shared vocabulary: an execution waiting for a copy (its task token, stored under
 * the copy's id), the store that keeps it (DynamoDB in AWS, src/adapters/copy-waiters.ts), and the
 * Step Functions callbacks that end the wait (src/adapters/task-callbacks.ts).
 *
 * Why DynamoDB with a TTL: the completion event names only the copy (a snapshot or AMI id in the
 * destination Region), and a task token is an opaque string Step Functions gives the waiting task alone; it
 * cannot be derived from the execution's name, and Step Functions has no lookup from an execution to its
 * open token. So the token must be kept somewhere keyed by the copy id: one item per copy in flight, read
 * once, deleted on completion, and expired by TTL when a lost event left it behind.
 */

/**
 * A stored token outlives its task by this much before DynamoDB's TTL may delete it (the token is useless
 * once the task timed out). TTL is best effort ("typically within two days of expiration") and expired items
 * still show up in reads, so a reader ignores an expired item itself (`isLive`):
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/TTL.html
 */
const TOKEN_GRACE_SECONDS = 3600;

/** One execution waiting for one copy. */
export interface CopyWaiter {
  /** `region/copy-id`: a copy's id is reported by the event of its (destination) Region. */
  key: string;
  taskToken: string;
  execution: string;
  /** Epoch seconds, the table's TTL attribute. */
  expiresAt: number;
}

export const waiterKeyOf = (region: string, copyId: string): string => `${region}/${copyId}`;

/** EC2's id prefixes: a copy's id says what it copies, so the waiter's key needs no kind of its own. */
const KIND_OF_PREFIX = { 'snap-': 'snapshot', 'ami-': 'image' } as const;

/**
 * The copy a waiter's key names, or undefined for the table's other keys (the slot queues' `slot/…` and
 * `freed/…` items, slot-queue.ts): a copy waiter's key is `<region>/<snap-…|ami-…>`.
 */
export function copyOfWaiterKey(
  key: string,
): { region: string; copyId: string; kind: 'snapshot' | 'image' } | undefined {
  const slash = key.indexOf('/');
  const region = key.slice(0, slash);
  const copyId = key.slice(slash + 1);
  if (slash < 1 || region === 'slot' || region === 'freed' || copyId.includes('/')) return undefined;
  const prefix = Object.keys(KIND_OF_PREFIX).find((candidate) => copyId.startsWith(candidate));
  return prefix ? { region, copyId, kind: KIND_OF_PREFIX[prefix as keyof typeof KIND_OF_PREFIX] } : undefined;
}

export const waiterOf = (
  region: string,
  copyId: string,
  taskToken: string,
  execution: string,
  nowMs: number,
  /** The wait's timeout (the safety check, safety-check.ts): past it the token is closed. */
  timeoutSeconds: number,
): CopyWaiter => ({
  key: waiterKeyOf(region, copyId),
  taskToken,
  execution,
  expiresAt: Math.ceil(nowMs / 1000) + timeoutSeconds + TOKEN_GRACE_SECONDS,
});

/** An item TTL has not deleted yet may still be read: past its `expiresAt` it is treated as absent. */
export const isLive = (waiter: Pick<CopyWaiter, 'expiresAt'>, nowMs: number): boolean =>
  waiter.expiresAt * 1000 > nowMs;

export interface CopyWaiters {
  /** Stores (or replaces: a later AwaitCopy of the same copy has a new token) the waiter. */
  put(waiter: CopyWaiter): Promise<void>;
  get(key: string): Promise<CopyWaiter | undefined>;
  /** Deletes the waiter if it still holds this token (a newer wait keeps its own); false when it did not. */
  remove(key: string, taskToken: string): Promise<boolean>;
}

/** Every item the waiters' table holds, copy waiters or not, expired or not: the sweep's one read (sweep.ts). */
export interface WaiterListing {
  all(): Promise<CopyWaiter[]>;
}

/**
 * The answer to a callback: `sent`, or `gone` when the task no longer waits (already completed by the other
 * side of the race, timed out, or its execution ended: TaskDoesNotExist, TaskTimedOut, InvalidToken).
 */
export type CallbackResult = 'sent' | 'gone';

export interface TaskCallbacks {
  succeed(taskToken: string, output: unknown): Promise<CallbackResult>;
}
