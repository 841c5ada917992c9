// npm run bench -- objects [--sizes 1GiB,6GiB] [--runs 3] [--latency-ms 20] [--copy-mibps 64] [--pair-mibps 2048]
//   [--tools ferry,aws-cli,aws-cli-tuned,rclone,rclone-tuned] [--cli-tuned 16MiB:64] [--cli-sweep]
//   [--settle-s 3] [--source-part-mib 96] [--model-sizes 1GiB,6GiB,64GiB,256GiB,1TiB]
// (--tools ferry,ferry-copyobject compares Ferry's two paths, which is how the multipart threshold is chosen;
// ferry-256mib is Ferry with fixed 256 MiB parts, the default before parts were sized from the object)
//
// Copies the same large objects through the same sandbox S3 endpoint with Ferry's multipart copier (the real
// state machine and step handler), the AWS CLI (`aws s3 cp s3://… s3://…`) and rclone (server-side copy), each
// at its defaults and tuned, alternating the order run by run, with a sync and a pause between runs. The
// sandbox models a remote S3 (local/s3/copy-model.ts): a latency per request, a copy rate per request and an
// aggregate rate per bucket pair. Every tool is reported against the physical lower bound (size over the
// aggregate rate, plus one round of sequential requests), and against Ferry. Each tool's first run of a size
// is a warm-up, not counted: it lets the sandbox hash each of that tool's part ranges once (S3 computes a
// part's MD5 as it copies, off the client's clock; the sandbox keeps it), so measured runs wait on the model,
// not on this machine's hashing — the late answers column shows whether they did. Then the same model,
// computed (bench/large-copy-model.ts), for sizes too large to copy here.
// A peer tool that is not installed is reported as such; nothing is installed here.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { build } from 'esbuild';
import { SANDBOX_CREDENTIALS } from '#foundation/sandbox-credentials';
import { DEFAULT_MULTIPART_SETTINGS } from '#objects/copy-machine/multipart-copy';
import { summarizeTimeline, type TimelineEntry } from './copy-timeline.ts';
import {
  awsCliPlan,
  CLI_SWEEP,
  FERRY_BEFORE_CREATE_AFTER_READS,
  ferryCost,
  ferryPlan,
  lowerBound,
  rclonePlan,
  type S3Model,
  simulate,
} from './large-copy-model.ts';

const { values } = parseArgs({
  args: process.argv.slice(2).filter((arg) => arg !== 'objects'),
  options: {
    sizes: { type: 'string', default: '1GiB,6GiB' },
    runs: { type: 'string', default: '3' },
    'latency-ms': { type: 'string', default: '20' },
    'copy-mibps': { type: 'string', default: '64' },
    'pair-mibps': { type: 'string', default: '2048' },
    tools: { type: 'string', default: 'ferry,aws-cli,aws-cli-tuned,rclone,rclone-tuned' },
    'cli-tuned': { type: 'string', default: '16MiB:64' },
    'cli-sweep': { type: 'boolean', default: false },
    'settle-s': { type: 'string', default: '3' },
    'source-part-mib': { type: 'string', default: '96' },
    'model-sizes': { type: 'string', default: '1GiB,6GiB,64GiB,256GiB,1TiB' },
    // Another checkout of Ferry (e.g. the main branch's), run as the tool `ferry-main` beside this one.
    baseline: { type: 'string' },
    // Prints the timeline of every counted Ferry run (bench/copy-timeline.ts): where its span goes.
    timeline: { type: 'boolean', default: false },
  },
});

const UNITS: Record<string, number> = { MiB: 1024 ** 2, GiB: 1024 ** 3, TiB: 1024 ** 4 };
const parseSize = (text: string) => {
  const match = /^(\d+(?:\.\d+)?)(MiB|GiB|TiB)$/.exec(text.trim());
  if (!match) throw new Error(`size "${text}": expected e.g. 512MiB, 6GiB or 1TiB`);
  return Math.round(Number(match[1]) * (UNITS[match[2] ?? 'MiB'] ?? 1));
};
const labelled = (list: string) =>
  list.split(',').map((label) => ({ label: label.trim(), bytes: parseSize(label) }));
const sizes = labelled(values.sizes);
const modelSizes = labelled(values['model-sizes']);
const runs = Number(values.runs);
const model: S3Model = {
  latencySeconds: Number(values['latency-ms']) / 1000,
  requestBytesPerSecond: Number(values['copy-mibps']) * 1024 ** 2,
  pairBytesPerSecond: Number(values['pair-mibps']) * 1024 ** 2,
};
/** `256MiB:32`: the AWS CLI's multipart_chunksize and max_concurrent_requests. */
const cliSetting = (text: string) => {
  const [chunk = '', concurrency = ''] = text.split(':');
  return { chunk: parseSize(chunk), concurrency: Number(concurrency) };
};

interface Tool {
  name: string;
  available: string | undefined; // undefined when installed, else why not
  command(endpoint: string, key: string): { file: string; args: string[]; env: NodeJS.ProcessEnv };
}

// Ferry runs bundled, as it is deployed (transpiling TypeScript at start would cost it ~1.2 s a run).
const FERRY_BUNDLE = '.build/ferry-copy.mjs';
/**
 * The `--baseline` checkout's copier, bundled from its own sources (read only) into this checkout. The
 * bundle reads its state machine definitions from `../statemachines`: the baseline's are copied beside it.
 */
const BASELINE_DIR = '.build/baseline';
const BASELINE_BUNDLE = `${BASELINE_DIR}/bundle/ferry-copy.mjs`;

const TIMELINE_FILE = '.build/ferry-timeline.json';

/** The bundled copier, in either of Ferry's two modes. */
const ferryCommand =
  (mode: 'multipart' | 'single', partSize?: number, bundle = FERRY_BUNDLE) =>
  (endpoint: string, key: string) => ({
    file: process.execPath,
    args: [
      bundle,
      '--endpoint',
      endpoint,
      '--from',
      'bench-src',
      '--to',
      'bench-dst',
      '--key',
      key,
      '--mode',
      mode,
      ...(partSize ? ['--part-size', String(partSize)] : []),
      ...(values.timeline && bundle === FERRY_BUNDLE ? ['--timeline', TIMELINE_FILE] : []),
    ],
    env: {},
  });

const credentialsEnv = {
  AWS_ACCESS_KEY_ID: SANDBOX_CREDENTIALS.accessKeyId,
  AWS_SECRET_ACCESS_KEY: SANDBOX_CREDENTIALS.secretAccessKey,
};
const versionOf = (file: string, args: string[]) => {
  const run = spawnSync(file, args, { encoding: 'utf8' });
  return run.status === 0 ? (run.stdout || run.stderr).split('\n')[0]?.trim() : undefined;
};
// The Debian package (awscli, v2) is the peer the issue names; any other `aws` on the PATH is the fallback.
const awsFile = existsSync('/usr/bin/aws') ? '/usr/bin/aws' : 'aws';
const awsVersion = versionOf(awsFile, ['--version']);
const rcloneVersion = versionOf('rclone', ['version']);

/**
 * The AWS CLI at its defaults (no config file: 8 MiB parts, 10 at a time), or with an AWS_CONFIG_FILE that
 * sets multipart_chunksize and max_concurrent_requests.
 */
const configDirectory = mkdtempSync(join(tmpdir(), 'ferry-bench-aws-'));
function awsCliTool(name: string, setting?: { chunk: number; concurrency: number }): Tool {
  let configFile = '/dev/null';
  if (setting) {
    configFile = join(configDirectory, `${name}.config`);
    writeFileSync(
      configFile,
      `[default]\ns3 =\n  multipart_chunksize = ${setting.chunk / 1024 ** 2}MB\n  max_concurrent_requests = ${setting.concurrency}\n`,
    );
  }
  return {
    name,
    available: awsVersion ? undefined : 'not installed (Debian package awscli)',
    command: (endpoint, key) => ({
      file: awsFile,
      args: [
        '--endpoint-url',
        endpoint,
        '--region',
        'us-east-1',
        's3',
        'cp',
        '--only-show-errors',
        `s3://bench-src/${key}`,
        `s3://bench-dst/${key}`,
      ],
      env: {
        ...credentialsEnv,
        AWS_CONFIG_FILE: configFile,
        AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
        AWS_EC2_METADATA_DISABLED: 'true',
      },
    }),
  };
}

/** rclone's server-side copy, with extra flags for the tuned run. */
function rcloneTool(name: string, flags: string[]): Tool {
  return {
    name,
    available: rcloneVersion ? undefined : 'not installed (Debian package rclone)',
    command: (endpoint, key) => ({
      file: 'rclone',
      args: [
        'copyto',
        `ferry:bench-src/${key}`,
        `ferry:bench-dst/${key}`,
        '--s3-no-check-bucket',
        '--config',
        '/dev/null',
        ...flags,
      ],
      env: {
        RCLONE_CONFIG_FERRY_TYPE: 's3',
        RCLONE_CONFIG_FERRY_PROVIDER: 'Other',
        RCLONE_CONFIG_FERRY_ENDPOINT: endpoint,
        RCLONE_CONFIG_FERRY_ACCESS_KEY_ID: SANDBOX_CREDENTIALS.accessKeyId,
        RCLONE_CONFIG_FERRY_SECRET_ACCESS_KEY: SANDBOX_CREDENTIALS.secretAccessKey,
        RCLONE_CONFIG_FERRY_REGION: 'us-east-1',
        RCLONE_CONFIG_FERRY_FORCE_PATH_STYLE: 'true',
      },
    }),
  };
}

const tuned = cliSetting(values['cli-tuned']);
const sweepTools = values['cli-sweep']
  ? CLI_SWEEP.chunkSizes.flatMap((chunk) =>
      CLI_SWEEP.concurrencies.map((concurrency) =>
        awsCliTool(`aws-cli@${chunk / 1024 ** 2}MiB:${concurrency}`, { chunk, concurrency }),
      ),
    )
  : [];
const ALL_TOOLS: Tool[] = [
  { name: 'ferry', available: undefined, command: ferryCommand('multipart') },
  { name: 'ferry-256mib', available: undefined, command: ferryCommand('multipart', 256 * 1024 ** 2) },
  // Ferry's fast path (one CopyObject), for choosing the multipart threshold: not in the default tools.
  { name: 'ferry-copyobject', available: undefined, command: ferryCommand('single') },
  // The same copier from another checkout (`--baseline`), to measure a change side by side with what it changes.
  {
    name: 'ferry-main',
    available: values.baseline ? undefined : 'needs --baseline <checkout>',
    command: ferryCommand('multipart', undefined, BASELINE_BUNDLE),
  },
  awsCliTool('aws-cli'),
  awsCliTool('aws-cli-tuned', tuned),
  rcloneTool('rclone', []),
  // rclone 1.60 copies parts one after another, so no flag makes a server-side copy parallel: the upload
  // flags change nothing here, and the cutoff (at most 5 GiB) only moves where a single CopyObject ends.
  rcloneTool('rclone-tuned', [
    '--s3-upload-concurrency',
    '64',
    '--s3-chunk-size',
    '64M',
    '--s3-copy-cutoff',
    '5G',
  ]),
];
const TOOLS = [...ALL_TOOLS.filter((tool) => values.tools.split(',').includes(tool.name)), ...sweepTools];

async function startServer(): Promise<{ endpoint: string; process: ChildProcess }> {
  const server = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'bench/s3-server.ts',
      '--latency-ms',
      values['latency-ms'],
      '--copy-mibps',
      values['copy-mibps'],
      '--pair-mibps',
      values['pair-mibps'],
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const lines = createInterface({ input: server.stdout as Readable });
  for await (const line of lines) {
    const match = /^ENDPOINT (\S+)/.exec(line);
    if (match?.[1]) return { endpoint: match[1], process: server };
  }
  throw new Error('the benchmark S3 server did not start');
}

/** A stream of `size` bytes that do not compress to nothing (a 1 MiB random block, repeated). */
function bytes(size: number): Readable {
  const block = Buffer.alloc(1024 * 1024);
  for (let i = 0; i < block.length; i++) block[i] = Math.floor(Math.random() * 256);
  let left = size;
  return Readable.from(
    (function* () {
      while (left > 0) {
        const chunk = block.subarray(0, Math.min(left, block.length));
        left -= chunk.length;
        yield chunk;
      }
    })(),
  );
}

async function timed(
  tool: Tool,
  endpoint: string,
  key: string,
): Promise<{ seconds: number; ok: boolean; error: string }> {
  const { file, args, env } = tool.command(endpoint, key);
  const started = process.hrtime.bigint();
  // The endpoint is plain HTTP on loopback: a machine-wide AWS_CA_BUNDLE is irrelevant, and rclone's SDK
  // refuses to start with one.
  const { AWS_CA_BUNDLE: _caBundle, ...inherited } = process.env;
  const child = spawn(file, args, { env: { ...inherited, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let error = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    error += chunk.toString();
  });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  return {
    seconds: Number(process.hrtime.bigint() - started) / 1e9,
    ok: code === 0,
    error: error.trim().slice(0, 300),
  };
}

const median = (numbers: number[]) => {
  const sorted = [...numbers].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[middle] ?? 0) : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
};

const bundleCopier = (entry: string, outfile: string) =>
  build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    logLevel: 'warning',
    banner: {
      js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
    },
  });
await bundleCopier('bench/ferry-copy.ts', FERRY_BUNDLE);
if (values.baseline) {
  await bundleCopier(join(resolve(values.baseline), 'bench/ferry-copy.ts'), BASELINE_BUNDLE);
  cpSync(join(resolve(values.baseline), 'statemachines'), join(BASELINE_DIR, 'statemachines'), {
    recursive: true,
  });
}

const { endpoint, process: server } = await startServer();
const s3 = new S3Client({
  region: 'us-east-1',
  endpoint,
  forcePathStyle: true,
  credentials: SANDBOX_CREDENTIALS,
});
const requestCounts = async (method: 'GET' | 'DELETE') =>
  (await (await fetch(`${endpoint}/__ferry/requests`, { method })).json()) as Record<string, number>;

interface Result {
  size: string;
  tool: string;
  run: number;
  seconds: number;
  /** First S3 request to last answer: the copy without the tool's process start. */
  spanSeconds: number;
  requests: number;
  byOperation: Record<string, number>;
  /** Copy answers that came more than 50 ms after their modelled end (the sandbox, not the model, was slower). */
  lateRequests: number;
  lateSeconds: number;
  copyRequests: number;
}
const results: Result[] = [];
const copyModelStats = async (method: 'GET' | 'DELETE') =>
  (await (await fetch(`${endpoint}/__ferry/copy-model`, { method })).json()) as {
    requests: number;
    lateRequests: number;
    lateSeconds: number;
    spanSeconds: number;
  };

/**
 * The source: one PUT up to S3's 5 GiB limit for a single PUT, so every tool chooses its own parts; above
 * it an object can only be uploaded in parts, here of `--source-part-mib` (Ferry keeps a multipart source's
 * layout, to reproduce its ETag; the peers choose their own).
 */
async function writeSource(key: string, size: number) {
  if (size <= 5 * 1024 ** 3) {
    await s3.send(
      new PutObjectCommand({ Bucket: 'bench-src', Key: key, Body: bytes(size), ContentLength: size }),
    );
    return;
  }
  const partSize = Number(values['source-part-mib']) * 1024 ** 2;
  const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'bench-src', Key: key }));
  const parts: { PartNumber: number; ETag: string | undefined }[] = [];
  for (let start = 0, PartNumber = 1; start < size; start += partSize, PartNumber++) {
    const length = Math.min(partSize, size - start);
    const { ETag } = await s3.send(
      new UploadPartCommand({
        Bucket: 'bench-src',
        Key: key,
        UploadId,
        PartNumber,
        Body: bytes(length),
        ContentLength: length,
      }),
    );
    parts.push({ PartNumber, ETag });
  }
  await s3.send(
    new CompleteMultipartUploadCommand({
      Bucket: 'bench-src',
      Key: key,
      UploadId,
      MultipartUpload: { Parts: parts },
    }),
  );
}

/** Writeback of the previous run's bytes, and its processes' exit, must not land on the next run. */
async function settle() {
  spawnSync('sync');
  await sleep(Number(values['settle-s']) * 1000);
}

const times = (seconds: number, reference: number) =>
  reference ? `${(seconds / reference).toFixed(2)}×` : '—';

/** Modelled seconds of each tool at a size (bench/large-copy-model.ts). */
function modelled(toolName: string, size: number): number | undefined {
  if (toolName === 'ferry') return simulate(ferryPlan(size, DEFAULT_MULTIPART_SETTINGS), model).seconds;
  if (toolName === 'ferry-main')
    return simulate(ferryPlan(size, DEFAULT_MULTIPART_SETTINGS, FERRY_BEFORE_CREATE_AFTER_READS), model)
      .seconds;
  if (toolName === 'ferry-256mib')
    return simulate(ferryPlan(size, { ...DEFAULT_MULTIPART_SETTINGS, partSize: 256 * 1024 ** 2 }), model)
      .seconds;
  if (toolName === 'aws-cli') return simulate(awsCliPlan(size, 8 * 1024 ** 2, 10), model).seconds;
  if (toolName === 'aws-cli-tuned')
    return simulate(awsCliPlan(size, tuned.chunk, tuned.concurrency), model).seconds;
  const swept = /^aws-cli@(\d+)MiB:(\d+)$/.exec(toolName);
  if (swept) return simulate(awsCliPlan(size, Number(swept[1]) * 1024 ** 2, Number(swept[2])), model).seconds;
  if (toolName === 'rclone') return simulate(rclonePlan(size), model).seconds;
  if (toolName === 'rclone-tuned') return simulate(rclonePlan(size, 5 * 1024 ** 3), model).seconds;
  return undefined;
}

try {
  console.log(
    `Sandbox S3 at ${endpoint}; latency ${values['latency-ms']} ms/request; copy rate ${Number(values['copy-mibps']) || 'unlimited'} MiB/s per request, ${Number(values['pair-mibps']) || 'unlimited'} MiB/s per bucket pair`,
  );
  console.log(
    `Tools: ferry (this checkout), aws-cli (${awsVersion ?? 'missing'}; tuned: ${values['cli-tuned']}), rclone (${rcloneVersion ?? 'missing'})`,
  );
  for (const tool of TOOLS) if (tool.available) console.log(`  ${tool.name}: ${tool.available}: left out`);
  const tools = TOOLS.filter((tool) => !tool.available);

  for (const size of sizes) {
    const key = `object-${size.label}`;
    console.log(`\nWriting s3://bench-src/${key} (${size.bytes} bytes)…`);
    await writeSource(key, size.bytes);
    // Run 0 is each tool's warm-up (not counted).
    for (let run = 0; run <= runs; run++) {
      const order = tools.map((_, index) => tools[(index + run) % tools.length] as Tool);
      for (const tool of order) {
        await settle();
        await requestCounts('DELETE');
        await copyModelStats('DELETE');
        const outcome = await timed(tool, endpoint, key);
        const byOperation = await requestCounts('GET');
        const stats = await copyModelStats('GET');
        const copy = await s3
          .send(new HeadObjectCommand({ Bucket: 'bench-dst', Key: key }))
          .catch(() => undefined);
        const verified = outcome.ok && copy?.ContentLength === size.bytes;
        if (!verified)
          throw new Error(`${tool.name} did not copy ${key}: ${outcome.error || 'wrong or missing replica'}`);
        await s3.send(new DeleteObjectCommand({ Bucket: 'bench-dst', Key: key }));
        const requests = Object.values(byOperation).reduce((a, b) => a + b, 0);
        const label = run === 0 ? 'warm-up' : `run ${run}`;
        console.log(
          `  ${label.padEnd(7)} ${tool.name.padEnd(16)} ${outcome.seconds.toFixed(2).padStart(8)} s  span ${stats.spanSeconds.toFixed(2).padStart(7)} s  ${String(requests).padStart(5)} requests  late ${stats.lateRequests}/${stats.requests} (${stats.lateSeconds.toFixed(1)} s)`,
        );
        if (values.timeline && tool.name === 'ferry' && existsSync(TIMELINE_FILE)) {
          const entries = JSON.parse(readFileSync(TIMELINE_FILE, 'utf8')) as TimelineEntry[];
          for (const line of summarizeTimeline(entries)) console.log(`      ${line}`);
          rmSync(TIMELINE_FILE);
        }
        if (run === 0) continue;
        results.push({
          size: size.label,
          tool: tool.name,
          run,
          seconds: outcome.seconds,
          spanSeconds: stats.spanSeconds,
          requests,
          byOperation,
          lateRequests: stats.lateRequests,
          lateSeconds: stats.lateSeconds,
          copyRequests: stats.requests,
        });
      }
    }
    await s3.send(new DeleteObjectCommand({ Bucket: 'bench-src', Key: key }));
  }

  const lines = [
    '| size | tool | median s (min–max) | × bound | S3 span s | span × bound | modelled s | late answers | requests | Ferry is × faster |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const size of sizes) {
    const bound = lowerBound(size.bytes, model);
    const ferry = median(
      results.filter((r) => r.size === size.label && r.tool === 'ferry').map((r) => r.seconds),
    );
    lines.push(`| ${size.label} | lower bound | ${bound.toFixed(2)} | 1.00× | | | | | | |`);
    for (const tool of tools) {
      const mine = results.filter((r) => r.size === size.label && r.tool === tool.name);
      const seconds = mine.map((r) => r.seconds);
      const wall = median(seconds);
      const span = median(mine.map((r) => r.spanSeconds));
      const expected = modelled(tool.name, size.bytes);
      const late = `${median(mine.map((r) => r.lateRequests))}/${median(mine.map((r) => r.copyRequests))} (${median(mine.map((r) => r.lateSeconds)).toFixed(1)} s)`;
      const operations = Object.entries(mine.at(-1)?.byOperation ?? {})
        .map(([op, n]) => `${op} ${n}`)
        .join(', ');
      lines.push(
        `| ${size.label} | ${tool.name} | ${wall.toFixed(2)} (${Math.min(...seconds).toFixed(2)}–${Math.max(...seconds).toFixed(2)}) | ${times(wall, bound)} | ${span.toFixed(2)} | ${times(span, bound)} | ${expected?.toFixed(2) ?? '—'} | ${late} | ${median(mine.map((r) => r.requests))} (${operations}) | ${tool.name === 'ferry' ? '—' : times(wall, ferry)} |`,
      );
    }
  }
  console.log(`\n${lines.join('\n')}`);
  const modelReport = modelTables();
  console.log(`\n${modelReport}`);
  await mkdir('bench/results', { recursive: true });
  await writeFile(
    'bench/results/objects.json',
    JSON.stringify(
      {
        options: values,
        model,
        tools: { aws: awsVersion, rclone: rcloneVersion },
        node: process.version,
        results,
      },
      null,
      2,
    ),
  );
  await writeFile('bench/results/objects-model.md', `${modelReport}\n`);
  console.log('\nRaw results: bench/results/objects.json; modelled tables: bench/results/objects-model.md');
} finally {
  s3.destroy();
  server.kill('SIGTERM');
}

/**
 * The model alone, at every model size: each tool's time as a multiple of the bound, Ferry against each,
 * the AWS CLI sweep, and what Ferry's derived parts cost against fixed 256 MiB parts.
 */
function modelTables(): string {
  const out: string[] = [
    `Modelled (not measured): latency ${values['latency-ms']} ms, ${values['copy-mibps']} MiB/s per request, ${values['pair-mibps']} MiB/s per bucket pair.`,
    '',
    '| size | bound s | ferry | ferry before (Create after the reads) | ferry-256mib | aws-cli | aws-cli-tuned | aws-cli best of sweep | rclone | ferry vs aws-cli | ferry vs aws-cli-tuned | ferry vs best aws-cli | ferry vs rclone |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  const sweep: string[] = [
    `| multipart_chunksize × max_concurrent_requests | ${modelSizes.map((s) => s.label).join(' | ')} |`,
    `| --- | ${modelSizes.map(() => '---').join(' | ')} |`,
  ];
  const best = new Map<string, { seconds: number; setting: string }>();
  for (const chunk of CLI_SWEEP.chunkSizes) {
    for (const concurrency of CLI_SWEEP.concurrencies) {
      const setting = `${chunk / 1024 ** 2} MiB × ${concurrency}`;
      const cells = modelSizes.map((size) => {
        const seconds = simulate(awsCliPlan(size.bytes, chunk, concurrency), model).seconds;
        const current = best.get(size.label);
        if (!current || seconds < current.seconds) best.set(size.label, { seconds, setting });
        return times(seconds, lowerBound(size.bytes, model));
      });
      sweep.push(`| ${setting} | ${cells.join(' | ')} |`);
    }
  }
  const cost: string[] = [
    '| size | parts (derived) | batches | $ per copy (S3 + Lambda + Step Functions) | parts (256 MiB) | $ per copy | extra $ | time saved s |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const size of modelSizes) {
    const bound = lowerBound(size.bytes, model);
    const ferryDerived = ferryPlan(size.bytes, DEFAULT_MULTIPART_SETTINGS);
    const ferryFixed = ferryPlan(size.bytes, { ...DEFAULT_MULTIPART_SETTINGS, partSize: 256 * 1024 ** 2 });
    const derived = simulate(ferryDerived, model);
    const fixed = simulate(ferryFixed, model);
    const cli = simulate(awsCliPlan(size.bytes, 8 * 1024 ** 2, 10), model).seconds;
    const rclone = simulate(rclonePlan(size.bytes), model).seconds;
    const before = modelled('ferry-main', size.bytes) ?? 0;
    const tunedCli = modelled('aws-cli-tuned', size.bytes) ?? 0;
    const bestCli = best.get(size.label);
    out.push(
      `| ${size.label} | ${bound.toFixed(2)} | ${times(derived.seconds, bound)} | ${times(before, bound)} | ${times(fixed.seconds, bound)} | ${times(cli, bound)} | ${times(tunedCli, bound)} | ${times(bestCli?.seconds ?? 0, bound)} (${bestCli?.setting}) | ${times(rclone, bound)} | ${times(cli, derived.seconds)} | ${times(tunedCli, derived.seconds)} | ${times(bestCli?.seconds ?? 0, derived.seconds)} | ${times(rclone, derived.seconds)} |`,
    );
    const a = ferryCost(ferryDerived, derived.groupSeconds);
    const b = ferryCost(ferryFixed, fixed.groupSeconds);
    const partsOf = (plan: { groups: number[][] }) => plan.groups.reduce((n, g) => n + g.length, 0);
    cost.push(
      `| ${size.label} | ${partsOf(ferryDerived)} of ${(ferryDerived.partSize / 1024 ** 2).toFixed(0)} MiB | ${ferryDerived.groups.length} | ${a.total.toFixed(5)} (${a.s3.toFixed(5)} + ${a.lambda.toFixed(5)} + ${a.stepFunctions.toFixed(5)}) | ${partsOf(ferryFixed)} | ${b.total.toFixed(5)} | ${(a.total - b.total).toFixed(5)} | ${(fixed.seconds - derived.seconds).toFixed(2)} |`,
    );
  }
  return [
    ...out,
    '',
    'AWS CLI sweep (× bound):',
    '',
    ...sweep,
    '',
    "Ferry's derived parts against fixed 256 MiB parts (the previous default):",
    '',
    ...cost,
  ].join('\n');
}
