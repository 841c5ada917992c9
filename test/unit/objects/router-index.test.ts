import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type CopyPlan,
  candidateRules,
  destinationKeyOf,
  filtersOnTags,
  INDEX_MIN_RULES,
  ObjectRuleIndex,
  objectRuleIndexOf,
  planCopies,
  planDeletes,
  scanCandidateRules,
  type Tags,
} from '#objects/router';
import { type ObjectRule, ObjectRuleSchema } from '#rules/schema';
import { tagsMatch } from '#rules/tags';
import { routingWorkload } from '#test/support/routing-workload';

/**
 * The object router indexes its rules (by bucket, then prefix) once there are INDEX_MIN_RULES or more. It
 * must route exactly as testing every rule in file order does: same rules, same plans, same order.
 */

// A tiny alphabet, so that prefixes, suffixes and keys collide often (nested and equal prefixes, a suffix
// that is the whole key, empty prefixes...).
const text = (max: number) => fc.string({ unit: fc.constantFrom('a', 'b', '/', '.'), maxLength: max });
const BUCKETS = ['src-a', 'src-b', 'src-c'];
const TAG_KEYS = ['dr', 'team'];
const TAG_VALUES = ['true', 'x'];
const tags = fc.dictionary(fc.constantFrom(...TAG_KEYS), fc.constantFrom(...TAG_VALUES), { maxKeys: 2 });

const ruleArbitrary = (name: string) =>
  fc
    .record({
      bucket: fc.constantFrom(...BUCKETS),
      prefix: text(4),
      suffix: fc.option(text(3), { nil: undefined }),
      minSize: fc.option(fc.integer({ min: 0, max: 100 }), { nil: undefined }),
      maxSize: fc.option(fc.integer({ min: 100, max: 200 }), { nil: undefined }),
      tags: fc.option(tags, { nil: undefined }),
      destinations: fc.integer({ min: 1, max: 3 }),
      keyPrefix: fc.option(text(3), { nil: undefined }),
      replicateDeletes: fc.boolean(),
    })
    .map(({ destinations, keyPrefix, replicateDeletes, ...objects }) =>
      ObjectRuleSchema.parse({
        name,
        objects: Object.fromEntries(Object.entries(objects).filter(([, value]) => value !== undefined)),
        to: Array.from({ length: destinations }, (_, d) => ({
          bucket: `dst-${d}`,
          region: 'us-west-2',
          ...(keyPrefix === undefined ? {} : { keyPrefix }),
          replicateDeletes: replicateDeletes && d !== 1,
        })),
      }),
    );

const rulesArbitrary = fc
  .integer({ min: 0, max: 4 * INDEX_MIN_RULES })
  .chain((count) => fc.tuple(...Array.from({ length: count }, (_, i) => ruleArbitrary(`r${i}`))));

const objectArbitrary = fc.record({
  bucket: fc.constantFrom(...BUCKETS, 'other'),
  key: text(8),
  size: fc.option(fc.integer({ min: 0, max: 250 }), { nil: undefined }),
  tags,
});

/** The plans of the router before the index: every rule tested in turn (the original planCopies). */
function scanPlans(
  rules: readonly ObjectRule[],
  object: { bucket: string; key: string; size?: number },
  tags: Tags,
) {
  return scanCandidateRules(rules, object).flatMap((rule): CopyPlan[] =>
    filtersOnTags(rule) && !tagsMatch(rule.objects.tags, tags)
      ? []
      : rule.to.map((destination, destinationIndex) => ({
          rule,
          destination,
          destinationIndex,
          destinationKey: destinationKeyOf(rule, destination, object.key),
        })),
  );
}

/** The delete plans before the index: destinations with replicateDeletes of every rule whose filters pass. */
const scanDeletes = (rules: readonly ObjectRule[], object: { bucket: string; key: string; size?: number }) =>
  scanCandidateRules(rules, object).flatMap((rule): CopyPlan[] =>
    rule.to.flatMap((destination, destinationIndex) =>
      destination.replicateDeletes
        ? [
            {
              rule,
              destination,
              destinationIndex,
              destinationKey: destinationKeyOf(rule, destination, object.key),
            },
          ]
        : [],
    ),
  );

const withoutSize = ({ size, ...object }: { bucket: string; key: string; size?: number | undefined }) =>
  size === undefined ? object : { ...object, size };

describe('object router index', () => {
  it('It should find the same candidates, plans and deletes as the linear scan, in the same order (random rule sets)', () => {
    fc.assert(
      fc.property(
        rulesArbitrary,
        fc.array(objectArbitrary, { minLength: 1, maxLength: 40 }),
        (rules, objects) => {
          const index = new ObjectRuleIndex(rules);
          for (const { tags: objectTags, ...facts } of objects) {
            const object = withoutSize(facts);
            const expected = scanCandidateRules(rules, object);
            expect(index.candidates(object)).toEqual(expected);
            // Same rule objects, not copies: handlers compare them by identity.
            for (const [i, rule] of index.candidates(object).entries()) expect(rule).toBe(expected[i]);
            expect(candidateRules(rules, object)).toEqual(expected);
            expect(planCopies(rules, object, objectTags)).toEqual(scanPlans(rules, object, objectTags));
            expect(planDeletes(rules, object)).toEqual(scanDeletes(rules, object));
          }
        },
      ),
      { seed: 20240611, numRuns: 400 },
    );
  });

  it('It should route a realistic 300-rule set exactly as the scan does', () => {
    const { objects } = routingWorkload(300, 2000, 7);
    for (const event of objects.events) {
      expect(planCopies(objects.rules, event, event.tags)).toEqual(
        scanPlans(objects.rules, event, event.tags),
      );
    }
  });

  it('It should build the index once per rule list, and again if the list was edited in place', () => {
    const { objects } = routingWorkload(40, 1, 3);
    const rules = [...objects.rules];
    const first = objectRuleIndexOf(rules);
    expect(objectRuleIndexOf(rules)).toBe(first);
    const [extra] = objects.rules;
    rules.push(extra as ObjectRule);
    expect(objectRuleIndexOf(rules)).not.toBe(first);
    expect(objectRuleIndexOf(rules).rules).toHaveLength(41);
  });

  it('It should keep file order when several prefixes of one key match', () => {
    const rule = (name: string, prefix: string) =>
      ObjectRuleSchema.parse({
        name,
        objects: { bucket: 'src-a', prefix },
        to: [{ bucket: 'dst', region: 'us-west-2' }],
      });
    const rules = [
      rule('deep', 'a/b/'),
      rule('none', ''),
      rule('top', 'a/'),
      rule('other', 'b/'),
      rule('deep2', 'a/b/'),
    ];
    expect(
      new ObjectRuleIndex(rules).candidates({ bucket: 'src-a', key: 'a/b/c' }).map((r) => r.name),
    ).toEqual(['deep', 'none', 'top', 'deep2']);
  });
});
