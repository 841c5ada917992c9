import type { IncomingMessage, ServerResponse } from 'node:http';
import { epochSeconds, readJsonRequest, sendJson, sendJsonError } from './aws-json.ts';
import type { SigningScope } from './sigv4.ts';
import { STATE_MACHINES, type StateMachineName } from './state-machines.ts';
import {
  type Execution,
  ExecutionAlreadyExistsError,
  type LocalStepFunctions,
  TaskCallbackError,
} from './step-functions.ts';

/**
 * A minimal Step Functions API over the sandbox's executions, for `ferry status`: ListStateMachines,
 * ListExecutions and DescribeExecution; and SendTaskSuccess / SendTaskFailure for `.waitForTaskToken` tasks (JSON 1.0, `X-Amz-Target: AWSStepFunctions.…`). The three machines
 * are named as the deployment names them with the stage `sandbox`: `ferry-sandbox-object-copy`, …
 */

export const SANDBOX_STAGE_PREFIX = 'ferry-sandbox-';
const PAGE_SIZE = 100;

const machineArn = (scope: SigningScope, account: string, machine: StateMachineName) =>
  `arn:aws:states:${scope.region}:${account}:stateMachine:${SANDBOX_STAGE_PREFIX}${machine}`;
const executionArn = (scope: SigningScope, account: string, execution: Execution) =>
  `arn:aws:states:${scope.region}:${account}:execution:${SANDBOX_STAGE_PREFIX}${execution.stateMachine}:${execution.name}`;

/** The machine an ARN names (`…:stateMachine:NAME` or `…:execution:NAME:…`), if it is one of the sandbox's. */
function machineOf(arn: string): StateMachineName | undefined {
  const name = arn.split(':')[6] ?? '';
  const machine = name.slice(SANDBOX_STAGE_PREFIX.length);
  return name.startsWith(SANDBOX_STAGE_PREFIX) && (STATE_MACHINES as readonly string[]).includes(machine)
    ? (machine as StateMachineName)
    : undefined;
}

/** Start and stop from the runner's event log (real time, as the log records it). */
function datesOf(execution: Execution): { startDate: number; stopDate?: number } {
  const first = execution.events[0]?.timestamp ?? Date.now();
  const last = execution.events.at(-1)?.timestamp ?? first;
  return {
    startDate: epochSeconds(first),
    ...(execution.status === 'RUNNING' ? {} : { stopDate: epochSeconds(last) }),
  };
}

const noSuchMachine = (res: ServerResponse, arn: string | undefined) =>
  sendJsonError(res, 400, 'StateMachineDoesNotExist', `State Machine Does Not Exist: '${arn}'`);

export async function serveStepFunctions(
  stepFunctions: LocalStepFunctions,
  account: string,
  req: IncomingMessage,
  res: ServerResponse,
  scope: SigningScope,
): Promise<void> {
  const { operation, input } = await readJsonRequest(req);
  const request = input as {
    stateMachineArn?: string;
    executionArn?: string;
    statusFilter?: string;
    maxResults?: number;
    nextToken?: string;
    taskToken?: string;
    output?: string;
    error?: string;
    cause?: string;
    name?: string;
    input?: string;
  };
  switch (operation) {
    case 'StartExecution': {
      const machine = machineOf(request.stateMachineArn ?? '');
      if (!machine) return noSuchMachine(res, request.stateMachineArn);
      try {
        const { execution } = stepFunctions.start(
          machine,
          request.name ?? crypto.randomUUID(),
          JSON.parse(request.input ?? '{}'),
        );
        return sendJson(res, 200, {
          executionArn: executionArn(scope, account, execution),
          startDate: datesOf(execution).startDate,
        });
      } catch (error) {
        if (error instanceof ExecutionAlreadyExistsError)
          return sendJsonError(res, 400, 'ExecutionAlreadyExists', error.message);
        throw error;
      }
    }
    case 'ListStateMachines':
      return sendJson(res, 200, {
        stateMachines: STATE_MACHINES.map((machine) => ({
          stateMachineArn: machineArn(scope, account, machine),
          name: `${SANDBOX_STAGE_PREFIX}${machine}`,
          type: 'STANDARD',
          creationDate: 0,
        })),
      });
    case 'ListExecutions': {
      const machine = machineOf(request.stateMachineArn ?? '');
      if (!machine) return noSuchMachine(res, request.stateMachineArn);
      const all = [...stepFunctions.executions.values()]
        .filter(
          (e) => e.stateMachine === machine && (!request.statusFilter || e.status === request.statusFilter),
        )
        .map((e) => ({
          executionArn: executionArn(scope, account, e),
          stateMachineArn: machineArn(scope, account, machine),
          name: e.name,
          status: e.status,
          ...datesOf(e),
        }))
        // Newest first, as Step Functions lists them.
        .sort((a, b) => b.startDate - a.startDate);
      const start = Number(request.nextToken ?? 0);
      const size = request.maxResults || PAGE_SIZE;
      const page = all.slice(start, start + size);
      return sendJson(res, 200, {
        executions: page,
        ...(start + size < all.length ? { nextToken: String(start + size) } : {}),
      });
    }
    case 'DescribeExecution': {
      const arn = request.executionArn ?? '';
      const machine = machineOf(arn);
      const name = arn.split(':').slice(7).join(':');
      const execution = machine ? stepFunctions.executions.get(`${machine}:${name}`) : undefined;
      if (!machine || !execution)
        return sendJsonError(res, 400, 'ExecutionDoesNotExist', `Execution Does Not Exist: '${arn}'`);
      return sendJson(res, 200, {
        executionArn: arn,
        stateMachineArn: machineArn(scope, account, machine),
        name: execution.name,
        status: execution.status,
        ...datesOf(execution),
        input: JSON.stringify(execution.input),
        ...(execution.output !== undefined ? { output: JSON.stringify(execution.output) } : {}),
        ...(execution.error ? { error: execution.error.Error, cause: execution.error.Cause } : {}),
      });
    }
    // The callback pattern (`.waitForTaskToken` tasks): the waiting task ends, or the refusal is answered.
    case 'SendTaskSuccess':
    case 'SendTaskFailure':
      try {
        if (operation === 'SendTaskSuccess')
          stepFunctions.sendTaskSuccess(request.taskToken ?? '', request.output ?? '');
        else stepFunctions.sendTaskFailure(request.taskToken ?? '', request.error ?? '', request.cause ?? '');
        return sendJson(res, 200, {});
      } catch (error) {
        if (error instanceof TaskCallbackError) return sendJsonError(res, 400, error.type, error.message);
        throw error;
      }
    default:
      return sendJsonError(
        res,
        400,
        'UnknownOperationException',
        `The Ferry sandbox does not serve states:${operation}`,
      );
  }
}
