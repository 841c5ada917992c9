import { randomUUID } from 'node:crypto';
import { S3Client } from '@aws-sdk/client-s3';
import { DescribeExecutionCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { SANDBOX_CREDENTIALS } from '#foundation/sandbox-credentials';
import { inventoryRulesOf } from '#reconcile/inventory/deps';
import { reportFromResults } from '#reconcile/inventory/results';
import { workLocationOf } from '#reconcile/inventory/work';
import type { FerryConfig } from '#rules/config';
import { type BackfillOptions, reportLines } from './backfill.ts';
import type { CommandResult } from './commands.ts';

/** The variable that names the deployed inventory-reconcile machine (the sandbox's is known by its name). */
export const INVENTORY_MACHINE_VARIABLE = 'FERRY_INVENTORY_RECONCILE_STATE_MACHINE_ARN';

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
  const stateMachineArn =
    env[INVENTORY_MACHINE_VARIABLE] ||
    (options.endpoint
      ? `arn:aws:states:${options.region}:${options.account}:stateMachine:ferry-sandbox-inventory-reconcile`
      : undefined);
  if (!stateMachineArn)
    return {
      exitCode: 2,
      lines: [`✘ backfill --inventory needs ${INVENTORY_MACHINE_VARIABLE} (the deployed machine)`],
    };
  const clientConfig = {
    region: options.region,
    ...(options.endpoint ? { endpoint: options.endpoint, credentials: SANDBOX_CREDENTIALS } : {}),
  };
  const sfn = new SFNClient(clientConfig);
  const s3 = new S3Client({ ...clientConfig, forcePathStyle: options.endpoint !== undefined });
  try {
    const runId = `backfill-${randomUUID()}`;
    const { executionArn } = await sfn.send(
      new StartExecutionCommand({
        stateMachineArn,
        name: runId,
        input: JSON.stringify({ runId, work, ...(options.rule ? { rule: options.rule } : {}) }),
      }),
    );
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
