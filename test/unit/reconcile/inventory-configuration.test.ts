import {
  GetBucketInventoryConfigurationCommand,
  type InventoryConfiguration,
  ListObjectsV2Command,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { checkInventorySide, hasErrors } from '#reconcile/inventory/check';
import {
  configurationProblems,
  inventorySidesOf,
  REPORT_MAX_AGE_HOURS,
  reportAgeProblems,
  requiredConfiguration,
} from '#reconcile/inventory/configuration';
import {
  InventoryAccessDeniedError,
  InventoryAllVersionsWarning,
  InventoryConfigurationMissingError,
  InventoryDestinationMismatchError,
  InventoryDisabledError,
  InventoryEncryptionStatusWarning,
  InventoryFieldMissingError,
  InventoryFilterTooNarrowError,
  InventoryFormatError,
  InventoryNotFoundError,
  InventoryReportStaleError,
  InventoryScheduleError,
  InventoryVersionsError,
  isWarning,
} from '#reconcile/inventory/errors';
import { ObjectRuleSchema } from '#rules/schema';

const rule = ObjectRuleSchema.parse({
  name: 'docs',
  objects: {
    bucket: 'src',
    prefix: 'docs/',
    inventory: { bucket: 'reports', prefix: 'inv', configId: 'daily' },
  },
  to: [
    {
      bucket: 'dr-bucket',
      region: 'us-west-2',
      keyPrefix: 'mirror/',
      account: '222233334444',
      roleArn: 'arn:aws:iam::222233334444:role/ferry',
      externalId: 'ferry-dr',
      inventory: { bucket: 'reports-dr', configId: 'weekly-dr' },
    },
  ],
});
const [source, destination] = inventorySidesOf(rule, 'us-east-1', '111122223333') as [
  ReturnType<typeof inventorySidesOf>[number],
  ReturnType<typeof inventorySidesOf>[number],
];

const names = (problems: readonly Error[]) => problems.map((problem) => problem.name);
const good = (): InventoryConfiguration => requiredConfiguration(source);

describe('the inventory configuration Ferry needs', () => {
  it('names each side with its bucket, key space, Region, role and owner', () => {
    expect(source).toMatchObject({
      side: 'source',
      bucket: 'src',
      keyPrefix: 'docs/',
      target: { region: 'us-east-1' },
      accountId: '111122223333',
    });
    expect(destination).toMatchObject({
      side: 'to[0]',
      bucket: 'dr-bucket',
      keyPrefix: 'mirror/',
      target: {
        region: 'us-west-2',
        roleArn: 'arn:aws:iam::222233334444:role/ferry',
        externalId: 'ferry-dr',
      },
      accountId: '222233334444',
    });
  });

  it('is the JSON put-bucket-inventory-configuration takes: CSV, the join fields, current versions, daily', () => {
    expect(requiredConfiguration(destination)).toEqual({
      Id: 'weekly-dr',
      IsEnabled: true,
      Destination: {
        S3BucketDestination: { AccountId: '222233334444', Bucket: 'arn:aws:s3:::reports-dr', Format: 'CSV' },
      },
      Filter: { Prefix: 'mirror/' },
      IncludedObjectVersions: 'Current',
      OptionalFields: ['Size', 'LastModifiedDate', 'ETag', 'StorageClass', 'EncryptionStatus'],
      Schedule: { Frequency: 'Daily' },
    });
  });

  it('finds no problem in that configuration', () => {
    expect(configurationProblems(source, good())).toEqual([]);
    expect(configurationProblems(destination, requiredConfiguration(destination))).toEqual([]);
  });

  it('names every wrong field, all at once', () => {
    const problems = configurationProblems(source, {
      ...good(),
      IsEnabled: false,
      Destination: {
        S3BucketDestination: {
          Bucket: 'arn:aws:s3:::elsewhere',
          Format: 'Parquet',
          Prefix: 'other',
          AccountId: '999999999999',
        },
      },
      Filter: { Prefix: 'docs/2024/' },
      OptionalFields: ['Size', 'StorageClass'],
      IncludedObjectVersions: 'Some' as never,
      Schedule: { Frequency: 'Hourly' as never },
    });
    expect(names(problems)).toEqual([
      'InventoryDisabledError',
      'InventoryFormatError',
      'InventoryDestinationMismatchError',
      'InventoryDestinationMismatchError',
      'InventoryDestinationMismatchError',
      'InventoryFilterTooNarrowError',
      'InventoryFieldMissingError',
      'InventoryEncryptionStatusWarning',
      'InventoryVersionsError',
      'InventoryScheduleError',
    ]);
    expect(problems[1]).toBeInstanceOf(InventoryFormatError);
    expect(problems.slice(2, 5).map((p) => (p as InventoryDestinationMismatchError).field)).toEqual([
      'bucket',
      'prefix',
      'account',
    ]);
    expect((problems[6] as InventoryFieldMissingError).missing).toEqual(['LastModifiedDate', 'ETag']);
  });

  it.each([
    ['disabled', { IsEnabled: false }, InventoryDisabledError],
    [
      'ORC',
      {
        Destination: {
          S3BucketDestination: { Bucket: 'arn:aws:s3:::reports', Prefix: 'inv', Format: 'ORC' },
        },
      },
      InventoryFormatError,
    ],
    [
      'another bucket',
      { Destination: { S3BucketDestination: { Bucket: 'arn:aws:s3:::x', Prefix: 'inv', Format: 'CSV' } } },
      InventoryDestinationMismatchError,
    ],
    [
      'another prefix',
      { Destination: { S3BucketDestination: { Bucket: 'arn:aws:s3:::reports', Format: 'CSV' } } },
      InventoryDestinationMismatchError,
    ],
    [
      'a trailing slash on the prefix',
      {
        Destination: {
          S3BucketDestination: { Bucket: 'arn:aws:s3:::reports', Prefix: 'inv/', Format: 'CSV' },
        },
      },
      InventoryDestinationMismatchError,
    ],
    ['a narrower filter', { Filter: { Prefix: 'docs/a' } }, InventoryFilterTooNarrowError],
    [
      'no ETag',
      { OptionalFields: ['Size', 'LastModifiedDate', 'EncryptionStatus'] },
      InventoryFieldMissingError,
    ],
    [
      'no Size',
      { OptionalFields: ['ETag', 'LastModifiedDate', 'EncryptionStatus'] },
      InventoryFieldMissingError,
    ],
    ['an unknown version setting', { IncludedObjectVersions: 'Latest' }, InventoryVersionsError],
    ['no schedule', { Schedule: undefined }, InventoryScheduleError],
  ] as const)('refuses %s with its named error', (_, change, type) => {
    const problems = configurationProblems(source, {
      ...good(),
      ...(change as Partial<InventoryConfiguration>),
    });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toBeInstanceOf(type);
    expect(isWarning(problems[0] as Error)).toBe(false);
  });

  it('only warns for all versions and for no EncryptionStatus: the join stays correct', () => {
    const problems = configurationProblems(source, {
      ...good(),
      IncludedObjectVersions: 'All',
      OptionalFields: ['Size', 'LastModifiedDate', 'ETag'],
    });
    expect(problems.map((p) => p.constructor)).toEqual([
      InventoryEncryptionStatusWarning,
      InventoryAllVersionsWarning,
    ]);
    expect(problems.every(isWarning)).toBe(true);
  });

  it('accepts a wider filter, and none', () => {
    expect(configurationProblems(source, { ...good(), Filter: { Prefix: 'do' } })).toEqual([]);
    expect(configurationProblems(source, { ...good(), Filter: undefined })).toEqual([]);
  });
});

describe('the newest report against its schedule', () => {
  const now = new Date('2026-12-03T12:00:00Z');
  const hoursAgo = (hours: number) => new Date(now.getTime() - hours * 3_600_000);

  it('allows a daily report 48 h old and a weekly one 8 days old', () => {
    expect(REPORT_MAX_AGE_HOURS).toEqual({ Daily: 48, Weekly: 192 });
    expect(reportAgeProblems('m', hoursAgo(48), 'Daily', now)).toEqual([]);
    expect(reportAgeProblems('m', hoursAgo(192), 'Weekly', now)).toEqual([]);
  });

  it('names a report older than that', () => {
    const [daily] = reportAgeProblems('s3://r/m.json', hoursAgo(49), 'Daily', now);
    expect(daily).toBeInstanceOf(InventoryReportStaleError);
    expect(daily).toMatchObject({ ageHours: 49, limitHours: 48 });
    expect(reportAgeProblems('m', hoursAgo(193), 'Weekly', now)[0]).toBeInstanceOf(InventoryReportStaleError);
  });
});

describe('reading a side (S3 answers mocked)', () => {
  const s3 = mockClient(S3Client);
  afterEach(() => s3.reset());
  const client = new S3Client({ region: 'us-east-1' });
  const serviceError = (name: string, status: number) =>
    new S3ServiceException({ name, $fault: 'client', $metadata: { httpStatusCode: status }, message: name });

  it('answers a missing configuration with the JSON to put', async () => {
    s3.on(GetBucketInventoryConfigurationCommand).rejects(serviceError('NoSuchConfiguration', 404));
    const { problems } = await checkInventorySide(source, () => client, new Date());
    expect(problems).toHaveLength(1);
    const [missing] = problems as [InventoryConfigurationMissingError];
    expect(missing).toBeInstanceOf(InventoryConfigurationMissingError);
    expect(JSON.parse(missing.putJson)).toEqual(requiredConfiguration(source));
  });

  it('names access denied to the configuration, and to the report folder', async () => {
    s3.on(GetBucketInventoryConfigurationCommand).rejects(serviceError('AccessDenied', 403));
    const denied = await checkInventorySide(source, () => client, new Date());
    expect(denied.problems[0]).toBeInstanceOf(InventoryAccessDeniedError);
    expect(denied.problems[0]).toMatchObject({
      action: 's3:GetInventoryConfiguration',
      resource: 'arn:aws:s3:::src',
    });

    s3.reset();
    s3.on(GetBucketInventoryConfigurationCommand).resolves({ InventoryConfiguration: good() });
    s3.on(ListObjectsV2Command).rejects(serviceError('AccessDenied', 403));
    const listing = await checkInventorySide(source, () => client, new Date());
    expect(listing.problems).toHaveLength(1);
    expect(listing.problems[0]).toMatchObject({
      name: 'InventoryAccessDeniedError',
      action: 's3:ListBucket',
    });
    expect(hasErrors([listing])).toBe(true);
  });

  it('names a configuration that has not published yet', async () => {
    s3.on(GetBucketInventoryConfigurationCommand).resolves({ InventoryConfiguration: good() });
    s3.on(ListObjectsV2Command).resolves({ CommonPrefixes: [], IsTruncated: false });
    const { problems } = await checkInventorySide(source, () => client, new Date());
    expect(problems.map((p) => p.constructor)).toEqual([InventoryNotFoundError]);
  });
});
