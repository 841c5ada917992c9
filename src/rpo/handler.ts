import type { SFNClient } from '@aws-sdk/client-sfn';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { z } from 'zod';
import { attemptName, MAX_ATTEMPTS } from '#adapters/execution-attempts';
import { createSfnClientFactory, executionArnOf } from '#adapters/step-functions';
import {
  createEc2ClientFactory,
  createS3ClientFactory,
  createSqsClientFactory,
} from '#foundation/aws-clients';
import { type FunctionBase, functionBaseFromEnvironment, STATE_MACHINE_ARN } from '#foundation/function-base';
import { instrumented } from '#foundation/observability/middleware';
import type { Powertools } from '#foundation/observability/powertools';
import { type BacklogPass, monitorBacklog } from './backlog-monitor.ts';
import { deadLetterItems, type SourceReaders } from './dead-letters.ts';
import { type EndedMachine, endedItems } from './ended.ts';
import { type CopyMachine, inFlightItems } from './in-flight.ts';
import type { RpoDeps } from './observe.ts';
import { rpoMachinesOf, rpoRulesOf } from './rules.ts';
import { judgedWindow, MONITOR_WINDOW_MS } from './threshold.ts';

/** A scheduled invocation sends a "Scheduled Event"; its fields are not used. */
export const RpoMonitorInputSchema = z.object({});

export interface RpoMonitorDeps {
  /** The rules that set `rpo`: each gets its backlog published, zero included. */
  rules: readonly string[];
  sfn: SFNClient;
  machines: readonly { machine: CopyMachine; stateMachineArn: string }[];
  rpo: RpoDeps;
  now: () => number;
  /** The dead-letter queue, read without taking its messages (src/rpo/dead-letters.ts); unset, not read. */
  deadLetters?: {
    sqs: SQSClient;
    queueUrl: string;
    config: FunctionBase['config'];
    /** Where a dead letter's source is read to route it (tags, snapshot and AMI facts). */
    readers: SourceReaders;
  };
}

/** The environment variable naming the dead-letter queue's URL for the monitor (serverless.yml). */
export const DEAD_LETTER_QUEUE_URL = 'FERRY_DEAD_LETTER_QUEUE_URL';

/**
 * The backlog monitor's pass, once per window on an EventBridge schedule (`rate(1 minute)`): what is in flight
 * for each rule with an RPO, a missed-threshold event for each item whose deadline fell in the window just
 * closed, and the rules' backlog metrics (src/rpo/backlog-monitor.ts).
 */
export function createRpoMonitorHandler(tools: Powertools, deps: RpoMonitorDeps) {
  return instrumented(
    tools,
    RpoMonitorInputSchema,
    async (): Promise<{
      window: BacklogPass['window'];
      missed: number;
      pending: number;
      deadLetters: number;
      unroutable: Record<string, number>;
      ended: number;
    }> => {
      if (deps.rules.length === 0)
        return {
          window: { start: 0, end: 0 },
          missed: 0,
          pending: 0,
          deadLetters: 0,
          unroutable: {},
          ended: 0,
        };
      const inFlight = await inFlightItems(deps.sfn, deps.machines);
      const letters = deps.deadLetters
        ? await deadLetterItems(
            deps.deadLetters.sqs,
            deps.deadLetters.queueUrl,
            deps.deadLetters.config,
            deps.deadLetters.readers,
          )
        : { items: [], unroutable: new Map() };
      const pending = [...inFlight, ...letters.items];
      const now = deps.now();
      const ended = await endedItems(deps.sfn, deps.machines.map(endedMachineOf), judgedWindow(now));
      const pass = await monitorBacklog(now, deps.rules, pending, deps.rpo, MONITOR_WINDOW_MS, ended);
      const result = {
        window: pass.window,
        missed: pass.missed.length,
        pending: pending.length,
        deadLetters: letters.items.length,
        // Dead letters that stand for no item of a rule with `rpo`, by cause (src/rpo/dead-letters.ts).
        unroutable: Object.fromEntries(letters.unroutable),
        ended: ended.length,
      };
      tools.logger.info('RPO backlog pass', result);
      return result;
    },
  );
}

/** A listed machine, with how its copies' attempts are named (src/adapters/execution-attempts.ts). */
const endedMachineOf = ({
  machine,
  stateMachineArn,
}: {
  machine: CopyMachine;
  stateMachineArn: string;
}): EndedMachine => ({
  machine,
  stateMachineArn,
  executionArnOf: (name) => executionArnOf(stateMachineArn, name),
  attemptsOf: (name) => Array.from({ length: MAX_ATTEMPTS }, (_, index) => attemptName(name, index + 1)),
});

/** What the backlog monitor works with: the copy machines of this deployment that hold judged items, by ARN. */
export function rpoMonitorDeps(
  base: FunctionBase,
  stateMachineArns: { objectCopy?: string; snapshotCopy?: string; imageCopy?: string },
  region: string,
  deadLetterQueueUrl?: string,
): RpoMonitorDeps {
  const sfn = createSfnClientFactory(base.clientOptions)({ region });
  // Only the machines that run items of rules with an RPO: the others hold nothing to judge, and the
  // role may not list them.
  const judged = rpoMachinesOf(base.config);
  const machines = (
    [
      ['object-copy', stateMachineArns.objectCopy],
      ['snapshot-copy', stateMachineArns.snapshotCopy],
      ['image-copy', stateMachineArns.imageCopy],
    ] as const
  ).flatMap(([machine, stateMachineArn]) =>
    stateMachineArn && judged.includes(machine) ? [{ machine, stateMachineArn }] : [],
  );
  return {
    rules: rpoRulesOf(base.config),
    sfn,
    machines,
    rpo: base.common.rpo,
    now: base.common.now,
    ...(deadLetterQueueUrl
      ? {
          deadLetters: {
            sqs: createSqsClientFactory(base.clientOptions)({ region }),
            queueUrl: deadLetterQueueUrl,
            config: base.config,
            readers: {
              s3: createS3ClientFactory(base.clientOptions),
              ec2: createEc2ClientFactory(base.clientOptions),
            },
          },
        }
      : {}),
  };
}

/** rpoMonitor's wiring at Lambda init: Step Functions (the machines the deployment names) and EventBridge. */
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
      env[DEAD_LETTER_QUEUE_URL],
    ),
  };
}

/** The deployed function, wired at Lambda init. */
export function rpoMonitorHandlerFromEnvironment(env: NodeJS.ProcessEnv = process.env) {
  const { tools, deps } = rpoMonitorRuntimeFromEnvironment(env);
  return createRpoMonitorHandler(tools, deps);
}
