import { requestLimitExceeded } from './errors.ts';

/** A token bucket's size and how many tokens come back each second. */
export interface BucketSize {
  capacity: number;
  refillPerSecond: number;
}

export type ThrottleCategory = 'describe' | 'mutating' | 'CreateTags' | 'CopyImage';

/**
 * EC2's published request-rate buckets: non-mutating (Describe*) 100 / 20 per s, mutating 50 / 5 per s,
 * and buckets of their own for CreateTags (100 / 10 per s) and CopyImage (100 / 1 per s).
 */
export const DEFAULT_BUCKETS: Readonly<Record<ThrottleCategory, BucketSize>> = {
  describe: { capacity: 100, refillPerSecond: 20 },
  mutating: { capacity: 50, refillPerSecond: 5 },
  CreateTags: { capacity: 100, refillPerSecond: 10 },
  CopyImage: { capacity: 100, refillPerSecond: 1 },
};

export const categoryOf = (action: string): ThrottleCategory =>
  action === 'CreateTags' || action === 'CopyImage'
    ? action
    : /^(Describe|Get|List|Search)/.test(action)
      ? 'describe'
      : 'mutating';

/**
 * EC2's request rate limiting: each account has, per Region and per API action, a bucket of the size of
 * the action's category. Each request takes a token; an empty bucket answers `RequestLimitExceeded`. Buckets
 * refill on the sandbox's virtual clock, so skipping time forward refills them as waiting would.
 */
export class RequestThrottle {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly sizes: Record<ThrottleCategory, BucketSize>;

  constructor(
    private readonly now: () => number,
    private readonly account: string,
    sizes: Partial<Record<ThrottleCategory, BucketSize>> = {},
  ) {
    this.sizes = { ...DEFAULT_BUCKETS, ...sizes };
  }

  /** Takes a token for this request, or throws `RequestLimitExceeded`. */
  take(region: string, action: string): void {
    const size = this.sizes[categoryOf(action)];
    const key = `${region}/${action}`;
    const now = this.now();
    const bucket = this.buckets.get(key) ?? { tokens: size.capacity, at: now };
    const tokens = Math.min(size.capacity, bucket.tokens + ((now - bucket.at) / 1000) * size.refillPerSecond);
    if (tokens < 1) {
      this.buckets.set(key, { tokens, at: now });
      throw requestLimitExceeded(this.account, action);
    }
    this.buckets.set(key, { tokens: tokens - 1, at: now });
  }

  /** Tokens left in the bucket of an action (for tests and the demo). */
  tokens(region: string, action: string): number {
    const size = this.sizes[categoryOf(action)];
    const bucket = this.buckets.get(`${region}/${action}`);
    if (!bucket) return size.capacity;
    return Math.min(size.capacity, bucket.tokens + ((this.now() - bucket.at) / 1000) * size.refillPerSecond);
  }
}
