import type { Context } from 'aws-lambda';
import { z } from 'zod';
import { instrumented } from '#observability/middleware';
import type { Powertools } from '#observability/powertools';
import type { SourceAccount } from '#reconcile/objects';
import { type ReconcileDeps, reconcile } from '#reconcile/reconcile';

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

/**
 * One bounded reconcile pass per invocation: rules' sources without a verified replica or copy are sent
 * through the same entry points as their events. The cursor is returned, not kept: each scheduled run
 * starts from the beginning and covers up to `limit` sources.
 */
export function createReconcileHandler(
  tools: Powertools,
  depsFor: (source: SourceAccount) => ReconcileDeps,
  region: string,
) {
  return instrumented(tools, ReconcileInputSchema, async (input, context) => {
    const report = await reconcile(input, depsFor({ region, account: accountOf(context) }));
    tools.logger.info('Reconcile pass done', { report });
    return report;
  });
}
