// npm run bench -- objects [--sizes 1GiB,6GiB] [--runs 3] [--latency-ms 0] [--copy-mibps 0] [--tools ferry,aws-cli,rclone]
// (--tools ferry,ferry-copyobject compares Ferry's two paths, which is how the multipart threshold is chosen)
//
// Copies the same large objects through the same sandbox S3 endpoint with Ferry's multipart copier (the real
// state machine and step handler), the AWS CLI (`aws s3 cp s3://… s3://…`) and rclone (server-side copy),
// alternating the order run by run. Reports the median wall time, the S3 requests each made, and the ratios.
// A peer tool that is not installed is reported as such; nothing is installed here.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { parseArgs } from 'node:util';
import { DeleteObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { build } from 'esbuild';
import { SANDBOX_CREDENTIALS } from '#foundation/sandbox-credentials';

const { values } = parseArgs({
  args: process.argv.slice(2).filter((arg) => arg !== 'objects'),
  options: {
    sizes: { type: 'string', default: '1GiB,6GiB' },
    runs: { type: 'string', default: '3' },
    'latency-ms': { type: 'string', default: '0' },
    'copy-mibps': { type: 'string', default: '0' },
    tools: { type: 'string', default: 'ferry,aws-cli,rclone' },
  },
});

const UNITS: Record<string, number> = { MiB: 1024 ** 2, GiB: 1024 ** 3 };
const parseSize = (text: string) => {
  const match = /^(\d+(?:\.\d+)?)(MiB|GiB)$/.exec(text.trim());
  if (!match) throw new Error(`size "${text}": expected e.g. 512MiB or 6GiB`);
  return Math.round(Number(match[1]) * (UNITS[match[2] ?? 'MiB'] ?? 1));
};
const sizes = values.sizes.split(',').map((label) => ({ label: label.trim(), bytes: parseSize(label) }));
const runs = Number(values.runs);

interface Tool {
  name: string;
  available: string | undefined; // undefined when installed, else why not
  command(endpoint: string, key: string): { file: string; args: string[]; env: NodeJS.ProcessEnv };
}

// Ferry runs bundled, as it is deployed (transpiling TypeScript at start would cost it ~1.2 s a run).
const FERRY_BUNDLE = '.build/ferry-copy.mjs';

/** The bundled copier, in either of Ferry's two modes. */
const ferryCommand = (mode: 'multipart' | 'single') => (endpoint: string, key: string) => ({
  file: process.execPath,
  args: [
    FERRY_BUNDLE,
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

const ALL_TOOLS: Tool[] = [
  { name: 'ferry', available: undefined, command: ferryCommand('multipart') },
  // Ferry's fast path (one CopyObject), for choosing the multipart threshold: not in the default tools.
  { name: 'ferry-copyobject', available: undefined, command: ferryCommand('single') },
  {
    name: 'aws-cli',
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
        AWS_CONFIG_FILE: '/dev/null',
        AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
        AWS_EC2_METADATA_DISABLED: 'true',
      },
    }),
  },
  {
    name: 'rclone',
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
  },
];
const TOOLS = ALL_TOOLS.filter((tool) => values.tools.split(',').includes(tool.name));

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

await build({
  entryPoints: ['bench/ferry-copy.ts'],
  outfile: FERRY_BUNDLE,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node24',
  logLevel: 'warning',
  banner: {
    js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
  },
});

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
  requests: number;
  byOperation: Record<string, number>;
}
const results: Result[] = [];

try {
  console.log(
    `Sandbox S3 at ${endpoint}; latency ${values['latency-ms']} ms/request; copy rate ${Number(values['copy-mibps']) || 'unlimited'} MiB/s per request`,
  );
  console.log(
    `Tools: ferry (this checkout), aws-cli (${awsVersion ?? 'missing'}), rclone (${rcloneVersion ?? 'missing'})`,
  );
  for (const tool of TOOLS) if (tool.available) console.log(`  ${tool.name}: ${tool.available}: left out`);
  const tools = TOOLS.filter((tool) => !tool.available);

  for (const size of sizes) {
    const key = `object-${size.label}`;
    console.log(`\nWriting s3://bench-src/${key} (${size.bytes} bytes)…`);
    await s3.send(
      new PutObjectCommand({
        Bucket: 'bench-src',
        Key: key,
        Body: bytes(size.bytes),
        ContentLength: size.bytes,
      }),
    );
    for (let run = 0; run < runs; run++) {
      const order = tools.map((_, index) => tools[(index + run) % tools.length] as Tool);
      for (const tool of order) {
        await requestCounts('DELETE');
        const outcome = await timed(tool, endpoint, key);
        const byOperation = await requestCounts('GET');
        const copy = await s3
          .send(new HeadObjectCommand({ Bucket: 'bench-dst', Key: key }))
          .catch(() => undefined);
        const verified = outcome.ok && copy?.ContentLength === size.bytes;
        if (!verified)
          throw new Error(`${tool.name} did not copy ${key}: ${outcome.error || 'wrong or missing replica'}`);
        await s3.send(new DeleteObjectCommand({ Bucket: 'bench-dst', Key: key }));
        const requests = Object.values(byOperation).reduce((a, b) => a + b, 0);
        results.push({
          size: size.label,
          tool: tool.name,
          run,
          seconds: outcome.seconds,
          requests,
          byOperation,
        });
        console.log(
          `  run ${run + 1} ${tool.name.padEnd(8)} ${outcome.seconds.toFixed(2).padStart(8)} s  ${String(requests).padStart(5)} requests`,
        );
      }
    }
    await s3.send(new DeleteObjectCommand({ Bucket: 'bench-src', Key: key }));
  }

  const lines = [
    `| size | tool | median s (min–max) | requests | Ferry is × faster |`,
    '| --- | --- | --- | --- | --- |',
  ];
  for (const size of sizes) {
    const ferry = median(
      results.filter((r) => r.size === size.label && r.tool === 'ferry').map((r) => r.seconds),
    );
    for (const tool of tools) {
      const mine = results.filter((r) => r.size === size.label && r.tool === tool.name);
      const seconds = mine.map((r) => r.seconds);
      const ratio = tool.name === 'ferry' || !ferry ? '—' : `${(median(seconds) / ferry).toFixed(2)}×`;
      const operations = Object.entries(mine.at(-1)?.byOperation ?? {})
        .map(([op, n]) => `${op} ${n}`)
        .join(', ');
      lines.push(
        `| ${size.label} | ${tool.name} | ${median(seconds).toFixed(2)} (${Math.min(...seconds).toFixed(2)}–${Math.max(...seconds).toFixed(2)}) | ${median(mine.map((r) => r.requests))} (${operations}) | ${ratio} |`,
      );
    }
  }
  console.log(`\n${lines.join('\n')}`);
  await mkdir('bench/results', { recursive: true });
  await writeFile(
    'bench/results/objects.json',
    JSON.stringify(
      { options: values, tools: { aws: awsVersion, rclone: rcloneVersion }, node: process.version, results },
      null,
      2,
    ),
  );
  console.log('\nRaw results: bench/results/objects.json');
} finally {
  s3.destroy();
  server.kill('SIGTERM');
}
