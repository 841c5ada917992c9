import { fileURLToPath } from 'node:url';
import { parseCommandLine, USAGE_EXIT_CODE, UsageError } from '../cli/args.ts';
import { type DemoFaults, parseDemoFaults } from './demo-faults.ts';
import { EC2_FAULT_KINDS } from './ec2/faults.ts';
import { FAULT_KINDS } from './faults.ts';

/**
 * `npm start` / `npm run demo`. This module imports only what reading the command line needs: the sandbox
 * (the AWS SDK, the handlers, the fakes) takes seconds to load, so it is imported after the first line is
 * printed, and `--help` or a wrong option is answered at once.
 */

const USAGE = `Usage: npm start [-- --port N --config FILE --verbose --faults slowdown=0.1,throttle=0.1,limit=0.05]
                                                  the sandbox, the demo, then keeps serving
       npm run demo                                    the same demo, then exits (non-zero on any failed check)

--faults NAME=RATE,…  S3 faults (${FAULT_KINDS.join(', ')}) hit S3's copy requests;
                      EC2 faults (${EC2_FAULT_KINDS.join(', ')}) hit EC2 requests.
                      unavailable goes to both; write s3:unavailable or ec2:unavailable for one.
                      copy-error makes copies fail by design: the demo then checks that each of them
                      failed with that cause and left nothing behind.`;

const OPTIONS = {
  port: { type: 'string' },
  config: { type: 'string', default: fileURLToPath(new URL('./sandbox.replication.yml', import.meta.url)) },
  exit: { type: 'boolean', default: false },
  verbose: { type: 'boolean', default: false },
  faults: { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

/** A port the sandbox can listen on (0: any free one). */
function portOf(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65_535)
    throw new UsageError(`--port expects a port number (0–65535), got "${text}"`);
  return port;
}

let values: ReturnType<typeof parseCommandLine<typeof OPTIONS>>['values'];
let port: number | undefined;
let faults: DemoFaults;
try {
  ({ values } = parseCommandLine(process.argv.slice(2), OPTIONS, { allowPositionals: false }));
  port = portOf(values.port);
  try {
    faults = values.faults ? parseDemoFaults(values.faults) : { s3: {}, ec2: {} };
  } catch (error) {
    throw new UsageError(`--faults: ${(error as Error).message}`);
  }
} catch (error) {
  if (!(error instanceof UsageError)) throw error;
  console.error(`npm start: ${error.message}\n\n${USAGE}`);
  process.exit(USAGE_EXIT_CODE);
}
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}

const where = port === undefined ? '' : port === 0 ? ' on a free port' : ` on port ${port}`;
console.log(`Starting the Ferry sandbox${where}: loading the AWS SDK, the handlers and the fake services…`);

// The handlers' own JSON logs (Powertools) only with --verbose: the lines below already give each outcome.
process.env.POWERTOOLS_LOG_LEVEL ??= values.verbose ? 'INFO' : 'SILENT';

const { runSandboxSession } = await import('./sandbox-session.ts');
await runSandboxSession({ configFile: values.config, port, exit: values.exit, faults });
