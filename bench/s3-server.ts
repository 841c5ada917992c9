// The sandbox's S3 as a process of its own, for benchmarks: every copier (Ferry, the AWS CLI, rclone) talks to
// it over HTTP in the same way. Prints `ENDPOINT <url>` once listening; stops on SIGTERM.
import { parseArgs } from 'node:util';
import { startSandbox } from '#local/sandbox';
import { parseConfig } from '#rules/load';

const { values } = parseArgs({
  options: {
    'latency-ms': { type: 'string', default: '0' },
    'copy-mibps': { type: 'string', default: '0' },
    'pair-mibps': { type: 'string', default: '0' },
  },
});

process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
// A rule that never matches: the benchmark measures copiers, not the event path.
const config = parseConfig(`
rules:
  - name: buckets-only
    objects: { bucket: bench-src, prefix: never-matches/ }
    to: [ { bucket: bench-dst, region: us-east-1 } ]
`);
const sandbox = await startSandbox({
  config,
  port: 0,
  shaping: {
    latencyMs: Number(values['latency-ms']),
    copyMiBps: Number(values['copy-mibps']),
    pairMiBps: Number(values['pair-mibps']),
  },
});
console.log(`ENDPOINT ${sandbox.endpoint}`);
process.once('SIGTERM', async () => {
  await sandbox.stop();
  process.exit(0);
});
