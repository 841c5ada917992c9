import type { InventoryConfiguration } from '@aws-sdk/client-s3';
import { type AwsTarget, destinationTarget } from '#foundation/aws-clients';
import { objectSourceRegionOf } from '#rules/config';
import { replicaSpace, sourceSpace } from '#rules/key-spaces';
import type { InventoryLocation, ObjectRule } from '#rules/schema';
import {
  InventoryAllVersionsWarning,
  InventoryDestinationMismatchError,
  InventoryDisabledError,
  InventoryEncryptionStatusWarning,
  InventoryFieldMissingError,
  InventoryFilterTooNarrowError,
  InventoryFormatError,
  InventoryReportStaleError,
  InventoryScheduleError,
  InventoryVersionsError,
} from './errors.ts';
import { REQUIRED_INVENTORY_FIELDS } from './rows.ts';

/**
 * The S3 Inventory configuration the inventory reconcile needs on each bucket a rule names an inventory for,
 * and the check of a bucket's actual configuration against it (pure: configuration in, problems out). The
 * shapes are S3's (https://docs.aws.amazon.com/AmazonS3/latest/API/API_InventoryConfiguration.html,
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_InventoryS3BucketDestination.html), the same JSON
 * `aws s3api put-bucket-inventory-configuration --inventory-configuration` takes.
 */

/** One bucket whose inventory a rule reads: its source, or one of its destinations. */
export interface InventorySide {
  rule: string;
  /** `source`, or `to[i]` (the destination's place in the rule). */
  side: string;
  /** The bucket the inventory lists (the configuration is put on it). */
  bucket: string;
  /** Where the rule reads its reports (the configuration's destination). */
  location: InventoryLocation;
  /** Every key the join reads in this bucket begins with it: the rule's prefix, or the replica key space's. */
  keyPrefix: string;
  /** The bucket's Region and, for a destination of another account, the role to read it with. */
  target: AwsTarget;
  /** The account that owns the reports' bucket, when known (the configuration's AccountId). */
  accountId?: string;
}

/** Every inventory a rule reads: its source's (in the source bucket's Region) and each destination's. */
export function inventorySidesOf(rule: ObjectRule, homeRegion: string, account?: string): InventorySide[] {
  const sides: InventorySide[] = [];
  if (rule.objects.inventory)
    sides.push({
      rule: rule.name,
      side: 'source',
      bucket: rule.objects.bucket,
      location: rule.objects.inventory,
      keyPrefix: sourceSpace(rule).prefix,
      target: { region: objectSourceRegionOf(rule, homeRegion) },
      ...(account ? { accountId: account } : {}),
    });
  rule.to.forEach((destination, index) => {
    if (!destination.inventory) return;
    const owner = destination.account ?? account;
    sides.push({
      rule: rule.name,
      side: `to[${index}]`,
      bucket: destination.bucket,
      location: destination.inventory,
      keyPrefix: replicaSpace(rule, destination).prefix,
      target: destinationTarget(destination),
      ...(owner ? { accountId: owner } : {}),
    });
  });
  return sides;
}

/** The optional fields the join reads (Bucket and Key are in every report). */
export const JOIN_FIELDS = REQUIRED_INVENTORY_FIELDS.filter((field) => field !== 'Bucket' && field !== 'Key');

/**
 * The optional fields Ferry asks for: the join's, EncryptionStatus (without it no ETag is comparable,
 * src/reconcile/inventory/join.ts), and StorageClass (not joined on; it tells which replicas are archived).
 */
export const FERRY_INVENTORY_FIELDS: readonly string[] = [...JOIN_FIELDS, 'StorageClass', 'EncryptionStatus'];

/**
 * How old the newest report may be. S3 publishes a Daily inventory every day and a Weekly one every Sunday
 * (UTC) (https://docs.aws.amazon.com/AmazonS3/latest/userguide/storage-inventory.html), and a report is
 * named by the time its scan began, delivered some hours later. So a Daily report up to 48 h old is the
 * newest or the one before a delivery still under way; a Weekly one up to 8 days old is last Sunday's plus a
 * day of delivery. Older, and a publication was missed: the join would repair from a stale picture.
 */
export const REPORT_MAX_AGE_HOURS = { Daily: 48, Weekly: 8 * 24 } as const;

/** The prefix as reportFolderOf reads it: without trailing slashes. */
const trimmed = (prefix: string) => prefix.replace(/\/+$/, '');

/** The configuration a side needs: what to put when it has none. */
export function requiredConfiguration(side: InventorySide): InventoryConfiguration {
  const prefix = trimmed(side.location.prefix);
  return {
    Id: side.location.configId,
    IsEnabled: true,
    Destination: {
      S3BucketDestination: {
        ...(side.accountId ? { AccountId: side.accountId } : {}),
        Bucket: `arn:aws:s3:::${side.location.bucket}`,
        Format: 'CSV',
        ...(prefix ? { Prefix: prefix } : {}),
      },
    },
    // Only the keys the join reads: a smaller report, and nothing it needs left out.
    ...(side.keyPrefix ? { Filter: { Prefix: side.keyPrefix } } : {}),
    IncludedObjectVersions: 'Current',
    OptionalFields: [...FERRY_INVENTORY_FIELDS] as InventoryConfiguration['OptionalFields'],
    Schedule: { Frequency: 'Daily' },
  };
}

/** Every problem of a side's configuration, all at once (an empty list: it is what the join needs). */
export function configurationProblems(side: InventorySide, configuration: InventoryConfiguration): Error[] {
  const problems: Error[] = [];
  const where = `configuration "${side.location.configId}" of bucket ${side.bucket}`;
  if (configuration.IsEnabled !== true) problems.push(new InventoryDisabledError(side.location.configId));
  const destination = configuration.Destination?.S3BucketDestination;
  if (destination?.Format !== 'CSV')
    problems.push(new InventoryFormatError(where, destination?.Format ?? 'no format'));
  const expectedArn = `arn:aws:s3:::${side.location.bucket}`;
  if (destination?.Bucket !== expectedArn)
    problems.push(new InventoryDestinationMismatchError('bucket', expectedArn, destination?.Bucket ?? ''));
  const expectedPrefix = trimmed(side.location.prefix);
  if ((destination?.Prefix ?? '') !== expectedPrefix)
    problems.push(new InventoryDestinationMismatchError('prefix', expectedPrefix, destination?.Prefix ?? ''));
  if (destination?.AccountId && side.accountId && destination.AccountId !== side.accountId)
    problems.push(new InventoryDestinationMismatchError('account', side.accountId, destination.AccountId));
  const filterPrefix = configuration.Filter?.Prefix ?? '';
  if (!side.keyPrefix.startsWith(filterPrefix))
    problems.push(new InventoryFilterTooNarrowError(filterPrefix, side.keyPrefix));
  const fields: readonly string[] = configuration.OptionalFields ?? [];
  const missing = JOIN_FIELDS.filter((field) => !fields.includes(field));
  if (missing.length > 0)
    problems.push(new InventoryFieldMissingError(missing, ['Bucket', 'Key', ...fields].join(', ')));
  if (!fields.includes('EncryptionStatus')) problems.push(new InventoryEncryptionStatusWarning());
  const versions = configuration.IncludedObjectVersions;
  if (versions === 'All') problems.push(new InventoryAllVersionsWarning());
  else if (versions !== 'Current') problems.push(new InventoryVersionsError(versions));
  const frequency = configuration.Schedule?.Frequency;
  if (frequency !== 'Daily' && frequency !== 'Weekly') problems.push(new InventoryScheduleError(frequency));
  return problems;
}

/** The newest report's age against its schedule (REPORT_MAX_AGE_HOURS); none for an unknown schedule. */
export function reportAgeProblems(
  manifest: string,
  created: Date,
  frequency: string | undefined,
  now: Date,
): Error[] {
  const limit = frequency === 'Daily' || frequency === 'Weekly' ? REPORT_MAX_AGE_HOURS[frequency] : undefined;
  if (limit === undefined) return [];
  const ageHours = Math.floor((now.getTime() - created.getTime()) / 3_600_000);
  return ageHours > limit ? [new InventoryReportStaleError(manifest, ageHours, limit, frequency ?? '')] : [];
}
