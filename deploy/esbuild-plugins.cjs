// The esbuild plugins of every function bundle: `custom.esbuild.plugins` in serverless.yml (serverless-esbuild
// require()s this file and calls it with the service), and bench/bundles.ts reads the same entry. Each one
// only changes how a module is written, or which module stands for one the function never runs, so that
// esbuild can drop what the function does not use; what the code does is unchanged.
const { readFile } = require('node:fs/promises');
const { relative, resolve, sep } = require('node:path');

/**
 * The AWS SDK's generated schemas key their traits by constant (`{ [_xN]: _m }`). esbuild must keep any
 * statement with a computed key (it could run code), so every schema of the client stays: 550 kB for EC2,
 * of which a function uses a dozen. Writing the constant's string in place of the key lets them go
 * (aws/aws-sdk-js-v3#7607; the generator fix is smithy-lang/smithy-typescript#1889).
 */
const literalSchemaKeys = {
  name: 'literal-schema-keys',
  setup(build) {
    build.onLoad({ filter: /[\\/]@aws-sdk[\\/].+[\\/]dist-es[\\/].*schemas_\d+\.js$/ }, async ({ path }) => {
      const text = await readFile(path, 'utf8');
      const strings = new Map();
      for (const [, name, literal] of text.matchAll(/^const (\w+) = ("[^"\\\n]*");$/gm)) {
        strings.set(name, literal);
      }
      const contents = text.replace(/\[(\w+)\]:/g, (key, name) =>
        strings.has(name) ? `${strings.get(name)}:` : key,
      );
      return { contents, loader: 'js' };
    });
  },
};

/**
 * Each SDK client imports its whole package.json (its exports map, scripts, dependencies: 2–4 kB each, four
 * copies in a bundle) to read one field, `version`, for the User-Agent header. The bundle gets `name` and
 * `version` only; the header is unchanged.
 */
const sdkPackageVersion = {
  name: 'sdk-package-version',
  setup(build) {
    build.onLoad({ filter: /[\\/]@aws-sdk[\\/][^\\/]+[\\/]package\.json$/ }, async ({ path }) => {
      const { name, version } = JSON.parse(await readFile(path, 'utf8'));
      return { contents: JSON.stringify({ name, version }), loader: 'json' };
    });
  },
};

/** `import { z, … } from 'zod'` → `import * as z from 'zod'; import { … } from 'zod'`, else unchanged. */
function zodNamespaceImports(text) {
  return text.replace(/import\s*\{([^}]*)\}\s*from\s*(['"])zod\2;?/g, (statement, list, quote) => {
    const names = list
      .split(',')
      .map((name) => name.trim())
      .filter(Boolean);
    if (!names.includes('z')) return statement;
    const others = names.filter((name) => name !== 'z');
    const from = `from ${quote}zod${quote};`;
    return `import * as z ${from}${others.length > 0 ? ` import { ${others.join(', ')} } ${from}` : ''}`;
  });
}

/**
 * esbuild cannot shake the `z` namespace when it is imported by name (`import { z } from 'zod'`, as Ferry and
 * Powertools' parser do): all of zod is kept, 455 kB with every locale. Imported as a namespace
 * (`import * as z`, which zod recommends), only what is used stays, about 100 kB (colinhacks/zod#6597).
 */
const zodNamespace = {
  name: 'zod-namespace',
  setup(build) {
    build.onLoad({ filter: /\.(m?js|ts)$/ }, async ({ path }) => {
      const text = await readFile(path, 'utf8');
      if (!text.includes('zod')) return undefined;
      const contents = zodNamespaceImports(text);
      return contents === text ? undefined : { contents, loader: path.endsWith('.ts') ? 'ts' : 'js' };
    });
  },
};

/**
 * Without `provider.tracing.lambda` the functions never record a trace of their own (Lambda's PassThrough
 * mode), so the Tracer and its middleware resolve to deploy/tracer-disabled.ts: what the real ones do when
 * tracing is off, without the X-Ray SDK. Turning tracing on brings the real Tracer back into the bundles.
 */
const tracerDisabled = {
  name: 'tracer-disabled',
  setup(build) {
    build.onResolve({ filter: /^@aws-lambda-powertools\/tracer(\/middleware)?$/ }, () => ({
      path: resolve(__dirname, 'tracer-disabled.ts'),
    }));
  },
};

/**
 * The SDK's default credential chain resolves to deploy/lambda-credentials.ts: the two links of it that run in
 * Lambda (the reserved key variables, and the container endpoint SnapStart uses), without the SSO, INI,
 * process, web-identity and instance-metadata providers and the clients they bring (see the file).
 */
const lambdaCredentials = {
  name: 'lambda-credentials',
  setup(build) {
    build.onResolve({ filter: /^@aws-sdk\/credential-provider-node$/ }, () => ({
      path: resolve(__dirname, 'lambda-credentials.ts'),
    }));
  },
};

/**
 * The functions that match no snapshot or AMI description/name pattern (no snapshot or AMI router runs in
 * them), by entry file. In their bundles src/rules/text-pattern.ts resolves to deploy/text-pattern-unmatched.ts,
 * without the RE2 engine (re2js, 150 kB); the file says what that leaves out of their init's validation, and
 * why it is safe. A function not listed keeps the engine: forgetting one costs bytes, never a match.
 */
const MATCH_NO_PATTERN = new Set([
  'functions/object-created',
  'functions/object-created-batch',
  'functions/object-deleted',
  'functions/object-copy-step',
  'functions/ec2-copy-step',
  'functions/ec2-copy-completed',
  'functions/ec2-copy-sweep',
  'functions/rpo-monitor',
  'functions/object-tags-changed',
  'functions/inventory-batch',
]);

/** An entry point as esbuild was given it, relative to the service, without its extension. */
const entryNameOf = (entry) =>
  relative(process.cwd(), resolve(typeof entry === 'string' ? entry : entry.in))
    .split(sep)
    .join('/')
    .replace(/\.[cm]?[jt]s$/, '');

const textPatternUnmatched = {
  name: 'text-pattern-unmatched',
  setup(build) {
    const entries = Array.isArray(build.initialOptions.entryPoints) ? build.initialOptions.entryPoints : [];
    if (entries.length === 0 || !entries.every((entry) => MATCH_NO_PATTERN.has(entryNameOf(entry)))) return;
    build.onResolve({ filter: /(^|[\\/])text-pattern(\.ts)?$/ }, ({ path, importer }) =>
      path === '#rules/text-pattern' || /[\\/]src[\\/]rules[\\/]/.test(importer)
        ? { path: resolve(__dirname, 'text-pattern-unmatched.ts') }
        : undefined,
    );
  },
};

/** Whether the service turns X-Ray tracing on for its functions (`true`, `Active` or `PassThrough`). */
const tracesFunctions = (service) => Boolean(service?.provider?.tracing?.lambda);

/** The plugins for a service: serverless-esbuild passes the framework (`serverless.service`). */
module.exports = (serverless) => [
  literalSchemaKeys,
  sdkPackageVersion,
  zodNamespace,
  lambdaCredentials,
  textPatternUnmatched,
  ...(tracesFunctions(serverless?.service) ? [] : [tracerDisabled]),
];
