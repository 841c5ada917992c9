// How every function of serverless.yml is bundled, read from serverless.yml itself: the options of its
// `custom.esbuild` block as serverless-esbuild hands them to esbuild (plugins included), and the entry file of
// each function. `npm run bench -- bundles` and test/integration/bundled-functions.test.ts build with these,
// so what they measure and run are the bytes `npm run package` deploys.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import type { BuildOptions, Plugin } from 'esbuild';
import { parse } from 'yaml';
import { OPTIONAL_FUNCTIONS } from './template-parts.ts';

export interface ServerlessFile {
  service: string;
  provider: { runtime: string; tracing?: { lambda?: unknown }; environment?: Record<string, string> };
  custom: { esbuild: Record<string, unknown> };
  functions: Record<string, { handler: string; environment?: Record<string, unknown> }>;
}

/** A function serverless.yml leaves to the rules: `${file(./deploy/parts.cjs):functions.NAME, null}`. */
const OPTIONAL_ENTRY = /^\$\{file\(\.\/deploy\/parts\.cjs\):functions\.(\w+)\b/;

/**
 * serverless.yml as the bundles are built from it; a function the rules decide on (objectCreatedBatch, with
 * queue delivery) is read as it deploys when they ask for it, so it is bundled, run and measured too.
 */
export function readServerlessFile(file = 'serverless.yml'): ServerlessFile {
  const service = parse(readFileSync(file, 'utf8')) as ServerlessFile;
  for (const [name, entry] of Object.entries(service.functions as Record<string, unknown>)) {
    const optional = typeof entry === 'string' ? OPTIONAL_ENTRY.exec(entry)?.[1] : undefined;
    if (optional === undefined) continue;
    const definition = OPTIONAL_FUNCTIONS[optional as keyof typeof OPTIONAL_FUNCTIONS];
    if (!definition) throw new Error(`serverless.yml: ${name} names no optional function (${String(entry)})`);
    service.functions[name] = definition;
  }
  return service;
}

/**
 * serverless-esbuild's own keys, which it removes before calling esbuild (`exclude` becomes `external`,
 * `outputFileExtension` becomes `outExtension`, `plugins` names a file it require()s); every other key of
 * the block goes to esbuild as is.
 */
const PLUGIN_KEYS = new Set([
  'concurrency',
  'zipConcurrency',
  'exclude',
  'nativeZip',
  'packager',
  'packagePath',
  'watch',
  'keepOutputDirectory',
  'packagerOptions',
  'installExtraArgs',
  'outputFileExtension',
  'outputBuildFolder',
  'outputWorkFolder',
  'nodeExternals',
  'skipBuild',
  'skipRebuild',
  'skipBuildExcludeFns',
  'stripEntryResolveExtensions',
  'disposeContext',
  'config',
  'plugins',
]);

function pluginsOf(file: unknown, service: ServerlessFile): Plugin[] {
  if (typeof file !== 'string') return [];
  const loaded = createRequire(import.meta.url)(resolve(file)) as
    | Plugin[]
    | ((serverless: { service: ServerlessFile }) => Plugin[]);
  // As serverless-esbuild calls it: with the framework, whose `service` is the parsed serverless.yml.
  return typeof loaded === 'function' ? loaded({ service }) : loaded;
}

/** esbuild's target for a Lambda runtime, as serverless-esbuild derives it when the block names none. */
function esbuildTargetOf(runtime: string): string {
  const major = /^nodejs(\d+)\.x$/.exec(runtime)?.[1];
  if (major === undefined)
    throw new Error(`serverless.yml: provider.runtime ${runtime} is not a Node.js runtime`);
  return `node${major}`;
}

/** The esbuild options of every function bundle, as serverless-esbuild derives them from the service. */
export function functionBuildOptions(service: ServerlessFile): BuildOptions {
  const block = service.custom.esbuild;
  const options = Object.fromEntries(Object.entries(block).filter(([key]) => !PLUGIN_KEYS.has(key)));
  const exclude = (block.exclude as string[] | undefined) ?? [];
  const extension = block.outputFileExtension as string | undefined;
  return {
    target: esbuildTargetOf(service.provider.runtime),
    ...options,
    external: [
      ...((block.external as string[] | undefined) ?? []),
      ...(exclude.includes('*') ? [] : exclude),
    ],
    plugins: pluginsOf(block.plugins, service),
    ...(extension && extension !== '.js' ? { outExtension: { '.js': extension } } : {}),
  };
}

/** The extension of the bundles (`custom.esbuild.outputFileExtension`). */
export const bundleExtensionOf = (service: ServerlessFile): string =>
  (service.custom.esbuild.outputFileExtension as string | undefined) ?? '.js';

/** A function's entry file and its module path (`functions/object-created`), from its `handler`. */
export function functionEntryOf(service: ServerlessFile, name: string): { entry: string; module: string } {
  const handler = service.functions[name]?.handler;
  if (handler === undefined) throw new Error(`serverless.yml: no function ${name}`);
  const module = handler.slice(0, handler.lastIndexOf('.'));
  const entry = ['.ts', '.mts', '.js', '.mjs']
    .map((ext) => `${module}${ext}`)
    .find((file) => existsSync(file));
  if (!entry) throw new Error(`${name}: no entry file for ${handler}`);
  return { entry, module };
}
