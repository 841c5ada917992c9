import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import {
  CreateBucketCommand,
  DeleteBucketInventoryConfigurationCommand,
  GetBucketInventoryConfigurationCommand,
  GetObjectCommand,
  type InventoryConfiguration,
  ListBucketInventoryConfigurationsCommand,
  PutBucketInventoryConfigurationCommand,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SANDBOX_CREDENTIALS, type Sandbox, startSandbox } from '#local/sandbox';
import { inventorySidesOf, requiredConfiguration } from '#reconcile/inventory/configuration';
import { inventoryRule, writeConfigFile } from '#test/support/inventory-rule';
import { backfillCommand } from '../../cli/backfill.ts';
import { runFerry } from '../../cli/command-line.ts';
import { inventoryCheck } from '../../cli/inventory-check.ts';

/**
 * The inventory check against the sandbox's S3, which keeps inventory configurations as S3 does
 * (local/s3/inventory-configuration.ts) and publishes reports as they say: `ferry validate --inventory`
 * reads them with the SDK, as against AWS.
 */

/** With the AWS CLI installed, the printed put command is run as printed; else its JSON goes through the SDK. */
const hasAwsCli = spawnSync('aws', ['--version'], { encoding: 'utf8' }).status === 0;
const {
  yaml: YAML,
  config: CONFIG,
  rule: RULE,
} = inventoryRule({ buckets: 'ic', destinationConfigId: 'daily-dr' });

let sandbox: Sandbox;
let configFile: string;
const east = () => sandbox.s3('us-east-1');
const west = () => sandbox.s3('us-west-2');

const sides = () => inventorySidesOf(RULE, 'us-east-1', sandbox.account);
const sourceSide = () => sides()[0] as ReturnType<typeof sides>[number];
const putSource = (configuration: InventoryConfiguration) =>
  east().send(
    new PutBucketInventoryConfigurationCommand({
      Bucket: 'ic-source',
      Id: configuration.Id,
      InventoryConfiguration: configuration,
    }),
  );
const check = (now?: Date) =>
  inventoryCheck(CONFIG, { endpoint: sandbox.endpoint, region: 'us-east-1', ...(now ? { now } : {}) });
const problemNames = async (now?: Date) =>
  (await check(now)).checks.flatMap((entry) => entry.problems.map((problem) => problem.name));

/** The S3 error an SDK call was answered with: its code and HTTP status. */
async function refusal(call: Promise<unknown>): Promise<{ name: string; status: number | undefined }> {
  try {
    await call;
  } catch (error) {
    const { name, $metadata } = error as { name: string; $metadata?: { httpStatusCode?: number } };
    return { name, status: $metadata?.httpStatusCode };
  }
  throw new Error('the request was not refused');
}

beforeAll(async () => {
  sandbox = await startSandbox({ config: CONFIG, port: 0 });
  configFile = writeConfigFile(YAML, 'ferry-invcheck-');
  await east().send(new PutObjectCommand({ Bucket: 'ic-source', Key: 'docs/a.txt', Body: 'a' }));
  await east().send(new PutObjectCommand({ Bucket: 'ic-source', Key: 'other/b.txt', Body: 'b' }));
  await sandbox.settle();
});
afterAll(() => sandbox.stop());

describe('the sandbox S3 keeps inventory configurations as S3 does', () => {
  const base = (): InventoryConfiguration => requiredConfiguration(sourceSide());
  const put = (configuration: unknown, id = 'daily') =>
    east().send(
      new PutBucketInventoryConfigurationCommand({
        Bucket: 'ic-source',
        Id: id,
        InventoryConfiguration: configuration as InventoryConfiguration,
      }),
    );

  it.each([
    [
      'a format S3 does not have',
      { Destination: { S3BucketDestination: { Bucket: 'arn:aws:s3:::ic-reports', Format: 'XLS' } } },
    ],
    ['an unknown optional field', { OptionalFields: ['Size', 'Colour'] }],
    ['a frequency S3 does not have', { Schedule: { Frequency: 'Hourly' } }],
    ['versions S3 does not have', { IncludedObjectVersions: 'Latest' }],
  ])('refuses %s: 400 MalformedXML', async (_, change) => {
    expect(await refusal(put({ ...base(), ...change }))).toEqual({ name: 'MalformedXML', status: 400 });
  });

  it('refuses an Id other than the request’s, and a destination that is no bucket ARN: 400 InvalidArgument', async () => {
    expect(await refusal(put(base(), 'other'))).toEqual({ name: 'InvalidArgument', status: 400 });
    const notAnArn = {
      ...base(),
      Destination: { S3BucketDestination: { Bucket: 'ic-reports', Format: 'CSV' } },
    };
    expect(await refusal(put(notAnArn))).toEqual({ name: 'InvalidArgument', status: 400 });
  });

  it('answers an unknown id 404 NoSuchConfiguration, to Get and to Delete', async () => {
    const get = east().send(new GetBucketInventoryConfigurationCommand({ Bucket: 'ic-source', Id: 'nope' }));
    expect(await refusal(get)).toEqual({ name: 'NoSuchConfiguration', status: 404 });
    const del = east().send(
      new DeleteBucketInventoryConfigurationCommand({ Bucket: 'ic-source', Id: 'nope' }),
    );
    expect(await refusal(del)).toEqual({ name: 'NoSuchConfiguration', status: 404 });
  });

  it('reads back what was put, and deletes it', async () => {
    const configuration = { ...base(), Id: 'roundtrip' };
    await put(configuration, 'roundtrip');
    const answer = await east().send(
      new GetBucketInventoryConfigurationCommand({ Bucket: 'ic-source', Id: 'roundtrip' }),
    );
    expect(answer.InventoryConfiguration).toEqual(configuration);
    await east().send(
      new DeleteBucketInventoryConfigurationCommand({ Bucket: 'ic-source', Id: 'roundtrip' }),
    );
    const gone = east().send(
      new GetBucketInventoryConfigurationCommand({ Bucket: 'ic-source', Id: 'roundtrip' }),
    );
    expect((await refusal(gone)).name).toBe('NoSuchConfiguration');
  });

  it('lists 100 a page and refuses a 1,001st configuration: 400 TooManyConfigurations', async () => {
    await east().send(new CreateBucketCommand({ Bucket: 'ic-many' }));
    const many = (id: string) =>
      east().send(
        new PutBucketInventoryConfigurationCommand({
          Bucket: 'ic-many',
          Id: id,
          InventoryConfiguration: { ...base(), Id: id },
        }),
      );
    for (let i = 0; i < 1000; i += 50)
      await Promise.all(Array.from({ length: 50 }, (_, j) => many(`c${String(i + j).padStart(4, '0')}`)));
    expect(await refusal(many('one-more'))).toEqual({ name: 'TooManyConfigurations', status: 400 });
    // Putting an existing id again replaces it: no new configuration.
    await many('c0000');
    const ids: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page = await east().send(
        new ListBucketInventoryConfigurationsCommand({ Bucket: 'ic-many', ContinuationToken: token }),
      );
      pages += 1;
      expect(page.InventoryConfigurationList?.length ?? 0).toBeLessThanOrEqual(100);
      ids.push(...(page.InventoryConfigurationList ?? []).map((entry) => entry.Id ?? ''));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    expect(pages).toBe(10);
    expect(new Set(ids).size).toBe(1000);
  });

  it('publishes reports as the stored configuration says: its fields, versions and filter', async () => {
    await put({
      ...base(),
      Filter: { Prefix: 'docs/' },
      IncludedObjectVersions: 'All',
      OptionalFields: ['Size', 'LastModifiedDate', 'ETag'],
    });
    const manifestKey = await sandbox.publishInventory('ic-source', RULE.objects.inventory ?? never());
    const manifest = JSON.parse(
      (await (
        await east().send(new GetObjectCommand({ Bucket: 'ic-reports', Key: manifestKey }))
      ).Body?.transformToString()) ?? '{}',
    ) as { fileSchema: string; files: { key: string }[] };
    expect(manifest.fileSchema).toBe(
      'Bucket, Key, VersionId, IsLatest, IsDeleteMarker, Size, LastModifiedDate, ETag',
    );
    const [file] = manifest.files;
    const data = await east().send(new GetObjectCommand({ Bucket: 'ic-reports', Key: file?.key }));
    const { gunzipSync } = await import('node:zlib');
    const text = gunzipSync(Buffer.from(await (data.Body?.transformToByteArray() ?? never()))).toString();
    expect(text).toContain('"docs/a.txt"');
    expect(text).not.toContain('other/b.txt');
    await east().send(new DeleteBucketInventoryConfigurationCommand({ Bucket: 'ic-source', Id: 'daily' }));
  });
});

function never(): never {
  throw new Error('unreachable');
}

describe('ferry validate --inventory on the sandbox', () => {
  it('names each missing configuration and prints the JSON to put; with it put, the check passes', async () => {
    const missing = await runFerry(['validate', configFile, '--inventory', '--endpoint', sandbox.endpoint]);
    expect(missing.exitCode).toBe(1);
    const text = missing.lines.join('\n');
    expect(text).toContain(
      'InventoryConfigurationMissingError: bucket ic-source has no S3 Inventory configuration "daily"',
    );
    expect(text).toContain(
      'InventoryConfigurationMissingError: bucket ic-dr has no S3 Inventory configuration "daily-dr"',
    );
    // The printed commands, run as a user would (their JSON through the SDK, which takes the same shape).
    const commands = missing.lines.filter((line) => line.includes('put-bucket-inventory-configuration'));
    expect(commands).toHaveLength(2);
    for (const line of commands) {
      const match = /--region (\S+) --bucket (\S+) --id (\S+) --inventory-configuration '(.*)'$/.exec(
        line.trim(),
      );
      expect(match, line).not.toBeNull();
      if (hasAwsCli) {
        // The printed line itself, through a shell and the AWS CLI, as a user would paste it.
        await promisify(execFile)('sh', ['-c', `${line.trim()} --endpoint-url ${sandbox.endpoint}`], {
          env: {
            ...process.env,
            AWS_ACCESS_KEY_ID: SANDBOX_CREDENTIALS.accessKeyId,
            AWS_SECRET_ACCESS_KEY: SANDBOX_CREDENTIALS.secretAccessKey,
            AWS_CONFIG_FILE: '/dev/null',
            AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
          },
        });
      } else {
        const [, region = '', bucket, id, json = ''] = match ?? [];
        await sandbox.s3(region).send(
          new PutBucketInventoryConfigurationCommand({
            Bucket: bucket,
            Id: id,
            InventoryConfiguration: JSON.parse(json),
          }),
        );
      }
    }
    // Configured, but the destination's has published nothing yet (the source's published above).
    expect(await problemNames()).toEqual(['InventoryNotFoundError']);
    await sandbox.publishInventories();
    const passed = await runFerry(['validate', configFile, '--inventory', '--endpoint', sandbox.endpoint]);
    expect(passed.lines.join('\n')).toContain('as the inventory reconcile needs it');
    expect(passed.exitCode).toBe(0);
  });

  it.each([
    ['disabled', { IsEnabled: false }, 'InventoryDisabledError'],
    [
      'in ORC',
      {
        Destination: {
          S3BucketDestination: { Bucket: 'arn:aws:s3:::ic-reports', Prefix: 'inventories', Format: 'ORC' },
        },
      },
      'InventoryFormatError',
    ],
    [
      'published elsewhere',
      {
        Destination: {
          S3BucketDestination: { Bucket: 'arn:aws:s3:::ic-reports-dr', Prefix: 'inventories', Format: 'CSV' },
        },
      },
      'InventoryDestinationMismatchError',
    ],
    [
      'under another prefix',
      {
        Destination: {
          S3BucketDestination: { Bucket: 'arn:aws:s3:::ic-reports', Prefix: 'inv', Format: 'CSV' },
        },
      },
      'InventoryDestinationMismatchError',
    ],
    [
      'without ETag',
      { OptionalFields: ['Size', 'LastModifiedDate', 'EncryptionStatus'] },
      'InventoryFieldMissingError',
    ],
    ['filtered too narrowly', { Filter: { Prefix: 'docs/2024/' } }, 'InventoryFilterTooNarrowError'],
    ['of all versions', { IncludedObjectVersions: 'All' }, 'InventoryAllVersionsWarning'],
  ] as const)('names a configuration %s by its cause', async (_, change, name) => {
    await putSource({
      ...requiredConfiguration(sourceSide()),
      ...(change as Partial<InventoryConfiguration>),
    });
    try {
      const { checks, result } = await check();
      const [source, destination] = checks;
      expect(source?.problems.map((problem) => problem.name)).toContain(name);
      expect(destination?.problems).toEqual([]);
      expect(result.exitCode).toBe(name.endsWith('Warning') ? 0 : 1);
    } finally {
      await putSource(requiredConfiguration(sourceSide()));
    }
  });

  it('names a report older than its schedule allows (Daily: 48 h)', async () => {
    const later = new Date(Date.now() + 49 * 3_600_000);
    expect(await problemNames(later)).toEqual(['InventoryReportStaleError', 'InventoryReportStaleError']);
    expect(await problemNames()).toEqual([]);
  });

  it('ferry backfill --inventory refuses with the causes, and starts nothing', async () => {
    await east().send(new DeleteBucketInventoryConfigurationCommand({ Bucket: 'ic-source', Id: 'daily' }));
    await west().send(
      new PutBucketInventoryConfigurationCommand({
        Bucket: 'ic-dr',
        Id: 'daily-dr',
        InventoryConfiguration: { ...requiredConfiguration(sides()[1] ?? never()), IsEnabled: false },
      }),
    );
    const started = sandbox.calls().length;
    const result = await backfillCommand({
      configFile,
      endpoint: sandbox.endpoint,
      inventory: true,
      env: {},
    });
    expect(result.exitCode).toBe(1);
    const text = result.lines.join('\n');
    expect(text).toContain('backfill --inventory refused');
    expect(text).toContain('InventoryConfigurationMissingError');
    expect(text).toContain('InventoryDisabledError');
    expect(sandbox.calls().length).toBe(started);
  });
});
