import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Report } from '#objects/outcomes';
import { loadConfigFile } from '#rules/load';
import { runDemo } from './demo.ts';
import type { Delivery } from './event-bus.ts';
import { type FaultRates, parseFaultRates } from './faults.ts';
import { DEFAULT_PORT, SANDBOX_CREDENTIALS, startSandbox } from './sandbox.ts';
import type { Execution } from './step-functions.ts';

const USAGE = `Usage: npm start [-- --port N --config FILE --verbose --faults slowdown=0.1,embedded=0.05]
                                                  the sandbox, the demo, then keeps serving
       npm run demo                                    the same demo, then exits (non-zero on any failed check)`;

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: String(DEFAULT_PORT) },
    config: { type: 'string', default: fileURLToPath(new URL('./sandbox.replication.yml', import.meta.url)) },
    exit: { type: 'boolean', default: false },
    verbose: { type: 'boolean', default: false },
    faults: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}

const print = (line = '') => console.log(line);

/** One line per handler invocation, showing what the real handler decided for each destination. */
function describeDelivery(delivery: Delivery) {
  if (delivery.error) {
    print(`    ↳ ${delivery.target} attempt ${delivery.attempt} failed: ${delivery.error.message}`);
    return;
  }
  const report = delivery.result as Report | undefined;
  if (!report || report.outcomes.length === 0) return;
  for (const outcome of report.outcomes) {
    const what =
      outcome.status === 'failed'
        ? `failed (${outcome.error.cause})`
        : outcome.status === 'skipped'
          ? `skipped (${outcome.reason})`
          : outcome.status === 'handed-off'
            ? `handed to the state machine (${outcome.reason})`
            : outcome.status;
    print(`    ↳ ${delivery.target} [${outcome.rule}] ${what} → ${outcome.target}`);
  }
}

// The handlers' own JSON logs (Powertools) only with --verbose: the lines below already give each outcome.
process.env.POWERTOOLS_LOG_LEVEL ??= values.verbose ? 'INFO' : 'SILENT';

/** One line per finished object-copy execution: how it ended and how long it took on the virtual clock. */
function describeExecution(execution: Execution) {
  const retries = [...execution.retries.values()].reduce((a, b) => a + b, 0);
  const seconds = ((execution.virtualDurationMs ?? 0) / 1000).toFixed(1);
  const job = execution.input as {
    mode: string;
    plan: { destination: { bucket: string }; destinationKey: string };
  };
  const target = `s3://${job.plan.destination.bucket}/${job.plan.destinationKey}`;
  const ending =
    execution.status === 'FAILED' ? `FAILED (${execution.error?.Cause})` : execution.status.toLowerCase();
  print(
    `    ↳ object-copy (${job.mode}) ${ending} → ${target}, ${retries} retries, ${seconds} s of virtual time`,
  );
}

let faultRates: FaultRates = {};
try {
  faultRates = values.faults ? parseFaultRates(values.faults) : {};
} catch (error) {
  console.error(`--faults: ${(error as Error).message}`);
  process.exit(2);
}

const config = loadConfigFile(values.config);
const port = Number(values.port);
let sandbox: Awaited<ReturnType<typeof startSandbox>>;
try {
  sandbox = await startSandbox({
    config,
    port,
    onDelivery: describeDelivery,
    onExecutionEnd: describeExecution,
  });
} catch (error) {
  const code = (error as NodeJS.ErrnoException).code;
  console.error(
    code === 'EADDRINUSE'
      ? `Port ${port} is in use: start the sandbox on another one with  npm start -- --port 4567`
      : `The sandbox did not start: ${(error as Error).message}`,
  );
  process.exit(1);
}

sandbox.faults.setRates(faultRates);
print(`Ferry sandbox: S3 on ${sandbox.endpoint}`);
if (values.faults) print(`Faults injected into copy requests: ${values.faults}`);
for (const [bucket, region] of Object.entries(sandbox.bucketRegions)) print(`  bucket ${bucket} (${region})`);
print(
  `Rules (${values.config.split('/').pop()}): ${config.rules.map((r) => `${r.name} → ${r.to.length}`).join(', ')}`,
);
print();

const result = await runDemo(sandbox, print);
const { metrics } = sandbox;
const latencies = [...metrics.latenciesMs].sort((a, b) => a - b);
const median = latencies[Math.floor(latencies.length / 2)] ?? 0;
print();
print('Summary, verified by reading every replica back:');
for (const check of result.checks) print(`  ${check.ok ? '✔' : '✘'} ${check.label}: ${check.detail}`);
print(
  `Copies ${metrics.copies} · bytes ${metrics.bytes} · replicas deleted ${metrics.deletes} · ` +
    `failures ${[...metrics.failures.values()].reduce((a, b) => a + b, 0)} · dead letters ${sandbox.bus.deadLetters.length} · ` +
    `median latency ${median} ms`,
);
const executions = [...sandbox.stepFunctions.executions.values()];
print(
  `State machine: ${executions.filter((e) => e.status === 'SUCCEEDED').length} executions succeeded, ` +
    `${executions.filter((e) => e.status === 'FAILED').length} failed · faults injected ${[...sandbox.faults.injected.values()].reduce((a, b) => a + b, 0)} · ` +
    `virtual time skipped ${(sandbox.clock.skippedMs / 1000).toFixed(1)} s`,
);
print(result.ok ? 'Demo passed: every expected replica is present and exact.' : 'Demo FAILED: see ✘ above.');

if (values.exit) {
  await sandbox.stop();
  process.exit(result.ok ? 0 : 1);
}

print();
print(`The sandbox keeps serving on ${sandbox.endpoint} until Ctrl-C. Try it with the AWS CLI:`);
print(
  `  export AWS_ACCESS_KEY_ID=${SANDBOX_CREDENTIALS.accessKeyId} AWS_SECRET_ACCESS_KEY=${SANDBOX_CREDENTIALS.secretAccessKey}`,
);
print(`  echo hello > hello.txt`);
print(
  `  aws --endpoint-url ${sandbox.endpoint} --region us-east-1 s3 cp hello.txt s3://ferry-demo-source/docs/hello.txt`,
);
print(`  aws --endpoint-url ${sandbox.endpoint} --region us-west-2 s3 ls s3://ferry-demo-dr/mirror/docs/`);
print(
  `  aws --endpoint-url ${sandbox.endpoint} --region us-east-1 s3 rm s3://ferry-demo-source/docs/hello.txt`,
);
print();

const shutdown = async () => {
  print('Stopping the sandbox…');
  await sandbox.stop();
  process.exit(0);
};
process.once('SIGINT', shutdown);
process.once('SIGTERM', shutdown);
