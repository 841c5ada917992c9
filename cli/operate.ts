import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import {
  DescribeExecutionCommand,
  type ExecutionListItem,
  type ExecutionStatus,
  ListExecutionsCommand,
  ListStateMachinesCommand,
  SFNClient,
  type StateMachineListItem,
} from '@aws-sdk/client-sfn';
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { createEc2ClientFactory, createS3ClientFactory } from '#foundation/aws-clients';
import {
  DEAD_LETTER_SOURCE_ATTRIBUTE,
  type DeadLetter,
  deadLetterOf,
  isObject,
} from '#foundation/dead-letter';
import { metricServiceOf } from '#foundation/observability/powertools';
import { SANDBOX_CREDENTIALS } from '#foundation/sandbox-credentials';
import { deadLetterItems, type SourceReaders } from '#rpo/dead-letters';
import { type CopyMachine, inFlightItems } from '#rpo/in-flight';
import { readRpoFigures } from '#rpo/metric-query';
import { type RpoFigures, type RuleRpo, rpoStatusLines } from '#rpo/status';
import type { FerryConfig } from '#rules/config';
import type { CommandResult } from './commands.ts';

// Tests and the CLI read dead letters through this module.
export { type DeadLetter, deadLetterOf };

/** `ferry status` and `ferry redrive`: what a deployment (or the sandbox) is doing and what it dropped. */

export const SERVICE = 'ferry';

export interface OperateTarget {
  stage: string;
  region: string;
  /** The sandbox (or another endpoint) instead of AWS. */
  endpoint?: string;
}

export interface OperateClients {
  sfn: SFNClient;
  sqs: SQSClient;
  lambda: LambdaClient;
  /** GetMetricData of the RPO figures (src/rpo/metric-query.ts). */
  cloudwatch: CloudWatchClient;
  /** The sources of dead letters, read to route them to their rules (src/rpo/dead-letters.ts). */
  readers: SourceReaders;
}

/** Clients for AWS, or for an endpoint (with the sandbox's credentials unless the environment has some). */
export function operateClients(target: OperateTarget): OperateClients {
  const config = {
    region: target.region,
    ...(target.endpoint
      ? {
          endpoint: target.endpoint,
          ...(process.env.AWS_ACCESS_KEY_ID ? {} : { credentials: SANDBOX_CREDENTIALS }),
        }
      : {}),
  };
  const sourceOptions = target.endpoint
    ? {
        endpoint: target.endpoint,
        ...(process.env.AWS_ACCESS_KEY_ID ? {} : { credentials: SANDBOX_CREDENTIALS }),
      }
    : {};
  return {
    sfn: new SFNClient(config),
    sqs: new SQSClient(config),
    lambda: new LambdaClient(config),
    cloudwatch: new CloudWatchClient(config),
    readers: {
      s3: createS3ClientFactory(sourceOptions),
      ec2: createEc2ClientFactory(sourceOptions),
    },
  };
}

const destroy = (clients: OperateClients) => {
  clients.sfn.destroy();
  clients.sqs.destroy();
  clients.lambda.destroy();
  clients.cloudwatch.destroy();
};

export const deadLetterQueueName = (stage: string) => `${SERVICE}-${stage}-dead-letters`;
const machinePrefix = (stage: string) => `${SERVICE}-${stage}-`;

/**
 * The stage `npm start` stands for: the sandbox names its state machines and its queue for it
 * (`sandboxDeployment` in local/sandbox.ts, which a test holds this to).
 */
export const SANDBOX_STAGE = 'sandbox';

/** Where to look when a stage has nothing there: the stage and Region given, or the sandbox's stage. */
function stageHint(target: OperateTarget): string {
  if (!target.endpoint)
    return `is stage "${target.stage}" deployed in ${target.region}? Give the --stage and --region it was deployed with`;
  if (target.stage === SANDBOX_STAGE) return `is the sandbox (npm start) running at ${target.endpoint}?`;
  return `the sandbox (npm start) is stage "${SANDBOX_STAGE}": add --stage ${SANDBOX_STAGE}`;
}

/** The stage's dead-letter queue is not there: named with the queue looked for and where to look instead. */
export class DeadLetterQueueNotFoundError extends Error {
  constructor(
    readonly queueName: string,
    target: OperateTarget,
    options?: ErrorOptions,
  ) {
    super(
      `no dead-letter queue named ${queueName} in ${target.region}${target.endpoint ? ` at ${target.endpoint}` : ''}: ${stageHint(target)}`,
      options,
    );
    this.name = 'DeadLetterQueueNotFoundError';
  }
}

/**
 * GetQueueUrl of the stage's dead-letter queue. SQS answers QueueDoesNotExist for a queue that is not there,
 * which includes a queue asked for in the wrong Region
 * (https://repost.aws/knowledge-center/sqs-queuedoesnotexist-errors); clients of its older query protocol
 * call it AWS.SimpleQueueService.NonExistentQueue.
 */
async function deadLetterQueueUrl(sqs: SQSClient, target: OperateTarget): Promise<string | undefined> {
  const queueName = deadLetterQueueName(target.stage);
  try {
    const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: queueName }));
    return QueueUrl;
  } catch (error) {
    const name = (error as { name?: unknown }).name;
    if (name === 'QueueDoesNotExist' || name === 'AWS.SimpleQueueService.NonExistentQueue')
      throw new DeadLetterQueueNotFoundError(queueName, target, { cause: error });
    throw error;
  }
}

/** `24h`, `30m`, `7d`, `90s`, or a date: the moment it names (relative ones back from `now`). */
export function parseSince(text: string, now = Date.now()): Date | undefined {
  const relative = /^(\d+(?:\.\d+)?)([smhd])$/.exec(text.trim());
  if (relative?.[1] && relative[2]) {
    const unit = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[relative[2] as 's' | 'm' | 'h' | 'd'];
    return new Date(now - Number(relative[1]) * unit);
  }
  const date = new Date(text);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

const errorText = (error: unknown) => {
  if (error instanceof DeadLetterQueueNotFoundError) return error.message;
  const e = error as { name?: string; message?: string };
  return e.name && e.name !== 'Error' ? `${e.name}: ${e.message}` : String(e.message ?? error);
};

async function stateMachinesOf(sfn: SFNClient, stage: string): Promise<StateMachineListItem[]> {
  const machines: StateMachineListItem[] = [];
  let nextToken: string | undefined;
  do {
    const page = await sfn.send(new ListStateMachinesCommand({ ...(nextToken ? { nextToken } : {}) }));
    machines.push(...(page.stateMachines ?? []).filter((m) => m.name?.startsWith(machinePrefix(stage))));
    nextToken = page.nextToken;
  } while (nextToken);
  return machines.sort((a, b) => (a.name ?? '').localeCompare(b.name ?? ''));
}

/**
 * Executions of a machine with a status, newest first. `until` stops the listing at executions that started
 * before it (for failures: one that started before `--since` may still have stopped after it, so the caller
 * gives a bound well before it).
 */
async function executionsOf(
  sfn: SFNClient,
  stateMachineArn: string,
  statusFilter: ExecutionStatus,
  startedAfter?: Date,
): Promise<ExecutionListItem[]> {
  const executions: ExecutionListItem[] = [];
  let nextToken: string | undefined;
  do {
    const page = await sfn.send(
      new ListExecutionsCommand({ stateMachineArn, statusFilter, ...(nextToken ? { nextToken } : {}) }),
    );
    const items = page.executions ?? [];
    executions.push(...items);
    nextToken = page.nextToken;
    const oldest = items.at(-1)?.startDate;
    if (startedAfter && oldest && oldest < startedAfter) break;
  } while (nextToken);
  return executions;
}

const FAILED_STATUSES: ExecutionStatus[] = ['FAILED', 'TIMED_OUT', 'ABORTED'];
/** Copies run for up to days (a large snapshot copy): a failure that stopped recently may have started long ago. */
const LONGEST_COPY_MS = 7 * 86_400_000;

export interface StatusOptions extends OperateTarget {
  since: Date;
  sinceText: string;
  /** The rules with `rpo` (from the rules file): their RPO section. */
  rpoRules?: readonly RuleRpo[];
  /** The rules file's rules: the dead letters are routed by them to their rules' pending items. */
  config?: Pick<FerryConfig, 'rules'>;
}

/** `object-copy` from `ferry-prod-object-copy`: the copy machine a listed machine is. */
const copyMachineOf = (name: string, stage: string): CopyMachine | undefined => {
  const short = shortName(name, stage);
  return short === 'object-copy' || short === 'snapshot-copy' || short === 'image-copy' ? short : undefined;
};

const shortName = (name: string | undefined, stage: string) =>
  (name ?? '?').slice(machinePrefix(stage).length);

export async function statusCommand(options: StatusOptions, given?: OperateClients): Promise<CommandResult> {
  const clients = given ?? operateClients(options);
  const lines = [
    `Ferry ${options.stage} in ${options.region}${options.endpoint ? ` at ${options.endpoint}` : ''}`,
  ];
  try {
    const machines = await stateMachinesOf(clients.sfn, options.stage);
    if (machines.length === 0)
      lines.push(`No state machines named ${machinePrefix(options.stage)}…: ${stageHint(options)}`);
    const running = await Promise.all(
      machines.map(async (m) => ({
        machine: m,
        executions: await executionsOf(clients.sfn, m.stateMachineArn ?? '', 'RUNNING'),
      })),
    );
    const inFlight = running.reduce((sum, entry) => sum + entry.executions.length, 0);
    lines.push(`In flight: ${inFlight} cop${inFlight === 1 ? 'y' : 'ies'}`);
    for (const { machine, executions } of running) {
      lines.push(`  ${shortName(machine.name, options.stage)}: ${executions.length} running`);
      for (const execution of executions)
        lines.push(`    ${execution.name} since ${execution.startDate?.toISOString() ?? '?'}`);
    }

    const startedAfter = new Date(options.since.getTime() - LONGEST_COPY_MS);
    const failed: { machine: string; execution: ExecutionListItem }[] = [];
    for (const machine of machines) {
      for (const status of FAILED_STATUSES) {
        const executions = await executionsOf(
          clients.sfn,
          machine.stateMachineArn ?? '',
          status,
          startedAfter,
        );
        for (const execution of executions) {
          if (execution.stopDate && execution.stopDate >= options.since)
            failed.push({ machine: shortName(machine.name, options.stage), execution });
        }
      }
    }
    failed.sort((a, b) => (b.execution.stopDate?.getTime() ?? 0) - (a.execution.stopDate?.getTime() ?? 0));
    lines.push(`Failures since ${options.since.toISOString()} (${options.sinceText}): ${failed.length}`);
    for (const { machine, execution } of failed) {
      const described = await clients.sfn.send(
        new DescribeExecutionCommand({ executionArn: execution.executionArn ?? '' }),
      );
      lines.push(
        `  ✘ ${machine} ${execution.name} ${execution.status} at ${execution.stopDate?.toISOString() ?? '?'}: ` +
          `${described.error ?? 'no error'}${described.cause ? ` — ${described.cause}` : ''}`,
      );
    }

    if (options.rpoRules && options.rpoRules.length > 0) {
      const copyMachines = machines.flatMap((m) => {
        const machine = copyMachineOf(m.name ?? '', options.stage);
        return machine && m.stateMachineArn ? [{ machine, stateMachineArn: m.stateMachineArn }] : [];
      });
      const pending = await inFlightItems(clients.sfn, copyMachines);
      if (options.config) {
        try {
          const queueUrl = await deadLetterQueueUrl(clients.sqs, options);
          const letters = await deadLetterItems(clients.sqs, queueUrl ?? '', options.config, clients.readers);
          pending.push(...letters.items);
          if (letters.unroutable.size > 0)
            lines.push(
              `RPO dead letters standing for no item of a rule with rpo: ${[...letters.unroutable]
                .map(([cause, count]) => `${count} ${cause}`)
                .join(', ')}`,
            );
        } catch (error) {
          // The in-flight items stand without them (sqs:ReceiveMessage refused, say).
          lines.push(`✘ RPO dead letters: ${errorText(error)}`);
        }
      }
      const now = new Date();
      let figures: ReadonlyMap<string, RpoFigures> | undefined;
      try {
        figures = await readRpoFigures(
          clients.cloudwatch,
          options.rpoRules.map((entry) => entry.rule),
          options.since,
          now,
          metricServiceOf(options.stage),
        );
      } catch (error) {
        // The rest of the status stands without them (cloudwatch:GetMetricData refused, say).
        lines.push(`✘ RPO figures: GetMetricData: ${errorText(error)}`);
      }
      lines.push(...rpoStatusLines(options.rpoRules, pending, figures, now.getTime(), options.sinceText));
    }

    const queueName = deadLetterQueueName(options.stage);
    const QueueUrl = await deadLetterQueueUrl(clients.sqs, options);
    const { Attributes = {} } = await clients.sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    const waiting = Number(Attributes.ApproximateNumberOfMessages ?? 0);
    const invisible = Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0);
    lines.push(
      `Dead letters: ${waiting} waiting in ${queueName}${invisible > 0 ? ` (and ${invisible} being received)` : ''}` +
        (waiting + invisible > 0 ? ': `ferry redrive` hands them back once the cause is fixed' : ''),
    );
    return { exitCode: 0, lines };
  } catch (error) {
    // What was found before the failure stays: the machines may answer when the queue does not.
    return { exitCode: 1, lines: [...lines, `✘ status: ${errorText(error)}`] };
  } finally {
    if (!given) destroy(clients);
  }
}

/** A short name for an event: its type and what it is about. */
export function describeEvent(payload: unknown): string {
  if (!isObject(payload)) return 'a payload';
  const type = typeof payload['detail-type'] === 'string' ? payload['detail-type'] : 'event';
  const detail = isObject(payload.detail) ? payload.detail : {};
  const bucket = isObject(detail.bucket) ? detail.bucket.name : undefined;
  const key = isObject(detail.object) ? detail.object.key : undefined;
  if (typeof bucket === 'string' && typeof key === 'string') return `${type} s3://${bucket}/${key}`;
  const resource = Array.isArray(payload.resources) ? payload.resources[0] : undefined;
  return typeof resource === 'string' ? `${type} ${resource.split('/').at(-1)}` : type;
}

/** Causes can be long (a schema's every issue): one line per message keeps the first of it. */
const clip = (text: string, max = 160) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

const functionNameOf = (arn: string) => arn.split(':function:')[1]?.split(':')[0] ?? arn;

/** Where a dead letter goes back to: its function, or the delivery queue its redrive moved it from. */
const destinationOf = (letter: Exclude<DeadLetter, { kind: 'unknown' }>) =>
  letter.kind === 'delivery-queue'
    ? `queue ${letter.queueArn.split(':').at(-1)}`
    : functionNameOf(letter.functionArn);

const LETTER_KIND = {
  'lambda-destination': 'Lambda',
  eventbridge: 'EventBridge',
  'delivery-queue': 'SQS redrive',
} as const;

/**
 * Hands a dead letter back: an asynchronous invocation of its function, or, for one a delivery queue's
 * redrive moved, the same body sent to that queue again (its function takes batches from there).
 */
async function handBack(
  clients: OperateClients,
  letter: Exclude<DeadLetter, { kind: 'unknown' }>,
  body: string,
): Promise<void> {
  if (letter.kind === 'delivery-queue') {
    const [, , , , account, name] = letter.queueArn.split(':');
    const { QueueUrl } = await clients.sqs.send(
      new GetQueueUrlCommand({ QueueName: name, QueueOwnerAWSAccountId: account }),
    );
    await clients.sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: body }));
    return;
  }
  const answer = await clients.lambda.send(
    new InvokeCommand({
      FunctionName: letter.functionArn,
      InvocationType: 'Event',
      Payload: new TextEncoder().encode(JSON.stringify(letter.payload)),
    }),
  );
  if (answer.StatusCode !== 202) throw new Error(`Invoke answered ${answer.StatusCode}`);
}

export interface RedriveOptions extends OperateTarget {
  max: number;
  dryRun: boolean;
}

/** How long a received message stays hidden while it is handed back. */
const VISIBILITY_SECONDS = 60;

export async function redriveCommand(
  options: RedriveOptions,
  given?: OperateClients,
): Promise<CommandResult> {
  const clients = given ?? operateClients(options);
  const lines: string[] = [];
  const totals = { redriven: 0, failed: 0, unknown: 0 };
  /** Messages left in the queue: made visible again at the end, so the next run (or a person) sees them. */
  const kept: string[] = [];
  let queueUrl: string | undefined;
  let seen = 0;
  try {
    queueUrl = await deadLetterQueueUrl(clients.sqs, options);
    while (seen < options.max) {
      const { Messages = [] } = await clients.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: Math.min(10, options.max - seen),
          VisibilityTimeout: VISIBILITY_SECONDS,
          MessageAttributeNames: ['All'],
          MessageSystemAttributeNames: [DEAD_LETTER_SOURCE_ATTRIBUTE],
          WaitTimeSeconds: 0,
        }),
      );
      if (Messages.length === 0) break;
      for (const message of Messages) {
        seen += 1;
        const letter = deadLetterOf(message);
        const id = message.MessageId ?? '?';
        if (letter.kind === 'unknown') {
          totals.unknown += 1;
          if (message.ReceiptHandle) kept.push(message.ReceiptHandle);
          lines.push(`  ? message ${id}: not understood (${letter.reason}); kept in the queue`);
          continue;
        }
        const what = `${describeEvent(letter.payload)} (${LETTER_KIND[letter.kind]} dead letter: ${clip(letter.cause)})`;
        const where = destinationOf(letter);
        if (options.dryRun) {
          if (message.ReceiptHandle) kept.push(message.ReceiptHandle);
          lines.push(`  · ${what} → ${where}: would hand back`);
          continue;
        }
        try {
          await handBack(clients, letter, message.Body ?? '');
        } catch (error) {
          totals.failed += 1;
          if (message.ReceiptHandle) kept.push(message.ReceiptHandle);
          lines.push(`  ✘ ${what} → ${where}: ${errorText(error)}; kept in the queue`);
          continue;
        }
        try {
          await clients.sqs.send(
            new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle }),
          );
          totals.redriven += 1;
          lines.push(`  ✔ ${what} → ${where}: handed back`);
        } catch (error) {
          // Handed back, but still in the queue: it will show again; handing it back twice is harmless
          // (Ferry's copies are idempotent), losing it is not.
          totals.redriven += 1;
          lines.push(`  ✔ ${what} → ${where}: handed back, but not deleted (${errorText(error)})`);
        }
      }
    }
  } catch (error) {
    lines.push(`✘ redrive: ${errorText(error)}`);
    totals.failed += 1;
  } finally {
    for (const handle of kept) {
      try {
        await clients.sqs.send(
          new ChangeMessageVisibilityCommand({
            QueueUrl: queueUrl,
            ReceiptHandle: handle,
            VisibilityTimeout: 0,
          }),
        );
      } catch {
        // It shows again once its visibility timeout ends.
      }
    }
    if (!given) destroy(clients);
  }
  const total = seen;
  lines.unshift(
    `${options.dryRun ? 'Dry run: ' : ''}dead letters of Ferry ${options.stage} in ${options.region}${options.endpoint ? ` at ${options.endpoint}` : ''}`,
  );
  lines.push(
    options.dryRun
      ? `${total} message${total === 1 ? '' : 's'}: ${total - totals.unknown} would be handed back, ${totals.unknown} not understood`
      : `${total} message${total === 1 ? '' : 's'}: ${totals.redriven} handed back, ${totals.failed} failed, ${totals.unknown} not understood (failed and not understood stay in the queue)`,
  );
  return { exitCode: totals.failed + totals.unknown > 0 ? 1 : 0, lines };
}
