import { DescribeExecutionCommand, ListExecutionsCommand, type SFNClient } from '@aws-sdk/client-sfn';
import type { PendingItem } from './backlog-monitor.ts';
import { pendingOfExecution } from './backlog-monitor.ts';

/** The copy machines whose RUNNING executions are items still pending. */
export type CopyMachine = 'object-copy' | 'snapshot-copy' | 'image-copy';

/**
 * What is in flight: every RUNNING execution of each machine (ListExecutions with `statusFilter: RUNNING`,
 * followed page by page), read back from its input (DescribeExecution), which the machine's contract parses
 * (https://docs.aws.amazon.com/step-functions/latest/apireference/API_ListExecutions.html,
 * https://docs.aws.amazon.com/step-functions/latest/apireference/API_DescribeExecution.html). Executions of
 * rules without an RPO are left out.
 */
export async function inFlightItems(
  sfn: SFNClient,
  machines: readonly { machine: CopyMachine; stateMachineArn: string }[],
): Promise<PendingItem[]> {
  const items: PendingItem[] = [];
  for (const { machine, stateMachineArn } of machines) {
    let nextToken: string | undefined;
    do {
      const page = await sfn.send(
        new ListExecutionsCommand({
          stateMachineArn,
          statusFilter: 'RUNNING',
          ...(nextToken ? { nextToken } : {}),
        }),
      );
      for (const execution of page.executions ?? []) {
        if (!execution.executionArn) continue;
        const { input, status } = await sfn.send(
          new DescribeExecutionCommand({ executionArn: execution.executionArn }),
        );
        // Ended between the two calls: no longer pending.
        if (status !== 'RUNNING' || !input) continue;
        const item = pendingOfExecution(machine, JSON.parse(input) as unknown);
        if (item) items.push(item);
      }
      nextToken = page.nextToken;
    } while (nextToken);
  }
  return items;
}
