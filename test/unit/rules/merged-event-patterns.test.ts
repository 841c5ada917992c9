import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { matchesPattern } from '#local/event-pattern';
import { checkConfig, type FerryConfig, objectRulesOf } from '#rules/config';
import { EventPatternTooLargeError } from '#rules/errors';
import {
  EVENT_PATTERN_MAX_CHARS,
  type EventPattern,
  objectEventPatterns,
  patternSize,
} from '#rules/event-patterns';

/**
 * The patterns main generated before the merge, one per source bucket, frozen here as the reference: the
 * merged patterns must deliver exactly the events these did, each to its handler at most once.
 */
function perBucketPatterns(config: FerryConfig) {
  const SAFE_PREFIX = /^[A-Za-z0-9/._-]*$/;
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

const BUCKETS = ['alpha', 'bravo', 'charlie', 'delta', 'echo-logs', 'foxtrot.media'];
// Nested prefixes (a/ and a/b/), prefixes S3 would encode, the empty prefix: every branch of the filter.
// Exact prefixes come more often, or most buckets would take every key and leave the prefixes untested.
const EXACT_PREFIXES = ['a/', 'a/b/', 'a/b/c', 'b', 'b/', 'logs/2026/'];
const INEXACT_PREFIXES = ['raw footage/', 'x+y/', ''];
const PREFIXES = [...EXACT_PREFIXES, ...INEXACT_PREFIXES];

const ruleArbitrary = fc.record({
  bucket: fc.constantFrom(...BUCKETS),
  prefix: fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...EXACT_PREFIXES) },
    { weight: 1, arbitrary: fc.constantFrom(...INEXACT_PREFIXES) },
  ),
  replicateDeletes: fc.boolean(),
});

function configOf(rules: { bucket: string; prefix: string; replicateDeletes: boolean }[]): FerryConfig {
  const { config, issues } = checkConfig({
    rules: rules.map((rule, index) => ({
      name: `rule-${index}`,
      objects: { bucket: rule.bucket, prefix: rule.prefix },
      to: [{ bucket: `replica-${index}`, region: 'us-west-2', replicateDeletes: rule.replicateDeletes }],
    })),
  });
  if (!config) throw new Error(`generated an invalid config: ${JSON.stringify(issues)}`);
  return config;
}

const eventArbitrary = fc.record({
  source: fc.constantFrom('aws.s3', 'aws.ec2'),
  detailType: fc.constantFrom('Object Created', 'Object Deleted', 'Object Restore Completed'),
  bucket: fc.constantFrom(...BUCKETS, 'unknown-bucket'),
  key: fc.tuple(fc.constantFrom(...PREFIXES, 'a', 'c/', 'raw+footage/'), fc.string({ maxLength: 6 })),
});

type GeneratedEvent = {
  source: string;
  detailType: string;
  bucket: string;
  key: [string, string];
};

const s3Event = (e: GeneratedEvent) => ({
  version: '0',
  source: e.source,
  'detail-type': e.detailType,
  region: 'us-east-1',
  detail: { bucket: { name: e.bucket }, object: { key: e.key.join(''), size: 1 } },
});

const countMatches = (event: unknown, patterns: EventPattern[]) =>
  patterns.filter((pattern) => matchesPattern(event, pattern)).length;

describe('Merged S3 patterns against the per-bucket patterns they replace', () => {
  // Small limits force many patterns and split alternatives (at 158 characters, one bucket and one prefix
  // fit and two prefixes never do); the default limit merges everything.
  for (const maxPatternChars of [EVENT_PATTERN_MAX_CHARS, 400, 158]) {
    it(`It should deliver exactly the same events, each at most once per handler (limit ${maxPatternChars})`, () => {
      fc.assert(
        fc.property(
          fc.array(ruleArbitrary, { minLength: 1, maxLength: 14 }),
          fc.array(eventArbitrary, { minLength: 1, maxLength: 25 }),
          (rules, events) => {
            const config = configOf(rules);
            const before = perBucketPatterns(config);
            const after = objectEventPatterns(config, { maxPatternChars });
            for (const handler of ['objectCreated', 'objectDeleted'] as const) {
              for (const pattern of after[handler]) {
                expect(patternSize(pattern)).toBeLessThanOrEqual(maxPatternChars);
              }
              for (const generated of events) {
                const event = s3Event(generated);
                const matchedBefore = countMatches(event, before[handler]) > 0;
                const matchedAfter = countMatches(event, after[handler]);
                expect(matchedAfter > 0, JSON.stringify({ handler, event })).toBe(matchedBefore);
                expect(matchedAfter).toBeLessThanOrEqual(1);
              }
            }
          },
        ),
        { numRuns: 300 },
      );
    });
  }

  it('It should match every key a rule selects, including keys of nested prefixes, once', () => {
    const config = configOf([
      { bucket: 'alpha', prefix: 'a/', replicateDeletes: false },
      { bucket: 'alpha', prefix: 'a/b/', replicateDeletes: false },
      { bucket: 'bravo', prefix: 'logs/2026/', replicateDeletes: false },
    ]);
    const { objectCreated } = objectEventPatterns(config, { maxPatternChars: 158 });
    expect(objectCreated.length).toBeGreaterThan(1);
    const event = (bucket: string, key: string) =>
      s3Event({ source: 'aws.s3', detailType: 'Object Created', bucket, key: [key, ''] });
    expect(countMatches(event('alpha', 'a/b/c.txt'), objectCreated)).toBe(1);
    expect(countMatches(event('bravo', 'logs/2026/x'), objectCreated)).toBe(1);
    expect(countMatches(event('bravo', 'a/b/c.txt'), objectCreated)).toBe(0);
  });

  it('It should refuse, naming the limit, a pattern that cannot be split below it', () => {
    const config = configOf([{ bucket: 'alpha', prefix: 'a/', replicateDeletes: false }]);
    expect(() => objectEventPatterns(config, { maxPatternChars: 60 })).toThrow(EventPatternTooLargeError);
    expect(() => objectEventPatterns(config, { maxPatternChars: 60 })).toThrow(/limit of 60/);
  });
});

describe('Pattern size', () => {
  it('It should count the widest usual serialization: a space after every comma and colon', () => {
    const pattern = { source: ['aws.s3'], detail: { bucket: { name: ['a', 'b'] } } };
    const spaced = JSON.stringify(pattern).replaceAll(',', ', ').replaceAll(':', ': ');
    expect(patternSize(pattern)).toBe(spaced.length);
  });

  it('It should merge 1,000 object rules over 250 buckets into a few patterns, each within the limit', () => {
    const rules = Array.from({ length: 1000 }, (_, index) => ({
      bucket: `fleet-source-${String(index % 250).padStart(3, '0')}`,
      prefix: `team-${String(index).padStart(4, '0')}/`,
      replicateDeletes: index % 4 === 0,
    }));
    const config = configOf(rules);
    const merged = objectEventPatterns(config);
    const before = perBucketPatterns(config);
    expect(before.objectCreated).toHaveLength(250);
    for (const pattern of [...merged.objectCreated, ...merged.objectDeleted]) {
      expect(patternSize(pattern)).toBeLessThanOrEqual(EVENT_PATTERN_MAX_CHARS);
    }
    // Each bucket's alternative is about 130 characters with its four prefixes: some 15 to a pattern.
    expect(merged.objectCreated.length).toBeLessThanOrEqual(25);
    expect(merged.objectDeleted.length).toBeLessThanOrEqual(15);
  });
});
