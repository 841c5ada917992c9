/** Every error of reconcile and backfill, named by what went wrong in the request. */

export class UnknownRuleError extends Error {
  constructor(
    readonly rule: string,
    readonly known: readonly string[],
  ) {
    super(
      `no rule is named "${rule}"; the rules are: ${known.map((name) => `"${name}"`).join(', ') || '(none)'}`,
    );
    this.name = 'UnknownRuleError';
  }
}

export class InvalidResumeTokenError extends Error {
  constructor(token: string) {
    super(`resume token "${token}" is not one a reconcile pass returned`);
    this.name = 'InvalidResumeTokenError';
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
    super(`the inventory ${where} is in ${format}; Ferry reads CSV inventories (set the report format to CSV)`);
    this.name = 'InventoryFormatError';
  }
}

/** An inventory without the columns the join compares. */
export class InventoryFieldsMissingError extends Error {
  constructor(
    where: string,
    readonly missing: readonly string[],
  ) {
    super(
      `the inventory ${where} lacks the field${missing.length === 1 ? '' : 's'} ${missing.join(', ')}: ` +
        'add them to the inventory configuration (optional fields Size, LastModifiedDate, ETag, StorageClass, EncryptionStatus)',
    );
    this.name = 'InventoryFieldsMissingError';
  }
}

/** A rule the inventory reconcile was asked for that names no inventories. */
export class NoInventoryError extends Error {
  constructor(rule: string) {
    super(`rule "${rule}" names no inventories (objects.inventory and to[].inventory): reconcile it by listing`);
    this.name = 'NoInventoryError';
  }
}
