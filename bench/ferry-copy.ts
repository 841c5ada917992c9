// Ferry's copier as one process, the way a peer tool is one command: read the source (as its event would
// describe it), then run the real object-copy state machine with the real step handler until it ends.

import { AsyncLocalStorage } from 'node:async_hooks';
import { writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SANDBOX_CREDENTIALS } from '#foundation/sandbox-credentials';
import { LocalStepFunctions } from '#local/step-functions';
import { seededRandom, VirtualClock } from '#local/virtual-clock';
import { executionNameOf, SourceAttributesSchema } from '#objects/copy-machine/contract';
import { createObjectCopyStepHandler } from '#objects/handlers/object-copy-step';
import { planCopies } from '#objects/router';
import { objectRulesOf } from '#rules/config';
import { parseConfig } from '#rules/load';
import { createRuntime } from '#wiring';
import type { TimelineEntry } from './copy-timeline.ts';

const { values } = parseArgs({
  options: {
    endpoint: { type: 'string' },
    from: { type: 'string' },
    to: { type: 'string' },
    key: { type: 'string' },
    mode: { type: 'string', default: 'multipart' },
    // A fixed part size (copy.partSize), to compare with the parts Ferry derives from the size by default.
    'part-size': { type: 'string' },
    // Writes the copy's timeline (every S3 request and step invocation, ms from the start) to this file.
    timeline: { type: 'string' },
  },
});
const { endpoint, from, to, key, mode } = values;
if (!endpoint || !from || !to || !key || (mode !== 'multipart' && mode !== 'single')) {
  console.error(
    'usage: ferry-copy --endpoint URL --from BUCKET --to BUCKET --key KEY [--mode multipart|single] [--part-size BYTES]',
  );
  process.exit(2);
}
// The timeline: when each S3 request was sent and answered, and each step invocation ran (bench only: it
// wraps the SDK client's send, which is what every step's request goes through).
const timeline: TimelineEntry[] = [];
const t0 = performance.now();
/** The step invocation a request belongs to (several run at once). */
const invocation = new AsyncLocalStorage<number>();
let invocations = 0;
if (values.timeline) {
  const send = S3Client.prototype.send as (...args: unknown[]) => Promise<unknown>;
  S3Client.prototype.send = async function (this: S3Client, ...args: unknown[]) {
    const start = performance.now() - t0;
    try {
      return await send.apply(this, args);
    } finally {
      // The bundler may suffix a class name with a digit.
      const name = (args[0] as object).constructor.name.replace(/Command\d*$/, '');
      const step = invocation.getStore();
      timeline.push({ kind: 's3', name, start, end: performance.now() - t0, ...(step ? { step } : {}) });
    }
  } as never;
}
const timed =
  <I, O>(name: (input: I) => string, run: (input: I) => Promise<O>) =>
  async (input: I) => {
    const start = performance.now() - t0;
    const step = ++invocations;
    try {
      return await invocation.run(step, () => run(input));
    } finally {
      if (values.timeline)
        timeline.push({ kind: 'step', name: name(input), start, end: performance.now() - t0, step });
    }
  };
process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
process.env.POWERTOOLS_TRACE_ENABLED ??= 'false';

const config = parseConfig(`
${values['part-size'] ? `copy: { partSize: ${Number(values['part-size'])} }` : ''}
rules:
  - name: bench
    objects: { bucket: ${from} }
    to: [ { bucket: ${to}, region: us-east-1 } ]
`);
// One process plays every Lambda invocation of the copy: its clients get sockets for all their parts in
// flight (each invocation's own clients would in AWS), not the SDK's 50 per client.
const { tools, deps, copyStepDeps } = createRuntime(config, {
  endpoint,
  credentials: SANDBOX_CREDENTIALS,
  maxSockets: 1024,
});
const step = createObjectCopyStepHandler(tools, copyStepDeps);
const stepFunctions = new LocalStepFunctions({
  functions: {
    ObjectCopyStepLambdaFunction: timed(
      (input) => (input as { action: string }).action,
      (input) => step(input as never, {} as never),
    ),
  },
  clock: new VirtualClock(),
  random: seededRandom(1),
  validate: false,
});
// The interpreter parses its definition before the copy starts: Step Functions has it from the deploy.
stepFunctions.preload('object-copy');
const head = await deps.s3({ region: 'us-east-1' }).send(new HeadObjectCommand({ Bucket: from, Key: key }));
const source = {
  bucket: from,
  key,
  region: 'us-east-1',
  account: '000000000000',
  size: head.ContentLength ?? 0,
  etag: (head.ETag ?? '').replaceAll('"', ''),
  versionId: undefined,
  sequencer: undefined,
  eventTime: new Date().toISOString(),
};
const [plan] = planCopies(objectRulesOf(config), source);
if (!plan) throw new Error('the benchmark rule does not match');

// As the object-created handler hands a multipart copy over: with the attributes its HEAD read.
const job = {
  mode,
  plan,
  source,
  reason: 'benchmark',
  ...(mode === 'multipart' ? { attributes: SourceAttributesSchema.parse(head) } : {}),
} as const;
const { execution } = stepFunctions.start(
  'object-copy',
  executionNameOf(job),
  JSON.parse(JSON.stringify(job)),
);
await execution.done;
if (values.timeline) {
  timeline.push({ kind: 'step', name: 'execution', start: 0, end: performance.now() - t0 });
  writeFileSync(values.timeline, JSON.stringify(timeline.sort((a, b) => a.start - b.start)));
}
if (execution.status !== 'SUCCEEDED') {
  console.error(`copy failed: ${execution.error?.Error}: ${execution.error?.Cause}`);
  process.exit(1);
}
