import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

export const STATE_MACHINES = ['object-copy'] as const;
export type StateMachineName = (typeof STATE_MACHINES)[number];

/** The Lambda functions the definitions reference, by CloudFormation logical id. */
export const TASK_FUNCTIONS = { ObjectCopyStepLambdaFunction: 'ferry-object-copy-step' } as const;
export type TaskFunction = keyof typeof TASK_FUNCTIONS;

export const localFunctionArn = (logicalId: TaskFunction, region = 'us-east-1', account = '000000000000') =>
  `arn:aws:lambda:${region}:${account}:function:${TASK_FUNCTIONS[logicalId]}`;

/**
 * Reads `statemachines/<name>.asl.yaml` and resolves each `Fn::GetAtt: [LogicalId, Arn]` (bound by the
 * deployment template) to a function ARN, so local runners and validators get plain ASL.
 */
export function loadDefinition(
  name: StateMachineName,
  arnOf: (logicalId: TaskFunction) => string = (logicalId) => localFunctionArn(logicalId),
): Record<string, unknown> {
  const raw = parse(
    readFileSync(new URL(`../statemachines/${name}.asl.yaml`, import.meta.url), 'utf8'),
  ) as unknown;
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

/** Every Task state (Map iterators included) with the resource it calls, for local handler wiring. */
export function taskStates(definition: Record<string, unknown>): { state: string; resource: string }[] {
  const found: { state: string; resource: string }[] = [];
  const walk = (states: unknown) => {
    for (const [state, body] of Object.entries((states ?? {}) as Record<string, Record<string, unknown>>)) {
      if (body.Type === 'Task') found.push({ state, resource: String(body.Resource) });
      const processor = (body.ItemProcessor ?? body.Iterator) as { States?: unknown } | undefined;
      if (processor) walk(processor.States);
      for (const branch of (body.Branches ?? []) as { States?: unknown }[]) walk(branch.States);
    }
  };
  walk(definition.States);
  return found;
}
