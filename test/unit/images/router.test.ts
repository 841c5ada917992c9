import { describe, expect, it } from 'vitest';
import { type ImageFacts, imageFactsFilteredBy, imageMatches, planImageCopies } from '#ec2/images/router';
import { type ImageRule, ImageRuleSchema } from '#rules/ec2-schema';

const rule = (name: string, images: Record<string, unknown>, ...to: Record<string, unknown>[]): ImageRule =>
  ImageRuleSchema.parse({
    name,
    images: { regions: ['us-east-1'], ...images },
    to: to.length > 0 ? to : [{ region: 'us-west-2', kmsKeyId: 'alias/dr' }],
  });

const image = (facts: Partial<ImageFacts> = {}): ImageFacts => ({
  imageId: 'ami-0b1c2d3e4f5a60718',
  region: 'us-east-1',
  name: 'web-2026-11-21',
  description: 'web tier',
  encrypted: false,
  tags: { dr: 'true' },
  ...facts,
});

describe('image router', () => {
  it.each([
    ['its Region', { regions: ['us-west-2'] }, {}, false],
    ['its tags', { tags: { dr: 'true' } }, {}, true],
    ['a tag it lacks', { tags: { dr: 'true', env: 'prod' } }, {}, false],
    ['a name pattern', { name: '^web-' }, {}, true],
    ['an unanchored name pattern', { name: '\\d{4}-11' }, {}, true],
    ['a name that does not match', { name: '^db-' }, {}, false],
    ['encryption', { encrypted: true }, {}, false],
    ['an encrypted AMI', { encrypted: true }, { encrypted: true }, true],
    ['no encryption', { encrypted: false }, {}, true],
  ])('It should filter on %s', (_, filter, facts, matches) => {
    const r = rule('r', filter);
    expect(imageMatches(r, image(facts))).toBe(matches);
    expect(planImageCopies([r], image(facts))).toHaveLength(matches ? 1 : 0);
  });

  it('It should make one plan per destination of every matching rule, with the destination index', () => {
    const web = rule(
      'web',
      { name: '^web-' },
      { region: 'us-west-2', name: 'dr-{name}-{sourceId}' },
      { region: 'eu-west-1', retain: { days: 30 } },
    );
    const tagged = rule('tagged', { tags: { dr: 'true' } });
    const db = rule('db', { name: '^db-' });
    const plans = planImageCopies([web, db, tagged], image());
    expect(plans.map((plan) => [plan.rule.name, plan.destinationIndex, plan.destination.region])).toEqual([
      ['web', 0, 'us-west-2'],
      ['web', 1, 'eu-west-1'],
      ['tagged', 0, 'us-west-2'],
    ]);
    expect(plans[0]?.destination.name).toBe('dr-{name}-{sourceId}');
    expect(planImageCopies([web, db, tagged], image({ name: 'db-1', tags: {} }))).toEqual([
      expect.objectContaining({ rule: db, destinationIndex: 0 }),
    ]);
  });

  it('It should list the facts each rule filters on besides the Region', () => {
    expect(imageFactsFilteredBy(rule('plain', {}))).toEqual([]);
    expect(imageFactsFilteredBy(rule('all', { tags: { a: 'b' }, name: 'x', encrypted: false }))).toEqual([
      'tags',
      'name',
      'encrypted',
    ]);
  });
});
