import { type FerryConfig, imageRulesOf, objectRulesOf, snapshotRulesOf } from './config.ts';

/** An EventBridge event pattern (the subset Ferry generates). */
export type EventPattern = { [field: string]: EventPattern | PatternValue[] };
export type PatternValue =
  | string
  | number
  | boolean
  | null
  | { prefix: string }
  | { suffix: string }
  | { exists: boolean };

/** Characters S3 never percent-encodes in event keys: only prefixes made of these can filter encoded keys. */
const SAFE_PREFIX = /^[A-Za-z0-9/._-]*$/;

export interface ObjectEventPatterns {
  objectCreated: EventPattern[];
  objectDeleted: EventPattern[];
}

/**
 * The EventBridge patterns that deliver S3 events to Ferry, generated from the rules: one per source
 * bucket, narrowed to the rules' key prefixes where that is exact. The deployment and the sandbox both use
 * these, so what the sandbox delivers is what AWS would deliver.
 */
export function objectEventPatterns(config: FerryConfig): ObjectEventPatterns {
  const byBucket = (deletesOnly: boolean) => {
    const prefixes = new Map<string, Set<string>>();
    for (const rule of objectRulesOf(config)) {
      if (deletesOnly && !rule.to.some((destination) => destination.replicateDeletes)) continue;
      const set = prefixes.get(rule.objects.bucket) ?? new Set<string>();
      set.add(rule.objects.prefix);
      prefixes.set(rule.objects.bucket, set);
    }
    return [...prefixes].map(([bucket, set]) => ({ bucket, prefixes: [...set] }));
  };
  const pattern = (detailType: string, bucket: string, prefixes: string[]): EventPattern => {
    // Keys arrive encoded; a prefix with characters S3 would encode (or an empty one) cannot filter exactly.
    const exact = prefixes.every((prefix) => prefix !== '' && SAFE_PREFIX.test(prefix));
    return {
      source: ['aws.s3'],
      'detail-type': [detailType],
      detail: {
        bucket: { name: [bucket] },
        ...(exact ? { object: { key: prefixes.sort().map((prefix) => ({ prefix })) } } : {}),
      },
    };
  };
  return {
    objectCreated: byBucket(false).map(({ bucket, prefixes }) => pattern('Object Created', bucket, prefixes)),
    objectDeleted: byBucket(true).map(({ bucket, prefixes }) => pattern('Object Deleted', bucket, prefixes)),
  };
}

const sortedUnique = (values: readonly string[]): string[] => [...new Set(values)].sort();

/**
 * The EventBridge patterns that deliver new EBS snapshots to Ferry: createSnapshot and createSnapshots
 * events that succeeded, from the rules' source Regions; none without snapshot rules. copySnapshot is left
 * out on purpose: copies, Ferry's own included, are never copied again. EventBridge rules are regional, so
 * `region` only narrows: each source Region needs the rule deployed there, or its events forwarded.
 */
export function snapshotEventPatterns(config: FerryConfig): EventPattern[] {
  const region = sortedUnique(snapshotRulesOf(config).flatMap((rule) => rule.snapshots.regions));
  if (region.length === 0) return [];
  return [
    {
      source: ['aws.ec2'],
      'detail-type': ['EBS Snapshot Notification'],
      region,
      detail: { event: ['createSnapshot'], result: ['succeeded'] },
    },
    {
      source: ['aws.ec2'],
      'detail-type': ['EBS Multi-Volume Snapshots Completion Status'],
      region,
      detail: { event: ['createSnapshots'], result: ['succeeded'] },
    },
  ];
}

/** The pattern that delivers AMIs that became available in the image rules' source Regions; none without them. */
export function imageEventPatterns(config: FerryConfig): EventPattern[] {
  const region = sortedUnique(imageRulesOf(config).flatMap((rule) => rule.images.regions));
  if (region.length === 0) return [];
  return [
    {
      source: ['aws.ec2'],
      'detail-type': ['EC2 AMI State Change'],
      region,
      detail: { State: ['available'] },
    },
  ];
}
