import { executionsArnOf } from './arns.ts';
import { type Cfn, unique } from './cfn.ts';
import type { StatementList } from './statement-list.ts';

/** Statements more than one kind of function needs: starting copies on a state machine, assuming destination roles. */

/**
 * Starting copies on a state machine (src/adapters/step-functions.ts): StartExecution on the machine, and
 * DescribeExecution on its executions, to see whether a taken name failed for good (then the next attempt
 * starts: src/adapters/execution-attempts.ts).
 */
export function startCopies(
  list: StatementList,
  what: 'Object' | 'Snapshot' | 'Image',
  stateMachineArn: Cfn,
): void {
  list.add({ sid: `Start${what}Copies`, actions: ['states:StartExecution'], resources: [stateMachineArn] });
  list.add({
    sid: `Read${what}CopyExecutions`,
    actions: ['states:DescribeExecution'],
    resources: [executionsArnOf(stateMachineArn)],
  });
}

/** Destinations with `roleArn`: the client factory (src/foundation/aws-clients.ts) assumes exactly these roles. */
export function assumeRoles(list: StatementList, roles: readonly string[]): void {
  list.add({ sid: 'AssumeDestinationRoles', actions: ['sts:AssumeRole'], resources: unique(roles) });
}
