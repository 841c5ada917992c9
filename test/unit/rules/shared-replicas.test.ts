import { describe, expect, it } from 'vitest';
import { candidateRules, destinationKeyOf, planCopies, planDeletes } from '#objects/router';
import { objectRulesOf } from '#rules/config';
import { replicaSpace } from '#rules/key-spaces';
import { parseConfig, validateConfig } from '#rules/load';
import type { ObjectRule } from '#rules/schema';

/**
 * Two rules must never share a replica: overlapping replica key spaces in one bucket are refused, naming
 * both rules, both destinations and a key both would write, unless priority orders the rules; and then the
 * router lets only the higher one write (or delete) the shared keys.
 */

const issuesOf = (...rules: unknown[]) => {
  const result = validateConfig({ rules });
  return result.ok ? [] : result.issues;
};
const rule = (name: string, objects: Record<string, unknown>, ...to: Record<string, unknown>[]) => ({
  name,
  objects,
  to: to.length > 0 ? to : [{ bucket: 'acme-dr', region: 'us-west-2' }],
});

describe('shared replicas at validation', () => {
  it('It should refuse two sources whose replicas meet under one keyPrefix, naming both rules, destinations and a key', () => {
    const issues = issuesOf(
      rule(
        'docs-a',
        { bucket: 'acme-a', prefix: 'docs/' },
        { bucket: 'acme-dr', region: 'us-west-2', keyPrefix: 'mirror/' },
      ),
      rule(
        'docs-b',
        { bucket: 'acme-b', prefix: 'docs/' },
        { bucket: 'acme-dr', region: 'us-west-2', keyPrefix: 'mirror/' },
      ),
    );
    expect(issues).toEqual([
      {
        path: 'rules[1].to[0]',
        message:
          'rule "docs-b" to[0] (s3://acme-dr/mirror/…) and rule "docs-a" to[0] (rules[0], s3://acme-dr/mirror/…) ' +
          'would share replicas, such as s3://acme-dr/mirror/example: the copy that lands last would silently ' +
          'replace the other. Give one a keyPrefix or bucket apart, or give both rules a priority (the higher ' +
          "one's replicas win the shared keys).",
      },
    ]);
  });

  it('It should refuse a whole-bucket rule and a prefix rule of the same bucket into one bucket, whatever their storage classes', () => {
    expect(
      issuesOf(
        rule('everything', { bucket: 'acme-prod' }, { bucket: 'acme-dr', region: 'us-west-2' }),
        rule(
          'invoices',
          { bucket: 'acme-prod', prefix: 'invoices/' },
          {
            bucket: 'acme-dr',
            region: 'us-west-2',
            storageClass: 'GLACIER_IR',
          },
        ),
      ),
    ).toEqual([
      {
        path: 'rules[1].to[0]',
        message: expect.stringContaining(
          'rule "invoices" to[0] (s3://acme-dr/invoices/…) and rule "everything" to[0] (rules[0], s3://acme-dr/…) would share replicas, such as s3://acme-dr/invoices/example',
        ),
      },
    ]);
  });

  it('It should find an overlap reached through keyPrefix rewriting, and accept key spaces kept apart', () => {
    const rewritten = rule(
      'reports',
      { bucket: 'acme-a', prefix: 'reports/' },
      {
        bucket: 'acme-dr',
        region: 'us-west-2',
        keyPrefix: 'mirror/',
      },
    );
    expect(issuesOf(rewritten, rule('kept', { bucket: 'acme-b', prefix: 'mirror/2024/' }))).toEqual([
      expect.objectContaining({
        path: 'rules[1].to[0]',
        message: expect.stringContaining('such as s3://acme-dr/mirror/2024/example'),
      }),
    ]);
    expect(
      issuesOf(
        rule('a', { bucket: 'acme-a' }, { bucket: 'acme-dr', region: 'us-west-2', keyPrefix: 'from-a/' }),
        rule('b', { bucket: 'acme-b' }, { bucket: 'acme-dr', region: 'us-west-2', keyPrefix: 'from-b/' }),
      ),
    ).toEqual([]);
  });

  it('It should count suffixes that cannot meet as apart, and nothing else', () => {
    const pdf = rule('pdf', { bucket: 'acme-a', suffix: '.pdf' });
    expect(issuesOf(pdf, rule('csv', { bucket: 'acme-b', suffix: '.csv' }))).toEqual([]);
    expect(issuesOf(pdf, rule('tar-pdf', { bucket: 'acme-b', suffix: '.tar.pdf' }))).toHaveLength(1);
    // Sizes and tags are of different objects (and change between versions): they never keep keys apart.
    expect(
      issuesOf(
        rule('small', { bucket: 'acme-a', maxSize: 100, tags: { tier: 'small' } }),
        rule('large', { bucket: 'acme-b', minSize: 101, tags: { tier: 'large' } }),
      ),
    ).toHaveLength(1);
  });

  it('It should not trust a suffix a rewritten key can lose: prefix a/ and suffix /b make a/b, rewritten xyb', () => {
    const [cut] = objectRulesOf(
      parseConfig(`rules:
  - name: cut
    objects: { bucket: acme-a, prefix: a/, suffix: /b }
    to: [ { bucket: acme-dr, region: us-west-2, keyPrefix: xy } ]
`),
    ) as [ObjectRule];
    const destination = cut.to[0] as ObjectRule['to'][number];
    expect(candidateRules([cut], { bucket: 'acme-a', key: 'a/b' })).toHaveLength(1);
    expect(destinationKeyOf(cut, destination, 'a/b')).toBe('xyb');
    expect(replicaSpace(cut, destination).suffix).toBeUndefined();
    // A rule that writes xyb itself: refused, although xy…/b and xy…yb look apart.
    expect(
      issuesOf(
        rule(
          'cut',
          { bucket: 'acme-a', prefix: 'a/', suffix: '/b' },
          { bucket: 'acme-dr', region: 'us-west-2', keyPrefix: 'xy' },
        ),
        rule('other', { bucket: 'acme-b', prefix: 'xy', suffix: 'yb' }),
      ),
    ).toEqual([
      expect.objectContaining({ path: 'rules[1].to[0]', message: expect.stringContaining('xyexampleyb') }),
    ]);
  });

  it('It should follow a chain: replicas copied onward from a replica bucket meet another rule’s', () => {
    expect(
      issuesOf(
        rule('to-hub', { bucket: 'acme-a' }, { bucket: 'acme-hub', region: 'us-west-2', keyPrefix: 'in/' }),
        rule(
          'hub-onward',
          { bucket: 'acme-hub', prefix: 'in/', replicas: 'chain' },
          { bucket: 'acme-vault', region: 'us-west-2' },
        ),
        rule('direct', { bucket: 'acme-x' }, { bucket: 'acme-vault', region: 'us-west-2' }),
      ),
    ).toEqual([
      expect.objectContaining({
        path: 'rules[2].to[0]',
        message: expect.stringContaining(
          'rule "direct" to[0] (s3://acme-vault/…) and rule "hub-onward" to[0]',
        ),
      }),
    ]);
  });

  it('It should leave a replica space that meets another rule’s source to the loop check, once', () => {
    expect(
      issuesOf(
        rule('a-to-b', { bucket: 'acme-a' }, { bucket: 'acme-b', region: 'us-west-2' }),
        rule('b-to-c', { bucket: 'acme-b' }, { bucket: 'acme-c', region: 'us-west-2' }),
      ),
    ).toEqual([
      { path: 'rules[1].objects', message: expect.stringContaining('would match this rule again') },
    ]);
  });

  it('It should refuse two destinations of one rule that write the same keys, priority or not', () => {
    const twice = rule(
      'twice',
      { bucket: 'acme-a', prefix: 'docs/' },
      { bucket: 'acme-dr', region: 'us-west-2', storageClass: 'STANDARD_IA' },
      { bucket: 'acme-dr', region: 'us-west-2', storageClass: 'GLACIER' },
    );
    expect(issuesOf({ ...twice, priority: 1 })).toEqual([
      {
        path: 'rules[0].to[1]',
        message:
          'writes the same replica keys as to[0] of this rule (s3://acme-dr/docs/… and s3://acme-dr/docs/…), ' +
          'such as s3://acme-dr/docs/example: one copy would replace the other; give each destination its own bucket or keyPrefix',
      },
    ]);
  });

  it('It should accept an overlap only when both rules set different priorities', () => {
    const everything = rule('everything', { bucket: 'acme-prod' });
    const invoices = rule('invoices', { bucket: 'acme-prod', prefix: 'invoices/' });
    expect(issuesOf({ ...everything, priority: 1 }, { ...invoices, priority: 2 })).toEqual([]);
    expect(issuesOf({ ...everything, priority: 1 }, invoices)).toHaveLength(1);
    expect(issuesOf({ ...everything, priority: 2 }, { ...invoices, priority: 2 })).toEqual([
      expect.objectContaining({
        message: expect.stringContaining('Both have priority 2, which orders nothing.'),
      }),
    ]);
  });
});

describe('shared replicas in the router', () => {
  const config = parseConfig(`rules:
  - name: everything
    priority: 1
    objects: { bucket: acme-prod }
    to: [ { bucket: acme-dr, region: us-west-2, replicateDeletes: true } ]
  - name: invoices
    priority: 2
    objects: { bucket: acme-prod, prefix: invoices/ }
    to: [ { bucket: acme-dr, region: us-west-2, storageClass: GLACIER_IR, replicateDeletes: true } ]
  - name: docs-a
    priority: 5
    objects: { bucket: acme-a, prefix: docs/ }
    to: [ { bucket: acme-vault, region: us-west-2, keyPrefix: mirror/ } ]
  - name: docs-b
    priority: 4
    objects: { bucket: acme-b, prefix: docs/ }
    to:
      - { bucket: acme-vault, region: us-west-2, keyPrefix: mirror/ }
      - { bucket: acme-b-dr, region: us-west-2 }
`);
  const rules = objectRulesOf(config);
  const written = (bucket: string, key: string) =>
    planCopies(rules, { bucket, key, size: 1 }).map(
      (plan) => `${plan.rule.name} → ${plan.destination.bucket}/${plan.destinationKey}`,
    );

  it('It should copy a key both rules match once, by the higher priority', () => {
    expect(written('acme-prod', 'invoices/2026/1.pdf')).toEqual(['invoices → acme-dr/invoices/2026/1.pdf']);
    expect(written('acme-prod', 'photos/1.jpg')).toEqual(['everything → acme-dr/photos/1.jpg']);
  });

  it('It should leave the keys of a higher-priority rule of another source alone, and keep the lower rule’s other destinations', () => {
    expect(written('acme-a', 'docs/x')).toEqual(['docs-a → acme-vault/mirror/x']);
    expect(written('acme-b', 'docs/x')).toEqual(['docs-b → acme-b-dr/docs/x']);
    // Handed only the candidates for the object, as the handler does, the router still knows the order.
    const candidates = candidateRules(rules, { bucket: 'acme-b', key: 'docs/x' });
    expect(planCopies(candidates, { bucket: 'acme-b', key: 'docs/x', size: 1 })).toHaveLength(1);
  });

  it('It should delete a shared key’s replica only for the rule that owns it', () => {
    expect(
      planDeletes(rules, { bucket: 'acme-prod', key: 'invoices/2026/1.pdf' }).map((plan) => plan.rule.name),
    ).toEqual(['invoices']);
    expect(
      planDeletes(rules, { bucket: 'acme-prod', key: 'photos/1.jpg' }).map((plan) => plan.rule.name),
    ).toEqual(['everything']);
  });
});
