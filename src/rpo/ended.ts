import {
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  type ExecutionStatus,
  ListExecutionsCommand,
  type SFNClient,
} from '@aws-sdk/client-sfn';
import { Ec2CopyJobSchema, executionNameOf as ec2ExecutionNameOf } from '#ec2/copy-machine/contract';
import { CopyJobSchema, executionNameOf } from '#objects/copy-machine/contract';
import type { PendingItem } from './backlog-monitor.ts';
import type { CopyMachine } from './in-flight.ts';
import { ec2RpoItem, objectRpoItem } from './items.ts';
import { deadlineOf, fallsIn, type Window } from './threshold.ts';

/**
 * The items whose copy machine execution ended without the copy (FAILED, TIMED_OUT, ABORTED) and whose
 * deadline falls in the window a monitor pass judges. Such an item is not pending any more, but it is not
 * verified either: unless another attempt of the same copy is RUNNING (pending, judged as such) or SUCCEEDED
 * (its verifying step judged it), it missed its RPO, and the pass sends its missed event with the
 * execution's error as the cause. The failing step does not send it (threshold.ts, `missedAtFailure`), so a
 * retry that lands within the RPO leaves the item with no missed event at all.
 *
 * The attempts of one copy are the executions under its deterministic name and the names
 * src/adapters/execution-attempts.ts derives from it (`-a2`, `-a3`), so each is one DescribeExecution
 * (ExecutionDoesNotExist: that attempt was never started). Step Functions lists closed executions for 90
 * days after they close (https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html, "Execution
 * history retention"): an item whose failure is older than that at its deadline (an RPO over 90 days) is not
 * found. Each pass describes every ended execution listed (ListExecutions has no filter on input or date,
 * https://docs.aws.amazon.com/step-functions/latest/apireference/API_ListExecutions.html): as many calls
 * as failed copies in the last 90 days.
 */

/** The statuses of an execution that ended without its copy (as execution-attempts.ts counts them). */
const ENDED_WITHOUT_COPY = ['FAILED', 'TIMED_OUT', 'ABORTED'] as const satisfies readonly ExecutionStatus[];

/** Statuses of another attempt that leave the item to someone else: pending, or verified by its own step. */
const JUDGED_ELSEWHERE: ReadonlySet<string> = new Set(['RUNNING', 'SUCCEEDED', 'PENDING_REDRIVE']);

/** The item an ended execution's input stands for, and the names of every attempt of its copy. */
export function endedItemOf(
  machine: CopyMachine,
  input: unknown,
): { item: Omit<PendingItem, 'where'>; name: string } | undefined {
  if (machine === 'object-copy') {
    const job = CopyJobSchema.safeParse(input);
    const item = job.success ? objectRpoItem(job.data.plan, job.data.source) : undefined;
    return job.success && item ? { item, name: executionNameOf(job.data) } : undefined;
  }
  const job = Ec2CopyJobSchema.safeParse(input);
  const item = job.success ? ec2RpoItem(job.data) : undefined;
  return job.success && item ? { item, name: ec2ExecutionNameOf(job.data) } : undefined;
}

async function statusOf(sfn: SFNClient, executionArn: string): Promise<string | undefined> {
  try {
    return (await sfn.send(new DescribeExecutionCommand({ executionArn }))).status;
  } catch (error) {
    if ((error as Error).name === 'ExecutionDoesNotExist') return undefined;
    throw error;
  }
}

export interface EndedMachine {
  machine: CopyMachine;
  stateMachineArn: string;
  /** The ARN of the execution `name` of this machine (src/adapters/step-functions.ts, executionArnOf). */
  executionArnOf: (name: string) => string;
  /** Every attempt name of a copy's deterministic name (src/adapters/execution-attempts.ts). */
  attemptsOf: (name: string) => string[];
}

export async function endedItems(
  sfn: SFNClient,
  machines: readonly EndedMachine[],
  window: Window,
): Promise<PendingItem[]> {
  const items: PendingItem[] = [];
  const seen = new Set<string>();
  for (const machine of machines) {
    for (const statusFilter of ENDED_WITHOUT_COPY) {
      let nextToken: string | undefined;
      do {
        const page = await sfn.send(
          new ListExecutionsCommand({
            stateMachineArn: machine.stateMachineArn,
            statusFilter,
            ...(nextToken ? { nextToken } : {}),
          }),
        );
        for (const execution of page.executions ?? []) {
          if (!execution.executionArn) continue;
          const described: DescribeExecutionCommandOutput = await sfn.send(
            new DescribeExecutionCommand({ executionArn: execution.executionArn }),
          );
          if (!described.input) continue;
          const ended = endedItemOf(machine.machine, JSON.parse(described.input) as unknown);
          if (!ended || !fallsIn(deadlineOf(ended.item), window)) continue;
          const key = `${machine.machine}\n${ended.name}`;
          if (seen.has(key)) continue;
          seen.add(key);
          const others = machine.attemptsOf(ended.name).filter((name) => name !== execution.name);
          let elsewhere = false;
          for (const name of others) {
            const status = await statusOf(sfn, machine.executionArnOf(name));
            if (status && JUDGED_ELSEWHERE.has(status)) elsewhere = true;
          }
          if (elsewhere) continue;
          items.push({
            ...ended.item,
            where: 'failed',
            cause: described.error ?? described.status ?? statusFilter,
          });
        }
        nextToken = page.nextToken;
      } while (nextToken);
    }
  }
  return items;
}
