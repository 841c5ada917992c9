import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import {
  type Ec2CompletionMode,
  ec2CopyDefinition,
  LAMBDA_WAIT_FOR_TOKEN,
} from '../statemachines/ec2-copy.ts';

export const STATE_MACHINES = ['object-copy', 'snapshot-copy', 'image-copy', 'inventory-reconcile'] as const;
export type StateMachineName = (typeof STATE_MACHINES)[number];

/** The Lambda functions the definitions reference, by CloudFormation logical id. */
export const TASK_FUNCTIONS = {
  ObjectCopyStepLambdaFunction: 'ferry-object-copy-step',
  Ec2CopyStepLambdaFunction: 'ferry-ec2-copy-step',
  InventoryBatchLambdaFunction: 'ferry-inventory-batch',
} as const;
export type TaskFunction = keyof typeof TASK_FUNCTIONS;

export const localFunctionArn = (logicalId: TaskFunction, region = 'us-east-1', account = '000000000000') =>
  `arn:aws:lambda:${region}:${account}:function:${TASK_FUNCTIONS[logicalId]}`;

/** The definitions rendered from one module rather than read from a file: both kinds of EC2 copy. */
const RENDERED: Partial<Record<StateMachineName, (completion: Ec2CompletionMode) => unknown>> = {
  'snapshot-copy': (completion) => ec2CopyDefinition('snapshot', completion),
  'image-copy': (completion) => ec2CopyDefinition('image', completion),
};

/**
 * Reads `statemachines/<name>.asl.yaml`, or renders the definition as the package does (`RENDERED`), and
 * resolves each `Fn::GetAtt: [LogicalId, Arn]` (bound by the deployment template) to a function ARN,
 * so local runners and validators get plain ASL.
 */
export function loadDefinition(
  name: StateMachineName,
  arnOf: (logicalId: TaskFunction) => string = (logicalId) => localFunctionArn(logicalId),
  completion: Ec2CompletionMode = 'polling',
): Record<string, unknown> {
  const raw =
    RENDERED[name]?.(completion) ??
    (parse(readFileSync(new URL(`../statemachines/${name}.asl.yaml`, import.meta.url), 'utf8')) as unknown);
  const resolve = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(resolve);
    if (typeof node !== 'object' || node === null) return node;
    const getAtt = (node as Record<string, unknown>)['Fn::GetAtt'];
    if (Array.isArray(getAtt)) {
      const [logicalId, attribute] = getAtt as [string, string];
      if (attribute !== 'Arn' || !(logicalId in TASK_FUNCTIONS)) {
        throw new Error(`${name}: unknown reference Fn::GetAtt ${logicalId}.${attribute}`);
      }
      return arnOf(logicalId as TaskFunction);
    }
    return Object.fromEntries(Object.entries(node).map(([key, value]) => [key, resolve(value)]));
  };
  return resolve(raw) as Record<string, unknown>;
}

type StateBody = Record<string, unknown>;

/** Every state of a definition, Map iterators and Parallel branches included. */
function allStates(definition: Record<string, unknown>): [string, StateBody][] {
  const found: [string, StateBody][] = [];
  const walk = (states: unknown) => {
    for (const [state, body] of Object.entries((states ?? {}) as Record<string, StateBody>)) {
      found.push([state, body]);
      const processor = (body.ItemProcessor ?? body.Iterator) as { States?: unknown } | undefined;
      if (processor) walk(processor.States);
      for (const branch of (body.Branches ?? []) as { States?: unknown }[]) walk(branch.States);
    }
  };
  walk(definition.States);
  return found;
}

/** Step Functions' default when a Task state sets no `TimeoutSeconds`. */
export const DEFAULT_TASK_TIMEOUT_SECONDS = 60;

export interface TaskStateInfo {
  state: string;
  /** The function it calls: the Resource, or a `.waitForTaskToken` integration's FunctionName. */
  resource: string;
  /** The fixed `TimeoutSeconds` (or the default); with `TimeoutSecondsPath`, see `timeoutOf`. */
  timeoutSeconds: number;
  /** The task's timeout from the task's input (after Parameters): `TimeoutSecondsPath`, or the fixed one. */
  timeoutOf: (taskInput: unknown) => number;
  /** The callback pattern: the task ends with SendTaskSuccess/Failure, not with the function's answer. */
  waitForToken: boolean;
}

/**
 * A `TimeoutSecondsPath` read from what the task's handler receives: the local runner sees the input after
 * Parameters, so the path is followed through the Parameters field (the Lambda integration's Payload
 * included) that copies its head (`'copy.$': '$.copy'` for `$.copy.waitSeconds`). Step Functions requires
 * a positive integer there, and fails the state (States.Runtime) otherwise.
 */
function timeoutAtPath(state: string, body: StateBody): (taskInput: unknown) => number {
  const path = String(body.TimeoutSecondsPath);
  const parameters = (body.Parameters ?? {}) as Record<string, unknown>;
  const levels: [string[], Record<string, unknown>][] = [[[], parameters]];
  const payload = parameters.Payload;
  if (payload && typeof payload === 'object') levels.push([['Payload'], payload as Record<string, unknown>]);
  for (const [prefix, fields] of levels) {
    for (const [field, source] of Object.entries(fields)) {
      if (!field.endsWith('.$') || typeof source !== 'string') continue;
      if (path !== source && !path.startsWith(`${source}.`)) continue;
      const within = `$.${[...prefix, field.slice(0, -2)].join('.')}${path.slice(source.length)}`;
      return (taskInput) => {
        const seconds = valueAtPath(within, taskInput);
        if (typeof seconds !== 'number' || !Number.isInteger(seconds) || seconds < 1)
          throw new Error(`${state}: TimeoutSecondsPath ${path} is not a positive integer: ${seconds}`);
        return seconds;
      };
    }
  }
  throw new Error(`${state}: TimeoutSecondsPath ${path} is not under a path its Parameters copy`);
}

/** Every Task state with the resource it calls and its timeout, for local handler wiring. */
export function taskStates(definition: Record<string, unknown>): TaskStateInfo[] {
  return allStates(definition)
    .filter(([, body]) => body.Type === 'Task')
    .map(([state, body]) => ({
      state,
      waitForToken: body.Resource === LAMBDA_WAIT_FOR_TOKEN,
      resource: String(
        body.Resource === LAMBDA_WAIT_FOR_TOKEN
          ? (body.Parameters as { FunctionName?: unknown } | undefined)?.FunctionName
          : body.Resource,
      ),
      timeoutSeconds:
        typeof body.TimeoutSeconds === 'number' ? body.TimeoutSeconds : DEFAULT_TASK_TIMEOUT_SECONDS,
      timeoutOf:
        typeof body.TimeoutSecondsPath === 'string'
          ? timeoutAtPath(state, body)
          : () =>
              typeof body.TimeoutSeconds === 'number' ? body.TimeoutSeconds : DEFAULT_TASK_TIMEOUT_SECONDS,
    }));
}

/**
 * The definition with every Task's `TimeoutSeconds` raised out of reach (a real timer's limit is 24.8
 * days), for a runner whose task handlers first wait on the virtual clock: that wait stands for the retry
 * backoff or Wait before the task, which Step Functions does not count in the task's timeout. The caller
 * enforces each task's own timeout (`taskStates`) on the handler's run alone.
 */
export function withoutTaskTimeouts(definition: Record<string, unknown>): Record<string, unknown> {
  const copy = structuredClone(definition);
  for (const [, body] of allStates(copy)) {
    if (body.Type !== 'Task') continue;
    body.TimeoutSeconds = 2_000_000;
    delete body.TimeoutSecondsPath;
  }
  return copy;
}

/** The JSONPath forms the local runner resolves itself: `$` and `$.a.b`. */
export const SIMPLE_PATH = /^\$(\.\w+)*$/;

/** The value at a simple JSONPath (`$`, `$.a.b`) of a state's input; undefined when absent. */
export function valueAtPath(path: string, input: unknown): unknown {
  if (!SIMPLE_PATH.test(path)) throw new Error(`only $ and $.a.b paths run locally, not ${path}`);
  return path
    .split('.')
    .slice(1)
    .reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], input);
}

/** How long a Wait state waits, from its input: `Seconds`, or `SecondsPath` of the form `$.a.b`. */
export type WaitDuration = (input: unknown) => number;

/** Every Wait state with a way to read its duration (timestamp waits are not used by Ferry's machines). */
export function waitStates(definition: Record<string, unknown>): Map<string, WaitDuration> {
  const waits = new Map<string, WaitDuration>();
  for (const [state, body] of allStates(definition)) {
    if (body.Type !== 'Wait') continue;
    if (typeof body.Seconds === 'number') {
      const seconds = body.Seconds;
      waits.set(state, () => seconds);
    } else if (typeof body.SecondsPath === 'string' && SIMPLE_PATH.test(body.SecondsPath)) {
      const path = body.SecondsPath;
      waits.set(state, (input) => {
        const value = valueAtPath(path, input);
        return typeof value === 'number' ? value : 0;
      });
    } else {
      throw new Error(`Wait state ${state}: only Seconds and simple SecondsPath waits run locally`);
    }
  }
  return waits;
}
