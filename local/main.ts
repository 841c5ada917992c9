import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Report } from '#objects/outcomes';
import { loadConfigFile } from '#rules/load';
import { runDemo } from './demo.ts';
import type { Delivery } from './event-bus.ts';
import { DEFAULT_PORT, SANDBOX_CREDENTIALS, startSandbox } from './sandbox.ts';

const USAGE = `Usage: npm start [-- --port N --config FILE --verbose]   the sandbox, the demo, then keeps serving
       npm run demo                                    the same demo, then exits (non-zero on any failed check)`;

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: String(DEFAULT_PORT) },
    config: { type: 'string', default: fileURLToPath(new URL('./sandbox.replication.yml', import.meta.url)) },
    exit: { type: 'boolean', default: false },
    verbose: { type: 'boolean', default: false },
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
          : outcome.status;
    print(`    ↳ ${delivery.target} [${outcome.rule}] ${what} → ${outcome.target}`);
  }
}

// The handlers' own JSON logs (Powertools) only with --verbose: the lines below already give each outcome.
process.env.POWERTOOLS_LOG_LEVEL ??= values.verbose ? 'INFO' : 'SILENT';

const config = loadConfigFile(values.config);
const port = Number(values.port);
let sandbox: Awaited<ReturnType<typeof startSandbox>>;
try {
  sandbox = await startSandbox({ config, port, onDelivery: describeDelivery });
} catch (error) {
  const code = (error as NodeJS.ErrnoException).code;
  console.error(
    code === 'EADDRINUSE'
      ? `Port ${port} is in use: start the sandbox on another one with  npm start -- --port 4567`
      : `The sandbox did not start: ${(error as Error).message}`,
  );
  process.exit(1);
}

print(`Ferry sandbox: S3 on ${sandbox.endpoint}`);
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
