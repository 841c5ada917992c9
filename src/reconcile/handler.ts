import { randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';
import { z } from 'zod';
import { stepFunctionsStarters } from '#adapters/step-functions';
import {
  ec2StarterFromEnvironment,
  imageReplicationDeps,
  snapshotReplicationDeps,
} from '#ec2/handlers/wiring';
import { createEc2ClientFactory, createS3ClientFactory } from '#foundation/aws-clients';
import {
  functionBaseFromEnvironment,
  STATE_MACHINE_ARN,
  starterFromEnvironment,
} from '#foundation/function-base';
import { instrumented } from '#foundation/observability/middleware';
import type { Powertools } from '#foundation/observability/powertools';
import { objectReplicationDeps } from '#objects/handlers/wiring';
import type { SourceAccount } from './objects.ts';
import { type ReconcileDeps, reconcile } from './reconcile.ts';
import { comesBackToFailure, mergeReports, type ReconcileReport } from './report.ts';
import { type InventoryRunStarter, scheduledReconcile } from './scheduled.ts';
import { reconcileDepsOf } from './wiring.ts';

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
  inventory?: InventoryRunStarter,
  runIdOf: () => string = () => `scheduled-${randomUUID()}`,
) {
  return instrumented(tools, ReconcileInputSchema, async (input, context) => {
    const deps = depsFor({ region, account: accountOf(context) });
    // Rules with inventories go to the inventory machine; the passes list the others (src/reconcile/scheduled.ts).
    const { reports, inventoryRun } = await scheduledReconcile(
      input,
      deps.rules,
      inventory,
      runIdOf,
      async (rules) => {
        const reports: ReconcileReport[] = [];
        let resume = input.resume;
        let report: ReconcileReport;
        do {
          report = await pass({ ...input, ...(resume ? { resume } : {}) }, { ...deps, rules });
          reports.push(report);
          resume = report.next;
          // A listing that failed for good (after its patient retries) does not stop the passes: they go on
          // from where they stopped. Once the walk has reached the end and its `next` only comes back to that
          // listing, the run ends: the next pass would hit the same throttled or denied listing at once. The
          // next scheduled run starts from the first rule again, and retries it.
        } while (
          resume !== undefined &&
          !comesBackToFailure(report) &&
          context.getRemainingTimeInMillis() > PASS_RESERVE_MS
        );
        return reports;
      },
    );
    const report = {
      ...mergeReports(reports),
      passes: reports.length,
      ...(inventoryRun ? { inventoryRun } : {}),
    };
    tools.logger.info('Reconcile done', { report });
    return report;
  });
}

/** reconcile's wiring at Lambda init: S3, EC2 and all three state machines, as the handlers it stands in for. */
export function reconcileRuntimeFromEnvironment(env: NodeJS.ProcessEnv = process.env) {
  const base = functionBaseFromEnvironment(env);
  const s3 = createS3ClientFactory(base.clientOptions);
  const ec2 = createEc2ClientFactory(base.clientOptions);
  const starters = stepFunctionsStarters(base.clientOptions);
  const objectCopies = starterFromEnvironment(env, STATE_MACHINE_ARN.objectCopy, starters.objects);
  return {
    tools: base.tools,
    inventory: starterFromEnvironment(env, STATE_MACHINE_ARN.inventoryReconcile, starters.inventory),
    reconcileDeps: reconcileDepsOf(base, {
      objects: objectReplicationDeps(base, s3, objectCopies),
      snapshots: snapshotReplicationDeps(base, ec2, ec2StarterFromEnvironment(env, 'snapshotCopy', starters)),
      images: imageReplicationDeps(base, ec2, ec2StarterFromEnvironment(env, 'imageCopy', starters)),
    }),
  };
}

/** The deployed function, wired at Lambda init; its own Region is Lambda's `AWS_REGION`. */
export function reconcileHandlerFromEnvironment(env: NodeJS.ProcessEnv = process.env) {
  const { tools, reconcileDeps, inventory } = reconcileRuntimeFromEnvironment(env);
  return createReconcileHandler(tools, reconcileDeps, env.AWS_REGION ?? 'us-east-1', reconcile, inventory);
}
