import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateSnapshotCommand, DescribeSnapshotsCommand } from '@aws-sdk/client-ec2';
import { HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readServerlessFile } from '#deploy/function-bundles';
import { MARKER } from '#ec2/markers';
import {
  buildFunctionBundle,
  bundleEnvironment,
  type FunctionBundle,
  runBundle,
  writeRulesFile,
} from '#local/bundled-function';
import { SANDBOX_ACCOUNT, SANDBOX_CREDENTIALS, type Sandbox, startSandbox } from '#local/sandbox';
import { compileRules, InvalidConfigError } from '#rules/load';
import { configFrom } from '#test/support/fixtures';

/**
 * The function bundles as `npm run package` builds them (serverless.yml's esbuild options and plugins, read
 * from the file), run as Lambda runs them: a fresh Node process that imports the bundle at init, with the
 * function's credentials in the reserved variables and nothing else, then calls the handler. What the
 * package-time substitutions (deploy/esbuild-plugins.cjs) leave out must not change what the functions do.
 */

const service = readServerlessFile();
const folder = mkdtempSync(join(tmpdir(), 'ferry-bundled-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));

const FUNCTIONS = Object.keys(service.functions);
/** The functions whose routers match snapshot and AMI description/name patterns (with RE2). */
const PATTERN_MATCHERS = ['snapshotCreated', 'imageAvailable', 'reconcile', 'ec2TagsChanged'];

const bundles = new Map<string, Promise<FunctionBundle>>();
function bundleOf(name: string): Promise<FunctionBundle> {
  let bundle = bundles.get(name);
  if (!bundle) {
    bundle = buildFunctionBundle(service, name, join(folder, name));
    bundles.set(name, bundle);
  }
  return bundle;
}

/** Runs a bundle in its own process; `stdout` is the handler's result (or "initialized"), as JSON. */
async function run(bundle: FunctionBundle, env: Record<string, string>, event?: unknown) {
  const { status, result, stderr } = await runBundle(bundle, env, { event, cwd: folder });
  return { status, stdout: result, stderr };
}

/** What Lambda sets for a function (no credentials here; each test adds the ones it means). */
const lambdaEnvironment = (rules: string) => bundleEnvironment(service, rules);
const rulesFile = (name: string, yaml: string) => writeRulesFile(join(folder, 'rules'), name, yaml);

const CROSS_ACCOUNT = readFileSync(new URL('../configs/cross-account.yml', import.meta.url), 'utf8');
const WRITER = 'arn:aws:iam::222233334444:role/ferry-writer';
const VAULT = 'arn:aws:iam::333344445555:role/ferry-vault-writer';
const VAULT_KEY = 'arn:aws:kms:us-west-2:333344445555:key/1234abcd-12ab-34cd-56ef-1234567890ab';

describe('the function bundles, as packaged', () => {
  it.each(FUNCTIONS)(
    'It should bundle %s without the SDK credential chain links Lambda never runs',
    {
      timeout: 60_000,
    },
    async (name) => {
      const { inputs } = await bundleOf(name);
      const from = (pattern: RegExp) => inputs.filter((input) => pattern.test(input));
      expect(from(/@aws-sdk\/credential-provider-(node|ini|sso|process|web-identity|login)\//)).toEqual([]);
      expect(from(/@smithy\/credential-provider-imds\//)).toEqual([]);
      expect(from(/@aws-sdk\/nested-clients\/.*\/(sso|sso-oidc|signin)\//)).toEqual([]);
      expect(from(/deploy\/lambda-credentials\.ts$/)).toHaveLength(1);
      // zod's English messages only: no other locale, no JSON Schema generator.
      expect(from(/zod\/v4\/locales\/(?!en\.js$)/)).toEqual([]);
      expect(from(/zod\/v4\/core\/json-schema\.js$/)).toEqual([]);
      // The RE2 engine only where a router matches with it.
      expect(from(/node_modules\/re2js\//).length > 0).toBe(PATTERN_MATCHERS.includes(name));
    },
  );

  it.each(FUNCTIONS)(
    'It should init %s with no credentials, and refuse a rules file the schema refuses',
    {
      timeout: 60_000,
    },
    async (name) => {
      const bundle = await bundleOf(name);
      const good = await run(bundle, lambdaEnvironment(rulesFile('good', CROSS_ACCOUNT)));
      expect(good.stderr).toBe('');
      expect(good.stdout).toBe('"initialized"');
      // A Region that is not one: what every function checks at init, with or without the RE2 engine.
      const corrupt = JSON.parse(compileRules(join(folder, 'rules', 'good.yml')));
      corrupt.rules[0].to[0].region = 'eu-nowhere';
      const file = join(folder, 'rules', 'corrupt.json');
      writeFileSync(file, JSON.stringify(corrupt));
      const refused = await run(bundle, lambdaEnvironment(file));
      expect(refused.status).not.toBe(0);
      expect(refused.stderr).toContain('InvalidConfigError');
      expect(refused.stderr).toContain('rules[0].to[0].region');
    },
  );

  it('It should refuse a pattern RE2 cannot compile when packaging, and at the init of each function that matches with it', {
    timeout: 120_000,
  }, async () => {
    const lookahead = `rules:
  - name: ebs-to-dr
    snapshots: { regions: [us-east-1], description: "^(?=nightly)" }
    to: [{ region: us-west-2 }]
`;
    const source = join(folder, 'rules', 'lookahead.yml');
    writeFileSync(source, lookahead);
    expect(() => compileRules(source)).toThrow(InvalidConfigError);
    expect(() => configFrom(lookahead)).toThrow(/does not compile/);
    // Written into the packaged file by hand, past the package step's check.
    const file = join(folder, 'rules', 'lookahead.json');
    writeFileSync(
      file,
      JSON.stringify({
        rules: [
          {
            name: 'ebs-to-dr',
            snapshots: { regions: ['us-east-1'], description: '^(?=nightly)' },
            to: [{ region: 'us-west-2' }],
          },
        ],
      }),
    );
    for (const name of FUNCTIONS) {
      const outcome = await run(await bundleOf(name), lambdaEnvironment(file));
      if (PATTERN_MATCHERS.includes(name)) {
        expect(outcome.status, name).not.toBe(0);
        expect(outcome.stderr, name).toMatch(/InvalidConfigError[\s\S]*rules\[0\]\.snapshots\.description/);
      } else {
        // The function never matches a pattern and was bundled without RE2 (deploy/text-pattern-unmatched.ts).
        expect(outcome.stdout, name).toBe('"initialized"');
      }
    }
  });
});

describe('the bundles against the sandbox', () => {
  let sandbox: Sandbox;
  let containerEndpoint: Server;
  let containerCalls = 0;
  /** The partner rule for the bundle; the sandbox's own handlers get a prefix no test key is under. */
  let rules: string;

  beforeAll(async () => {
    sandbox = await startSandbox({
      config: configFrom(
        CROSS_ACCOUNT.replace('prefix: published/', 'prefix: in-process-only/').replace(
          'backup: vault',
          'backup: in-process-only',
        ),
      ),
      port: 0,
      ec2: { copyBytesPerSecond: 1024 * 1024 * 1024, kmsKeys: { 'us-west-2': [VAULT_KEY] } },
    });
    rules = rulesFile('partner', CROSS_ACCOUNT);
    // A credentials endpoint as Lambda's SnapStart serves one (AWS_CONTAINER_CREDENTIALS_FULL_URI with its
    // authorization token), handing out the sandbox's keys.
    containerEndpoint = createServer((request, response) => {
      containerCalls += 1;
      if (request.headers.authorization !== 'container-token') {
        response.writeHead(403).end();
        return;
      }
      response.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          AccessKeyId: SANDBOX_CREDENTIALS.accessKeyId,
          SecretAccessKey: SANDBOX_CREDENTIALS.secretAccessKey,
          Token: 'container-session',
          Expiration: new Date(Date.now() + 3_600_000).toISOString(),
        }),
      );
    });
    await new Promise<void>((resolve) => containerEndpoint.listen(0, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    await new Promise((resolve) => containerEndpoint.close(resolve));
    await sandbox.stop();
  });

  /** Writes a source object and returns the "Object Created" event the sandbox's S3 published for it. */
  async function created(key: string) {
    await sandbox
      .s3('us-east-1')
      .send(new PutObjectCommand({ Bucket: 'acme-media', Key: key, Body: `body of ${key}` }));
    await sandbox.settle();
    const event = sandbox.bus.published.find(
      (published) =>
        (published as { 'detail-type'?: string })['detail-type'] === 'Object Created' &&
        (published as { detail?: { object?: { key?: string } } }).detail?.object?.key === key,
    );
    expect(event, key).toBeDefined();
    return event;
  }

  /** The replica of a key under published/ (the rule's keyPrefix takes the source prefix's place). */
  const replicaOf = (key: string) =>
    sandbox.s3('eu-west-1').send(
      new HeadObjectCommand({
        Bucket: 'partner-media-inbox',
        Key: key.replace(/^published\//, 'from-acme/'),
      }),
    );

  it('It should copy into the partner bucket as the role it assumed with the credentials of the reserved variables', {
    timeout: 120_000,
  }, async () => {
    const key = 'published/from-variables.txt';
    const event = await created(key);
    await expect(replicaOf(key)).rejects.toThrow();
    const outcome = await run(
      await bundleOf('objectCreated'),
      {
        ...lambdaEnvironment(rules),
        AWS_ACCESS_KEY_ID: SANDBOX_CREDENTIALS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: SANDBOX_CREDENTIALS.secretAccessKey,
        AWS_SESSION_TOKEN: 'lambda-session',
        AWS_ENDPOINT_URL: sandbox.endpoint,
      },
      event,
    );
    expect(outcome.stderr).toBe('');
    expect(outcome.status).toBe(0);
    expect((await replicaOf(key)).ContentLength).toBe(`body of ${key}`.length);
    // The copy was made with a session STS handed out for the partner's role, with its external id.
    expect([...sandbox.sts.sessions.values()]).toContainEqual(
      expect.objectContaining({ roleArn: WRITER, externalId: 'acme-ferry-7f3a9c' }),
    );
  });

  it('It should take the credentials from the container endpoint when Lambda gives no key variables (SnapStart)', {
    timeout: 120_000,
  }, async () => {
    const key = 'published/from-container.txt';
    const event = await created(key);
    const before = containerCalls;
    const { port } = containerEndpoint.address() as AddressInfo;
    const outcome = await run(
      await bundleOf('objectCreated'),
      {
        ...lambdaEnvironment(rules),
        AWS_CONTAINER_CREDENTIALS_FULL_URI: `http://127.0.0.1:${port}/credentials`,
        AWS_CONTAINER_AUTHORIZATION_TOKEN: 'container-token',
        AWS_ENDPOINT_URL: sandbox.endpoint,
      },
      event,
    );
    expect(outcome.stderr).toBe('');
    expect(outcome.status).toBe(0);
    expect((await replicaOf(key)).ContentLength).toBe(`body of ${key}`.length);
    // Fetched once by each client that signs as the function (the source's S3 client, and the STS client
    // that assumes the partner's role), as the SDK's chain does: kept until they near their expiration.
    expect(containerCalls - before).toBe(2);
  });

  it('It should fail the copy, naming why, when there are no credentials at all', {
    timeout: 120_000,
  }, async () => {
    const key = 'published/no-credentials.txt';
    const event = await created(key);
    const outcome = await run(
      await bundleOf('objectCreated'),
      { ...lambdaEnvironment(rules), AWS_ENDPOINT_URL: sandbox.endpoint },
      event,
    );
    expect(outcome.status).toBe(0);
    expect(JSON.parse(outcome.stdout)).toMatchObject({
      outcomes: [
        {
          status: 'failed',
          error: {
            cause: 'CredentialsProviderError',
            message: 'Unable to find environment variable credentials.',
          },
        },
      ],
    });
    await expect(replicaOf(key)).rejects.toThrow();
  });

  it('It should start a snapshot copy in the vault account from the ec2CopyStep bundle, as the vault role', {
    timeout: 120_000,
  }, async () => {
    const volumeId = sandbox.ec2.createVolume('us-east-1', { sizeGiB: 8 });
    const { SnapshotId = '' } = await sandbox
      .ec2Client('us-east-1')
      .send(new CreateSnapshotCommand({ VolumeId: volumeId, Description: 'bundled' }));
    await sandbox.settle();
    const job = {
      kind: 'snapshot',
      rule: 'ebs-to-vault',
      destinationIndex: 0,
      destination: {
        region: 'us-west-2',
        account: '333344445555',
        roleArn: VAULT,
        externalId: 'acme-ferry-vault-51d2',
        kmsKeyId: VAULT_KEY,
        copyTags: true,
        tags: {},
      },
      source: {
        id: SnapshotId,
        region: 'us-east-1',
        account: SANDBOX_ACCOUNT,
        encrypted: false,
        description: 'bundled',
        volumeId,
        tags: {},
      },
      eventTime: new Date().toISOString(),
    };
    const outcome = await run(
      await bundleOf('ec2CopyStep'),
      {
        ...lambdaEnvironment(rulesFile('vault', CROSS_ACCOUNT)),
        AWS_ACCESS_KEY_ID: SANDBOX_CREDENTIALS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: SANDBOX_CREDENTIALS.secretAccessKey,
        AWS_SESSION_TOKEN: 'lambda-session',
        AWS_ENDPOINT_URL: sandbox.endpoint,
      },
      { action: 'start', job },
    );
    expect(outcome.stderr).toBe('');
    expect(outcome.status).toBe(0);
    const { Snapshots = [] } = await sandbox
      .ec2Client('us-west-2')
      .send(
        new DescribeSnapshotsCommand({ Filters: [{ Name: `tag:${MARKER.sourceId}`, Values: [SnapshotId] }] }),
      );
    expect(Snapshots.map((snapshot) => [snapshot.Encrypted, snapshot.KmsKeyId])).toEqual([[true, VAULT_KEY]]);
    expect(JSON.parse(outcome.stdout)).toMatchObject({ id: Snapshots[0]?.SnapshotId });
    expect([...sandbox.sts.sessions.values()]).toContainEqual(
      expect.objectContaining({ roleArn: VAULT, externalId: 'acme-ferry-vault-51d2' }),
    );
  });
});
