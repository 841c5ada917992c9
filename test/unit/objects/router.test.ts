import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TagsRequiredError } from '#objects/errors';
import { candidateRules, planCopies, planDeletes } from '#objects/router';
import { type ObjectRule, ObjectRuleSchema } from '#rules/schema';

const rule = (name: string, objects: Record<string, unknown>, ...to: Record<string, unknown>[]): ObjectRule =>
  ObjectRuleSchema.parse({ name, objects, to: to.length ? to : [{ bucket: 'dst-b', region: 'us-west-2' }] });

const rules = [
  rule('pdfs', { bucket: 'src-b', prefix: 'invoices/', suffix: '.pdf' }),
  rule('big', { bucket: 'src-b', minSize: 1000, maxSize: 2000 }),
  rule('tagged', { bucket: 'src-b', prefix: 'hr/', tags: { dr: 'true', team: 'hr' } }),
  rule('other', { bucket: 'other-b' }),
];

describe('object router', () => {
  it.each([
    ['invoices/a.pdf', 10, undefined, ['pdfs']],
    ['invoices/a.csv', 10, undefined, []],
    ['x/invoices/a.pdf', 10, undefined, []],
    ['invoices/a.pdf', 1500, undefined, ['pdfs', 'big']],
    ['a.bin', 999, undefined, []],
    ['a.bin', 1000, undefined, ['big']],
    ['a.bin', 2000, undefined, ['big']],
    ['a.bin', 2001, undefined, []],
    ['hr/x.doc', 5, { dr: 'true', team: 'hr', extra: '1' }, ['tagged']],
    ['hr/x.doc', 5, { dr: 'true' }, []],
    ['hr/x.doc', 5, { dr: 'TRUE', team: 'hr' }, []],
  ])('It should route %s (%i bytes, tags %o) to %o', (key, size, tags, expected) => {
    const plans = planCopies(rules, { bucket: 'src-b', key, size }, tags ?? {});
    expect(plans.map((plan) => plan.rule.name)).toEqual(expected);
  });

  it('It should refuse to guess when a tag rule matches but no tags were read', () => {
    expect(() => planCopies(rules, { bucket: 'src-b', key: 'hr/x', size: 1 })).toThrow(TagsRequiredError);
    expect(planCopies(rules, { bucket: 'src-b', key: 'invoices/a.pdf', size: 1 })).toHaveLength(1);
  });

  it('It should make one plan per destination and rewrite the matched prefix', () => {
    const fanOut = rule(
      'fan',
      { bucket: 'src-b', prefix: 'in/' },
      { bucket: 'one-b', region: 'us-west-2', keyPrefix: 'mirror/' },
      { bucket: 'two-b', region: 'eu-west-1' },
      { bucket: 'three-b', region: 'eu-west-1', keyPrefix: '' },
    );
    const plans = planCopies([fanOut], { bucket: 'src-b', key: 'in/a/b c.txt', size: 1 });
    expect(plans.map((p) => `${p.destination.bucket}/${p.destinationKey}`)).toEqual([
      'one-b/mirror/a/b c.txt',
      'two-b/in/a/b c.txt',
      'three-b/a/b c.txt',
    ]);
  });

  it('It should plan deletes only for destinations that replicate deletes', () => {
    const mixed = rule(
      'mixed',
      { bucket: 'src-b', prefix: 'in/', minSize: 5 },
      { bucket: 'one-b', region: 'us-west-2', replicateDeletes: true },
      { bucket: 'two-b', region: 'us-west-2' },
    );
    expect(planDeletes([mixed], { bucket: 'src-b', key: 'in/x' }).map((p) => p.destination.bucket)).toEqual([
      'one-b',
    ]);
    expect(planDeletes([mixed], { bucket: 'src-b', key: 'out/x' })).toEqual([]);
  });

  // Properties over arbitrary keys (unicode included), prefixes, suffixes, sizes and tags.
  const text = fc.string({ unit: 'grapheme', maxLength: 12 });
  const tagMap = fc.dictionary(
    fc.string({ minLength: 1, maxLength: 6 }).filter((k) => !k.startsWith('aws:')),
    fc.string({ maxLength: 6 }),
    { maxKeys: 4 },
  );

  it('It should match exactly the keys that start with the prefix and end with the suffix', () => {
    fc.assert(
      fc.property(text, text, text, text, (prefix, middle, suffix, otherKey) => {
        const r = rule('p', { bucket: 'src-b', prefix, ...(suffix ? { suffix } : {}) });
        expect(candidateRules([r], { bucket: 'src-b', key: prefix + middle + suffix, size: 1 })).toHaveLength(
          1,
        );
        const expected = otherKey.startsWith(prefix) && otherKey.endsWith(suffix) ? 1 : 0;
        expect(candidateRules([r], { bucket: 'src-b', key: otherKey, size: 1 })).toHaveLength(expected);
        expect(
          candidateRules([r], { bucket: 'elsewhere-b', key: prefix + middle + suffix, size: 1 }),
        ).toHaveLength(0);
      }),
    );
  });

  it('It should keep everything after the matched prefix in the replica key', () => {
    fc.assert(
      fc.property(text, text, text, (prefix, rest, keyPrefix) => {
        const r = rule('p', { bucket: 'src-b', prefix }, { bucket: 'dst-b', region: 'us-west-2', keyPrefix });
        const [plan] = planCopies([r], { bucket: 'src-b', key: prefix + rest, size: 0 });
        expect(plan?.destinationKey).toBe(keyPrefix + rest);
      }),
    );
  });

  it('It should match sizes exactly within [minSize, maxSize]', () => {
    fc.assert(
      fc.property(fc.nat(10_000), fc.nat(10_000), fc.nat(20_000), (a, b, size) => {
        const [minSize, maxSize] = a <= b ? [a, b] : [b, a];
        const r = rule('s', { bucket: 'src-b', minSize, maxSize });
        const matched = candidateRules([r], { bucket: 'src-b', key: 'k', size }).length === 1;
        expect(matched).toBe(size >= minSize && size <= maxSize);
      }),
    );
  });

  it('It should require every configured tag with its exact value, and ignore extra tags', () => {
    fc.assert(
      fc.property(
        tagMap.filter((t) => Object.keys(t).length > 0),
        tagMap,
        (required, extra) => {
          const r = rule('t', { bucket: 'src-b', tags: required });
          const object = { bucket: 'src-b', key: 'k', size: 1 };
          expect(planCopies([r], object, { ...extra, ...required })).toHaveLength(1);
          const [firstKey] = Object.keys(required);
          const missing = Object.fromEntries(
            Object.entries({ ...extra, ...required }).filter(([k]) => k !== firstKey),
          );
          expect(planCopies([r], object, missing)).toHaveLength(0);
        },
      ),
    );
  });
});
