import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { stringify } from 'yaml';

/**
 * A large, valid `replication.yml` for the limit tests (issue 13, "Limits checked at package time"): many
 * object rules spread over many source buckets, plus snapshot and AMI rules over several Regions. Every
 * feature that adds IAM statements appears somewhere (KMS aliases and key ARNs, `keyPrefix`, deletes,
 * cross-account destinations with and without a role, suffixes), so the roles grow as a real fleet's would.
 * Deterministic: the same options always give the same file, so measured sizes can be compared.
 */
export interface ThousandRulesOptions {
  /** Object rules (default 940). */
  objects?: number;
  /** Source buckets the object rules are spread over (default 210). */
  buckets?: number;
  /** Snapshot rules (default 30). */
  snapshots?: number;
  /** Image (AMI) rules (default 30). */
  images?: number;
}

export const THOUSAND_RULES_DEFAULTS = {
  objects: 940,
  buckets: 210,
  snapshots: 30,
  images: 30,
} as const satisfies Required<ThousandRulesOptions>;

const DESTINATION_REGIONS = ['us-west-2', 'eu-west-1', 'eu-central-1', 'ap-southeast-2'] as const;
const EC2_SOURCE_REGIONS = ['us-east-1', 'us-east-2', 'eu-west-1', 'ap-southeast-2'] as const;
const PARTNER_ACCOUNT = '222233334444';
const VAULT_ACCOUNT = '333344445555';
const VAULT_KEY = `arn:aws:kms:us-west-2:${VAULT_ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;

const pick = <T>(values: readonly T[], index: number): T => values[index % values.length] as T;

/** Object rule `index`: source bucket `index % buckets`, its own prefix there, one or two destinations. */
function objectRule(index: number, buckets: number): Record<string, unknown> {
  const bucket = `fleet-source-${String(index % buckets).padStart(3, '0')}`;
  const prefix = `team-${String(index).padStart(4, '0')}/`;
  // A bucket has one Region (validation refuses a bucket named in two), so the Region follows the bucket.
  const region = pick(DESTINATION_REGIONS, index % buckets);
  const primary: Record<string, unknown> = {
    bucket: `fleet-dr-${String(index % buckets).padStart(3, '0')}`,
    region,
  };
  if (index % 3 === 0) primary.keyPrefix = `mirror/${prefix}`;
  if (index % 4 === 0) primary.replicateDeletes = true;
  if (index % 5 === 0) primary.encryption = { sse: 'aws:kms', kmsKeyId: `alias/fleet-dr-${index % 7}` };
  if (index % 11 === 0) {
    primary.encryption = {
      sse: 'aws:kms',
      kmsKeyId: `arn:aws:kms:${region}:111122223333:key/${String(index % 100).padStart(8, '0')}-1234-1234-1234-123456789012`,
    };
  }
  const to = [primary];
  if (index % 10 === 0) {
    // A replica in the partner's bucket written by Ferry (bucket-owner-full-control).
    to.push({ bucket: `partner-inbox-${index % 13}`, region: 'eu-west-1', account: PARTNER_ACCOUNT });
  } else if (index % 10 === 5) {
    // A replica written by a role the partner owns.
    to.push({
      bucket: `partner-archive-${index % 17}`,
      region: 'eu-west-1',
      account: PARTNER_ACCOUNT,
      roleArn: `arn:aws:iam::${PARTNER_ACCOUNT}:role/ferry-writer-${index % 4}`,
      externalId: `fleet-ferry-${index % 4}`,
      replicateDeletes: true,
    });
  }
  return {
    name: `objects-${String(index).padStart(4, '0')}`,
    objects: { bucket, prefix, ...(index % 6 === 0 ? { suffix: '.json' } : {}) },
    to,
  };
}

function snapshotRule(index: number): Record<string, unknown> {
  const destination: Record<string, unknown> = {
    region: pick(DESTINATION_REGIONS, index + 1),
    retain: { count: 7 },
  };
  if (index % 2 === 0) destination.kmsKeyId = `alias/fleet-ebs-${index % 5}`;
  if (index % 7 === 3) {
    destination.account = VAULT_ACCOUNT;
    destination.roleArn = `arn:aws:iam::${VAULT_ACCOUNT}:role/ferry-vault-writer`;
    destination.externalId = 'fleet-ferry-vault';
    destination.kmsKeyId = VAULT_KEY;
    destination.region = 'us-west-2';
  }
  if (index % 5 === 1) destination.archive = true;
  return {
    name: `snapshots-${String(index).padStart(3, '0')}`,
    snapshots: {
      regions: [pick(EC2_SOURCE_REGIONS, index), pick(EC2_SOURCE_REGIONS, index + 2)],
      tags: { backup: `tier-${index}` },
    },
    to: [destination],
  };
}

function imageRule(index: number): Record<string, unknown> {
  const destinations: Record<string, unknown>[] = [
    { region: pick(DESTINATION_REGIONS, index + 2), retain: { days: 30 } },
  ];
  if (index % 3 === 0) {
    destinations.push({
      region: 'us-west-2',
      account: VAULT_ACCOUNT,
      roleArn: `arn:aws:iam::${VAULT_ACCOUNT}:role/ferry-vault-writer`,
      externalId: 'fleet-ferry-vault',
      kmsKeyId: VAULT_KEY,
    });
  }
  return {
    name: `images-${String(index).padStart(3, '0')}`,
    images: { regions: [pick(EC2_SOURCE_REGIONS, index + 1)], tags: { dr: `set-${index}` } },
    to: destinations,
  };
}

/** The configuration as the YAML file would hold it (raw: defaults are applied by validation). */
export function thousandRulesConfig(options: ThousandRulesOptions = {}): {
  rules: Record<string, unknown>[];
} {
  const { objects, buckets, snapshots, images } = { ...THOUSAND_RULES_DEFAULTS, ...options };
  return {
    rules: [
      ...Array.from({ length: objects }, (_, index) => objectRule(index, buckets)),
      ...Array.from({ length: snapshots }, (_, index) => snapshotRule(index)),
      ...Array.from({ length: images }, (_, index) => imageRule(index)),
    ],
  };
}

/** Writes the configuration as YAML to `file` (folders created) and returns the path, for FERRY_CONFIG. */
export function writeThousandRules(file: string, options: ThousandRulesOptions = {}): string {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, stringify(thousandRulesConfig(options)));
  return file;
}
