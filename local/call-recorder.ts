import { AsyncLocalStorage } from 'node:async_hooks';
import type { FunctionName } from '#deploy/iam/types';
import { parseCopySource } from '#deploy/iam-proof/authorization';
import type { RecordedCall, ResourceState } from '#deploy/iam-proof/recorded-call';
import type { AwsTarget, StsPlugins } from '#foundation/aws-clients';

/**
 * Every AWS call each Ferry function makes in the sandbox, as IAM would see it: who (the function, or a
 * destination's role it assumed), which service and operation, the request fields that decide the
 * authorization, the Region, and how the call ended. deploy/iam-proof/authorization.ts turns each into the
 * IAM requests it needs; the evaluator checks them against the generated policies.
 *
 * The sandbox runs every handler in this one process, so calls are attributed by context: each invocation
 * runs inside `run(functionName, …)` (AsyncLocalStorage follows it through every await), and a middleware
 * on each SDK client reads the function when a call starts. A call made outside any function is a bug in
 * the wiring, not a call to drop: it fails with `UnattributedCallError`.
 *
 * Cheap by design: the recorded input is a shallow pick of small request fields (never a body, never a
 * clone), so recording does not slow the tests.
 */

/**
 * The fields kept from a request: those IAM authorizes on (resources, the condition keys they carry), per
 * the Service Authorization Reference's columns. Everything else (metadata, bodies, checksums) is left out.
 */
const AUTHORIZING_FIELDS = new Set([
  // SQS: the queue is named by its URL
  'QueueUrl',
  // S3
  'Bucket',
  'Key',
  'VersionId',
  'CopySource',
  'Prefix',
  'UploadId',
  'TaggingDirective',
  'Tagging',
  'MetadataDirective',
  'ACL',
  'GrantFullControl',
  'GrantRead',
  'ServerSideEncryption',
  'SSEKMSKeyId',
  'BucketKeyEnabled',
  'RequestPayer',
  'ExpectedBucketOwner',
  'ExpectedSourceBucketOwner',
  'ObjectLockMode',
  'ObjectLockRetainUntilDate',
  'ObjectLockLegalHoldStatus',
  // EC2
  'SourceRegion',
  'SourceSnapshotId',
  'SourceImageId',
  'SnapshotId',
  'SnapshotIds',
  'ImageId',
  'ImageIds',
  'OwnerIds',
  'Owners',
  'Resources',
  'Tags',
  'TagSpecifications',
  'Encrypted',
  'KmsKeyId',
  'CopyImageTags',
  'Attribute',
  'OperationType',
  'UserIds',
  'CreateVolumePermission',
  'LaunchPermission',
  'StorageTier',
  // STS
  'RoleArn',
  'RoleSessionName',
  'ExternalId',
  // DynamoDB: the table is named by its name, a Query on an index by the index's too
  'TableName',
  'IndexName',
  // Step Functions
  'stateMachineArn',
  'executionArn',
  'name',
  // CloudWatch
  'Namespace',
]);

/** Answer fields that name what a call created. */
const NAMING_OUTPUT_FIELDS = [
  'UploadId',
  'SnapshotId',
  'ImageId',
  'VersionId',
  'executionArn',
  // Not names, but answers S3 gives only with a permission: a HEAD shows a version's Object Lock only to a
  // caller with s3:GetObjectRetention / s3:GetObjectLegalHold, so the proof asks for them where Ferry read one.
  'ObjectLockMode',
  'ObjectLockLegalHoldStatus',
] as const;

/** The ids of the EC2 resources a request names, in the Region they are in. */
function ec2ResourceIds(operation: string, region: string, input: Record<string, unknown>) {
  const ids: { id: string; region: string }[] = [];
  const add = (id: unknown, at = region) => {
    if (typeof id === 'string') ids.push({ id, region: at });
  };
  const sourceRegion = typeof input.SourceRegion === 'string' ? input.SourceRegion : region;
  if ((operation === 'CreateTags' || operation === 'DeleteTags') && Array.isArray(input.Resources))
    for (const id of input.Resources) add(id);
  if (['DeleteSnapshot', 'ModifySnapshotTier', 'ModifySnapshotAttribute', 'LockSnapshot'].includes(operation))
    add(input.SnapshotId);
  if (
    [
      'DeregisterImage',
      'ModifyImageAttribute',
      'EnableImageDeregistrationProtection',
      'EnableImageDeprecation',
    ].includes(operation)
  )
    add(input.ImageId);
  if (operation === 'CopySnapshot') add(input.SourceSnapshotId, sourceRegion);
  if (operation === 'CopyImage') add(input.SourceImageId, sourceRegion);
  return ids;
}

/** A call the recorder saw outside any function's invocation. */
export class UnattributedCallError extends Error {
  constructor(readonly call: string) {
    super(
      `${call} was made outside any Ferry function's invocation: the sandbox must run every handler in ` +
        'CallRecorder.run(functionName, …) so that its calls are checked against its IAM policy',
    );
    this.name = 'UnattributedCallError';
  }
}

interface MiddlewareStackLike {
  add(
    middleware: (next: Handler, context: HandlerContext) => Handler,
    options: { step: 'initialize'; name: string; override?: boolean },
  ): void;
}
type Handler = (args: { input: object }) => Promise<{ output: unknown }>;
interface HandlerContext {
  clientName?: string;
  commandName?: string;
}

export interface CallRecorderOptions {
  /** The EC2 resource with this id in this Region as it is now (the sandbox's fake EC2), if it exists. */
  ec2Resource?: (region: string, id: string) => Omit<ResourceState, 'region'> | undefined;
  /** The S3 object a copy reads, as it is now (the sandbox's S3): its bucket's Region, its encryption. */
  s3Object?: (bucket: string, key: string, versionId?: string) => RecordedCall['copySource'];
}

const serviceOf = (clientName: string | undefined): string => {
  const name = (clientName ?? '').replace(/Client$/, '').toLowerCase();
  // The signing names: Step Functions signs as `states`, CloudWatch as `monitoring`, EventBridge as `events`.
  return name === 'sfn'
    ? 'states'
    : name === 'cloudwatch'
      ? 'monitoring'
      : name === 'eventbridge'
        ? 'events'
        : name;
};

export class CallRecorder {
  /** Every call recorded since the start, in the order the calls started. */
  readonly calls: RecordedCall[] = [];
  /** Calls made outside any function: each also failed with `UnattributedCallError`. */
  readonly unattributed: string[] = [];
  private readonly current = new AsyncLocalStorage<FunctionName>();
  private readonly uploads = new Map<string, NonNullable<RecordedCall['upload']>>();

  constructor(private readonly options: CallRecorderOptions = {}) {}

  /** Runs one invocation of a function: every AWS call it makes (and its continuations make) is its. */
  run<T>(fn: FunctionName, invocation: () => T): T {
    return this.current.run(fn, invocation);
  }

  /** The function whose invocation is running, or the named error. */
  functionNow(call: string): FunctionName {
    const fn = this.current.getStore();
    if (!fn) {
      this.unattributed.push(call);
      throw new UnattributedCallError(call);
    }
    return fn;
  }

  /** For `AwsClientOptions.instrument`: records every call the client makes, as made for this target. */
  instrument = <T>(client: T, target: AwsTarget): T => {
    const stack = (client as { middlewareStack?: MiddlewareStackLike }).middlewareStack;
    if (!stack) throw new TypeError('CallRecorder.instrument: not an AWS SDK v3 client');
    this.addTo(stack, target, target.roleArn ? 'assumed' : 'own');
    return client;
  };

  /** For `AwsClientOptions.assumeRolePlugins`: the STS client asks with the function's own credentials. */
  assumeRolePlugins = (target: AwsTarget): StsPlugins => [
    { applyToStack: (stack) => this.addTo(stack as unknown as MiddlewareStackLike, target, 'own') },
  ];

  /**
   * A call the sandbox answers in this process instead of over HTTP (its Step Functions): recorded as the
   * running function's, as the SDK call it stands for would be.
   */
  recordInProcess(call: Omit<RecordedCall, 'function' | 'principal'>): void {
    const fn = this.functionNow(`${call.service}:${call.operation}`);
    this.calls.push({ ...call, function: fn, principal: { function: fn } });
  }

  private addTo(stack: MiddlewareStackLike, target: AwsTarget, credentials: 'own' | 'assumed'): void {
    stack.add(
      (next, context) => async (args) => {
        const service = serviceOf(context.clientName);
        const operation = (context.commandName ?? 'Unknown').replace(/Command$/, '');
        const fn = this.functionNow(`${service}:${operation}`);
        const input = args.input as Record<string, unknown>;
        const picked: Record<string, unknown> = {};
        for (const field in input) if (AUTHORIZING_FIELDS.has(field)) picked[field] = input[field];
        const call: RecordedCall = {
          function: fn,
          principal:
            credentials === 'assumed' && target.roleArn
              ? { role: target.roleArn, via: fn }
              : { function: fn },
          service,
          operation,
          region: target.region,
          input: picked,
          outcome: {},
        };
        if (service === 'ec2') this.noteResources(call, operation, input);
        if (typeof input.CopySource === 'string' && this.options.s3Object) {
          const source = parseCopySource(input.CopySource);
          const state = this.options.s3Object(source.bucket, source.key, source.versionId);
          if (state) call.copySource = state;
        }
        const upload = typeof input.UploadId === 'string' ? this.uploads.get(input.UploadId) : undefined;
        if (upload) call.upload = upload;
        this.calls.push(call);
        try {
          const result = await next(args);
          const output = result.output as Record<string, unknown> & {
            $metadata?: { httpStatusCode?: number };
          };
          call.outcome.status = output.$metadata?.httpStatusCode;
          const named: Record<string, unknown> = {};
          for (const field of NAMING_OUTPUT_FIELDS)
            if (output[field] !== undefined) named[field] = output[field];
          if (Object.keys(named).length > 0) call.output = named;
          if (operation === 'CreateMultipartUpload' && typeof output.UploadId === 'string') {
            this.uploads.set(output.UploadId, {
              ...(typeof input.ServerSideEncryption === 'string' ? { sse: input.ServerSideEncryption } : {}),
              ...(typeof input.SSEKMSKeyId === 'string' ? { kmsKeyId: input.SSEKMSKeyId } : {}),
            });
          }
          return result;
        } catch (error) {
          const failure = error as Error & { $metadata?: { httpStatusCode?: number } };
          call.outcome.status = failure.$metadata?.httpStatusCode;
          call.outcome.error = failure.name;
          throw error;
        }
      },
      { step: 'initialize', name: 'ferryCallRecorder', override: true },
    );
  }

  private noteResources(call: RecordedCall, operation: string, input: Record<string, unknown>): void {
    const lookup = this.options.ec2Resource;
    if (!lookup) return;
    const resources: Record<string, ResourceState> = {};
    for (const { id, region } of ec2ResourceIds(operation, call.region, input)) {
      const state = lookup(region, id);
      if (state) resources[id] = { region, ...state };
    }
    if (Object.keys(resources).length > 0) call.resources = resources;
  }
}
