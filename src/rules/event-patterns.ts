import { type FerryConfig, imageRulesOf, objectRulesOf, snapshotRulesOf } from './config.ts';
import { EventPatternTooLargeError } from './errors.ts';

/**
 * An EventBridge event pattern (the subset Ferry generates). `$or` holds alternatives at its level: the
 * pattern matches when its other fields match and at least one alternative does.
 * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html
 */
export type EventPattern = { [field: string]: EventPattern | PatternValue[] | EventPattern[] };
export type PatternValue =
  | string
  | number
  | boolean
  | null
  | { prefix: string }
  | { suffix: string }
  | { exists: boolean };

/** The field that holds alternatives (EventBridge reads it so only with two or more of them). */
export const OR = '$or';

/**
 * EventBridge's quota on one event pattern: 2,048 characters by default (adjustable on request), so a
 * stack that must deploy in any account stays within the default.
 * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html ("Event pattern size")
 */
export const EVENT_PATTERN_MAX_CHARS = 2048;

/**
 * The characters a pattern counts as, measured on its widest usual serialization: JSON with one space after
 * every `,` and `:` (what many tools write when they turn the template's object into the string
 * EventBridge receives). The compact form is never longer, so a pattern within this size fits either way.
 */
export function patternSize(pattern: unknown): number {
  let separators = 0;
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) {
      separators += Math.max(0, value.length - 1);
      for (const item of value) walk(item);
    } else if (typeof value === 'object' && value !== null) {
      const entries = Object.values(value);
      separators += entries.length + Math.max(0, entries.length - 1);
      for (const item of entries) walk(item);
    }
  };
  walk(pattern);
  return JSON.stringify(pattern).length + separators;
}

export interface PatternOptions {
  /** The size each generated pattern must fit (default: EVENT_PATTERN_MAX_CHARS). */
  maxPatternChars?: number;
}

/**
 * Packs alternatives into as few patterns as the size limit allows: `build` makes the pattern of a run of
 * alternatives, `split` halves an alternative that does not fit on its own into two that mean the same
 * together. Each alternative lands in exactly one pattern, in order.
 */
function pack(
  alternatives: readonly EventPattern[],
  build: (run: EventPattern[]) => EventPattern,
  limit: number,
  split: (alternative: EventPattern) => [EventPattern, EventPattern] | undefined = () => undefined,
): EventPattern[] {
  const patterns: EventPattern[] = [];
  const queue = [...alternatives];
  let run: EventPattern[] = [];
  while (queue.length > 0) {
    const next = queue.shift() as EventPattern;
    if (patternSize(build([...run, next])) <= limit) {
      run.push(next);
      continue;
    }
    if (run.length > 0) {
      patterns.push(build(run));
      run = [];
      queue.unshift(next);
      continue;
    }
    const halves = split(next);
    if (!halves) {
      const alone = build([next]);
      throw new EventPatternTooLargeError(patternSize(alone), limit, alone);
    }
    queue.unshift(...halves);
  }
  if (run.length > 0) patterns.push(build(run));
  return patterns;
}

/** One alternative inline, several under `$or` (EventBridge reads a one-element `$or` as a field name). */
const anyOf = (run: EventPattern[]): EventPattern =>
  run.length === 1 ? (run[0] as EventPattern) : { [OR]: run };

const halve = <T>(values: readonly T[]): [T[], T[]] => {
  const middle = Math.ceil(values.length / 2);
  return [values.slice(0, middle), values.slice(middle)];
};

/** Characters S3 never percent-encodes in event keys: only prefixes made of these can filter encoded keys. */
const SAFE_PREFIX = /^[A-Za-z0-9/._-]*$/;

/**
 * The key prefixes that select a bucket's objects, or undefined for every key: keys arrive encoded, so a
 * prefix with characters S3 would encode (or an empty one) cannot filter exactly. Prefixes that another one
 * covers are dropped, so no key matches two of them, and no split of the list can deliver an event twice.
 */
function keyPrefixes(prefixes: ReadonlySet<string>): string[] | undefined {
  const all = [...prefixes];
  if (!all.every((prefix) => prefix !== '' && SAFE_PREFIX.test(prefix))) return undefined;
  return all.filter((prefix) => !all.some((other) => other !== prefix && prefix.startsWith(other))).sort();
}

/** The `detail` alternative for some buckets that share their key prefixes (or take every key). */
const bucketsAlternative = (buckets: readonly string[], prefixes: readonly string[] | undefined) => ({
  bucket: { name: [...buckets] },
  ...(prefixes ? { object: { key: prefixes.map((prefix) => ({ prefix })) } } : {}),
});

/** Halves the buckets of an alternative, or else its prefixes: either pair selects the same objects. */
function splitBucketsAlternative(alternative: EventPattern): [EventPattern, EventPattern] | undefined {
  const buckets = (alternative.bucket as { name: string[] }).name;
  const keys = (alternative.object as { key: { prefix: string }[] } | undefined)?.key;
  const prefixes = keys?.map((key) => key.prefix);
  if (buckets.length > 1) {
    const [first, second] = halve(buckets);
    return [bucketsAlternative(first, prefixes), bucketsAlternative(second, prefixes)];
  }
  if (prefixes && prefixes.length > 1) {
    const [first, second] = halve(prefixes);
    return [bucketsAlternative(buckets, first), bucketsAlternative(buckets, second)];
  }
  return undefined;
}

export interface ObjectEventPatterns {
  objectCreated: EventPattern[];
  objectDeleted: EventPattern[];
}

/**
 * S3's tag-change events (https://docs.aws.amazon.com/AmazonS3/latest/userguide/EventBridge.html): one
 * pattern lists both, as a tag set added to and one removed from an object concern its replicas alike.
 */
export const TAG_CHANGE_DETAIL_TYPES = ['Object Tags Added', 'Object Tags Deleted'] as const;

type ObjectRuleOf = ReturnType<typeof objectRulesOf>[number];

export interface SourceRegionOption {
  /**
   * Only the buckets of this source Region (`objects.region`): what a forwarder there sends on. Unset: every
   * source Region, the home stack's view.
   */
  sourceRegion?: string;
}

/**
 * The EventBridge patterns that deliver S3 events to Ferry, generated from the rules: each source bucket
 * narrowed to its rules' key prefixes where that is exact, buckets with the same prefixes sharing one
 * alternative, and the alternatives merged under `$or` into as few patterns as EventBridge's size limit
 * allows. So the stack's rules grow with the number of event types (and the patterns' size), not with the
 * number of buckets, and each event still matches at most one pattern of a handler: buckets never repeat
 * across alternatives and a bucket's prefixes never overlap. The deployment and the sandbox both use these,
 * so what the sandbox delivers is what AWS would deliver.
 */
export function objectEventPatterns(
  config: FerryConfig,
  options: PatternOptions & SourceRegionOption = {},
): ObjectEventPatterns {
  return {
    objectCreated: s3Patterns(config, ['Object Created'], () => true, options),
    objectDeleted: s3Patterns(
      config,
      ['Object Deleted'],
      (rule) => rule.to.some((destination) => destination.replicateDeletes),
      options,
    ),
  };
}

/**
 * "Object Tags Added" and "Object Tags Deleted" from the source buckets of rules with a destination that
 * copies tags, packed as the other S3 patterns are (a destination with `tags.copy: false` writes its `set`
 * only, which no source tag change moves).
 */
export function objectTagChangeEventPatterns(
  config: FerryConfig,
  options: PatternOptions & SourceRegionOption = {},
): EventPattern[] {
  return s3Patterns(
    config,
    TAG_CHANGE_DETAIL_TYPES,
    (rule) => rule.to.some((destination) => destination.tags.copy),
    options,
  );
}

/**
 * The S3 patterns of some event types, per source Region: buckets in the home Region (no `objects.region`)
 * in patterns without a `region` field, as before; the buckets of each other Region in patterns that name it.
 * A forwarded event arrives on the home bus unchanged, its `region` still the source's
 * (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-cross-region.html), so the home rules and the
 * forwarder's select it alike. A bucket has one Region (bucket-regions.ts), so no bucket is in two groups.
 */
function s3Patterns(
  config: FerryConfig,
  detailTypes: readonly string[],
  wanted: (rule: ObjectRuleOf) => boolean,
  options: PatternOptions & SourceRegionOption,
): EventPattern[] {
  const byRegion = new Map<string | undefined, ObjectRuleOf[]>();
  for (const rule of objectRulesOf(config)) {
    if (!wanted(rule)) continue;
    const region = rule.objects.region;
    if (options.sourceRegion !== undefined && region !== options.sourceRegion) continue;
    byRegion.set(region, [...(byRegion.get(region) ?? []), rule]);
  }
  // Home first, then the other Regions in order, so the patterns (and the stack's rules) are stable.
  // (Array sort leaves undefined, the home Region, last without asking the comparator: so it is put first.)
  const others = [...byRegion.keys()].filter((region) => region !== undefined).sort();
  const regions = [...(byRegion.has(undefined) ? [undefined] : []), ...others];
  return regions.flatMap((region) =>
    s3RegionPatterns(byRegion.get(region) ?? [], detailTypes, region, options),
  );
}

function s3RegionPatterns(
  rules: readonly ObjectRuleOf[],
  detailTypes: readonly string[],
  region: string | undefined,
  options: PatternOptions,
): EventPattern[] {
  const limit = options.maxPatternChars ?? EVENT_PATTERN_MAX_CHARS;
  const prefixesByBucket = new Map<string, Set<string>>();
  for (const rule of rules) {
    const set = prefixesByBucket.get(rule.objects.bucket) ?? new Set<string>();
    set.add(rule.objects.prefix);
    prefixesByBucket.set(rule.objects.bucket, set);
  }
  // Buckets that select the same keys share one alternative (JSON of the prefixes as the key).
  const bucketsBySelection = new Map<string, { buckets: string[]; prefixes: string[] | undefined }>();
  for (const [bucket, set] of [...prefixesByBucket].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const prefixes = keyPrefixes(set);
    const selection = JSON.stringify(prefixes ?? null);
    const group = bucketsBySelection.get(selection) ?? { buckets: [], prefixes };
    group.buckets.push(bucket);
    bucketsBySelection.set(selection, group);
  }
  const alternatives = [...bucketsBySelection.values()].map(({ buckets, prefixes }) =>
    bucketsAlternative(buckets, prefixes),
  );
  const build = (run: EventPattern[]): EventPattern => ({
    source: ['aws.s3'],
    'detail-type': [...detailTypes],
    ...(region === undefined ? {} : { region: [region] }),
    detail: anyOf(run),
  });
  return pack(alternatives, build, limit, splitBucketsAlternative);
}

const sortedUnique = (values: readonly string[]): string[] => [...new Set(values)].sort();

/**
 * New EBS snapshots: createSnapshot and createSnapshots events that succeeded. copySnapshot is left out on
 * purpose: copies, Ferry's own included, are never copied again. Each alternative keeps its own event name,
 * so a merged pattern matches exactly what one pattern per detail type would.
 */
const SNAPSHOT_ALTERNATIVES: readonly EventPattern[] = [
  {
    'detail-type': ['EBS Snapshot Notification'],
    detail: { event: ['createSnapshot'], result: ['succeeded'] },
  },
  {
    'detail-type': ['EBS Multi-Volume Snapshots Completion Status'],
    detail: { event: ['createSnapshots'], result: ['succeeded'] },
  },
];

/** AMIs that became available. */
const IMAGE_ALTERNATIVES: readonly EventPattern[] = [
  { 'detail-type': ['EC2 AMI State Change'], detail: { State: ['available'] } },
];

/** EC2 events from some Regions, the alternatives merged under `$or` within the size limit. */
function ec2Patterns(
  region: string[],
  alternatives: readonly EventPattern[],
  options: PatternOptions,
): EventPattern[] {
  if (region.length === 0 || alternatives.length === 0) return [];
  const build = (run: EventPattern[]): EventPattern => ({ source: ['aws.ec2'], region, ...anyOf(run) });
  return pack(alternatives, build, options.maxPatternChars ?? EVENT_PATTERN_MAX_CHARS);
}

/**
 * The EventBridge patterns that deliver new EBS snapshots to Ferry from the rules' source Regions; none
 * without snapshot rules. EventBridge rules are regional, so `region` only narrows: each source Region needs
 * the rule deployed there, or its events forwarded.
 */
export function snapshotEventPatterns(config: FerryConfig, options: PatternOptions = {}): EventPattern[] {
  const region = sortedUnique(snapshotRulesOf(config).flatMap((rule) => rule.snapshots.regions));
  return ec2Patterns(region, SNAPSHOT_ALTERNATIVES, options);
}

/** The patterns that deliver AMIs that became available in the image rules' source Regions; none without them. */
export function imageEventPatterns(config: FerryConfig, options: PatternOptions = {}): EventPattern[] {
  const region = sortedUnique(imageRulesOf(config).flatMap((rule) => rule.images.regions));
  return ec2Patterns(region, IMAGE_ALTERNATIVES, options);
}

/**
 * Tag changes of the snapshots and AMIs that rules with `copyTags` copy, in their source Regions: the "Tag
 * Change on Resource" events EventBridge receives from the tagging service (`source: aws.tag`), narrowed to
 * EC2 and to the resource types those rules copy (https://docs.aws.amazon.com/eventbridge/latest/ref/events-ref-tag.html,
 * https://docs.aws.amazon.com/tag-editor/latest/userguide/tag-monitor.html). None without such rules.
 */
export function ec2TagChangeEventPatterns(
  config: FerryConfig,
  options: PatternOptions & { region?: string } = {},
): EventPattern[] {
  const copying = <T extends { to: readonly { copyTags: boolean }[] }>(rules: readonly T[]) =>
    rules.filter((rule) => rule.to.some((destination) => destination.copyTags));
  const snapshots = copying(snapshotRulesOf(config));
  const images = copying(imageRulesOf(config));
  const wanted = (regions: readonly string[]) =>
    options.region === undefined ? regions : regions.filter((region) => region === options.region);
  const regions = sortedUnique([
    ...snapshots.flatMap((rule) => wanted(rule.snapshots.regions)),
    ...images.flatMap((rule) => wanted(rule.images.regions)),
  ]);
  const types = [
    ...(snapshots.some((rule) => wanted(rule.snapshots.regions).length > 0) ? ['snapshot'] : []),
    ...(images.some((rule) => wanted(rule.images.regions).length > 0) ? ['image'] : []),
  ];
  if (regions.length === 0 || types.length === 0) return [];
  const pattern: EventPattern = {
    source: ['aws.tag'],
    'detail-type': ['Tag Change on Resource'],
    region: regions,
    detail: { service: ['ec2'], 'resource-type': types },
  };
  const limit = options.maxPatternChars ?? EVENT_PATTERN_MAX_CHARS;
  if (patternSize(pattern) > limit) throw new EventPatternTooLargeError(patternSize(pattern), limit, pattern);
  return [pattern];
}

/**
 * Whether a copy's completion event reaches this stack: EBS and EC2 send it to the account that owns the
 * copy, in the copy's Region (below). A destination with `roleArn` is copied by that role, so the copy and
 * its event belong to the role's account, whose default bus this stack has no rule on; such copies are
 * waited for by polling (statemachines/ec2-copy.ts, `polled`). Every other destination is copied by
 * Ferry's own role, in Ferry's account: its event arrives on the default bus of the destination Region, and
 * a forwarder brings it home when that Region is not the home Region (deploy/forwarders.ts).
 */
export const completionEventReachesStack = (destination: { roleArn?: string | undefined }): boolean =>
  destination.roleArn === undefined;

/** The copy results that end an event-driven wait: EBS's `copySnapshot` result, an AMI that settled. */
const SNAPSHOT_COPY_RESULT: EventPattern = {
  'detail-type': ['EBS Snapshot Notification'],
  detail: { event: ['copySnapshot'], result: ['succeeded', 'failed'] },
};
const IMAGE_COPY_RESULT: EventPattern = {
  'detail-type': ['EC2 AMI State Change'],
  detail: { State: ['available', 'failed'] },
};

/**
 * The Regions copies of these rules are made in by Ferry's own role (so waited for by event), sorted and
 * once each, `region` only if given: the one rule the completion patterns, the forwarders, the sweep's
 * schedule and the IAM of the waiting functions share.
 */
export const completionRegionsOf = (
  rules: readonly { to: readonly { region: string; roleArn?: string | undefined }[] }[],
  region?: string,
): string[] =>
  sortedUnique(
    rules
      .flatMap((rule) => rule.to.filter(completionEventReachesStack).map((destination) => destination.region))
      .filter((found) => region === undefined || found === region),
  );

/**
 * What a forwarder in `region` sends to the home Region: the snapshot and AMI events the home rules want
 * from that Region (new sources, and the results of copies made there), every kind merged into as few patterns as the size limit allows (one, in practice),
 * since the forwarder has a single target, the home bus.
 */
export function forwardedEventPatterns(
  config: FerryConfig,
  region: string,
  options: PatternOptions = {},
): EventPattern[] {
  const wants = (regions: string[]) => regions.includes(region);
  const snapshots = snapshotRulesOf(config);
  const images = imageRulesOf(config);
  // And the results of the copies made here, which the home stack's ec2CopyCompleted rules select.
  const alternatives = [
    ...(snapshots.some((rule) => wants(rule.snapshots.regions)) ? SNAPSHOT_ALTERNATIVES : []),
    ...(images.some((rule) => wants(rule.images.regions)) ? IMAGE_ALTERNATIVES : []),
    ...(completionRegionsOf(snapshots, region).length > 0 ? [SNAPSHOT_COPY_RESULT] : []),
    ...(completionRegionsOf(images, region).length > 0 ? [IMAGE_COPY_RESULT] : []),
  ];
  return ec2Patterns([region], alternatives, options);
}

/**
 * The events that end an event-driven wait for a copy (src/ec2/copy-machine/completion.ts), in the Regions
 * copies are made in (the destinations' that copy in Ferry's own account): EBS's `copySnapshot` result and
 * "EC2 AMI State Change" to `available` or `failed`, both sent in the copy's (destination) Region
 * (https://docs.aws.amazon.com/ebs/latest/userguide/ebs-cloud-watch-events.html#copy-snapshot-complete,
 * https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/monitor-ami-events.html). None without such
 * destinations. A forwarder in a destination Region sends them within its aws.ec2 rule
 * (`forwardedEventPatterns`).
 */
export function copyCompletionEventPatterns(config: FerryConfig): EventPattern[] {
  const snapshotRegions = completionRegionsOf(snapshotRulesOf(config));
  const imageRegions = completionRegionsOf(imageRulesOf(config));
  return [
    ...(snapshotRegions.length > 0
      ? [{ source: ['aws.ec2'], region: snapshotRegions, ...SNAPSHOT_COPY_RESULT }]
      : []),
    ...(imageRegions.length > 0 ? [{ source: ['aws.ec2'], region: imageRegions, ...IMAGE_COPY_RESULT }] : []),
  ];
}

/**
 * The S3 events a forwarder in `region` sends to the home Region: those of the buckets whose rules name
 * that Region, exactly as the home stack's S3 patterns select them (the same generators, narrowed to the
 * Region), so nothing is forwarded that no home rule would take.
 */
export function forwardedObjectEventPatterns(
  config: FerryConfig,
  region: string,
  options: PatternOptions = {},
): EventPattern[] {
  const narrowed = { ...options, sourceRegion: region };
  const { objectCreated, objectDeleted } = objectEventPatterns(config, narrowed);
  return [...objectCreated, ...objectDeleted, ...objectTagChangeEventPatterns(config, narrowed)];
}
