import { randomUUID } from 'node:crypto';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { valueAtPath } from './state-machines.ts';

/**
 * The Distributed Map for the sandbox. aws-local-stepfunctions runs a Map's ItemProcessor over an array in
 * the state's input, but has no ItemReader, ItemBatcher, ToleratedFailurePercentage or ResultWriter. So the
 * runner swaps each Distributed Map state of the real definition for a Task (same ResultPath, Next, End)
 * whose local handler does what Step Functions documents, against the sandbox's own S3:
 * - ItemReader (https://docs.aws.amazon.com/step-functions/latest/dg/input-output-itemreader.html):
 *   `arn:aws:states:::s3:getObject` with ReaderConfig InputType JSON: the object's JSON array is the items,
 *   ReaderConfig MaxItems the most read; a body that is no JSON array fails the state with
 *   States.ItemReaderFailed;
 * - ItemBatcher (https://docs.aws.amazon.com/step-functions/latest/dg/input-output-itembatcher.html): each
 *   child gets `{ Items: [...], BatchInput }`, at most MaxItemsPerBatch items;
 * - MaxConcurrency children at once (0: no bound of its own);
 * - ToleratedFailurePercentage (https://docs.aws.amazon.com/step-functions/latest/dg/maprun-fail-threshold.html):
 *   more failed children than that share fails the state with States.ExceedToleratedFailureThreshold;
 * - ResultWriter (https://docs.aws.amazon.com/step-functions/latest/dg/input-output-resultwriter.html):
 *   `PREFIX/MAP-RUN-ID/manifest.json` and one `SUCCEEDED_0.json` / `FAILED_0.json` per status (JSON arrays of
 *   the child executions, Input and Output as JSON strings), and the state's output
 *   `{ MapRunArn, ResultWriterDetails: { Bucket, Key } }`.
 * What it refuses rather than misrun: other ItemReader sources (CSV, MANIFEST, listObjectsV2), ItemSelector,
 * MaxInputBytesPerBatch, WriterConfig, ToleratedFailureCount.
 */

/** The Task resource that stands for a Distributed Map state of the definition. */
export const DISTRIBUTED_MAP_RESOURCE = 'arn:aws:states:local:000000000000:ferry-distributed-map';

type StateBody = Record<string, unknown>;

export interface DistributedMapState {
  name: string;
  body: StateBody;
}

/** A Distributed Map that uses what the sandbox does not emulate. */
export class DistributedMapNotEmulatedError extends Error {
  constructor(state: string, what: string) {
    super(`Distributed Map ${state}: the sandbox does not emulate ${what}`);
    this.name = 'DistributedMapNotEmulatedError';
  }
}

const UNSUPPORTED = [
  'ItemSelector',
  'Parameters',
  'ItemsPath',
  'ToleratedFailureCount',
  'ToleratedFailureCountPath',
];

/**
 * The definition with every top-level Distributed Map swapped for a Task of DISTRIBUTED_MAP_RESOURCE (the
 * Map's fields the emulation needs are kept in `maps`), checked for what the emulation can run.
 */
export function withDistributedMapsAsTasks(definition: Record<string, unknown>): {
  definition: Record<string, unknown>;
  maps: Map<string, DistributedMapState>;
} {
  const copy = structuredClone(definition);
  const maps = new Map<string, DistributedMapState>();
  const states = (copy.States ?? {}) as Record<string, StateBody>;
  for (const [name, body] of Object.entries(states)) {
    const processor = body.ItemProcessor as { ProcessorConfig?: { Mode?: string } } | undefined;
    if (body.Type !== 'Map' || processor?.ProcessorConfig?.Mode !== 'DISTRIBUTED') continue;
    for (const field of UNSUPPORTED) if (field in body) throw new DistributedMapNotEmulatedError(name, field);
    const reader = body.ItemReader as
      | { Resource?: string; ReaderConfig?: { InputType?: string } }
      | undefined;
    if (
      reader &&
      (reader.Resource !== 'arn:aws:states:::s3:getObject' || reader.ReaderConfig?.InputType !== 'JSON')
    )
      throw new DistributedMapNotEmulatedError(name, 'an ItemReader other than s3:getObject of a JSON array');
    const batcher = body.ItemBatcher as Record<string, unknown> | undefined;
    if (batcher && (batcher.MaxInputBytesPerBatch !== undefined || batcher.MaxItemsPerBatch === undefined))
      throw new DistributedMapNotEmulatedError(name, 'an ItemBatcher without MaxItemsPerBatch, or by bytes');
    const writer = body.ResultWriter as Record<string, unknown> | undefined;
    if (writer && (writer.WriterConfig !== undefined || writer.Resource !== 'arn:aws:states:::s3:putObject'))
      throw new DistributedMapNotEmulatedError(
        name,
        'a ResultWriter other than s3:putObject without WriterConfig',
      );
    maps.set(name, { name, body });
    const task: StateBody = {
      Type: 'Task',
      Resource: `${DISTRIBUTED_MAP_RESOURCE}:${name}`,
      // The map runs as long as its children; the execution's own timeout bounds it.
      TimeoutSeconds: 86_400,
    };
    for (const field of [
      'InputPath',
      'ResultPath',
      'ResultSelector',
      'OutputPath',
      'Next',
      'End',
      'Retry',
      'Catch',
    ])
      if (field in body) task[field] = body[field];
    states[name] = task;
  }
  return { definition: copy, maps };
}

/** A JSONPath payload template of the simple kind (`key.$: $.a.b`), as Parameters and BatchInput use it. */
function resolve(template: Record<string, unknown> | undefined, input: unknown): Record<string, unknown> {
  const resolved: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(template ?? {})) {
    if (key.endsWith('.$')) resolved[key.slice(0, -2)] = valueAtPath(String(value), input);
    else resolved[key] = value;
  }
  return resolved;
}

/** A named failure of the Map state, as Step Functions names it. */
class MapStateError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

export interface ChildRun {
  status: 'SUCCEEDED' | 'FAILED';
  output?: unknown;
  error?: { Error: string; Cause: string };
}

export interface DistributedMapRuntime {
  /** The sandbox's S3, in the state machine's Region (ResultWriter writes only there). */
  s3: S3Client;
  /** Runs the ItemProcessor once, on one child's input, with the real Task handlers. */
  runChild: (input: unknown) => Promise<ChildRun>;
  /** The parent's state machine ARN and execution name (for the map run's and children's ARNs). */
  stateMachineArn: string;
  executionName: string;
  now: () => number;
  /**
   * Each authorization the map's own calls need from the machine's role, as Step Functions makes them
   * (https://docs.aws.amazon.com/step-functions/latest/dg/iam-policies-eg-dist-map.html): ItemReader's
   * s3:GetObject, each child's states:StartExecution, ResultWriter's s3:PutObject.
   */
  record?: (authorization: { action: string; resource: string; call: string }) => void;
}

async function readItems(
  map: DistributedMapState,
  input: unknown,
  s3: S3Client,
  record: DistributedMapRuntime['record'],
): Promise<unknown[]> {
  const reader = map.body.ItemReader as
    | { Parameters?: Record<string, unknown>; ReaderConfig?: { MaxItems?: number } }
    | undefined;
  if (!reader) {
    if (!Array.isArray(input))
      throw new MapStateError('States.Runtime', `${map.name}: the input is no array`);
    return input;
  }
  const { Bucket, Key, VersionId } = resolve(reader.Parameters, input) as {
    Bucket: string;
    Key: string;
    VersionId?: string;
  };
  record?.({ action: 's3:GetObject', resource: `arn:aws:s3:::${Bucket}/${Key}`, call: 'states:ItemReader' });
  let items: unknown;
  try {
    const answer = await s3.send(new GetObjectCommand({ Bucket, Key, ...(VersionId ? { VersionId } : {}) }));
    items = JSON.parse((await answer.Body?.transformToString('utf8')) ?? '');
  } catch (error) {
    throw new MapStateError(
      'States.ItemReaderFailed',
      `${map.name}: s3://${Bucket}/${Key}: ${(error as Error).message}`,
    );
  }
  if (!Array.isArray(items))
    throw new MapStateError(
      'States.ItemReaderFailed',
      `${map.name}: s3://${Bucket}/${Key} holds no JSON array`,
    );
  const most = reader.ReaderConfig?.MaxItems;
  return most ? items.slice(0, most) : items;
}

function batchesOf(map: DistributedMapState, items: unknown[], input: unknown): unknown[] {
  const batcher = map.body.ItemBatcher as
    | { MaxItemsPerBatch: number; BatchInput?: Record<string, unknown> }
    | undefined;
  if (!batcher) return items;
  const batchInput = batcher.BatchInput ? resolve(batcher.BatchInput, input) : undefined;
  const batches: unknown[] = [];
  for (let start = 0; start < items.length; start += batcher.MaxItemsPerBatch)
    batches.push({
      Items: items.slice(start, start + batcher.MaxItemsPerBatch),
      ...(batchInput ? { BatchInput: batchInput } : {}),
    });
  return batches;
}

/** Runs `work` over every input, at most `limit` at once (0: all at once), keeping their order. */
async function boundedAll<T, R>(
  inputs: readonly T[],
  limit: number,
  work: (input: T, index: number) => Promise<R>,
) {
  const results: R[] = new Array(inputs.length);
  let next = 0;
  const worker = async () => {
    while (next < inputs.length) {
      const index = next++;
      results[index] = await work(inputs[index] as T, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(inputs.length, limit || inputs.length) }, worker));
  return results;
}

/** Runs one Distributed Map state on its input: read, batch, run the children, export, judge. */
export async function runDistributedMap(
  map: DistributedMapState,
  input: unknown,
  runtime: DistributedMapRuntime,
): Promise<unknown> {
  const items = await readItems(map, input, runtime.s3, runtime.record);
  const childInputs = batchesOf(map, items, input);
  const mapRunId = randomUUID();
  const mapRunArn = `${runtime.stateMachineArn.replace(':stateMachine:', ':mapRun:')}/${map.name}:${mapRunId}`;
  const children = await boundedAll(
    childInputs,
    Number(map.body.MaxConcurrency ?? 0),
    async (childInput, index) => {
      const startDate = new Date(runtime.now()).toISOString();
      runtime.record?.({
        action: 'states:StartExecution',
        resource: runtime.stateMachineArn,
        call: 'states:StartExecution',
      });
      const run = await runtime.runChild(childInput);
      const name = `${mapRunId}:${index}`;
      return {
        run,
        record: {
          ExecutionArn: `${runtime.stateMachineArn.replace(':stateMachine:', ':execution:')}/${map.name}:${name}`,
          Input: JSON.stringify(childInput),
          InputDetails: { Included: true },
          Name: name,
          ...(run.status === 'SUCCEEDED'
            ? { Output: JSON.stringify(run.output ?? null), OutputDetails: { Included: true } }
            : { Error: run.error?.Error ?? 'States.TaskFailed', Cause: run.error?.Cause ?? '' }),
          RedriveCount: 0,
          RedriveStatus: 'NOT_REDRIVABLE',
          StartDate: startDate,
          StateMachineArn: runtime.stateMachineArn,
          Status: run.status,
          StopDate: new Date(runtime.now()).toISOString(),
        },
      };
    },
  );
  const failed = children.filter(({ run }) => run.status === 'FAILED').length;
  const output = await exportResults(
    map,
    input,
    runtime,
    mapRunId,
    mapRunArn,
    children.map(({ record }) => record),
  );
  const tolerated = Number(map.body.ToleratedFailurePercentage ?? 0);
  if (children.length > 0 && (failed / children.length) * 100 > tolerated)
    throw new MapStateError(
      'States.ExceedToleratedFailureThreshold',
      `${map.name}: ${failed} of ${children.length} child executions failed, over the ${tolerated}% tolerated`,
    );
  return output ?? children.map(({ run }) => run.output);
}

/** ResultWriter's export, or undefined when the map writes none (its output is then the children's). */
async function exportResults(
  map: DistributedMapState,
  input: unknown,
  runtime: DistributedMapRuntime,
  mapRunId: string,
  mapRunArn: string,
  records: { Status: string }[],
): Promise<unknown> {
  const writer = map.body.ResultWriter as { Parameters?: Record<string, unknown> } | undefined;
  if (!writer) return undefined;
  const { Bucket, Prefix } = resolve(writer.Parameters, input) as { Bucket: string; Prefix?: string };
  const folder = `${Prefix ? `${String(Prefix).replace(/\/+$/, '')}/` : ''}${mapRunId}/`;
  const put = async (key: string, body: string) => {
    runtime.record?.({
      action: 's3:PutObject',
      resource: `arn:aws:s3:::${Bucket}/${key}`,
      call: 'states:ResultWriter',
    });
    await runtime.s3.send(
      new PutObjectCommand({ Bucket, Key: key, Body: body, ContentType: 'application/json' }),
    );
    return { Key: key, Size: Buffer.byteLength(body) };
  };
  const files: Record<'FAILED' | 'PENDING' | 'SUCCEEDED', { Key: string; Size: number }[]> = {
    FAILED: [],
    PENDING: [],
    SUCCEEDED: [],
  };
  for (const status of ['SUCCEEDED', 'FAILED'] as const) {
    const ofStatus = records.filter((record) => record.Status === status);
    if (ofStatus.length > 0)
      files[status].push(await put(`${folder}${status}_0.json`, JSON.stringify(ofStatus)));
  }
  const manifestKey = `${folder}manifest.json`;
  await put(
    manifestKey,
    JSON.stringify({ DestinationBucket: Bucket, MapRunArn: mapRunArn, ResultFiles: files }),
  );
  return { MapRunArn: mapRunArn, ResultWriterDetails: { Bucket, Key: manifestKey } };
}
