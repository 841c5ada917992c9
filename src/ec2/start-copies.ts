import { type Ec2CopyJob, type Ec2CopyStarter, executionNameOf } from '#ec2/copy-machine/contract';
import type { Log } from '#foundation/observability/powertools';
import type { ReplicationMetrics } from '#foundation/observability/replication-metrics';
import { CopyStartError } from './errors.ts';

/** What a created snapshot or image led to, per destination: the handlers' result, and their logs. */
export type StartOutcome =
  | { status: 'started' | 'already-started'; source: string; rule: string; region: string; execution: string }
  | { status: 'skipped'; source: string; reason: string };

/**
 * Starts one execution per job under its deterministic name. Every job is tried; if any could not be
 * started the handler fails afterwards, so Lambda retries the event (and the DLQ keeps it) while the jobs
 * already started are not started twice.
 */
export async function startCopies(
  jobs: readonly Ec2CopyJob[],
  deps: { copies: Ec2CopyStarter; log: Log },
): Promise<StartOutcome[]> {
  const outcomes: StartOutcome[] = [];
  const failures: { job: Ec2CopyJob; error: unknown }[] = [];
  for (const job of jobs) {
    try {
      const { execution, started } = await deps.copies.start(job);
      outcomes.push({
        status: started ? 'started' : 'already-started',
        source: job.source.id,
        rule: job.rule,
        region: job.destination.region,
        execution,
      });
      deps.log.info(started ? 'Copy handed to its state machine' : 'Copy already started', {
        source: job.source.id,
        rule: job.rule,
        region: job.destination.region,
        execution: executionNameOf(job),
      });
    } catch (error) {
      failures.push({ job, error });
    }
  }
  if (failures.length > 0) throw new CopyStartError(failures);
  return outcomes;
}

/** Why a source is not copied, as a short code for the skips metric. */
export type SkipCode = 'not-a-creation' | 'ferry-copy' | 'source-gone' | 'no-matching-rule';

/** Logs and counts a source that is not copied, and says why in the handler's result. */
export function skip(
  source: string,
  code: SkipCode,
  reason: string,
  deps: { log: Log; metrics: ReplicationMetrics },
): StartOutcome {
  deps.log.info(`Skipped ${source}: ${reason}`, { source, code });
  deps.metrics.skipped('none', code);
  return { status: 'skipped', source, reason };
}
