import { createHash } from 'node:crypto';
import type { SourceObject } from './event.ts';
import type { CopyPlan } from './router.ts';

/**
 * The input of an object-copy execution: one source version to one destination. `single` retries a
 * CopyObject that failed retryably on the fast path; `multipart` copies an object above the threshold.
 */
export interface CopyJob {
  mode: 'single' | 'multipart';
  plan: CopyPlan;
  source: SourceObject;
  /** Why the copy left the fast path, e.g. `SlowDown` or `size 7516192768 > multipart threshold`. */
  reason: string;
}

/**
 * Deterministic, so a duplicate event cannot start a second copy: Step Functions keeps names unique per
 * state machine for 90 days. At most 80 characters of [A-Za-z0-9_-].
 */
export function executionNameOf(job: CopyJob): string {
  const { source, plan } = job;
  const identity = [
    source.bucket,
    source.key,
    source.versionId ?? source.etag,
    plan.destination.bucket,
    plan.destination.region,
    plan.destinationKey,
    plan.rule.name,
  ].join('\n');
  const digest = createHash('sha256').update(identity).digest('hex').slice(0, 60);
  return `${plan.rule.name.slice(0, 19)}-${digest}`;
}

/** Hands a copy to the object-copy state machine. `started: false` when that execution already exists. */
export interface CopyStarter {
  start(job: CopyJob): Promise<{ execution: string; started: boolean }>;
}
