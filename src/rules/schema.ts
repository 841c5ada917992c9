import { z } from 'zod';
import { rpoSchema } from '#rpo/duration';
import { exactRecord } from './exact-record.ts';
import {
  MAX_KEY_BYTES,
  MAX_METADATA_BYTES,
  metadataBytes,
  S3_OBJECT_TAG_LIMITS,
  type TagLimits,
  unicodeLength,
  utf8Bytes,
  worstCaseMarkerBytes,
} from './limits.ts';

/**
 * The closed schema of `replication.yml`. Every object is strict: an unknown key is an error, so a typo
 * (`storageclass:`) fails validation instead of silently changing what gets copied.
 */

const BUCKET_NAME = /^(?!xn--)(?!.*\.\.)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
export const REGION = /^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$/;
const ACCOUNT_ID = /^\d{12}$/;
const ROLE_ARN = /^arn:aws[a-z-]*:iam::(\d{12}):role\/[\w+=,.@/-]{1,512}$/;
/** What STS accepts as an ExternalId. */
const EXTERNAL_ID = /^[\w+=,.@:/-]{2,1224}$/;
const RULE_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
const METADATA_KEY = /^[a-z0-9][a-z0-9_.-]*$/;

export const STORAGE_CLASSES = [
  'STANDARD',
  'STANDARD_IA',
  'ONEZONE_IA',
  'INTELLIGENT_TIERING',
  'GLACIER_IR',
  'GLACIER',
  'DEEP_ARCHIVE',
  'REDUCED_REDUNDANCY',
] as const;

const oneOf = <const T extends readonly [string, ...string[]]>(values: T) =>
  z.enum(values, { error: `expected one of ${values.join(', ')}` });

/**
 * Directory buckets (S3 Express One Zone) are named `base--zone-id--x-s3`. Ferry refuses them rather than
 * copying into them with defaults that break there: they have no STANDARD storage class, their ETags are not
 * MD5 digests (Ferry compares a replica with its source by ETag), and object tags cannot be copied
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/s3-express-differences.html,
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/directory-bucket-naming-rules.html).
 */
const DIRECTORY_BUCKET_SUFFIX = '--x-s3';

const bucketName = z
  .string()
  .regex(BUCKET_NAME, 'expected an S3 bucket name (3–63 lowercase letters, digits, dots or hyphens)')
  .refine(
    (name) => !name.endsWith(DIRECTORY_BUCKET_SUFFIX),
    'is a directory bucket (S3 Express One Zone, a name ending "--x-s3"), which Ferry does not support: it has ' +
      'no STANDARD storage class, no object tags to copy, and ETags that are not MD5 digests',
  );
export const region = z.string().regex(REGION, 'expected an AWS Region such as us-west-2');

const KMS_KEY_ID = '(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})';
const KMS_ALIAS = 'alias/[A-Za-z0-9/_-]{1,250}';
const KMS_KEY = new RegExp(`^(?:${KMS_KEY_ID}|${KMS_ALIAS})$`);
const KMS_ARN = new RegExp(`^arn:aws[a-z-]*:kms:([a-z0-9-]+):\\d{12}:(?:key/${KMS_KEY_ID}|${KMS_ALIAS})$`);

/** A KMS key as AWS accepts one in a request: key id, key ARN, `alias/NAME` or an alias ARN. */
export const kmsKeyId = z
  .string()
  .refine(
    (key) => KMS_KEY.test(key) || KMS_ARN.test(key),
    'expected a KMS key id, a key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID), alias/NAME or an alias ARN',
  );

/** The Region of a key named by its ARN (or an alias ARN); undefined for a bare id or alias. */
export const kmsKeyRegionOf = (key: string): string | undefined => KMS_ARN.exec(key)?.[1];
export const accountId = z
  .string()
  .regex(ACCOUNT_ID, 'expected a 12-digit AWS account id (quote it in YAML)');
export const roleArn = z
  .string()
  .regex(ROLE_ARN, 'expected an IAM role ARN (arn:aws:iam::123456789012:role/name)');
/**
 * The `sts:ExternalId` that the trust policy of a destination's role requires (deploy/cross-account-role.yml
 * sets one). Required with every roleArn (checkAccountAndRole): it keeps anyone else who can name the role from
 * making it write for them (the confused-deputy problem).
 */
export const externalId = z
  .string()
  .regex(
    EXTERNAL_ID,
    'expected an external id of 2–1224 characters: letters, digits and any of _+=,.@:/- (no spaces)',
  );
export const ruleName = z
  .string()
  .regex(RULE_NAME, 'expected 1–64 letters, digits, "-" or "_", starting with a letter or digit');
/** A key prefix or suffix: S3 keys hold at most 1,024 bytes of UTF-8, so a longer part matches no key. */
const keyPart = z.string().superRefine((part, ctx) => {
  const bytes = utf8Bytes(part);
  if (bytes > MAX_KEY_BYTES)
    ctx.addIssue({
      code: 'custom',
      message: `expected at most ${MAX_KEY_BYTES} bytes of UTF-8 (the S3 key limit); this is ${bytes} bytes`,
    });
});

const RESERVED_TAG_PREFIXES = {
  'aws:': 'tag keys starting with "aws:" are reserved by AWS',
  'ferry:': 'tag keys starting with "ferry:" are reserved for the markers Ferry puts on its copies',
} as const;

/**
 * A map of tags with the limits of the service that stores them (limits.ts: S3 objects 10 tags, keys of 128
 * and values of 256 characters; EC2 resources 50, 127 and 255), lengths counted in Unicode characters as
 * both count them. Keys and values are checked here rather than by key and value schemas, so each error
 * names the offending key.
 */
export const tagMapOf = (options: {
  limits: TagLimits;
  /** Fewer than the service allows, where Ferry's own tags take some (EC2 copies). */
  maxTags?: number;
  limitName: string;
  reservedPrefixes: readonly (keyof typeof RESERVED_TAG_PREFIXES)[];
}) =>
  exactRecord(z.string(), z.string()).superRefine((tags, ctx) => {
    const { maxKeyChars, maxValueChars, service } = options.limits;
    const maxTags = options.maxTags ?? options.limits.maxTags;
    const entries = Object.entries(tags);
    if (entries.length > maxTags)
      ctx.addIssue({
        code: 'custom',
        message: `expected at most ${maxTags} tags (${options.limitName})`,
      });
    for (const [key, value] of entries) {
      const reserved = options.reservedPrefixes.find((prefix) => key.toLowerCase().startsWith(prefix));
      const keyChars = unicodeLength(key);
      if (keyChars === 0 || keyChars > maxKeyChars) {
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: `expected a tag key of 1–${maxKeyChars} characters (the ${service} limit)`,
        });
      } else if (reserved !== undefined) {
        ctx.addIssue({ code: 'custom', path: [key], message: RESERVED_TAG_PREFIXES[reserved] });
      }
      if (unicodeLength(value) > maxValueChars) {
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: `expected a tag value of at most ${maxValueChars} characters (the ${service} limit)`,
        });
      }
    }
  });

const tagMap = tagMapOf({
  limits: S3_OBJECT_TAG_LIMITS,
  limitName: 'the S3 object tag limit',
  reservedPrefixes: ['aws:'],
});

// User metadata travels in HTTP headers: keys lowercase, values printable ASCII.
const metadataMap = exactRecord(
  z.string().regex(METADATA_KEY, 'expected a lowercase metadata key (letters, digits, "-", "_", ".")'),
  z.string().regex(/^[\x20-\x7e]*$/, 'expected a printable ASCII metadata value'),
);

const encryption = z.discriminatedUnion(
  'sse',
  [
    z.strictObject({ sse: z.literal('AES256') }),
    z.strictObject({
      sse: z.literal('aws:kms'),
      kmsKeyId: z.string().min(1, 'expected a KMS key id, ARN or alias'),
      bucketKey: z.boolean().default(true),
    }),
  ],
  { error: 'expected encryption.sse to be "AES256" or "aws:kms"' },
);

/** What to do with the source's metadata (or tags): keep it (`copy`) and/or `set` extra values. */
const metadataPolicy = z.strictObject({
  copy: z.boolean().default(true),
  set: metadataMap.default({}),
});
const tagPolicy = z.strictObject({
  copy: z.boolean().default(true),
  set: tagMap.default({}),
});

/**
 * A destination's Object Lock (src/objects/object-lock.ts computes the replica's lock from it): `copy` carries
 * the source version's retention and legal hold, as S3 Replication does for Object Lock buckets; `mode` with
 * `days` or `years` is a minimum retention counted from the write. The bounds are those of a bucket's default
 * retention (a whole number of days or years, never both, with a mode:
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_DefaultRetention.html; at most 36,500 days or 100 years,
 * as the sandbox's PutObjectLockConfiguration also enforces).
 */
export const OBJECT_LOCK_MAX_DAYS = 36_500;
export const OBJECT_LOCK_MAX_YEARS = 100;
const lockPeriod = (max: number, unit: string) =>
  z
    .number()
    .int('expected a whole number')
    .min(1, `expected at least 1 ${unit.replace(/s$/, '')}`)
    .max(max, `expected at most ${max} ${unit} (S3's longest retention period)`);
const objectLockPolicy = z
  .strictObject({
    copy: z.boolean().default(true),
    mode: oneOf(['GOVERNANCE', 'COMPLIANCE'] as const).optional(),
    days: lockPeriod(OBJECT_LOCK_MAX_DAYS, 'days').optional(),
    years: lockPeriod(OBJECT_LOCK_MAX_YEARS, 'years').optional(),
  })
  .superRefine((lock, ctx) => {
    if (lock.days !== undefined && lock.years !== undefined)
      ctx.addIssue({ code: 'custom', path: ['years'], message: 'give days or years, not both (as S3 does)' });
    const period = lock.days !== undefined || lock.years !== undefined;
    if (lock.mode !== undefined && !period)
      ctx.addIssue({ code: 'custom', path: ['mode'], message: 'needs days or years: the minimum retention' });
    if (lock.mode === undefined && period)
      ctx.addIssue({
        code: 'custom',
        path: ['mode'],
        message: 'required with days or years: GOVERNANCE or COMPLIANCE',
      });
    if (!lock.copy && !period)
      ctx.addIssue({
        code: 'custom',
        path: ['copy'],
        message: 'copy: false with no minimum (mode and days or years) locks nothing: remove lock instead',
      });
  });

/** A role to assume names the destination account, and must belong to it. Shared by every destination kind. */
export function checkAccountAndRole<
  Destination extends { account?: string; roleArn?: string; externalId?: string },
>(destination: Destination, ctx: z.RefinementCtx<Destination>): void {
  if (destination.roleArn && !destination.account) {
    ctx.addIssue({ code: 'custom', path: ['account'], message: 'required when roleArn is set' });
  }
  // Required, not just recommended: the role deploy/cross-account-role.yml creates trusts Ferry only with its
  // ExternalId (an sts:ExternalId condition), so a destination without one would be denied on every copy. A
  // role whose trust policy has no such condition ignores the ExternalId, so giving one never locks a user out
  // (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_create_for-user_externalid.html).
  if (destination.roleArn && destination.externalId === undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['externalId'],
      message:
        "required when roleArn is set: the ExternalId the role's trust policy requires (deploy/cross-account-role.yml " +
        'requires one; it keeps anyone else who can name the role from making it write for them)',
    });
  }
  if (destination.externalId !== undefined && !destination.roleArn) {
    ctx.addIssue({
      code: 'custom',
      path: ['externalId'],
      message: 'used only with roleArn: it is the ExternalId Ferry passes when it assumes that role',
    });
  }
  const roleAccount = destination.roleArn ? ROLE_ARN.exec(destination.roleArn)?.[1] : undefined;
  if (roleAccount && destination.account && roleAccount !== destination.account) {
    ctx.addIssue({
      code: 'custom',
      path: ['roleArn'],
      message: `the role belongs to account ${roleAccount}, not to the destination account ${destination.account}`,
    });
  }
}

/**
 * Where S3 Inventory publishes the reports of one bucket (the inventory configuration's destination): its
 * bucket, its optional destination prefix, and the configuration's id. S3 writes the reports under
 * `prefix/SOURCE-BUCKET/CONFIG-ID/` (https://docs.aws.amazon.com/AmazonS3/latest/userguide/storage-inventory-location.html);
 * an inventory's destination bucket is in its source bucket's Region
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/configure-inventory.html). Reconcile then diffs
 * inventories on a Distributed Map instead of listing and HEADing (src/reconcile/inventory/).
 */
export const InventoryLocationSchema = z.strictObject({
  bucket: bucketName,
  prefix: keyPart.default(''),
  configId: z
    .string()
    .min(1, 'expected the inventory configuration id')
    .max(64, 'expected at most 64 characters (S3 inventory configuration ids)')
    .regex(/^[\w.-]+$/, 'expected letters, digits, "-", "_" or "."'),
});
export type InventoryLocation = z.infer<typeof InventoryLocationSchema>;

export const ObjectDestinationSchema = z
  .strictObject({
    bucket: bucketName,
    region,
    account: accountId.optional(),
    roleArn: roleArn.optional(),
    /** The ExternalId the role's trust policy requires; required whenever roleArn is set. */
    externalId: externalId.optional(),
    /** Replaces the rule's matched `prefix` in the replica's key. */
    keyPrefix: keyPart.optional(),
    /** Defaults to the source object's storage class. */
    storageClass: oneOf(STORAGE_CLASSES).optional(),
    encryption: encryption.optional(),
    metadata: metadataPolicy.default({ copy: true, set: {} }),
    tags: tagPolicy.default({ copy: true, set: {} }),
    replicateDeletes: z.boolean().default(false),
    /** Also delete the replica when a lifecycle rule expired the source (S3 Replication never does). */
    replicateLifecycleDeletes: z.boolean().default(false),
    /** Object Lock on the replica: the source's carried over, and/or a minimum of its own (object-lock.ts). */
    lock: objectLockPolicy.optional(),
    /** The S3 Inventory of this destination bucket, for the inventory reconcile (with the source's). */
    inventory: InventoryLocationSchema.optional(),
  })
  .superRefine(checkAccountAndRole)
  .superRefine((destination, ctx) => {
    if (destination.replicateLifecycleDeletes && !destination.replicateDeletes) {
      ctx.addIssue({
        code: 'custom',
        path: ['replicateLifecycleDeletes'],
        message: 'needs replicateDeletes: true (it widens which deletes are replicated)',
      });
    }
  });

export const ObjectSourceSchema = z
  .strictObject({
    bucket: bucketName,
    /**
     * The source bucket's Region; unset, the stack's home Region. A bucket elsewhere has its events
     * forwarded to the home bus by a forwarder stack in its Region (deploy/forwarders.ts), and Ferry reads it
     * there (HEAD, tags, listings) while CopyObject runs against the destination's Region, as S3 allows
     * across Regions (https://docs.aws.amazon.com/AmazonS3/latest/API/API_CopyObject.html).
     */
    region: region.optional(),
    prefix: keyPart.default(''),
    suffix: keyPart.optional(),
    minSize: z.number().int().nonnegative().optional(),
    maxSize: z.number().int().nonnegative().optional(),
    /** Every tag listed must be on the object with this exact value. */
    tags: tagMap.optional(),
    /**
     * How this rule treats objects that Ferry itself wrote (replicas). Unset: no rule may write where this
     * rule reads. `skip`: replicas are ignored (two-way setups). `chain`: replicas are copied onward.
     */
    replicas: oneOf(['skip', 'chain'] as const).optional(),
    /**
     * The bucket is Requester Pays: Ferry's reads of it (HeadObject, GetObjectTagging, CopyObject,
     * UploadPartCopy) pay as requester (`RequestPayer: requester`), billed to Ferry's account.
     */
    requesterPays: z.boolean().optional(),
    /** The S3 Inventory of this source bucket: with every destination's, reconcile diffs inventories. */
    inventory: InventoryLocationSchema.optional(),
    /**
     * The KMS keys the source's SSE-KMS objects are under: S3 decrypts a copy's source with the copier's
     * permissions, so the roles that copy get kms:Decrypt on these keys, through S3 in the source's Region,
     * for this bucket's objects only (deploy/iam/object-statements.ts; README, `objects.kmsKeys`).
     */
    kmsKeys: z.array(kmsKeyId).min(1, 'expected at least one KMS key (or no kmsKeys)').optional(),
  })
  .superRefine((source, ctx) => {
    if (source.minSize !== undefined && source.maxSize !== undefined && source.minSize > source.maxSize) {
      ctx.addIssue({ code: 'custom', path: ['maxSize'], message: 'must not be smaller than minSize' });
    }
    checkSourceKeys(source, ctx);
  });

/** A source's keys, each once: a repeat is reported at its own index. */
function checkSourceKeys(
  source: { kmsKeys?: readonly string[] | undefined },
  ctx: z.RefinementCtx<unknown>,
): void {
  (source.kmsKeys ?? []).forEach((key, index, keys) => {
    const first = keys.indexOf(key);
    if (first !== index)
      ctx.addIssue({
        code: 'custom',
        path: ['kmsKeys', index],
        message: `"${key}" is already listed at [${first}]`,
      });
  });
}

export const ObjectRuleSchema = z
  .strictObject({
    name: ruleName,
    description: z.string().optional(),
    /**
     * Lets this rule's replicas share keys with another rule's, in one bucket (shared-replicas.ts): where
     * replica spaces overlap, the rule with the higher priority owns the keys and the lower one never writes
     * them. Both rules must set one; without, an overlap is refused.
     */
    priority: z.number().int('expected a whole number').min(0).max(1_000_000).optional(),
    /** The recovery-point objective: each replica is verified within it, or an event says it was not (src/rpo/). */
    rpo: rpoSchema.optional(),
    objects: ObjectSourceSchema,
    to: z.array(ObjectDestinationSchema).min(1, 'expected at least one destination'),
  })
  .superRefine(checkMetadataLimit)
  .superRefine(checkInventories);

/**
 * The inventory reconcile joins the source's inventory with each destination's: a rule names all of them
 * or none (half would leave destinations unchecked, or every replica looking orphaned).
 */
function checkInventories(
  rule: { objects: { inventory?: unknown }; to: readonly { inventory?: unknown }[] },
  ctx: z.RefinementCtx<unknown>,
): void {
  const named = rule.to.filter((destination) => destination.inventory !== undefined).length;
  if (rule.objects.inventory === undefined && named === 0) return;
  if (rule.objects.inventory === undefined)
    ctx.addIssue({
      code: 'custom',
      path: ['objects', 'inventory'],
      message: 'is needed when a destination names its inventory: the inventory reconcile joins both sides',
    });
  rule.to.forEach((destination, index) => {
    if (destination.inventory === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['to', index, 'inventory'],
        message:
          "is needed when the source names its inventory: the inventory reconcile joins the source's rows with each destination's",
      });
  });
}

/**
 * S3 refuses a copy whose user metadata exceeds 2 KB (MetadataTooLarge). A replica carries `metadata.set`
 * and Ferry's markers (plus, with `copy`, the source's own metadata, which only the copy itself can count):
 * `set` is refused when it alone is over, or when it and the markers at their largest could be.
 */
function checkMetadataLimit(
  rule: { name: string; objects: { bucket: string }; to: readonly ObjectDestination[] },
  ctx: z.RefinementCtx<unknown>,
): void {
  const markers = worstCaseMarkerBytes({ bucket: rule.objects.bucket, rule: rule.name });
  rule.to.forEach((destination, index) => {
    const set = metadataBytes(destination.metadata.set);
    const path = ['to', index, 'metadata', 'set'];
    if (set > MAX_METADATA_BYTES) {
      ctx.addIssue({
        code: 'custom',
        path,
        message: `takes ${set} bytes (UTF-8 keys and values), over the ${MAX_METADATA_BYTES} bytes (2 KB) of user metadata S3 allows: S3 would refuse every copy (MetadataTooLarge)`,
      });
    } else if (set + markers > MAX_METADATA_BYTES) {
      ctx.addIssue({
        code: 'custom',
        path,
        message:
          `takes ${set} bytes (UTF-8 keys and values); with Ferry's replica markers, up to ${markers} bytes for this rule, ` +
          `a replica's user metadata could reach ${set + markers} bytes, over the ${MAX_METADATA_BYTES} (2 KB) S3 allows ` +
          `(MetadataTooLarge): keep metadata.set within ${MAX_METADATA_BYTES - markers} bytes`,
      });
    }
  });
}

export type ObjectDestination = z.infer<typeof ObjectDestinationSchema>;
export type ObjectLockPolicy = z.infer<typeof objectLockPolicy>;
export type ObjectSource = z.infer<typeof ObjectSourceSchema>;
export type ObjectRule = z.infer<typeof ObjectRuleSchema>;
export type StorageClass = (typeof STORAGE_CLASSES)[number];

const MiB = 1024 ** 2;
const GiB = 1024 ** 3;

/** A byte count within S3's part limits: 5 MiB to 5 GiB. */
const partBytes = (limit: string) =>
  z
    .number()
    .int()
    .min(5 * MiB, 'expected at least 5 MiB (5242880)')
    .max(5 * GiB, `expected at most 5 GiB (5368709120)${limit}`);

/** How objects are copied; every field has a default, so the whole block is optional. */
export const CopySettingsSchema = z.strictObject({
  /**
   * Objects larger than this take the multipart path (the state machine); at most CopyObject's 5 GiB.
   * 512 MiB is where the multipart copy starts to win (BENCHMARKS.md, "Choosing the multipart threshold").
   */
  multipartThreshold: partBytes(', the CopyObject limit').default(512 * MiB),
  /**
   * A fixed part size for sources whose own part layout is not kept. Unset (the default), parts are sized
   * from the object: its size over `partsInFlight`, at least `minPartSize`, at most 5 GiB.
   */
  partSize: partBytes('').optional(),
  /** The smallest part a derived layout uses. 16 MiB: below it, more requests buy no speed (BENCHMARKS.md). */
  minPartSize: partBytes('').default(16 * MiB),
  /**
   * UploadPartCopy requests a large copy keeps in flight, spread over Lambda invocations of
   * `partConcurrency` each (at most 40 side by side, Step Functions' inline Map limit).
   */
  partsInFlight: z.number().int().min(1).max(2560).default(64),
  /** UploadPartCopy requests in flight per Lambda invocation. */
  partConcurrency: z.number().int().min(1).max(64).default(8),
});

export type CopySettings = z.infer<typeof CopySettingsSchema>;
