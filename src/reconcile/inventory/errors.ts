/** Every error of the inventory path, named by what is wrong with the inventory it was given. */

/** The manifest's `fileSchema` lacks a field the join needs (the inventory configuration must include it). */
export class InventoryFieldMissingError extends Error {
  constructor(
    readonly missing: readonly string[],
    readonly fileSchema: string,
  ) {
    super(
      `the inventory's fileSchema "${fileSchema}" lacks ${missing.join(', ')}: configure the S3 Inventory ` +
        'with these optional fields (README, "Inventory reconcile")',
    );
    this.name = 'InventoryFieldMissingError';
  }
}

/** A line of an inventory CSV that is not a row of the manifest's fileSchema. */
export class MalformedInventoryCsvError extends Error {
  constructor(
    readonly line: number,
    readonly reason: string,
  ) {
    super(`inventory CSV line ${line}: ${reason}`);
    this.name = 'MalformedInventoryCsvError';
  }
}

/** A row from a bucket other than the one the join was given for that side. */
export class InventoryBucketMismatchError extends Error {
  constructor(
    readonly side: 'source' | 'replica',
    readonly expected: string,
    readonly found: string,
  ) {
    super(`a ${side} inventory row is from bucket "${found}", not "${expected}"`);
    this.name = 'InventoryBucketMismatchError';
  }
}

/** Two current rows for one key: an inventory lists each version once, and one version is the latest. */
export class DuplicateInventoryKeyError extends Error {
  constructor(
    readonly side: 'source' | 'replica',
    readonly key: string,
  ) {
    super(`the ${side} inventory has two current rows for key "${key}"`);
    this.name = 'DuplicateInventoryKeyError';
  }
}

/** The destination given to the join is not one of its rule's. */
export class UnknownInventoryDestinationError extends Error {
  constructor(
    readonly rule: string,
    readonly bucket: string,
  ) {
    super(`rule "${rule}" has no destination bucket "${bucket}"`);
    this.name = 'UnknownInventoryDestinationError';
  }
}

/** No inventory report where a rule says one is published. */
export class InventoryNotFoundError extends Error {
  constructor(sourceBucket: string, bucket: string, folder: string) {
    super(
      `no S3 Inventory report of bucket ${sourceBucket} at s3://${bucket}/${folder} (expected YYYY-MM-DDTHH-MMZ/manifest.json there): ` +
        'is the inventory configured with that destination, prefix and id, and has it published once?',
    );
    this.name = 'InventoryNotFoundError';
  }
}

/** A manifest.json that is not one S3 Inventory writes. */
export class InventoryManifestInvalidError extends Error {
  constructor(where: string, reason: string, options?: ErrorOptions) {
    super(`the inventory manifest ${where} is not valid: ${reason}`, options);
    this.name = 'InventoryManifestInvalidError';
  }
}

/** An inventory in ORC or Parquet: Ferry reads CSV reports. */
export class InventoryFormatError extends Error {
  constructor(where: string, format: string) {
    super(
      `the inventory ${where} is in ${format}; Ferry reads CSV inventories (set the report format to CSV)`,
    );
    this.name = 'InventoryFormatError';
  }
}

/** A rule the inventory reconcile was asked for that names no inventories. */
export class NoInventoryError extends Error {
  constructor(rule: string) {
    super(
      `rule "${rule}" names no inventories (objects.inventory and to[].inventory): reconcile it by listing`,
    );
    this.name = 'NoInventoryError';
  }
}

/**
 * What `ferry validate --inventory` (and `ferry backfill --inventory` before it starts) finds wrong with a
 * bucket's S3 Inventory configuration or its newest report (configuration.ts). A warning is printed and does
 * not refuse the run: the join is still correct, only slower or larger.
 */
export class InventoryConfigurationProblem extends Error {
  constructor(
    message: string,
    readonly severity: 'error' | 'warning' = 'error',
  ) {
    super(message);
    this.name = 'InventoryConfigurationProblem';
  }
}

/**
 * Whether a problem only warns. The check's problems are errors of the inventory path (this file), some of
 * them the same a run would meet in a report (InventoryFormatError, InventoryFieldMissingError, …).
 */
export const isWarning = (problem: Error): boolean =>
  problem instanceof InventoryConfigurationProblem && problem.severity === 'warning';

/** GetBucketInventoryConfiguration answered 404 NoSuchConfiguration: the bucket has no inventory of that id. */
export class InventoryConfigurationMissingError extends InventoryConfigurationProblem {
  constructor(
    readonly bucket: string,
    readonly configId: string,
    /** What to pass to `aws s3api put-bucket-inventory-configuration --inventory-configuration`. */
    readonly putJson: string,
  ) {
    super(`bucket ${bucket} has no S3 Inventory configuration "${configId}"`);
    this.name = 'InventoryConfigurationMissingError';
  }
}

/** S3 refused a read the check needs (403 AccessDenied): the credentials or the role lack the permission. */
export class InventoryAccessDeniedError extends InventoryConfigurationProblem {
  constructor(
    readonly action: string,
    readonly resource: string,
  ) {
    super(`access denied: ${action} on ${resource} (grant it to the credentials or role in use)`);
    this.name = 'InventoryAccessDeniedError';
  }
}

/** The configuration exists but IsEnabled is false: S3 publishes no report for it. */
export class InventoryDisabledError extends InventoryConfigurationProblem {
  constructor(configId: string) {
    super(`inventory "${configId}" is disabled (IsEnabled false): S3 publishes no report`);
    this.name = 'InventoryDisabledError';
  }
}

/** The configuration publishes somewhere else than the rule says it reads (bucket or prefix). */
export class InventoryDestinationMismatchError extends InventoryConfigurationProblem {
  constructor(
    readonly field: 'bucket' | 'prefix' | 'account',
    readonly expected: string,
    readonly found: string,
  ) {
    super(`the inventory publishes to ${field} "${found}", the rule reads ${field} "${expected}"`);
    this.name = 'InventoryDestinationMismatchError';
  }
}

/** The configuration's Filter Prefix leaves out keys the join must see (they would look missing or gone). */
export class InventoryFilterTooNarrowError extends InventoryConfigurationProblem {
  constructor(
    readonly filterPrefix: string,
    readonly keyPrefix: string,
  ) {
    super(
      `the inventory lists only keys under "${filterPrefix}", the rule reads keys under "${keyPrefix}": ` +
        'its Filter Prefix must be a beginning of the rule’s (or none)',
    );
    this.name = 'InventoryFilterTooNarrowError';
  }
}

/** IncludedObjectVersions is neither Current nor All (the only values S3 has). */
export class InventoryVersionsError extends InventoryConfigurationProblem {
  constructor(found: string | undefined) {
    super(`IncludedObjectVersions is "${found ?? ''}", expected Current (or All)`);
    this.name = 'InventoryVersionsError';
  }
}

/** IncludedObjectVersions All: correct, but the join reads only current rows of a larger report. */
export class InventoryAllVersionsWarning extends InventoryConfigurationProblem {
  constructor() {
    super(
      'IncludedObjectVersions is All: the join reads only current versions, so Current gives the same result from a smaller report',
      'warning',
    );
    this.name = 'InventoryAllVersionsWarning';
  }
}

/** No EncryptionStatus: the join cannot tell an MD5 ETag from a KMS one, so every present replica costs a HEAD. */
export class InventoryEncryptionStatusWarning extends InventoryConfigurationProblem {
  constructor() {
    super(
      'OptionalFields lack EncryptionStatus: no ETag is comparable without it, so every present replica costs a HeadObject',
      'warning',
    );
    this.name = 'InventoryEncryptionStatusWarning';
  }
}

/** The schedule is neither Daily nor Weekly (the only frequencies S3 has). */
export class InventoryScheduleError extends InventoryConfigurationProblem {
  constructor(found: string | undefined) {
    super(`Schedule Frequency is "${found ?? ''}", expected Daily or Weekly`);
    this.name = 'InventoryScheduleError';
  }
}

/** The newest report is older than its schedule allows: S3 has stopped publishing, or cannot write there. */
export class InventoryReportStaleError extends InventoryConfigurationProblem {
  constructor(
    readonly manifest: string,
    readonly ageHours: number,
    readonly limitHours: number,
    frequency: string,
  ) {
    super(
      `the newest report ${manifest} is ${ageHours} h old; a ${frequency} inventory's is at most ${limitHours} h old ` +
        '(is S3 allowed to write to the destination bucket? its bucket policy must grant s3.amazonaws.com s3:PutObject)',
    );
    this.name = 'InventoryReportStaleError';
  }
}

/** Another failure reading the configuration or the report (a missing bucket, a wrong Region), by its cause. */
export class InventoryReadError extends InventoryConfigurationProblem {
  constructor(
    readonly action: string,
    readonly resource: string,
    readonly reason: string,
    detail: string,
  ) {
    super(`${action} on ${resource} failed: ${reason} (${detail})`);
    this.name = 'InventoryReadError';
  }
}
