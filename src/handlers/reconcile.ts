import type { Context } from 'aws-lambda';
import { z } from 'zod';
import { instrumented } from '#observability/middleware';
import type { Powertools } from '#observability/powertools';
import type { SourceAccount } from '#reconcile/objects';
import { type ReconcileDeps, reconcile } from '#reconcile/reconcile';
import { mergeReports, type ReconcileReport } from '#reconcile/report';

/**
 * The scheduled reconcile's input. A schedule with a constant input sends exactly this; a schedule without
 * one sends a "Scheduled Event", whose EventBridge fields are ignored (a full pass with the default limit).
 */
export const ReconcileInputSchema = z.object({
  rule: z.string().min(1).optional(),
  limit: z.number().int().positive().max(100_000).optional(),
  resume: z.string().min(1).optional(),
});

export type ReconcileInput = z.infer<typeof ReconcileInputSchema>;

/** The account of the function, from its own ARN (arn:aws:lambda:REGION:ACCOUNT:function:NAME). */
export const accountOf = (context: Pick<Context, 'invokedFunctionArn'>): string =>
  context.invokedFunctionArn.split(':')[4] ?? '';

/** Time kept back for the last pass of an invocation: a pass of `limit` sources must fit in it. */
export const PASS_RESERVE_MS = 120_000;

/**
 * Reconcile passes of at most `limit` listed items each, one after another while the invocation has time
 * left: rules' sources without a verified replica or copy are sent through the same entry points as their
 * events, and replicas whose source is gone deleted where deletes are replicated (`orphanedReplicas` in
 * the report). Each scheduled run starts from the beginning (or `resume`); what one invocation cannot reach is
 * in the returned `next` (and the plan for very large buckets is S3 Inventory, see the README).
 */
export function createReconcileHandler(
  tools: Powertools,
  depsFor: (source: SourceAccount) => ReconcileDeps,
  region: string,
  pass: typeof reconcile = reconcile,
) {
  return instrumented(tools, ReconcileInputSchema, async (input, context) => {
    const deps = depsFor({ region, account: accountOf(context) });
    const reports: ReconcileReport[] = [];
    let resume = input.resume;
    do {
      const report = await pass({ ...input, ...(resume ? { resume } : {}) }, deps);
      reports.push(report);
      resume = report.next;
    } while (resume !== undefined && context.getRemainingTimeInMillis() > PASS_RESERVE_MS);
    const report = { ...mergeReports(reports), passes: reports.length };
    tools.logger.info('Reconcile done', { report });
    return report;
  });
}
