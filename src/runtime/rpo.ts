import { createSfnClientFactory } from '#aws/step-functions';
import type { RpoMonitorDeps } from '#handlers/rpo-monitor';
import { rpoRulesOf } from '#rpo/rules';
import { type FunctionBase, functionBaseFromEnvironment, STATE_MACHINE_ARN } from './function-base.ts';

/** What the backlog monitor works with: the three copy machines of this deployment, by ARN. */
export function rpoMonitorDeps(
  base: FunctionBase,
  stateMachineArns: { objectCopy?: string; snapshotCopy?: string; imageCopy?: string },
  region: string,
): RpoMonitorDeps {
  const sfn = createSfnClientFactory(base.clientOptions)({ region });
  const machines = (
    [
      ['object-copy', stateMachineArns.objectCopy],
      ['snapshot-copy', stateMachineArns.snapshotCopy],
      ['image-copy', stateMachineArns.imageCopy],
    ] as const
  ).flatMap(([machine, stateMachineArn]) => (stateMachineArn ? [{ machine, stateMachineArn }] : []));
  return { rules: rpoRulesOf(base.config), sfn, machines, rpo: base.common.rpo, now: base.common.now };
}

/** rpoMonitor at Lambda init: Step Functions (the machines the deployment names) and EventBridge. */
export function rpoMonitorRuntimeFromEnvironment(env: NodeJS.ProcessEnv = process.env) {
  const base = functionBaseFromEnvironment(env);
  return {
    tools: base.tools,
    deps: rpoMonitorDeps(
      base,
      {
        objectCopy: env[STATE_MACHINE_ARN.objectCopy],
        snapshotCopy: env[STATE_MACHINE_ARN.snapshotCopy],
        imageCopy: env[STATE_MACHINE_ARN.imageCopy],
      },
      env.AWS_REGION ?? 'us-east-1',
    ),
  };
}
