// npm run bench -- bundles [--runs 15] [--external-sdk]
//
// Builds every function of serverless.yml into its production bundle, with the esbuild options of its
// `custom.esbuild` block (read from the file, so the two cannot drift), and reports per function: the
// minified bundle's bytes, its size in the deployed zip (deflated, as `npm run package` does), and its module
// init time: a fresh `node` process, in a Lambda-like environment, times the `import()` of the bundle from
// inside (median and min–max of --runs, alternating the functions run by run). Goals (issue 14): ≤ 400 kB
// (kB = 1,000 bytes) and ≤ 80 ms (issue 6 had 500 kB and 150 ms); the init's CPU time is printed beside
// it, as a busy host inflates it least. Then the packages that weigh most in the largest bundle (esbuild's
// metafile). --external-sdk measures the alternative of leaving the SDK to the runtime. Bundles and figures
// go to bench/results/bundles/.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { deflateRawSync } from 'node:zlib';
import { build, type Metafile } from 'esbuild';
import {
  bundleExtensionOf,
  functionBuildOptions,
  functionEntryOf,
  readServerlessFile,
} from '#deploy/function-bundles';
import { compileRules } from '#rules/load';
import { benchEnvironment } from './bundle-environment.ts';

const { values } = parseArgs({
  args: process.argv.slice(2).filter((arg) => arg !== 'bundles'),
  options: {
    runs: { type: 'string', default: '15' },
    // For comparison only: the SDK left to the Lambda runtime, as serverless.yml does not deploy it.
    'external-sdk': { type: 'boolean', default: false },
  },
});
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1)
  throw new Error(`--runs ${values.runs}: expected a positive integer`);

const GOAL_BYTES = 400_000;
const GOAL_INIT_MS = 80;
const OUT = 'bench/results/bundles';
const RULES_FILE = 'replication.yml';
/** Where the packaged functions find their rules, compiled to JSON (deploy/parts.cjs). */
const COMPILED_RULES = '.build/rules.json';

const service = readServerlessFile();
const deployed = functionBuildOptions(service);
// The SDK that the Node.js runtime provides (@aws-sdk/* and its @smithy/* dependencies).
const esbuildOptions = values['external-sdk']
  ? { ...deployed, external: [...(deployed.external ?? []), '@aws-sdk/*', '@smithy/*'] }
  : deployed;
const extension = bundleExtensionOf(service);

const lambdaEnvironment = (name: string) =>
  benchEnvironment(service, name, COMPILED_RULES, resolve(OUT, name));

interface Bundle {
  name: string;
  file: string;
  bytes: number;
  zippedBytes: number;
  metafile: Metafile;
  initMs: number[];
  initCpuMs: number[];
}

rmSync(OUT, { recursive: true, force: true });
const bundles: Bundle[] = [];
for (const name of Object.keys(service.functions)) {
  const { entry, module } = functionEntryOf(service, name);
  const dir = join(OUT, name);
  const result = await build({ ...esbuildOptions, entryPoints: [entry], outdir: dir, metafile: true });
  // Lambda's cwd holds the bundle and the rules it loads at init, compiled as `npm run package` does.
  mkdirSync(join(dir, dirname(COMPILED_RULES)), { recursive: true });
  writeFileSync(join(dir, COMPILED_RULES), compileRules(RULES_FILE));
  const file = join(dir, `${basename(module)}${extension}`);
  bundles.push({
    name,
    file,
    bytes: statSync(file).size,
    // Deflated as `npm run package` zips it (level 1): the size of the bundle in the deployed zip.
    zippedBytes: deflateRawSync(readFileSync(file), { level: 1 }).length,
    metafile: result.metafile,
    initMs: [],
    initCpuMs: [],
  });
}

// Run in the child: the time from before the import to after it resolves, as Lambda's init runs it.
// The CPU time beside it (all threads: compiling and collecting too) is what a busy host inflates least.
const CHILD = `const start = performance.now();
const cpu = process.cpuUsage();
const { handler } = await import(process.argv[1]);
const elapsed = performance.now() - start;
const { user, system } = process.cpuUsage(cpu);
if (typeof handler !== 'function') throw new Error('the bundle exports no handler');
process.stdout.write(JSON.stringify({ elapsed, cpu: (user + system) / 1000 }));`;

for (let run = 0; run < runs; run++) {
  // Alternate the order run by run, so no function always follows the same neighbour.
  const order = run % 2 === 0 ? bundles : [...bundles].reverse();
  for (const bundle of order) {
    const child = spawnSync(
      process.execPath,
      ['--input-type=module', '-e', CHILD, pathToFileURL(resolve(bundle.file)).href],
      { cwd: join(OUT, bundle.name), env: lambdaEnvironment(bundle.name), encoding: 'utf8' },
    );
    if (child.status !== 0) throw new Error(`${bundle.name}: init failed\n${child.stderr}`);
    const { elapsed, cpu } = JSON.parse(child.stdout) as { elapsed: number; cpu: number };
    bundle.initMs.push(elapsed);
    bundle.initCpuMs.push(cpu);
  }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
const kB = (bytes: number) => `${(bytes / 1000).toFixed(1)} kB`;
const ms = (value: number) => `${Math.round(value)}`;
const spread = (values: number[]) =>
  `${ms(median(values))} ms (${ms(Math.min(...values))}–${ms(Math.max(...values))})`;
const mark = (missed: boolean) => (missed ? ' ✘' : '');

const table = [
  '| function | bundle, minified | goal | zipped | init, median (min–max) | goal | init CPU, median (min–max) |',
  '| --- | --- | --- | --- | --- | --- | --- |',
  ...bundles.map((b) => {
    const init = median(b.initMs);
    return `| ${b.name} | ${kB(b.bytes)}${mark(b.bytes > GOAL_BYTES)} | ≤ ${kB(GOAL_BYTES)} | ${kB(b.zippedBytes)} | ${spread(b.initMs)}${mark(init > GOAL_INIT_MS)} | ≤ ${GOAL_INIT_MS} ms | ${spread(b.initCpuMs)} |`;
  }),
];

/** The package a bundled input belongs to (its last node_modules segment), else Ferry's own code. */
const packageOf = (input: string) => {
  const match = /node_modules\/((?:@[^/]+\/)?[^/]+)\/(?!.*node_modules\/)/.exec(input);
  return match?.[1] ?? 'ferry (src, functions)';
};
const largest = bundles.reduce((a, b) => (b.bytes > a.bytes ? b : a));
const byPackage = new Map<string, number>();
for (const output of Object.values(largest.metafile.outputs)) {
  for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
    byPackage.set(packageOf(input), (byPackage.get(packageOf(input)) ?? 0) + bytesInOutput);
  }
}
const contributors = [
  '| package | bytes in the bundle | share |',
  '| --- | --- | --- |',
  ...[...byPackage]
    .sort(([, a], [, b]) => b - a)
    .slice(0, 10)
    .map(([name, bytes]) => `| ${name} | ${kB(bytes)} | ${((100 * bytes) / largest.bytes).toFixed(0)} % |`),
];

const variant = values['external-sdk'] ? ', the SDK left out (the runtime’s)' : '';
const report = [
  `### Bundle size and module init time per function${variant} (init: median of ${runs} fresh processes, node ${process.version})`,
  '',
  ...table,
  '',
  `### What weighs most in the largest bundle (${largest.name}, ${kB(largest.bytes)})`,
  '',
  ...contributors,
  '',
  '✘ marks a figure past its goal. kB = 1,000 bytes.',
].join('\n');

console.log(report);
writeFileSync(`${OUT}/bundles.md`, `${report}\n`);
writeFileSync(
  `${OUT}/bundles.json`,
  `${JSON.stringify(
    bundles.map(({ name, bytes, zippedBytes, initMs, initCpuMs }) => ({
      name,
      bytes,
      zippedBytes,
      initMs,
      initCpuMs,
    })),
    null,
    2,
  )}\n`,
);
