import type { CopyKind } from '#ec2/copy-kind';
import { destinationTarget, type Ec2ClientFactory } from '#foundation/aws-clients';
import type { Log } from '#foundation/observability/powertools';
import type { ReplicationMetrics } from '#foundation/observability/replication-metrics';
import type { RpoDeps } from '#rpo/observe';
import type { AwaitDeps } from './await-step.ts';
import type { CopyKindName, Ec2CopyJob } from './contract.ts';

/** What every step of the snapshot-copy and image-copy machines works with. */
export interface Ec2CopyStepDeps {
  ec2: Ec2ClientFactory;
  kinds: Record<CopyKindName, CopyKind>;
  log: Log;
  metrics: ReplicationMetrics;
  now: () => number;
  /** Jitter for queued copies (seeded in the sandbox, so a run repeats). */
  random?: () => number;
  /** Judges each verified copy of a rule with `rpo` (src/rpo/). */
  rpo?: RpoDeps | undefined;
  /** Event-driven waiting (the `await` step): the token table and Step Functions' callbacks. */
  await?: AwaitDeps | undefined;
}

/** The destination Region's (and account's) EC2 client; `retries: false` for calls a retry would repeat. */
export const destinationClient = (job: Ec2CopyJob, deps: Ec2CopyStepDeps, retries = true) =>
  deps.ec2(destinationTarget(job.destination), { retries });
