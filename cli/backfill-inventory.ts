import { randomUUID } from 'node:crypto';
import { S3Client } from '@aws-sdk/client-s3';
import { DescribeExecutionCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { STATE_MACHINE_ARN } from '#foundation/function-base';
import { SANDBOX_CREDENTIALS } from '#foundation/sandbox-credentials';
import { inventoryRulesOf } from '#reconcile/inventory/deps';
import { reportFromResults } from '#reconcile/inventory/results';
import { workLocationOf } from '#reconcile/inventory/work';
import type { FerryConfig } from '#rules/config';
import { inventoryMachineName } from '../deploy/inventory-machine.ts';
import { type BackfillOptions, reportLines } from './backfill.ts';
import type { CommandResult } from './commands.ts';
import { SERVICE } from './operate.ts';

/** The variable that names the inventory-reconcile machine, as FERRY_*_STATE_MACHINE_ARN name the others. */
export const INVENTORY_MACHINE_VARIABLE = STATE_MACHINE_ARN.inventoryReconcile;
/** The stage whose machine is started when the variable is not set (serverless.yml's default stage). */
export const STAGE_VARIABLE = 'FERRY_STAGE';

/** The inventory-reconcile machine is not in that account and Region: no rule named inventories at deploy. */
export class InventoryMachineNotDeployedError extends Error {
  constructor(readonly stateMachineArn: string) {
    super(
      `the inventory-reconcile state machine ${stateMachineArn} is not deployed: the stack deploys it only when ` +
        `a rule names inventories (objects.inventory); deploy with such rules, or set ${STAGE_VARIABLE} or ` +
        `${INVENTORY_MACHINE_VARIABLE} to the stage or machine that has it`,
    );
    this.name = 'InventoryMachineNotDeployedError';
  }
}

/** The partition of a Region's ARNs. */
const partitionOf = (region: string) =>
  region.startsWith('cn-') ? 'aws-cn' : region.startsWith('us-gov-') ? 'aws-us-gov' : 'aws';

/**
 * The machine to start: the variable's ARN when set, else the deployed stack's by the name the package gives
 * it (deploy/inventory-machine.ts) in the stage of FERRY_STAGE (the sandbox's stage against an endpoint,
 * else serverless.yml's default, dev), in the Region and account the backfill runs against.
 */
export function inventoryMachineArnFor(
  env: NodeJS.ProcessEnv,
  target: { region: string; account: string; endpoint?: string | undefined },
): string {
  const named = env[INVENTORY_MACHINE_VARIABLE];
  if (named) return named;
  const stage = env[STAGE_VARIABLE] || (target.endpoint ? 'sandbox' : 'dev');
  const name = inventoryMachineName({ service: SERVICE, stage });
  return `arn:${partitionOf(target.region)}:states:${target.region}:${target.account}:stateMachine:${name}`;
}

/** How often the command looks at the execution: it ends when the execution ends, never on a timer. */
const POLL_MS = 2000;

/**
 * `ferry backfill --inventory`: starts the inventory-reconcile state machine for the rules that name
 * inventories (or `--rule`), waits for the execution to end, and prints the report per rule built from the
 * join map's ResultWriter export.
 */
export async function inventoryBackfill(
  config: FerryConfig,
  options: BackfillOptions & { region: string; account: string },
): Promise<CommandResult> {
  const env = options.env ?? process.env;
  let rules: ReturnType<typeof inventoryRulesOf>;
  try {
    rules = inventoryRulesOf(config.rules, options.rule);
  } catch (error) {
    return { exitCode: 2, lines: [`✘ ${(error as Error).message}`] };
  }
  const work = rules[0] ? workLocationOf(rules[0]) : undefined;
  if (!work)
    return { exitCode: 2, lines: ['✘ no object rule names inventories (objects.inventory, to[].inventory)'] };
  const stateMachineArn = inventoryMachineArnFor(env, options);
  const clientConfig = {
    region: options.region,
    ...(options.endpoint ? { endpoint: options.endpoint, credentials: SANDBOX_CREDENTIALS } : {}),
  };
  const sfn = new SFNClient(clientConfig);
  const s3 = new S3Client({ ...clientConfig, forcePathStyle: options.endpoint !== undefined });
  try {
    const runId = `backfill-${randomUUID()}`;
    let executionArn: string | undefined;
    try {
      ({ executionArn } = await sfn.send(
        new StartExecutionCommand({
          stateMachineArn,
          name: runId,
          input: JSON.stringify({ runId, work, ...(options.rule ? { rule: options.rule } : {}) }),
        }),
      ));
    } catch (error) {
      // StartExecution's own error for a machine that is not there
      // (https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html#API_StartExecution_Errors).
      if ((error as { name?: string }).name !== 'StateMachineDoesNotExist') throw error;
      return { exitCode: 1, lines: [`✘ ${new InventoryMachineNotDeployedError(stateMachineArn).message}`] };
    }
    for (;;) {
      const execution = await sfn.send(new DescribeExecutionCommand({ executionArn }));
      if (execution.status === 'SUCCEEDED') {
        const output = JSON.parse(execution.output ?? '{}') as { results?: unknown };
        const report = await reportFromResults(s3, output.results);
        const failed = report.rules.some((rule) => rule.failed.length > 0);
        return { exitCode: failed ? 1 : 0, lines: [`Inventory run ${runId}:`, ...reportLines(report)] };
      }
      if (execution.status !== 'RUNNING')
        return {
          exitCode: 1,
          lines: [
            `✘ inventory run ${runId} ended ${execution.status}: ${execution.error ?? ''} ${execution.cause ?? ''}`,
          ],
        };
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  } finally {
    sfn.destroy();
    s3.destroy();
  }
}
