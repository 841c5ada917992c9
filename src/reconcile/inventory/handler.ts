import { instrumented } from '#foundation/observability/middleware';
import type { Powertools } from '#foundation/observability/powertools';
import { accountOf, reconcileRuntimeFromEnvironment } from '../handler.ts';
import type { SourceAccount } from '../objects.ts';
import { InventoryStepInputSchema, JoinBatchSchema, PartitionBatchSchema } from './contract.ts';
import type { InventoryDeps } from './deps.ts';
import { joinStep } from './join-step.ts';
import { partitionStep } from './partition-step.ts';
import { planStep } from './plan-step.ts';

/**
 * The inventory-batch function, every Task of statemachines/inventory-reconcile.asl.yaml: the plan, a batch
 * of data files to partition, or a batch of shards to join. Parse → the step → its result.
 */
export function createInventoryBatchHandler(
  tools: Powertools,
  depsFor: (source: SourceAccount) => InventoryDeps,
  region: string,
) {
  return instrumented(tools, InventoryStepInputSchema, async (input, context) => {
    const deps = depsFor({ region, account: accountOf(context) });
    if ('step' in input) return planStep(input.input, deps);
    // The union parsed which batch this is; its own schema gives the items their type.
    if (input.BatchInput.step === 'partition')
      return partitionStep(PartitionBatchSchema.parse(input).Items, input.BatchInput.run, deps);
    return joinStep(JoinBatchSchema.parse(input).Items, input.BatchInput.run, deps);
  });
}

/** The deployed function, wired at Lambda init as reconcile is (it sends through the same handlers' deps). */
export function inventoryBatchHandlerFromEnvironment(env: NodeJS.ProcessEnv = process.env) {
  const { tools, reconcileDeps } = reconcileRuntimeFromEnvironment(env);
  return createInventoryBatchHandler(
    tools,
    (source) => {
      const deps = reconcileDeps(source);
      return { ...deps.objects, allRules: deps.rules };
    },
    env.AWS_REGION ?? 'us-east-1',
  );
}
