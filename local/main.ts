import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadConfigFile } from '#rules/load';
import { Narration, runDemo } from './demo.ts';
import { DEMO_EC2_OPTIONS } from './demo-ec2-expectations.ts';
import { type DemoFaults, describeRates, parseDemoFaults } from './demo-faults.ts';
import { EC2_FAULT_KINDS } from './ec2/faults.ts';
import { FAULT_KINDS } from './faults.ts';
import { DEFAULT_PORT, SANDBOX_CREDENTIALS, startSandbox } from './sandbox.ts';

const USAGE = `Usage: npm start [-- --port N --config FILE --verbose --faults slowdown=0.1,throttle=0.1,limit=0.05]
                                                  the sandbox, the demo, then keeps serving
       npm run demo                                    the same demo, then exits (non-zero on any failed check)

--faults NAME=RATE,…  S3 faults (${FAULT_KINDS.join(', ')}) hit S3's copy requests;
                      EC2 faults (${EC2_FAULT_KINDS.join(', ')}) hit EC2 requests.
                      unavailable goes to both; write s3:unavailable or ec2:unavailable for one.
                      copy-error makes copies fail by design: the demo then checks that each of them
                      failed with that cause and left nothing behind.`;

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

// The handlers' own JSON logs (Powertools) only with --verbose: the lines below already give each outcome.
process.env.POWERTOOLS_LOG_LEVEL ??= values.verbose ? 'INFO' : 'SILENT';

let faults: DemoFaults = { s3: {}, ec2: {} };
try {
  faults = values.faults ? parseDemoFaults(values.faults) : faults;
} catch (error) {
  console.error(`--faults: ${(error as Error).message}`);
  process.exit(2);
}

const config = loadConfigFile(values.config);
const port = Number(values.port);
const narration = new Narration(print);
let sandbox: Awaited<ReturnType<typeof startSandbox>>;
try {
  sandbox = await startSandbox({
    config,
    port,
    onDelivery: narration.onDelivery,
    onExecutionEnd: narration.onExecutionEnd,
    ec2: DEMO_EC2_OPTIONS,
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

sandbox.faults.setRates(faults.s3);
sandbox.ec2.faults.setRates(faults.ec2);
print(`Ferry sandbox: S3 and EC2 on ${sandbox.endpoint}`);
if (Object.keys(faults.s3).length > 0)
  print(`Faults injected into S3 copy requests: ${describeRates(faults.s3)}`);
if (Object.keys(faults.ec2).length > 0)
  print(`Faults injected into EC2 requests: ${describeRates(faults.ec2)}`);
for (const [bucket, region] of Object.entries(sandbox.bucketRegions)) print(`  bucket ${bucket} (${region})`);
print(
  `Rules (${values.config.split('/').pop()}): ${config.rules.map((r) => `${r.name} → ${r.to.length}`).join(', ')}`,
);
print();

const result = await runDemo(sandbox, narration, faults);
print();
const failedByDesign =
  result.ec2.failed > 0
    ? ` The ${result.ec2.failed} copies that the injected copy-error failed were reported with their cause and left nothing behind.`
    : '';
print(
  result.ok
    ? `Demo passed: every expected replica and copy is present and exact.${failedByDesign}`
    : 'Demo FAILED: see ✘ above.',
);

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
print(
  `  VOLUME=$(aws --endpoint-url ${sandbox.endpoint} --region us-east-1 ec2 create-volume --availability-zone us-east-1a ` +
    '--size 8 --query VolumeId --output text)',
);
print(
  `  aws --endpoint-url ${sandbox.endpoint} --region us-east-1 ec2 create-snapshot --volume-id $VOLUME ` +
    `--description "from the CLI" --tag-specifications 'ResourceType=snapshot,Tags=[{Key=backup,Value=dr}]'`,
);
print(
  `  aws --endpoint-url ${sandbox.endpoint} --region us-west-2 ec2 describe-snapshots --owner-ids self ` +
    `--filters Name=tag-key,Values=ferry:source-id --query 'Snapshots[].[SnapshotId,State,Progress,Description]' --output table`,
);
print();

const shutdown = async () => {
  print('Stopping the sandbox…');
  await sandbox.stop();
  process.exit(0);
};
process.once('SIGINT', shutdown);
process.once('SIGTERM', shutdown);
