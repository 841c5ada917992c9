import { randomUUID } from 'node:crypto';
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import http, { type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EC2Client } from '@aws-sdk/client-ec2';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { ConfiguredRetryStrategy } from '@smithy/core/retry';
import type { Context } from 'aws-lambda';
import { inputOf, startAttempt } from '#adapters/execution-attempts';
import { createSfnClientFactory, executionArnOf } from '#adapters/step-functions';
import { copyWaitersTableName } from '#deploy/copy-waiters-table';
import type { FunctionName } from '#deploy/iam/types';
import { requestsOf } from '#deploy/iam-proof/authorization';
import type { RecordedCall } from '#deploy/iam-proof/recorded-call';
import type { IamRequest } from '#deploy/iam-proof/request';
import { deliveryQueueName } from '#deploy/sqs-delivery';
import type { Deployment } from '#deploy/template-parts';
import type { AwaitDeps } from '#ec2/copy-machine/await-step';
import { type Ec2CopyJob, executionNameOf as ec2ExecutionNameOf } from '#ec2/copy-machine/contract';
import { SLOT_QUEUE_INDEX } from '#ec2/copy-machine/slot-queue';
import { COPY_SWEEP_PERIOD_SECONDS, type SweepResult } from '#ec2/copy-machine/sweep';
import { createEc2CopyCompletedHandler } from '#ec2/handlers/ec2-copy-completed';
import { createEc2CopyStepHandler } from '#ec2/handlers/ec2-copy-step';
import { createEc2CopySweepHandler } from '#ec2/handlers/ec2-copy-sweep';
import { createEc2TagsChangedHandler } from '#ec2/handlers/ec2-tags-changed';
import { createImageAvailableHandler } from '#ec2/handlers/image-available';
import { createSnapshotCreatedHandler } from '#ec2/handlers/snapshot-created';
import { copySweepDepsOf, copyWaitsOf } from '#ec2/handlers/wiring';
import { createDynamoDbClientFactory } from '#foundation/aws-clients';
import { metricServiceOf } from '#foundation/observability/powertools';
import { SANDBOX_CREDENTIALS } from '#foundation/sandbox-credentials';
import { type CopyStarter, executionNameOf } from '#objects/copy-machine/contract';
import { createObjectCopyStepHandler } from '#objects/handlers/object-copy-step';
import { createObjectCreatedHandler } from '#objects/handlers/object-created';
import { createObjectCreatedBatchHandler } from '#objects/handlers/object-created-batch';
import { createObjectDeletedHandler } from '#objects/handlers/object-deleted';
import { createObjectTagsChangedHandler } from '#objects/handlers/object-tags-changed';
import { createInventoryBatchHandler } from '#reconcile/inventory/handler';
import { reportFromResults } from '#reconcile/inventory/results';
import { workLocationOf } from '#reconcile/inventory/work';
import type { ObjectReconcileDeps } from '#reconcile/objects';
import { type ReconcileOptions, reconcile } from '#reconcile/reconcile';
import type { ReconcileReport } from '#reconcile/report';
import { type InventoryRun, type InventoryRunStarter, scheduledReconcile } from '#reconcile/scheduled';
import { createRpoMonitorHandler } from '#rpo/handler';
import type { RpoDeps } from '#rpo/observe';
import { windowOf } from '#rpo/threshold';
import { type FerryConfig, objectRulesOf, objectSourceRegionOf } from '#rules/config';
import {
  copyCompletionEventPatterns,
  ec2TagChangeEventPatterns,
  imageEventPatterns,
  objectEventPatterns,
  objectTagChangeEventPatterns,
  snapshotEventPatterns,
} from '#rules/event-patterns';
import type { InventoryLocation } from '#rules/schema';
import { createRuntime, type Runtime } from '#wiring';
import { DEPLOYED_EC2_COMPLETION, type Ec2CompletionMode } from '../statemachines/ec2-copy.ts';
import { CallRecorder } from './call-recorder.ts';
import { serveCloudWatch } from './cloudwatch-api.ts';
import { LocalDynamoDb } from './dynamodb.ts';
import { FakeEc2, type FakeEc2Options } from './ec2/fake-ec2.ts';
import { type Delivery, EventBus } from './event-bus.ts';
import { serveEvents } from './events-api.ts';
import { FaultInjector } from './faults.ts';
import { serveLambda } from './lambda-api.ts';
import { LambdaCrashes } from './lambda-crash.ts';
import { MetricsTally } from './metrics-tally.ts';
import { type SandboxRpoMonitor, sandboxRpoMonitor } from './rpo-monitor.ts';
import { RpoTally } from './rpo-tally.ts';
import { CopyModel } from './s3/copy-model.ts';
import type { InventoryRequest } from './s3/inventory.ts';
import { type S3Gateway, startS3Gateway } from './s3-gateway.ts';
import { rawPathOf, s3OperationOf } from './s3-operations.ts';
import { sendError } from './s3-wire.ts';
import { type ScheduledPasses, scheduledPasses } from './scheduled-pass.ts';
import { serveStepFunctions } from './sfn-api.ts';
import { signingScopeOf } from './sigv4.ts';
import { moveToDeadLetters, SANDBOX_QUEUE_NAME, serveDeadLetters } from './sqs-dlq.ts';
import { SqsEventSource, type SqsEventSourceOptions } from './sqs-event-source.ts';
import type { StateMachineName } from './state-machines.ts';
import { type Execution, ExecutionAlreadyExistsError, LocalStepFunctions } from './step-functions.ts';
import { SandboxSts } from './sts.ts';
import { seededRandom, VirtualClock } from './virtual-clock.ts';

export const SANDBOX_ACCOUNT = '000000000000';
export { SANDBOX_CREDENTIALS } from '#foundation/sandbox-credentials';
export const DEFAULT_PORT = 4566;

/**
 * The deployment the sandbox stands for: the names its state machines would have (`ferry-sandbox-…`, as
 * deploy/template-parts.ts `stateMachineArn` builds them), in the source Region.
 */
export const sandboxDeployment = (region = 'us-east-1'): Deployment => ({
  service: 'ferry',
  stage: 'sandbox',
  region,
});

/** With it set, `stop()` writes the run's IAM requests there (one file per sandbox; see `stop`). */
export const IAM_CALLS_DIR_VARIABLE = 'FERRY_IAM_CALLS_DIR';

export interface SandboxOptions {
  config: FerryConfig;
  /** 0 picks a free port. */
  port?: number;
  /** The Region of source buckets (destinations name their own). */
  sourceRegion?: string;
  onDelivery?: (delivery: Delivery) => void;
  onExecutionEnd?: (execution: Execution) => void;
  /** Seeds the jitter of retry backoff, so a run can be repeated exactly. */
  seed?: number;
  /**
   * A model of a remote S3 for benchmarks: a fixed latency per request, and a rate at which S3 copies
   * bytes server-side per CopyObject / UploadPartCopy request (real S3 copies each request at a bounded
   * speed; the local disk does not). Off by default.
   */
  /** Benchmarks: latency per S3 request; copy rates per request and per bucket pair (local/s3/copy-model.ts). */
  shaping?: { latencyMs?: number; copyMiBps?: number; pairMiBps?: number };
  /** The fake EC2: copy speed (virtual time), KMS keys per Region, limits, throttling. */
  ec2?: Pick<FakeEc2Options, 'copyBytesPerSecond' | 'kmsKeys' | 'limits' | 'throttling'>;
  /**
   * How the EC2 copy machines notice a copy's end (statemachines/ec2-copy.ts): `events`, as deployed
   * (`DEPLOYED_EC2_COMPLETION`, the default) — the AwaitCopy and AwaitSlot tasks, the copy-waiters table in
   * the local DynamoDB, the completion handler fed by the bus, and a fake EC2 whose copies settle (and emit
   * their events) on time; or `polling`, which a test or benchmark about the polled machine chooses.
   */
  ec2Completion?: Ec2CompletionMode;
  /**
   * How "Object Created" events reach objectCreated: straight from the bus (default, one invocation per
   * event), or through an SQS delivery queue in batches (local/sqs-event-source.ts, the batch handler,
   * partial batch responses, the redrive to the dead letters), with these settings of the queue and mapping.
   */
  objectCreatedQueue?: Pick<
    SqsEventSourceOptions,
    'batchSize' | 'batchingWindowMs' | 'visibilityTimeoutMs' | 'maxReceiveCount'
  > & { recordConcurrency?: number };
}

const SWEEP_PERIOD_MS = COPY_SWEEP_PERIOD_SECONDS * 1000;

/** The sandbox's copy-waiters table (event-driven waiting), named as the deployment names it. */
export const SANDBOX_COPY_WAITERS_TABLE = copyWaitersTableName(sandboxDeployment());

export interface Sandbox {
  endpoint: string;
  port: number;
  bus: EventBus;
  faults: FaultInjector;
  stepFunctions: LocalStepFunctions;
  clock: VirtualClock;
  metrics: MetricsTally;
  /** The RPO metrics the handlers reported, per rule (src/rpo/metrics.ts). */
  rpoMetrics: RpoTally;
  /** The RPO backlog monitor, run on the virtual clock (local/rpo-monitor.ts). */
  rpoMonitor: SandboxRpoMonitor;
  /**
   * The hourly copy sweep (src/ec2/copy-machine/sweep.ts), the real ec2CopySweep handler on the virtual
   * clock at each hour, as its schedule runs it in AWS (deploy/template-parts.ts, `copySweepEvents`); in
   * `events` mode only. Not started by itself: a test of the machine's own checks runs with the sweep down.
   */
  copySweep: ScheduledPasses<SweepResult>;
  /** S3 requests served, by operation (also at GET /__ferry/requests; DELETE resets). */
  requests: Map<string, number>;
  /** The fake EC2 behind the same endpoint: seed volumes and instances, inject faults, inspect copies. */
  ec2: FakeEc2;
  /** The local DynamoDB behind the same endpoint (the copy-waiters table, with `ec2Completion: events`, the default). */
  dynamoDb: LocalDynamoDb;
  /** One-shot crashes of the state machines' Lambda functions (`crashOnce`), and those that happened. */
  crashes: LambdaCrashes;
  /** Retries the SDK made inside the handlers (each after a throttled, failed or unreadable answer). */
  readonly sdkRetries: number;
  bucketRegions: Record<string, string>;
  /** An S3 client for the sandbox in the bucket's Region, as a user's own tools would have. */
  s3(region: string): S3Client;
  /** An EC2 client for the sandbox in a Region. */
  ec2Client(region: string): EC2Client;
  /** objectCreated's SQS delivery queue, with `objectCreatedQueue` set: its invocations and redrives. */
  objectCreatedQueue?: SqsEventSource;
  /** Waits until every event published so far (and those its handling caused) has been handled. */
  settle(): Promise<void>;
  /**
   * Expires the current object of a key as S3 Lifecycle would (a delete marker in a versioned bucket, a
   * permanent delete otherwise), with its "Object Deleted" event (reason "Lifecycle Expiration"). False
   * when the key had no current object. Call `settle()` to let Ferry handle the event.
   */
  expire(bucket: string, key: string): boolean;
  /**
   * One reconcile pass in this process, as the scheduled function runs it (copies go to the sandbox's
   * machines); rules with inventories are left to the inventory run it starts (`inventoryRun`).
   */
  reconcile(
    options?: ReconcileOptions,
    /** `headEveryReplica`: the check before the listing join, for the reconcile benchmark's side-by-side. */
    tuning?: Pick<ObjectReconcileDeps, 'headEveryReplica'>,
  ): Promise<ReconcileReport & { inventoryRun?: InventoryRun }>;
  /**
   * Publishes the S3 Inventory report of a bucket now, as S3 would on its schedule (local/s3/inventory.ts),
   * into the location a rule names, or, when the bucket has an inventory configuration of that id (put with
   * PutBucketInventoryConfiguration), where and as that configuration says; returns the manifest's key.
   */
  publishInventory(
    sourceBucket: string,
    location: InventoryLocation,
    options?: Pick<InventoryRequest, 'versions' | 'fields' | 'rowsPerFile'>,
  ): Promise<string>;
  /** Publishes the reports of every bucket an object rule names an inventory for (sources and destinations). */
  publishInventories(options?: Pick<InventoryRequest, 'versions' | 'fields' | 'rowsPerFile'>): Promise<void>;
  /**
   * Runs the inventory-reconcile state machine (the real definition, its Distributed Maps emulated by
   * local/distributed-map.ts) to its end; with the report built from the join map's ResultWriter export.
   */
  reconcileInventory(options?: { rule?: string; shards?: number; runId?: string }): Promise<{
    execution: Execution;
    report: ReconcileReport | undefined;
  }>;
  /** The account and deployment names the sandbox's ARNs use. */
  account: string;
  deployment: Deployment;
  /** Every AWS call each Ferry function made since the start (local/call-recorder.ts). */
  calls(): readonly RecordedCall[];
  /** The IAM authorizations those calls needed (deploy/iam-proof/authorization.ts), in call order. */
  iamRequests(): IamRequest[];
  /** The roles STS handed sessions out for, by temporary access key id. */
  sts: SandboxSts;
  /**
   * Settles and shuts down. With `FERRY_IAM_CALLS_DIR` set, first writes the run's IAM requests into that
   * directory: `iam-requests-<id>.jsonl` (one IamRequest per line) beside `iam-requests-<id>.config.json`
   * (the sandbox's rules, account and deployment, for the policies to check them against).
   */
  stop(): Promise<void>;
}

/** Lambda's environment for the handlers running in this process: quiet logs, no X-Ray, local metrics. */
function emulateLambdaEnvironment() {
  process.env.POWERTOOLS_TRACE_ENABLED ??= 'false';
  process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
  process.env.POWERTOOLS_LOG_LEVEL ??= 'WARN';
}

const lambdaContext = (functionName: string): Context => ({
  callbackWaitsForEmptyEventLoop: false,
  functionName,
  functionVersion: '$LATEST',
  invokedFunctionArn: `arn:aws:lambda:us-east-1:${SANDBOX_ACCOUNT}:function:${functionName}`,
  memoryLimitInMB: '256',
  awsRequestId: crypto.randomUUID(),
  logGroupName: `/aws/lambda/${functionName}`,
  logStreamName: 'sandbox',
  getRemainingTimeInMillis: () => 60_000,
  done: () => undefined,
  fail: () => undefined,
  succeed: () => undefined,
});

export function bucketRegionsOf(config: FerryConfig, sourceRegion: string): Record<string, string> {
  const regions: Record<string, string> = {};
  for (const rule of objectRulesOf(config)) {
    for (const destination of rule.to) regions[destination.bucket] = destination.region;
  }
  for (const rule of objectRulesOf(config))
    regions[rule.objects.bucket] ??= objectSourceRegionOf(rule, sourceRegion);
  // S3 publishes an inventory into a bucket in its source bucket's Region.
  for (const rule of objectRulesOf(config)) {
    if (rule.objects.inventory)
      regions[rule.objects.inventory.bucket] ??= objectSourceRegionOf(rule, sourceRegion);
    for (const destination of rule.to)
      if (destination.inventory) regions[destination.inventory.bucket] ??= destination.region;
  }
  return regions;
}

/** The buckets of other accounts: cross-account destinations, owned by the account the rule names. */
export function bucketOwnersOf(config: FerryConfig): Record<string, string> {
  const owners: Record<string, string> = {};
  for (const rule of objectRulesOf(config)) {
    for (const destination of rule.to)
      if (destination.account) owners[destination.bucket] = destination.account;
  }
  return owners;
}

/** The request counts as JSON (GET), or reset them (DELETE): for benchmarks driving another process. */
function answerRequestCounts(method: string, res: ServerResponse, requests: Map<string, number>) {
  if (method === 'DELETE') requests.clear();
  res
    .writeHead(200, { 'content-type': 'application/json' })
    .end(JSON.stringify(Object.fromEntries(requests)));
}

/** When the first S3 request since the last reset came, and the last answer went (performance.now()). */
interface S3Span {
  first?: number;
  last?: number;
}

/**
 * The copy model's figures and the S3 span (first request to last answer) since the last DELETE, for
 * benchmarks: did the model or the sandbox set the pace, and how long did a tool talk to S3?
 */
function answerCopyModel(method: string, res: ServerResponse, model: CopyModel, span: S3Span) {
  const stats = {
    ...model.stats(),
    spanSeconds: span.first !== undefined && span.last !== undefined ? (span.last - span.first) / 1000 : 0,
  };
  if (method === 'DELETE') {
    model.reset();
    delete span.first;
    delete span.last;
  }
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(stats));
}

/** Starts S3 (with its event source), the event bus and the real handlers behind one local endpoint. */
export async function startSandbox(options: SandboxOptions): Promise<Sandbox> {
  emulateLambdaEnvironment();
  const bucketRegions = bucketRegionsOf(options.config, options.sourceRegion ?? 'us-east-1');
  const server = http.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? DEFAULT_PORT, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const endpoint = `http://127.0.0.1:${port}`;

  const metrics = new MetricsTally();
  const rpoMetrics = new RpoTally();
  // Each function's RPO judgement with the sandbox's metrics; its events go through the real EventBridge
  // client to this endpoint (local/events-api.ts), onto the bus.
  const withRpoTally = <Deps extends { rpo?: RpoDeps | undefined }>(deps: Deps): Deps =>
    deps.rpo ? { ...deps, rpo: { ...deps.rpo, metrics: rpoMetrics } } : deps;
  const clock = new VirtualClock();
  const homeRegion = options.sourceRegion ?? 'us-east-1';
  const deployment = sandboxDeployment(homeRegion);
  const stateMachineArnOf = (machine: StateMachineName) =>
    `arn:aws:states:${homeRegion}:${SANDBOX_ACCOUNT}:stateMachine:${deployment.service}-${deployment.stage}-${machine}`;
  // S3 and the fake EC2 are made below; the recorder asks them what a call names (tags, encryption) as the
  // call starts.
  let ec2Lookup: FakeEc2 | undefined;
  let s3Lookup: S3Gateway | undefined;
  const recorder = new CallRecorder({
    ec2Resource: (region, id) => {
      const record = id.startsWith('snap-')
        ? ec2Lookup?.snapshot(region, id)
        : id.startsWith('ami-')
          ? ec2Lookup?.image(region, id)
          : undefined;
      if (!record) return undefined;
      const kmsKeyId = 'kmsKeyId' in record ? record.kmsKeyId : undefined;
      return { tags: Object.fromEntries(record.tags), ...(kmsKeyId ? { kmsKeyId } : {}) };
    },
    s3Object: (bucket, key, versionId) => s3Lookup?.encryptionOf(bucket, key, versionId),
  });
  let stepFunctions: LocalStepFunctions | undefined;
  // What the state machines' own roles are asked for (deploy/inventory-machine.ts): the IAM proof's too.
  const machineRequests: IamRequest[] = [];
  const machineRequest = (
    stateMachine: StateMachineName,
    authorization: { action: string; resource: string; call: string },
  ): IamRequest => ({ principal: { stateMachine }, context: {}, ...authorization });
  // Jobs cross a JSON boundary in AWS (the execution input); the sandbox makes them cross one too. A name
  // taken by an execution that failed for good gets the next attempt, as in AWS (execution-attempts.ts).
  // Each start is recorded as the StartExecution (and each status read as the DescribeExecution) that
  // src/adapters/step-functions.ts makes in AWS, by the function running.
  const startCopy = async (machine: StateMachineName, name: string, job: object) => {
    const sfn = stepFunctions;
    if (!sfn) throw new Error('the sandbox Step Functions are not running');
    const stateMachineArn = stateMachineArnOf(machine);
    const record = (operation: string, input: Record<string, unknown>, error?: string) =>
      recorder.recordInProcess({
        service: 'states',
        operation,
        region: homeRegion,
        input,
        outcome: error ? { status: 400, error } : { status: 200 },
      });
    const { execution, started } = await startAttempt(name, {
      async tryStart(attempt, n) {
        const input = { stateMachineArn, name: attempt };
        try {
          const { execution, started } = sfn.start(
            machine,
            attempt,
            JSON.parse(JSON.stringify(inputOf(job, n))),
          );
          record('StartExecution', input, started ? undefined : 'ExecutionAlreadyExists');
          return started ? { taken: false, execution: execution.name } : { taken: true };
        } catch (error) {
          record('StartExecution', input, (error as Error).name);
          if (error instanceof ExecutionAlreadyExistsError) return { taken: true };
          throw error;
        }
      },
      async statusOf(attempt) {
        const status = sfn.status(machine, attempt);
        record(
          'DescribeExecution',
          { executionArn: executionArnOf(stateMachineArn, attempt) },
          status ? undefined : 'ExecutionDoesNotExist',
        );
        if (!status) throw new Error(`no execution ${attempt} of ${machine}`);
        return status;
      },
    });
    return { execution, started };
  };
  const copies: CopyStarter = { start: (job) => startCopy('object-copy', executionNameOf(job), job) };
  const ec2Copies = (machine: 'snapshot-copy' | 'image-copy') => ({
    start: (job: Ec2CopyJob) => startCopy(machine, ec2ExecutionNameOf(job), job),
  });
  // The scheduled reconcile's inventory runs, recorded as the StartExecution the function makes in AWS.
  const inventoryRuns: InventoryRunStarter = {
    async start(input) {
      const sfn = stepFunctions;
      if (!sfn) throw new Error('the sandbox Step Functions are not running');
      const stateMachineArn = stateMachineArnOf('inventory-reconcile');
      sfn.start('inventory-reconcile', input.runId, JSON.parse(JSON.stringify(input)));
      recorder.recordInProcess({
        service: 'states',
        operation: 'StartExecution',
        region: homeRegion,
        input: { stateMachineArn, name: input.runId },
        outcome: { status: 200 },
      });
      return executionArnOf(stateMachineArn, input.runId);
    },
  };
  // The SDK's own retries wait on the virtual clock too: as long as the SDK would, without sleeping.
  const sdkJitter = seededRandom((options.seed ?? 7) + 2);
  let sdkRetries = 0;
  const retryStrategy = (maxAttempts: number) =>
    new ConfiguredRetryStrategy(maxAttempts, (attempt) => {
      sdkRetries += 1;
      clock.advance(Math.round(sdkJitter() * Math.min(20_000, 100 * 2 ** attempt)));
      return 0;
    });
  // One runtime per function, as each Lambda function has its own environment: its own clients, and so its
  // own AssumeRole of a destination's role. Every client's calls are recorded (local/call-recorder.ts).
  const runtimeOf = (): Runtime =>
    createRuntime(options.config, {
      endpoint,
      credentials: SANDBOX_CREDENTIALS,
      retryStrategy,
      copies,
      snapshotCopies: ec2Copies('snapshot-copy'),
      imageCopies: ec2Copies('image-copy'),
      instrument: recorder.instrument,
      assumeRolePlugins: recorder.assumeRolePlugins,
    });
  const runtimes = {
    objectCreated: runtimeOf(),
    objectCreatedBatch: runtimeOf(),
    objectDeleted: runtimeOf(),
    objectCopyStep: runtimeOf(),
    objectTagsChanged: runtimeOf(),
    snapshotCreated: runtimeOf(),
    imageAvailable: runtimeOf(),
    ec2CopyStep: runtimeOf(),
    ec2CopyCompleted: runtimeOf(),
    ec2TagsChanged: runtimeOf(),
    reconcile: runtimeOf(),
    rpoMonitor: runtimeOf(),
    ec2CopySweep: runtimeOf(),
    inventoryBatch: runtimeOf(),
  } satisfies Record<FunctionName, Runtime>;
  const objectCreated = createObjectCreatedHandler(runtimes.objectCreated.tools, {
    ...withRpoTally(runtimes.objectCreated.deps),
    metrics,
    now: clock.now,
  });
  const objectDeleted = createObjectDeletedHandler(runtimes.objectDeleted.tools, {
    ...withRpoTally(runtimes.objectDeleted.deps),
    metrics,
    now: clock.now,
  });
  const objectTagsChanged = createObjectTagsChangedHandler(runtimes.objectTagsChanged.tools, {
    ...runtimes.objectTagsChanged.deps,
    metrics,
    now: clock.now,
  });
  const ec2TagsChanged = createEc2TagsChangedHandler(runtimes.ec2TagsChanged.tools, {
    snapshotRules: runtimes.ec2TagsChanged.snapshotDeps.rules,
    imageRules: runtimes.ec2TagsChanged.imageDeps.rules,
    ec2: runtimes.ec2TagsChanged.snapshotDeps.ec2,
    log: runtimes.ec2TagsChanged.snapshotDeps.log,
    metrics,
  });
  const objectCopyStep = createObjectCopyStepHandler(runtimes.objectCopyStep.tools, {
    ...withRpoTally(runtimes.objectCopyStep.copyStepDeps),
    metrics,
    now: clock.now,
  });
  const snapshotCreated = createSnapshotCreatedHandler(runtimes.snapshotCreated.tools, {
    ...runtimes.snapshotCreated.snapshotDeps,
    metrics,
  });
  const imageAvailable = createImageAvailableHandler(runtimes.imageAvailable.tools, {
    ...runtimes.imageAvailable.imageDeps,
    metrics,
  });
  // Event-driven waiting: the real DynamoDB and Step Functions clients, to this endpoint.
  const ec2Completion = options.ec2Completion ?? DEPLOYED_EC2_COMPLETION;
  const eventDriven = ec2Completion === 'events';
  const dynamoDb = new LocalDynamoDb();
  dynamoDb.createTable(SANDBOX_COPY_WAITERS_TABLE, 'copyKey', [SLOT_QUEUE_INDEX]);
  // Recorded as every other client's calls: the IAM proof covers the table and the callbacks too.
  const localClients = {
    endpoint,
    credentials: SANDBOX_CREDENTIALS,
    retryStrategy,
    instrument: recorder.instrument,
  };
  const copyWaits = (): AwaitDeps =>
    copyWaitsOf(
      SANDBOX_COPY_WAITERS_TABLE,
      createDynamoDbClientFactory(localClients)({ region: homeRegion }),
      createSfnClientFactory(localClients)({ region: homeRegion }),
    );
  const ec2CopyStep = createEc2CopyStepHandler(runtimes.ec2CopyStep.tools, {
    ...withRpoTally(runtimes.ec2CopyStep.ec2CopyStepDeps),
    metrics,
    now: clock.now,
    random: seededRandom((options.seed ?? 7) + 3),
    ...(eventDriven ? { await: copyWaits() } : {}),
  });
  const completionTools = runtimes.ec2CopyCompleted.tools;
  const ec2CopyCompleted = createEc2CopyCompletedHandler(completionTools, {
    ...copyWaits(),
    log: completionTools.logger,
    now: clock.now,
  });
  const sweepTools = runtimes.ec2CopySweep.tools;
  const ec2CopySweep = createEc2CopySweepHandler(
    sweepTools,
    copySweepDepsOf(
      { log: sweepTools.logger, now: clock.now },
      runtimes.ec2CopySweep.ec2CopyStepDeps.ec2,
      SANDBOX_COPY_WAITERS_TABLE,
      createDynamoDbClientFactory(localClients)({ region: homeRegion }),
      createSfnClientFactory(localClients)({ region: homeRegion }),
    ),
  );
  const rpoMonitorDeps = runtimes.rpoMonitor.rpoMonitorDeps(
    {
      objectCopy: stateMachineArnOf('object-copy'),
      snapshotCopy: stateMachineArnOf('snapshot-copy'),
      imageCopy: stateMachineArnOf('image-copy'),
    },
    homeRegion,
    `${endpoint}/${SANDBOX_ACCOUNT}/${SANDBOX_QUEUE_NAME}`,
  );
  // The time of the scheduled pass under way, if any: the handler reads its clock as of then (the clock
  // may have been moved past it, by a jump or an SDK retry's advance, before the pass ran).
  let monitorAt: number | undefined;
  const rpoMonitor = createRpoMonitorHandler(runtimes.rpoMonitor.tools, {
    ...withRpoTally(rpoMonitorDeps),
    now: () => monitorAt ?? clock.now(),
  });
  const inventoryBatch = createInventoryBatchHandler(
    runtimes.inventoryBatch.tools,
    (source) => {
      const deps = runtimes.inventoryBatch.reconcileDeps(source);
      return { ...withRpoTally(deps.objects), metrics, now: clock.now, allRules: deps.rules };
    },
    homeRegion,
  );
  let rpoPasses = 0;
  let sweepPasses = 0;
  const crashes = new LambdaCrashes();
  // A user's own S3 clients (and Step Functions' reads and writes for the Distributed Map), one per Region.
  const clients = new Map<string, S3Client>();
  const userS3 = (region: string) => {
    let client = clients.get(region);
    if (!client) {
      client = new S3Client({ region, endpoint, forcePathStyle: true, credentials: SANDBOX_CREDENTIALS });
      clients.set(region, client);
    }
    return client;
  };
  stepFunctions = new LocalStepFunctions({
    functions: {
      ObjectCopyStepLambdaFunction: crashes.wrap('ObjectCopyStepLambdaFunction', (input) =>
        recorder.run('objectCopyStep', () =>
          objectCopyStep(input as never, lambdaContext('ferry-object-copy-step')),
        ),
      ),
      Ec2CopyStepLambdaFunction: crashes.wrap('Ec2CopyStepLambdaFunction', (input) =>
        recorder.run('ec2CopyStep', () => ec2CopyStep(input as never, lambdaContext('ferry-ec2-copy-step'))),
      ),
      InventoryBatchLambdaFunction: crashes.wrap('InventoryBatchLambdaFunction', (input) => {
        // Invoked by the inventory-reconcile machine's Tasks only: with that machine's role.
        machineRequests.push(
          machineRequest('inventory-reconcile', {
            action: 'lambda:InvokeFunction',
            resource: `arn:aws:lambda:${homeRegion}:${SANDBOX_ACCOUNT}:function:${deployment.service}-${deployment.stage}-inventoryBatch`,
            call: 'lambda:Invoke',
          }),
        );
        return recorder.run('inventoryBatch', () =>
          inventoryBatch(input as never, lambdaContext('ferry-inventory-batch')),
        );
      }),
    },
    s3: () => userS3(homeRegion),
    stateMachineArnOf,
    recordMachine: (machine, authorization) => machineRequests.push(machineRequest(machine, authorization)),
    clock,
    random: seededRandom(options.seed ?? 7),
    ec2Completion,
    ...(options.onExecutionEnd ? { onExecutionEnd: options.onExecutionEnd } : {}),
    // Time does not jump while an event is being handled, nor during a pass of the RPO monitor (it judges
    // the window its wake-up closed) or of the copy sweep.
    busy: () => bus.pendingDeliveries > 0 || rpoPasses > 0 || sweepPasses > 0,
  });
  const patterns = objectEventPatterns(options.config);

  const queueSettings = options.objectCreatedQueue;
  const deliveryQueueArnIn = (region: string) =>
    `arn:aws:sqs:${region}:${SANDBOX_ACCOUNT}:${deliveryQueueName(deployment, 'objectCreatedBatch')}`;
  const pollerRequests: IamRequest[] = [];
  const objectCreatedQueue = queueSettings
    ? new SqsEventSource({
        ...queueSettings,
        // Named as the deployment names it (deploy/sqs-delivery.ts): the IAM proof resolves the same ARN.
        queueArn: deliveryQueueArnIn(homeRegion),
        invoke: (() => {
          const batchHandler = createObjectCreatedBatchHandler(
            runtimes.objectCreatedBatch.tools,
            { ...withRpoTally(runtimes.objectCreatedBatch.deps), metrics, now: clock.now },
            queueSettings.recordConcurrency,
          );
          // Crashes planned for ObjectCreatedBatchLambdaFunction end a batch's invocation without an answer.
          return crashes.wrap('ObjectCreatedBatchLambdaFunction', (event) =>
            recorder.run('objectCreatedBatch', () =>
              batchHandler(event as never, lambdaContext('ferry-object-created-batch')),
            ),
          ) as SqsEventSourceOptions['invoke'];
        })(),
        deadLetter: (body, sourceQueueArn) => moveToDeadLetters(bus, body, sourceQueueArn),
        // Lambda's poller, under the function's role: recorded for the IAM proof.
        pollerCall: (operation) =>
          pollerRequests.push({
            principal: { function: 'objectCreatedBatch' },
            action: `sqs:${operation}`,
            resource: deliveryQueueArnIn(homeRegion),
            context: {},
            call: `sqs:${operation}`,
          }),
      })
    : undefined;

  const bus = new EventBus({
    targets: [
      {
        name: 'object-created',
        patterns: patterns.objectCreated,
        invoke: async (event) =>
          objectCreatedQueue
            ? // The rule's SQS target: EventBridge sends the event as the message body.
              { queued: objectCreatedQueue.send(JSON.stringify(event)) }
            : recorder.run('objectCreated', () =>
                objectCreated(event as never, lambdaContext('ferry-object-created')),
              ),
      },
      {
        name: 'object-deleted',
        patterns: patterns.objectDeleted,
        invoke: (event) =>
          recorder.run('objectDeleted', () =>
            objectDeleted(event as never, lambdaContext('ferry-object-deleted')),
          ),
      },
      {
        name: 'object-tags-changed',
        patterns: objectTagChangeEventPatterns(options.config),
        invoke: (event) =>
          recorder.run('objectTagsChanged', () =>
            objectTagsChanged(event as never, lambdaContext('ferry-object-tags-changed')),
          ),
      },
      {
        name: 'ec2-tags-changed',
        patterns: ec2TagChangeEventPatterns(options.config),
        invoke: (event) =>
          recorder.run('ec2TagsChanged', () =>
            ec2TagsChanged(event as never, lambdaContext('ferry-ec2-tags-changed')),
          ),
      },
      {
        name: 'snapshot-created',
        patterns: snapshotEventPatterns(options.config),
        invoke: (event) =>
          recorder.run('snapshotCreated', () =>
            snapshotCreated(event as never, lambdaContext('ferry-snapshot-created')),
          ),
      },
      {
        name: 'image-available',
        patterns: imageEventPatterns(options.config),
        invoke: (event) =>
          recorder.run('imageAvailable', () =>
            imageAvailable(event as never, lambdaContext('ferry-image-available')),
          ),
      },
      ...(eventDriven
        ? [
            {
              name: 'ec2-copy-completed',
              patterns: copyCompletionEventPatterns(options.config),
              invoke: (event: unknown) =>
                recorder.run('ec2CopyCompleted', () =>
                  ec2CopyCompleted(event as never, lambdaContext('ferry-ec2-copy-completed')),
                ),
            },
          ]
        : []),
    ],
    onDelivery: (delivery) => {
      stepFunctions?.poke();
      options.onDelivery?.(delivery);
    },
    random: seededRandom((options.seed ?? 7) + 4),
  });

  const faults = new FaultInjector(seededRandom((options.seed ?? 7) + 1));
  const copyModel = new CopyModel({
    requestBytesPerSecond: (options.shaping?.copyMiBps ?? 0) * 1024 * 1024,
    pairBytesPerSecond: (options.shaping?.pairMiBps ?? 0) * 1024 * 1024,
  });
  const s3: S3Gateway = await startS3Gateway({
    bucketRegions,
    account: SANDBOX_ACCOUNT,
    bucketOwners: bucketOwnersOf(options.config),
    onEvent: (event) => bus.put(event),
    now: clock.now,
    faults,
    copyModel,
  });
  s3Lookup = s3;
  const requests = new Map<string, number>();
  const s3Span: S3Span = {};
  const ec2 = new FakeEc2({
    account: SANDBOX_ACCOUNT,
    clock,
    random: seededRandom((options.seed ?? 7) + 3),
    ...options.ec2,
    onEvent: (event) => bus.put(event),
    ...(eventDriven ? { wakeAt: (at: number, wake: () => void) => void clock.until(at).then(wake) } : {}),
  });
  ec2Lookup = ec2;
  const sts = new SandboxSts();
  const latencyMs = options.shaping?.latencyMs ?? 0;

  server.on('request', (req, res) => {
    const url = new URL(req.url ?? '/', endpoint);
    if (url.pathname === '/__ferry/requests') return answerRequestCounts(req.method ?? 'GET', res, requests);
    if (url.pathname === '/__ferry/copy-model')
      return answerCopyModel(req.method ?? 'GET', res, copyModel, s3Span);
    const scope = signingScopeOf(req.headers, url);
    const service = scope?.service ?? 's3';
    if (service === 's3') {
      const operation = s3OperationOf(req.method ?? 'GET', rawPathOf(req.url), url.searchParams, req.headers);
      requests.set(operation, (requests.get(operation) ?? 0) + 1);
      s3Span.first ??= performance.now();
      res.once('finish', () => {
        s3Span.last = performance.now();
      });
    }
    const delay =
      latencyMs > 0 ? new Promise((resolve) => setTimeout(resolve, latencyMs)) : Promise.resolve();
    const answer =
      service === 's3'
        ? delay.then(() => s3.handle(req, res, url, scope))
        : service === 'ec2'
          ? ec2.handle(req, res, url, scope)
          : service === 'dynamodb'
            ? dynamoDb.serve(req, res)
            : service === 'states' && scope
              ? serveStepFunctions(stepFunctions, SANDBOX_ACCOUNT, req, res, scope)
              : service === 'sqs' && scope
                ? serveDeadLetters(bus, SANDBOX_ACCOUNT, req, res, scope)
                : service === 'events' && scope
                  ? serveEvents(bus, SANDBOX_ACCOUNT, clock.now, req, res, scope)
                  : service === 'monitoring'
                    ? serveCloudWatch(
                        rpoMetrics,
                        metricServiceOf(deployment.stage, deployment.service),
                        req,
                        res,
                      )
                    : service === 'lambda'
                      ? serveLambda(bus, req, res, url)
                      : service === 'sts'
                        ? sts.handle(req, res, url)
                        : Promise.resolve(
                            sendError(res, {
                              status: 400,
                              code: 'UnsupportedService',
                              message: `The Ferry sandbox does not serve "${service}"`,
                            }),
                          );
    answer.catch((error: Error) => {
      if (!res.headersSent) sendError(res, { status: 500, code: 'InternalError', message: error.message });
      else res.destroy(error);
    });
  });

  // A last resort for a moment of idleness no event announced (the handlers' own work ended, say).
  const idleWatch = setInterval(() => stepFunctions.poke(), 20);
  idleWatch.unref();

  // Events start executions and executions write objects (new events): wait until both are quiet.
  const settle = async () => {
    do {
      await ec2.settle();
      await bus.drain();
      await objectCreatedQueue?.drain();
      await stepFunctions.settle();
    } while (bus.pendingDeliveries > 0 || stepFunctions.running > 0 || (objectCreatedQueue?.depth ?? 0) > 0);
  };

  const iamRequests = () => [
    ...recorder.calls.flatMap((call) => requestsOf(call, { account: SANDBOX_ACCOUNT })),
    ...machineRequests,
    ...pollerRequests,
  ];
  // The rules as the package would deploy what this sandbox runs: with its delivery queue, queue delivery
  // (objectCreatedBatch and its role), so that the recorded calls are proven against that role.
  const deployedConfig: FerryConfig = objectCreatedQueue
    ? {
        ...options.config,
        deployment: {
          ...options.config.deployment,
          delivery: { ...options.config.deployment.delivery, mode: 'queue' },
        },
      }
    : options.config;
  const writeIamRequests = () => {
    const dir = process.env[IAM_CALLS_DIR_VARIABLE];
    if (!dir) return;
    mkdirSync(dir, { recursive: true });
    const base = `${dir}/iam-requests-${process.pid}-${port}-${randomUUID().slice(0, 8)}`;
    writeFileSync(
      `${base}.config.json`,
      `${JSON.stringify({ config: deployedConfig, account: SANDBOX_ACCOUNT, deployment }, null, 2)}\n`,
    );
    const lines = iamRequests().map((request) => JSON.stringify(request));
    appendFileSync(`${base}.jsonl`, lines.length > 0 ? `${lines.join('\n')}\n` : '');
  };

  const ec2Clients = new Map<string, EC2Client>();
  const publishInventory: Sandbox['publishInventory'] = async (sourceBucket, location, options = {}) => {
    const report = s3.inventory(sourceBucket, {
      destination: location,
      configId: location.configId,
      ...options,
    });
    const client = userS3(s3.regionOf(report.bucket) ?? homeRegion);
    for (const { key, body } of report.objects)
      await client.send(new PutObjectCommand({ Bucket: report.bucket, Key: key, Body: body }));
    return report.manifestKey;
  };
  return {
    endpoint,
    port,
    bus,
    faults,
    stepFunctions,
    clock,
    metrics,
    rpoMetrics,
    rpoMonitor: sandboxRpoMonitor({
      clock,
      run: async (at) => {
        rpoPasses += 1;
        // A scheduled pass runs as of its time: the window it judges is the one that closed then.
        monitorAt = at;
        try {
          return await recorder.run('rpoMonitor', () => rpoMonitor({}, lambdaContext('ferry-rpo-monitor')));
        } finally {
          monitorAt = undefined;
          rpoPasses -= 1;
          stepFunctions.poke();
        }
      },
    }),
    copySweep: scheduledPasses({
      clock,
      // The schedule's rate (deploy/template-parts.ts): here at each period's end on the virtual clock.
      nextAt: (now) => windowOf(now, SWEEP_PERIOD_MS).end,
      run: async () => {
        if (!eventDriven) throw new Error('the copy sweep runs in events mode only');
        sweepPasses += 1;
        try {
          return await recorder.run('ec2CopySweep', () =>
            ec2CopySweep({}, lambdaContext('ferry-ec2-copy-sweep')),
          );
        } finally {
          sweepPasses -= 1;
          stepFunctions.poke();
        }
      },
    }),
    requests,
    ec2,
    dynamoDb,
    crashes,
    get sdkRetries() {
      return sdkRetries;
    },
    bucketRegions,
    s3: userS3,
    ec2Client(region) {
      let client = ec2Clients.get(region);
      if (!client) {
        client = new EC2Client({ region, endpoint, credentials: SANDBOX_CREDENTIALS });
        ec2Clients.set(region, client);
      }
      return client;
    },
    ...(objectCreatedQueue ? { objectCreatedQueue } : {}),
    settle,
    expire: (bucket, key) => s3.expire(bucket, key),
    // As the scheduled function runs it (src/reconcile/handler.ts): rules with inventories by an inventory
    // run, started as the function's StartExecution; one listing pass over the others.
    reconcile: (reconcileOptions = {}, tuning = {}) => {
      const reconcileDeps = runtimes.reconcile.reconcileDeps({
        region: homeRegion,
        account: SANDBOX_ACCOUNT,
      });
      return recorder.run('reconcile', async () => {
        const { reports, inventoryRun } = await scheduledReconcile(
          reconcileOptions,
          reconcileDeps.rules,
          inventoryRuns,
          () => `scheduled-${randomUUID()}`,
          async (rules) => [
            await reconcile(reconcileOptions, {
              ...reconcileDeps,
              rules,
              objects: { ...withRpoTally(reconcileDeps.objects), ...tuning, metrics, now: clock.now },
              ec2: {
                snapshots: { ...reconcileDeps.ec2.snapshots, metrics },
                images: { ...reconcileDeps.ec2.images, metrics },
                now: clock.now,
              },
            }),
          ],
        );
        return {
          ...(reports[0] ?? { rules: [], next: undefined }),
          ...(inventoryRun ? { inventoryRun } : {}),
        };
      });
    },
    publishInventory,
    async publishInventories(request) {
      for (const rule of objectRulesOf(options.config)) {
        if (rule.objects.inventory)
          await publishInventory(rule.objects.bucket, rule.objects.inventory, request);
        for (const destination of rule.to)
          if (destination.inventory)
            await publishInventory(destination.bucket, destination.inventory, request);
      }
    },
    async reconcileInventory({ rule, shards, runId = `run-${randomUUID()}` } = {}) {
      const rules = objectRulesOf(options.config).filter(
        (candidate) => candidate.objects.inventory && (rule === undefined || candidate.name === rule),
      );
      const work = rules[0] ? workLocationOf(rules[0]) : undefined;
      if (!work) throw new Error(`no object rule${rule ? ` named ${rule}` : ''} names an inventory`);
      const { execution } = stepFunctions.start('inventory-reconcile', runId, {
        runId,
        work,
        ...(rule ? { rule } : {}),
        ...(shards ? { shards } : {}),
      });
      await execution.done;
      const results = (execution.output as { results?: unknown } | undefined)?.results;
      return {
        execution,
        report: results ? await reportFromResults(userS3(homeRegion), results) : undefined,
      };
    },
    account: SANDBOX_ACCOUNT,
    deployment,
    calls: () => recorder.calls,
    iamRequests,
    sts,
    async stop() {
      try {
        await settle();
        // A call without a mapping fails the write (UnmappedOperationError); the sandbox shuts down all the same.
        writeIamRequests();
      } finally {
        clearInterval(idleWatch);
        objectCreatedQueue?.stop();
        for (const client of [...clients.values(), ...ec2Clients.values()]) client.destroy();
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        await s3.close();
      }
    },
  };
}
