import { createHash } from 'node:crypto';
import { z } from 'zod';
import {
  deprecateAfterSchema,
  deregistrationProtectionSchema,
  snapshotLockSchema,
} from '#ec2/copy-protection';
import { retentionSchema } from '#ec2/retention';
import { exactRecord } from '#rules/exact-record';

/**
 * The contract of the snapshot-copy and image-copy state machines (`statemachines/ec2-copy.ts`, one
 * definition rendered per kind): the execution input the starter (src/adapters/step-functions.ts) sends, its name
 * rule, and the state and step inputs the machine passes between its states. Both the code that starts an
 * execution and the steps that run in it import it from here, so the two cannot drift apart.
 */

/**
 * The input of a snapshot-copy or image-copy execution: one source to one destination, self-contained, so a
 * configuration change never alters a copy in flight.
 */

export const Ec2DestinationSchema = z.object({
  region: z.string(),
  account: z.string().optional(),
  roleArn: z.string().optional(),
  externalId: z.string().optional(),
  kmsKeyId: z.string().optional(),
  copyTags: z.boolean(),
  tags: exactRecord(z.string(), z.string()),
  description: z.string().optional(),
  name: z.string().optional(),
  completionDurationMinutes: z.number().int().optional(),
  retain: retentionSchema().optional(),
  archive: z.boolean().optional(),
  lock: snapshotLockSchema.optional(),
  deregistrationProtection: deregistrationProtectionSchema.optional(),
  deprecateAfter: deprecateAfterSchema.optional(),
});

export const Ec2CopyJobSchema = z.object({
  kind: z.enum(['snapshot', 'image']),
  rule: z.string(),
  destinationIndex: z.number().int().nonnegative(),
  destination: Ec2DestinationSchema,
  source: z.object({
    id: z.string(),
    region: z.string(),
    account: z.string(),
    encrypted: z.boolean(),
    description: z.string(),
    /** Images: the AMI name. */
    name: z.string().optional(),
    /** Snapshots: the source volume (retention counts per volume) and its size. */
    volumeId: z.string().optional(),
    sizeGiB: z.number().optional(),
    tags: exactRecord(z.string(), z.string()),
  }),
  /** When the source was created (the event's time): replication latency is measured from it. */
  eventTime: z.string(),
  /** The rule's `rpo`, when it sets one: the copy is judged against it when verified (src/rpo/). */
  rpo: z.string().optional(),
  /** Set by the starter from the second attempt on (src/adapters/execution-attempts.ts); not part of the identity. */
  attempt: z.number().int().min(2).optional(),
});

export type Ec2CopyJob = z.infer<typeof Ec2CopyJobSchema>;
export type Ec2Destination = z.infer<typeof Ec2DestinationSchema>;
export type CopyKindName = Ec2CopyJob['kind'];

/** What retention counts per: the source volume of a snapshot, the name of an AMI. */
export const retentionGroupOf = (job: Ec2CopyJob): string =>
  (job.kind === 'snapshot' ? job.source.volumeId : job.source.name) ?? job.source.id;

/**
 * Deterministic, so a duplicate event cannot start a second copy: Step Functions keeps names unique per
 * state machine for 90 days. At most 80 characters of [A-Za-z0-9_-]: the source id, the destination
 * Region and a digest of the whole identity.
 */
export function executionNameOf(job: Ec2CopyJob): string {
  const identity = [
    job.kind,
    job.source.id,
    job.source.region,
    job.rule,
    job.destinationIndex,
    job.destination.region,
    job.destination.account ?? '',
  ].join('\n');
  const digest = createHash('sha256').update(identity).digest('hex').slice(0, 16);
  return `${job.source.id}-${job.destination.region}-${digest}`.slice(0, 80);
}

/**
 * CopyImage's idempotency token: the same copy asked twice is made once (at most 64 ASCII characters).
 * After a failed copy was removed, its replacement needs a new token (EC2 would answer the old token with
 * the removed image): the ids of the removed copies are part of it, and so is the execution's attempt (a
 * later attempt may not see what an earlier one removed).
 */
export const clientTokenOf = (job: Ec2CopyJob, replacing: readonly string[] = []): string =>
  `ferry-${createHash('sha256')
    .update(
      [
        executionNameOf(job),
        ...(job.attempt ? [`attempt ${job.attempt}`] : []),
        ...[...replacing].sort(),
      ].join('\n'),
    )
    .digest('hex')
    .slice(0, 40)}`;

/** Hands a copy to its state machine. `started: false` when that execution already exists. */
export interface Ec2CopyStarter {
  start(job: Ec2CopyJob): Promise<{ execution: string; started: boolean }>;
}

/** The state the machine carries between steps (`$.copy`). */
export const CopyProgressSchema = z.object({
  id: z.string(),
  startedAt: z.number(),
  deadline: z.number(),
  state: z.enum(['pending', 'completed', 'failed']),
  progress: z.number(),
  waitSeconds: z.number().int().positive(),
  /**
   * AwaitCopy's timeout (TimeoutSecondsPath), computed by the step before it: how long to wait for the
   * copy's event before CheckCopy looks (src/ec2/copy-machine/safety-check.ts). Every step sets it; optional
   * only so a copy carried by an execution started before it existed (whose AwaitCopy has the flat 6 h
   * TimeoutSeconds) still parses.
   */
  safetySeconds: z.number().int().positive().optional(),
  message: z.string().optional(),
  /** The copy was found already started (a retried or duplicated start), not issued again. */
  resumed: z.boolean().optional(),
  /**
   * Waited for by polling even where the machine waits by event: its completion event goes to another
   * account (`completionEventReachesStack`), so no event would end the wait (statemachines/ec2-copy.ts).
   */
  polled: z.literal(true).optional(),
});
export type CopyProgress = z.infer<typeof CopyProgressSchema>;

/**
 * A copy EC2 has not started yet (`$.copy` before StartCopy succeeds): every copy enters the machine queued
 * with no attempts, and stays queued while EC2 refuses it for the copy limit or throttling.
 */
export const QueuedCopySchema = z.object({
  state: z.literal('queued'),
  /** Refusals so far. */
  attempts: z.number().int().nonnegative(),
  /** Epoch ms of the first refusal. */
  since: z.number().optional(),
  waitSeconds: z.number().int().positive(),
  /** EC2's words for the last refusal. */
  message: z.string().optional(),
  /**
   * Refused for the copy limit where the machine waits by event: it waits in AwaitSlot for a wake-up from
   * the next copy to end (with `waitSeconds` as its timeout) instead of sleeping in WaitForSlot.
   */
  wake: z.literal(true).optional(),
});
export type QueuedCopy = z.infer<typeof QueuedCopySchema>;

const CaughtErrorSchema = z.object({ Error: z.string(), Cause: z.string().optional() });

export const Ec2CopyStepInputSchema = z.discriminatedUnion('action', [
  z.object({ action: z.literal('start'), job: Ec2CopyJobSchema, copy: QueuedCopySchema.optional() }),
  z.object({ action: z.literal('check'), job: Ec2CopyJobSchema, copy: CopyProgressSchema }),
  z.object({ action: z.literal('finalize'), job: Ec2CopyJobSchema, copy: CopyProgressSchema }),
  // Event-driven waiting (AwaitCopy): store the task token under the copy's id, then look at the copy once.
  z.object({
    action: z.literal('await'),
    job: Ec2CopyJobSchema,
    copy: CopyProgressSchema,
    taskToken: z.string().min(1),
    /** The execution's ARN ($$.Execution.Id): who is waiting, for an operator reading the table. */
    execution: z.string().min(1),
  }),
  // Waiting for a slot by token (AwaitSlot): store the task token in the copy's slot queue.
  z.object({
    action: z.literal('await-slot'),
    job: Ec2CopyJobSchema,
    copy: QueuedCopySchema,
    taskToken: z.string().min(1),
    execution: z.string().min(1),
  }),
  z.object({
    action: z.literal('record-failure'),
    job: Ec2CopyJobSchema,
    // The whole state: `copy` is still queued (or absent) when the start itself failed.
    state: z.object({
      copy: z.union([CopyProgressSchema, QueuedCopySchema]).optional(),
      failure: CaughtErrorSchema,
    }),
  }),
]);
export type Ec2CopyStepInput = z.infer<typeof Ec2CopyStepInputSchema>;

/**
 * What an AwaitCopy task receives when its copy ends (SendTaskSuccess output): only a signal, the next
 * state (CheckCopy) reads the copy itself. `by` says who noticed: the completion event, the await step's
 * own look (the copy ended before the token was stored), or the scheduled sweep (the event was lost:
 * src/ec2/copy-machine/sweep.ts).
 */
export const CopySettledSignalSchema = z.object({
  copyId: z.string(),
  outcome: z.enum(['completed', 'failed']),
  by: z.enum(['event', 'await-check', 'sweep']),
});
export type CopySettledSignal = z.infer<typeof CopySettledSignalSchema>;
