import { parseArgs } from 'node:util';
import { FULL_SOAK, SMALL_SOAK, type SoakOptions } from './options.ts';
import { runSoak } from './run.ts';
import { renderReport } from './table.ts';

const USAGE = `Usage: npm run soak [-- --objects N --snapshots N --images N --seed N --small --json]

Runs Ferry in the sandbox under injected faults (S3 SlowDown 10 %, errors inside a 200 5 % — half with
the trailing newline —, EC2 RequestLimitExceeded 10 %, 2 % of EC2 copies ending in error, 5 % of events
lost, one handler crash in a multipart copy, and EC2's 20-copy limit), reconciles, then checks the final
state: every item copied and verified or failed with a cause, no silent loss, no duplicate, no stale
overwrite, no orphaned upload. Exits 1 if any invariant fails.

  --objects N    source objects (default ${FULL_SOAK.objects}; --small ${SMALL_SOAK.objects})
  --snapshots N  source snapshots (default ${FULL_SOAK.snapshots}; --small ${SMALL_SOAK.snapshots})
  --images N     source AMIs (default ${FULL_SOAK.images}; --small ${SMALL_SOAK.images})
  --seed N       the seed of every draw (default ${FULL_SOAK.seed})
  --small        the CI-sized preset
  --json         the report as JSON instead of tables`;

const count = (name: string, text: string | undefined, fallback: number, min = 0) => {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < min) {
    console.error(`--${name} must be a whole number of at least ${min}, not "${text}"`);
    process.exit(2);
  }
  return value;
};

let values: Record<string, string | boolean | undefined>;
try {
  ({ values } = parseArgs({
    options: {
      objects: { type: 'string' },
      snapshots: { type: 'string' },
      images: { type: 'string' },
      seed: { type: 'string' },
      small: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  }));
} catch (error) {
  console.error(`${(error as Error).message}\n\n${USAGE}`);
  process.exit(2);
}
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}

// The handlers' own logs would drown the table: errors only.
process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';

const preset = values.small ? SMALL_SOAK : FULL_SOAK;
const options: SoakOptions = {
  ...preset,
  objects: count('objects', values.objects as string | undefined, preset.objects, 1),
  snapshots: count('snapshots', values.snapshots as string | undefined, preset.snapshots),
  images: count('images', values.images as string | undefined, preset.images),
  seed: count('seed', values.seed as string | undefined, preset.seed),
  ...(values.json ? {} : { log: (line: string) => console.log(line) }),
};

const report = await runSoak(options).catch((error: unknown) => {
  console.error(`The soak could not run to its end: ${(error as Error).stack ?? String(error)}`);
  process.exit(1);
});
if (values.json) console.log(JSON.stringify(report, null, 2));
else {
  console.log();
  console.log(renderReport(report));
  console.log();
  console.log(report.ok ? 'Soak passed: faults injected, nothing lost.' : 'Soak FAILED: see ✘ above.');
}
process.exit(report.ok ? 0 : 1);
