// The generated rule sets and event streams that the routing benchmark (`npm run bench -- routing`) times
// and the router tests check the indexes against. Here, in test support, because tests need it and must
// not reach into bench/; the timing loop stays in bench/routing-throughput.ts.
//
// Rules are generated as a replication.yml document and read by the real loader (`parseConfig`), so every
// rule is one the schema accepts (and the loop check passes). Events are the facts a handler routes with.
import { stringify } from 'yaml';
import type { ImageFacts } from '#ec2/images/router';
import type { SnapshotFacts } from '#ec2/snapshots/router';
import { seededRandom } from '#local/virtual-clock';
import type { Tags } from '#objects/router';
import { type FerryConfig, imageRulesOf, objectRulesOf, snapshotRulesOf } from '#rules/config';
import type { ImageRule, SnapshotRule } from '#rules/ec2-schema';
import { parseConfig } from '#rules/load';
import type { ObjectRule } from '#rules/schema';

export interface ObjectEvent {
  bucket: string;
  key: string;
  size: number;
  tags: Tags;
}

export interface RoutingWorkload {
  config: FerryConfig;
  objects: { rules: ObjectRule[]; events: ObjectEvent[] };
  snapshots: { rules: SnapshotRule[]; events: SnapshotFacts[] };
  images: { rules: ImageRule[]; events: ImageFacts[] };
}

type Random = () => number;

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

// Commercial Regions; the first ones are where most sources live.
const REGIONS = [
  'us-east-1',
  'eu-west-1',
  'us-west-2',
  'eu-central-1',
  'ap-southeast-1',
  'us-east-2',
  'ap-northeast-1',
  'eu-west-2',
  'ap-southeast-2',
  'ca-central-1',
  'sa-east-1',
  'ap-south-1',
  'eu-north-1',
  'us-west-1',
  'eu-west-3',
  'ap-northeast-2',
];
const TOP = [
  'logs',
  'data',
  'invoices',
  'media',
  'backups',
  'exports',
  'reports',
  'uploads',
  'raw',
  'curated',
];
const TEAMS = ['finance', 'web', 'ml', 'payments', 'search', 'ads', 'hr', 'platform', 'mobile', 'security'];
const EXTENSIONS = ['.pdf', '.json', '.parquet', '.csv.gz', '.jpg', '.log', '.mp4', '.txt'];
const BACKUP_TIERS = ['dr', 'daily', 'weekly', 'archive', 'compliance'];
const DESCRIPTIONS = [
  'nightly backup',
  'weekly full',
  'Created by CreateImage(i-0123456789abcdef0) for ami-0123456789abcdef0',
  'manual before upgrade',
  'backup-daily db',
  'backup-weekly db',
];
const DESCRIPTION_PATTERNS = ['^nightly', '^backup-(daily|weekly)', 'CreateImage', 'db$', 'upgrade'];
const AMI_ROLES = ['web', 'api', 'worker', 'batch', 'bastion', 'db'];

const pick = <T>(random: Random, items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
/** Index skewed toward 0: a few buckets, Regions or teams carry most of the rules, as in real accounts. */
const skewed = <T>(random: Random, items: readonly T[]): T =>
  items[Math.floor(random() ** 2 * items.length)] as T;
const chance = (random: Random, p: number) => random() < p;
const hex = (random: Random, digits: number) =>
  Array.from({ length: digits }, () => Math.floor(random() * 16).toString(16)).join('');

/** A prefix of 0–4 segments; a few end mid-segment (`logs/app-`), as prefixes may. */
function prefixOf(random: Random): string {
  const roll = random();
  const depth = roll < 0.1 ? 0 : roll < 0.45 ? 1 : roll < 0.8 ? 2 : roll < 0.95 ? 3 : 4;
  const segments: string[] = [];
  for (let level = 0; level < depth; level++) {
    if (level === 0) segments.push(pick(random, TOP));
    else if (level === 1)
      segments.push(
        pick(random, [pick(random, TEAMS), `tenant-${Math.floor(random() * 200)}`, `${2021 + (level % 5)}`]),
      );
    else if (level === 2) segments.push(pick(random, REGIONS.slice(0, 6)));
    else segments.push(`${String(1 + Math.floor(random() * 12)).padStart(2, '0')}`);
  }
  if (depth === 0) return '';
  const prefix = `${segments.join('/')}/`;
  return chance(random, 0.1) ? `${prefix}${pick(random, ['app-', 'part-', 'v2-'])}` : prefix;
}

function objectRules(count: number, random: Random): Record<string, unknown>[] {
  const bucketCount = Math.max(2, Math.round(count / 6));
  const buckets = Array.from({ length: bucketCount }, (_, i) => `acme-${TEAMS[i % TEAMS.length]}-${i}`);
  return Array.from({ length: count }, (_, index) => {
    const bucket = skewed(random, buckets);
    const objects: Record<string, unknown> = { bucket, prefix: prefixOf(random) };
    if (chance(random, 0.3)) objects.suffix = pick(random, EXTENSIONS);
    if (chance(random, 0.15)) objects.minSize = pick(random, [1, KiB, MiB]);
    if (chance(random, 0.1)) objects.maxSize = pick(random, [100 * MiB, GiB, 5 * GiB]);
    if (chance(random, 0.12))
      objects.tags = chance(random, 0.5)
        ? { dr: 'true' }
        : { classification: pick(random, ['confidential', 'public']), team: pick(random, TEAMS) };
    const roll = random();
    const destinations = roll < 0.85 ? 1 : roll < 0.97 ? 2 : 3;
    const to = Array.from({ length: destinations }, (_, d) => {
      const region = REGIONS[(index + d * 3 + 1) % REGIONS.length] as string;
      const destination: Record<string, unknown> = { bucket: `replica-${bucket}-${region}`, region };
      // Replicas land under their own prefix per rule: never where a rule reads (no loop to configure), and
      // never where another rule writes (validation refuses rules that share replicas). The draw that once
      // chose whether to set it is kept, so the rest of each generated set stays as it was.
      chance(random, 0.3);
      destination.keyPrefix = `mirror/rule-${index}/`;
      if (chance(random, 0.3)) destination.storageClass = pick(random, ['STANDARD_IA', 'GLACIER_IR']);
      if (chance(random, 0.2)) destination.replicateDeletes = true;
      return destination;
    });
    return { name: `objects-${index}`, objects, to };
  });
}

/** 1–3 source Regions, skewed toward the busiest; destinations elsewhere. */
function ec2Placement(random: Random, kmsKeyNeeded: boolean) {
  const sources = [
    ...new Set(Array.from({ length: 1 + Math.floor(random() * 2.2) }, () => skewed(random, REGIONS))),
  ];
  const others = REGIONS.filter((region) => !sources.includes(region));
  const count = chance(random, 0.2) ? 2 : 1;
  const start = Math.floor(random() * others.length);
  const to = Array.from({ length: count }, (_, d) => {
    const region = others[(start + d) % others.length] as string;
    return {
      region,
      ...(kmsKeyNeeded ? { kmsKeyId: 'alias/dr-ebs' } : {}),
      ...(chance(random, 0.5) ? { retain: chance(random, 0.5) ? { count: 7 } : { days: 30 } } : {}),
    };
  });
  return { regions: sources, to };
}

function snapshotRules(count: number, random: Random): Record<string, unknown>[] {
  return Array.from({ length: count }, (_, index) => {
    const snapshots: Record<string, unknown> = {};
    // Large rule sets are large because each rule covers one application's volumes.
    if (!broad(random, count)) {
      const tags: Record<string, string> = { app: appOf(random, count) };
      if (chance(random, 0.5)) tags.backup = pick(random, BACKUP_TIERS);
      snapshots.tags = tags;
    } else if (chance(random, 0.5)) snapshots.tags = { backup: pick(random, BACKUP_TIERS) };
    if (chance(random, 0.1))
      snapshots.volumeIds = [
        ...new Set(Array.from({ length: 1 + Math.floor(random() * 3) }, () => volumeId(random))),
      ];
    if (chance(random, 0.1)) snapshots.minVolumeSize = pick(random, [50, 100, 500]);
    if (chance(random, 0.08)) snapshots.maxVolumeSize = pick(random, [1000, 4096]);
    if (chance(random, 0.2)) snapshots.encrypted = chance(random, 0.5);
    if (chance(random, 0.25)) snapshots.description = pick(random, DESCRIPTION_PATTERNS);
    const { regions, to } = ec2Placement(random, snapshots.encrypted === true);
    return { name: `snapshots-${index}`, snapshots: { regions, ...snapshots }, to };
  });
}

function imageRules(count: number, random: Random): Record<string, unknown>[] {
  return Array.from({ length: count }, (_, index) => {
    const images: Record<string, unknown> = {};
    if (!broad(random, count))
      images.tags = chance(random, 0.5)
        ? { app: appOf(random, count) }
        : { app: appOf(random, count), dr: 'true' };
    else if (chance(random, 0.5)) images.tags = { team: pick(random, TEAMS), env: 'prod' };
    if (chance(random, 0.5))
      images.name = pick(random, [
        `^${pick(random, AMI_ROLES)}-`,
        `^(${pick(random, AMI_ROLES)}|${pick(random, AMI_ROLES)})-`,
        `-${pick(random, TEAMS)}-`,
        '-prod-\\d+$',
      ]);
    if (chance(random, 0.15)) images.encrypted = chance(random, 0.5);
    const { regions, to } = ec2Placement(random, images.encrypted === true);
    return { name: `images-${index}`, images: { regions, ...images }, to };
  });
}

/** A broad rule (no per-application tag): about 5 per rule set, whatever its size (30 % of a small one). */
const broad = (random: Random, ruleCount: number) => chance(random, Math.min(0.3, 5 / ruleCount));

/** Applications: about one per two rules, the busiest ones first. */
const appOf = (random: Random, ruleCount: number) =>
  `app-${Math.floor(random() ** 2 * Math.max(1, Math.ceil(ruleCount / 2)))}`;

// A small pool of volumes, so that rules naming volume ids get hits.
const VOLUME_POOL = Array.from({ length: 64 }, (_, i) => `vol-${i.toString(16).padStart(17, '0')}`);
const volumeId = (random: Random) => pick(random, VOLUME_POOL);

/** `count` rules of each kind, through the real loader. */
export function ruleSet(count: number, seed: number): FerryConfig {
  const random = seededRandom(seed);
  const document = {
    rules: [...objectRules(count, random), ...snapshotRules(count, random), ...imageRules(count, random)],
  };
  return parseConfig(stringify(document), `generated-${count}.yml`);
}

const keyTail = (random: Random) =>
  [
    ...Array.from({ length: Math.floor(random() * 3) }, () =>
      pick(random, [...TEAMS, '2024', '2025', 'eu', 'us']),
    ),
    `${hex(random, 8)}${pick(random, EXTENSIONS)}`,
  ].join('/');

/**
 * Object events: 70 % under a rule's prefix (which its suffix, size and tag filters may still refuse), 30 %
 * elsewhere in a source bucket (random top-level paths). Sizes are log-uniform from 1 B to 8 GiB.
 */
function objectEvents(rules: readonly ObjectRule[], count: number, random: Random): ObjectEvent[] {
  const buckets = [...new Set(rules.map((rule) => rule.objects.bucket))];
  return Array.from({ length: count }, () => {
    const size = Math.floor(2 ** (random() * 33));
    const tags: Record<string, string> = {};
    if (chance(random, 0.3)) tags.dr = 'true';
    if (chance(random, 0.3)) {
      tags.classification = pick(random, ['confidential', 'public']);
      tags.team = pick(random, TEAMS);
    }
    if (chance(random, 0.7)) {
      const rule = pick(random, rules);
      let key = rule.objects.prefix + keyTail(random);
      if (rule.objects.suffix !== undefined && chance(random, 0.7)) key += rule.objects.suffix;
      return { bucket: rule.objects.bucket, key, size, tags };
    }
    return { bucket: pick(random, buckets), key: `${pick(random, TOP)}/${keyTail(random)}`, size, tags };
  });
}

function ec2Tags(random: Random, ruleCount: number): Record<string, string> {
  const tags: Record<string, string> = { Name: `host-${hex(random, 4)}`, app: appOf(random, ruleCount) };
  if (chance(random, 0.7)) tags.backup = pick(random, BACKUP_TIERS);
  if (chance(random, 0.4)) tags.team = pick(random, TEAMS);
  if (chance(random, 0.3)) tags.dr = 'true';
  if (chance(random, 0.3)) tags.env = 'prod';
  return tags;
}

function snapshotEvents(count: number, ruleCount: number, random: Random): SnapshotFacts[] {
  return Array.from({ length: count }, () => ({
    snapshotId: `snap-${hex(random, 17)}`,
    region: skewed(random, REGIONS),
    ...(chance(random, 0.95) ? { volumeId: volumeId(random) } : {}),
    volumeSizeGiB: pick(random, [8, 20, 30, 50, 100, 500, 1000, 4096]),
    encrypted: chance(random, 0.5),
    description: pick(random, DESCRIPTIONS),
    tags: ec2Tags(random, ruleCount),
  }));
}

function imageEvents(count: number, ruleCount: number, random: Random): ImageFacts[] {
  return Array.from({ length: count }, () => {
    const role = pick(random, AMI_ROLES);
    return {
      imageId: `ami-${hex(random, 17)}`,
      region: skewed(random, REGIONS),
      name: chance(random, 0.5)
        ? `${role}-${pick(random, TEAMS)}-prod-${Math.floor(random() * 500)}`
        : `${role}-${hex(random, 6)}`,
      description: `${role} build`,
      encrypted: chance(random, 0.4),
      tags: ec2Tags(random, ruleCount),
    };
  });
}

/** A rule set of `ruleCount` rules per kind and `eventCount` events per kind, all from one seed. */
export function routingWorkload(ruleCount: number, eventCount: number, seed = 1): RoutingWorkload {
  const config = ruleSet(ruleCount, seed);
  const random = seededRandom(seed + 1);
  const objects = objectRulesOf(config);
  return {
    config,
    objects: { rules: objects, events: objectEvents(objects, eventCount, random) },
    snapshots: { rules: snapshotRulesOf(config), events: snapshotEvents(eventCount, ruleCount, random) },
    images: { rules: imageRulesOf(config), events: imageEvents(eventCount, ruleCount, random) },
  };
}
