import { copySweepEvents } from '#deploy/template-parts';
import { rpoRulesOf } from '#rpo/rules';
import type { FerryConfig } from '#rules/config';
import { InvalidConfigError, loadConfigFile } from '#rules/load';
import { Narration, runDemo } from './demo.ts';
import { DEMO_EC2_OPTIONS } from './demo-ec2-expectations.ts';
import { type DemoFaults, describeRates } from './demo-faults.ts';
import { DEFAULT_PORT, SANDBOX_CREDENTIALS, startSandbox } from './sandbox.ts';

/**
 * What `npm start` and `npm run demo` do once their command line is read (local/main.ts): start the sandbox,
 * run the demo, then keep serving (or exit with the demo's verdict). Loaded by main.ts only after it has
 * printed its first line: importing this module loads the AWS SDK, the handlers and the fakes, which takes
 * seconds.
 */
export interface SandboxSessionOptions {
  configFile: string;
  /** Undefined: the sandbox's default port. */
  port: number | undefined;
  /** Stop after the demo (`npm run demo`), exiting non-zero on any failed check. */
  exit: boolean;
  faults: DemoFaults;
}

export async function runSandboxSession(options: SandboxSessionOptions): Promise<void> {
  const print = (line = '') => console.log(line);
  const { faults } = options;
  let config: FerryConfig;
  try {
    config = loadConfigFile(options.configFile);
  } catch (error) {
    if (!(error instanceof InvalidConfigError)) throw error;
    console.error(error.message);
    process.exit(1);
  }
  const port = options.port ?? DEFAULT_PORT;
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
  for (const [bucket, region] of Object.entries(sandbox.bucketRegions))
    print(`  bucket ${bucket} (${region})`);
  print(
    `Rules (${options.configFile.split('/').pop()}): ${config.rules.map((r) => `${r.name} → ${r.to.length}`).join(', ')}`,
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

  if (options.exit) {
    await sandbox.stop();
    process.exit(result.ok ? 0 : 1);
  }

  // While it serves, the RPO backlog monitor runs at each minute of the virtual clock, as its schedule
  // runs it in AWS, when some rule sets `rpo` (its events appear on the bus: README, "Recovery-point objective").
  if (rpoRulesOf(config).length > 0) sandbox.rpoMonitor.start();
  // And the copy sweep each hour, as deployed: when some copy is waited for by event.
  if (copySweepEvents(config).length > 0) sandbox.copySweep.start();
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
}
