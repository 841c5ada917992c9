import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type BuildOptions, build, type Plugin } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';

/** The plugins serverless.yml gives serverless-esbuild (`custom.esbuild.plugins`), called as it calls them. */
const pluginsFor = createRequire(import.meta.url)('../../../deploy/esbuild-plugins.cjs') as (serverless: {
  service: { provider: { tracing?: { lambda?: unknown } } };
}) => Plugin[];
/** Ferry's stack as serverless.yml has it: no X-Ray tracing of the functions. */
const plugins = pluginsFor({ service: { provider: {} } });

const folder = mkdtempSync(join(tmpdir(), 'ferry-esbuild-plugins-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));

/** Bundles `source` as the functions are bundled, with or without the plugins, and imports the result. */
async function bundle(name: string, source: string, options: BuildOptions = {}) {
  const entry = join(folder, `${name}.ts`);
  writeFileSync(entry, source);
  const outfile = join(folder, `${name}.mjs`);
  const result = await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    mainFields: ['module', 'main'],
    nodePaths: [join(process.cwd(), 'node_modules')],
    metafile: true,
    logLevel: 'silent',
    ...options,
  });
  const output = Object.values(result.metafile?.outputs ?? {})[0];
  return {
    bytes: output?.bytes ?? 0,
    inputs: Object.keys(output?.inputs ?? {}),
    module: (await import(pathToFileURL(outfile).href)) as Record<string, unknown>,
  };
}

/** A schema export as data: a thunk (`() => Other$`) stands for the name of the export it returns. */
function schemasAsData(module: Record<string, unknown>): Record<string, string> {
  const names = new Map(Object.entries(module).map(([name, value]) => [value, name]));
  const data = (value: unknown) =>
    JSON.stringify(value, (_key, part: unknown) =>
      typeof part === 'function' ? `→ ${names.get((part as () => unknown)()) ?? String(part)}` : part,
    );
  return Object.fromEntries(
    Object.entries(module)
      .filter(([name]) => name.endsWith('$'))
      .map(([name, value]) => [name, data(value)]),
  );
}

describe('esbuild plugins of the function bundles', () => {
  it.each(['client-ec2', 'client-s3', 'client-sfn'])(
    'It should leave every schema of @aws-sdk/%s as it was, with literal keys',
    {
      timeout: 60_000,
    },
    async (client) => {
      const source = `export * from '@aws-sdk/${client}/dist-es/schemas/schemas_0.js';`;
      const plain = await bundle(`${client}-plain`, source);
      const rewritten = await bundle(`${client}-rewritten`, source, { plugins });
      const expected = schemasAsData(plain.module);
      expect(Object.keys(expected).length).toBeGreaterThan(50);
      // The trait keys are compared too (what the plugin rewrites).
      expect(Object.values(expected).join()).toMatch(/"(httpError|ec2QueryName|xmlName)":/);
      expect(schemasAsData(rewritten.module)).toStrictEqual(expected);
    },
  );

  it('It should let esbuild drop the EC2 schemas a function does not use', { timeout: 60_000 }, async () => {
    const source = `import { EC2Client, DescribeSnapshotsCommand } from '@aws-sdk/client-ec2';
export const command = new DescribeSnapshotsCommand({ SnapshotIds: ['snap-1'] });
export const client = EC2Client;`;
    const plain = await bundle('ec2-command-plain', source, { minify: true });
    const rewritten = await bundle('ec2-command-rewritten', source, { minify: true, plugins });
    expect(rewritten.bytes).toBeLessThan(plain.bytes - 400_000);
  });

  it('It should keep the client version the User-Agent header names, and drop the rest of its package.json', {
    timeout: 60_000,
  }, async () => {
    const source = `import { S3Client } from '@aws-sdk/client-s3';
const client = new S3Client({ region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
export const userAgent = JSON.stringify(await client.config.defaultUserAgentProvider());`;
    const { version } = JSON.parse(
      readFileSync(join(process.cwd(), 'node_modules/@aws-sdk/client-s3/package.json'), 'utf8'),
    ) as { version: string };
    const plain = await bundle('user-agent-plain', source, { minify: true });
    const rewritten = await bundle('user-agent-rewritten', source, { minify: true, plugins });
    expect(rewritten.module.userAgent).toContain(`"api/S3","${version}"`);
    expect(rewritten.module.userAgent).toBe(plain.module.userAgent);
    expect(rewritten.bytes).toBeLessThan(plain.bytes - 2_000);
  });

  it('It should import zod as a namespace, keeping what the module uses and nothing else', {
    timeout: 60_000,
  }, async () => {
    const source = `import { ZodError, z } from 'zod';
const Rule = z.object({ name: z.string().min(1) });
export const valid = Rule.safeParse({ name: 'dr' }).success;
export const error = Rule.safeParse({ name: '' }).error instanceof ZodError;`;
    const plain = await bundle('zod-plain', source, { minify: true });
    const rewritten = await bundle('zod-rewritten', source, { minify: true, plugins });
    expect(rewritten.module).toStrictEqual(plain.module);
    expect(rewritten.module.valid).toBe(true);
    expect(rewritten.module.error).toBe(true);
    expect(rewritten.bytes).toBeLessThan(plain.bytes / 3);
  });

  // The Tracer and its middleware as Ferry uses them (src/foundation/observability): one client captured, one handler.
  const traced = `import { Tracer } from '@aws-lambda-powertools/tracer';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
const tracer = new Tracer({ serviceName: 'ferry' });
export const client = { name: 'a client' };
export const captured = tracer.captureAWSv3Client(client) === client;
export const handler = middy(async (event) => ({ echoed: event })).use(captureLambdaHandler(tracer));`;
  const fromXRay = (inputs: string[]) => inputs.filter((input) => input.includes('/aws-xray-sdk-core/'));

  it('It should bundle no X-Ray SDK when the functions are not traced, and run the handler the same', {
    timeout: 60_000,
  }, async () => {
    const untraced = await bundle('tracer-untraced', traced, { plugins });
    expect(fromXRay(untraced.inputs)).toEqual([]);
    expect(untraced.inputs.some((input) => input.endsWith('deploy/tracer-disabled.ts'))).toBe(true);
    expect(untraced.module.captured).toBe(true);
    const handler = untraced.module.handler as (event: unknown, context: unknown) => Promise<unknown>;
    expect(await handler({ id: 1 }, {})).toEqual({ echoed: { id: 1 } });
  });

  it.each([true, 'Active', 'PassThrough'])(
    'It should bundle the real Tracer when provider.tracing.lambda is %s',
    { timeout: 60_000 },
    async (lambda) => {
      const withTracing = pluginsFor({ service: { provider: { tracing: { lambda } } } });
      const tracedBundle = await bundle(`tracer-traced-${String(lambda)}`, traced, { plugins: withTracing });
      expect(fromXRay(tracedBundle.inputs).length).toBeGreaterThan(10);
      expect(tracedBundle.inputs.some((input) => input.endsWith('deploy/tracer-disabled.ts'))).toBe(false);
    },
  );
});
