// Ferry's copier as one process, the way a peer tool is one command: read the source (as its event would
// describe it), then run the real object-copy state machine with the real step handler until it ends.

import { parseArgs } from 'node:util';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { SANDBOX_CREDENTIALS } from '#foundation/sandbox-credentials';
import { LocalStepFunctions } from '#local/step-functions';
import { seededRandom, VirtualClock } from '#local/virtual-clock';
import { executionNameOf } from '#objects/copy-machine/contract';
import { createObjectCopyStepHandler } from '#objects/handlers/object-copy-step';
import { planCopies } from '#objects/router';
import { objectRulesOf } from '#rules/config';
import { parseConfig } from '#rules/load';
import { createRuntime } from '#wiring';

const { values } = parseArgs({
  options: {
    endpoint: { type: 'string' },
    from: { type: 'string' },
    to: { type: 'string' },
    key: { type: 'string' },
    mode: { type: 'string', default: 'multipart' },
    // A fixed part size (copy.partSize), to compare with the parts Ferry derives from the size by default.
    'part-size': { type: 'string' },
  },
});
const { endpoint, from, to, key, mode } = values;
if (!endpoint || !from || !to || !key || (mode !== 'multipart' && mode !== 'single')) {
  console.error(
    'usage: ferry-copy --endpoint URL --from BUCKET --to BUCKET --key KEY [--mode multipart|single] [--part-size BYTES]',
  );
  process.exit(2);
}
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

const step = createObjectCopyStepHandler(tools, copyStepDeps);
const stepFunctions = new LocalStepFunctions({
  functions: { ObjectCopyStepLambdaFunction: (input) => step(input as never, {} as never) },
  clock: new VirtualClock(),
  random: seededRandom(1),
  validate: false,
});
const job = { mode, plan, source, reason: 'benchmark' } as const;
const { execution } = stepFunctions.start(
  'object-copy',
  executionNameOf(job),
  JSON.parse(JSON.stringify(job)),
);
await execution.done;
if (execution.status !== 'SUCCEEDED') {
  console.error(`copy failed: ${execution.error?.Error}: ${execution.error?.Cause}`);
  process.exit(1);
}
