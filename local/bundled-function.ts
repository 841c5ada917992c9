// A function as `npm run package` deploys it (serverless.yml's esbuild options and plugins, through
// deploy/function-bundles.ts), run as Lambda runs it: a fresh Node process that imports the bundle at init,
// with only the variables it is given, then calls the handler once. What the process writes during that one
// invocation is kept apart from its init output, so that the real Powertools Logger and Metrics lines of ONE
// invocation can be counted (the in-process sandbox serves concurrent invocations in one process, where one
// Metrics instance aggregates across them). Used by test/integration/bundled-functions.test.ts and by
// `npm run bench -- requests` (bench/log-volume.ts).
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import {
  bundleExtensionOf,
  functionBuildOptions,
  functionEntryOf,
  type ServerlessFile,
} from '#deploy/function-bundles';
import { metricServiceOf } from '#foundation/observability/powertools';
import { compileRules } from '#rules/load';

export interface FunctionBundle {
  file: string;
  /** The source files esbuild put in the bundle. */
  inputs: string[];
}

/** Builds one function of serverless.yml into `outdir`, with the options `npm run package` uses. */
export async function buildFunctionBundle(
  service: ServerlessFile,
  name: string,
  outdir: string,
): Promise<FunctionBundle> {
  const { entry, module } = functionEntryOf(service, name);
  return buildEntryBundle(service, entry, module, outdir);
}

/**
 * Builds an entry file (`functions/….ts`) with serverless.yml's esbuild options, as buildFunctionBundle
 * does for a function of the file: for a handler measured before a function serves it.
 */
export async function buildEntryBundle(
  service: ServerlessFile,
  entry: string,
  module: string,
  outdir: string,
): Promise<FunctionBundle> {
  const result = await build({
    ...functionBuildOptions(service),
    entryPoints: [entry],
    outdir,
    metafile: true,
  });
  const inputs = Object.values(result.metafile.outputs).flatMap((output) => Object.keys(output.inputs));
  return { file: join(outdir, `${basename(module)}${bundleExtensionOf(service)}`), inputs };
}

/** The line the child writes just before it calls the handler: what follows is the invocation's output. */
export const INVOCATION_MARK = '--- ferry: invocation ---';
/** The line before the handler's result (JSON), after the invocation's own output. */
export const RESULT_MARK = '--- ferry: result ---';
/** The line before the invocation's timing (JSON), written last. */
export const TIMING_MARK = '--- ferry: timing ---';

// Lambda's init imports the bundle; then one invocation with the event, if one is given (after one with the
// warm-up event, if given: its output stays with the init's, so the measured invocation is a warm one).
const CHILD = `const { handler } = await import(process.argv[1]);
if (typeof handler !== 'function') throw new Error('the bundle exports no handler');
const event = process.argv[2];
const warmUp = process.argv[3];
const context = { functionName: 'ferry-bundled', functionVersion: '$LATEST', awsRequestId: 'bundled-1',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:ferry-bundled', memoryLimitInMB: '256',
  logGroupName: '/aws/lambda/ferry-bundled', logStreamName: 'bundled', callbackWaitsForEmptyEventLoop: false,
  getRemainingTimeInMillis: () => 60000 };
let result = 'initialized';
let timing = null;
if (warmUp !== undefined) await handler(JSON.parse(warmUp), { ...context, awsRequestId: 'bundled-0' });
if (event !== undefined) {
  const parsed = JSON.parse(event);
  process.stdout.write(${JSON.stringify(`${INVOCATION_MARK}\n`)});
  const cpu = process.cpuUsage();
  const start = performance.now();
  result = await handler(parsed, context);
  const used = process.cpuUsage(cpu);
  timing = { wallMs: performance.now() - start, cpuMs: (used.user + used.system) / 1000,
    maxRssMb: process.resourceUsage().maxRSS / 1024 };
}
process.stdout.write(${JSON.stringify(`${RESULT_MARK}\n`)} + JSON.stringify(result ?? null));
process.stdout.write(${JSON.stringify(`\n${TIMING_MARK}\n`)} + JSON.stringify(timing));`;

export interface BundleRun {
  status: number | null;
  /** The handler's result as JSON ('"initialized"' when no event was given). */
  result: string;
  /**
   * The invocation alone, init excluded: wall and CPU (user + system) time of the handler call, and the
   * process's peak resident memory (init included, as Lambda's Max Memory Used is). Null without an event.
   */
  timing: { wallMs: number; cpuMs: number; maxRssMb: number } | null;
  /** What the process wrote to stdout during the invocation (the handler's log and metric lines). */
  invocationOutput: string;
  /** Everything written to stdout, marks included. */
  stdout: string;
  stderr: string;
}

/** Runs a bundle in its own process (asynchronously: a sandbox serving it may run in this one). */
export function runBundle(
  bundle: FunctionBundle,
  env: Record<string, string>,
  options: { event?: unknown; warmUp?: unknown; cwd: string },
): Promise<BundleRun> {
  const args = ['--input-type=module', '-e', CHILD, pathToFileURL(bundle.file).href];
  if (options.event !== undefined) args.push(JSON.stringify(options.event));
  if (options.event !== undefined && options.warmUp !== undefined) args.push(JSON.stringify(options.warmUp));
  const child = spawn(process.execPath, args, { env, cwd: options.cwd });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => {
    stdout += chunk;
  });
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  return new Promise<BundleRun>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (status) => {
      const timingAt = stdout.lastIndexOf(`\n${TIMING_MARK}\n`);
      const resultAt = stdout.lastIndexOf(`${RESULT_MARK}\n`);
      const invocationAt = stdout.indexOf(`${INVOCATION_MARK}\n`);
      const end = resultAt < 0 ? stdout.length : resultAt;
      const resultEnd = timingAt < 0 ? stdout.length : timingAt;
      resolve({
        status,
        result: resultAt < 0 ? '' : stdout.slice(resultAt + RESULT_MARK.length + 1, resultEnd),
        timing: timingAt < 0 ? null : JSON.parse(stdout.slice(timingAt + TIMING_MARK.length + 2)),
        invocationOutput:
          invocationAt < 0 ? '' : stdout.slice(invocationAt + INVOCATION_MARK.length + 1, end),
        stdout,
        stderr,
      });
    });
  });
}

/**
 * What Lambda sets for a function, without credentials (the caller adds the ones it means). Metrics off and
 * logs at ERROR unless `logs` says otherwise: `applicationLogLevel` as Lambda's logging controls pass it
 * (AWS_LAMBDA_LOG_LEVEL, which Powertools Logger follows), metrics on in the Ferry namespace.
 */
export function bundleEnvironment(
  service: ServerlessFile,
  rulesFile: string,
  logs?: { applicationLogLevel: string },
): Record<string, string> {
  return {
    AWS_REGION: 'us-east-1',
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_EXECUTION_ENV: `AWS_Lambda_${service.provider.runtime}`,
    AWS_LAMBDA_FUNCTION_NAME: 'ferry-bundled',
    // The sandbox stage's, as the deployment sets it (metricServiceOf).
    POWERTOOLS_SERVICE_NAME: metricServiceOf('sandbox'),
    ...(logs
      ? {
          POWERTOOLS_METRICS_NAMESPACE: 'Ferry',
          AWS_LAMBDA_LOG_LEVEL: logs.applicationLogLevel,
          POWERTOOLS_LOG_LEVEL: logs.applicationLogLevel,
        }
      : { POWERTOOLS_METRICS_DISABLED: 'true', POWERTOOLS_LOG_LEVEL: 'ERROR' }),
    FERRY_CONFIG: rulesFile,
    FERRY_OBJECT_COPY_STATE_MACHINE_ARN:
      'arn:aws:states:us-east-1:000000000000:stateMachine:ferry-object-copy',
    FERRY_SNAPSHOT_COPY_STATE_MACHINE_ARN:
      'arn:aws:states:us-east-1:000000000000:stateMachine:ferry-snapshot-copy',
    FERRY_IMAGE_COPY_STATE_MACHINE_ARN: 'arn:aws:states:us-east-1:000000000000:stateMachine:ferry-image-copy',
    // Named to ec2CopyStep, ec2CopyCompleted and ec2CopySweep by serverless.yml (the others never read it).
    FERRY_COPY_WAITERS_TABLE: 'ferry-bundled-copy-waiters',
  };
}

/** A rules file as `npm run package` writes it: validated, then JSON. Returns the JSON file's path. */
export function writeRulesFile(dir: string, name: string, yaml: string): string {
  mkdirSync(dir, { recursive: true });
  const source = join(dir, `${name}.yml`);
  writeFileSync(source, yaml);
  const compiled = join(dir, `${name}.json`);
  writeFileSync(compiled, compileRules(source));
  return compiled;
}
