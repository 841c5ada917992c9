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
