import { describe, expect, it } from 'vitest';
import { checkRuleGraph, keySpacesOverlap } from '#rules/loop-check';
import { type ObjectRule, ObjectRuleSchema } from '#rules/schema';

const rule = (name: string, objects: Record<string, unknown>, ...to: Record<string, unknown>[]): ObjectRule =>
  ObjectRuleSchema.parse({ name, objects, to: to.map((d) => ({ region: 'us-west-2', ...d })) });

describe('rule graph check', () => {
  it('It should accept rules whose replicas no rule reads', () => {
    expect(checkRuleGraph([rule('a', { bucket: 'src-b' }, { bucket: 'dst-b' })])).toEqual([]);
  });

  it('It should reject a destination equal to its source', () => {
    expect(checkRuleGraph([rule('a', { bucket: 'src-b', prefix: 'x/' }, { bucket: 'src-b' })])).toEqual([
      { path: ['rules', 0, 'to', 0], message: expect.stringContaining('destination equals its source') },
    ]);
  });

  it('It should reject a rule that reads its own replicas under a rewritten prefix unless it opts in', () => {
    const selfFeeding = rule(
      'a',
      { bucket: 'src-b', prefix: 'x/' },
      { bucket: 'src-b', keyPrefix: 'x/copy/' },
    );
    expect(checkRuleGraph([selfFeeding])).toHaveLength(1);
    const skipping = rule(
      'a',
      { bucket: 'src-b', prefix: 'x/', replicas: 'skip' },
      { bucket: 'src-b', keyPrefix: 'x/copy/' },
    );
    expect(checkRuleGraph([skipping])).toEqual([]);
  });

  it('It should reject a chain into a rule that did not opt in, naming both rules', () => {
    const issues = checkRuleGraph([
      rule('first', { bucket: 'src-b' }, { bucket: 'mid-b' }),
      rule('second', { bucket: 'mid-b' }, { bucket: 'end-b' }),
    ]);
    expect(issues).toEqual([
      { path: ['rules', 1, 'objects'], message: expect.stringContaining('rule "first"') },
    ]);
  });

  it('It should accept an explicit chain and reject a chain that closes a loop', () => {
    const chain = [
      rule('first', { bucket: 'src-b' }, { bucket: 'mid-b' }),
      rule('second', { bucket: 'mid-b', replicas: 'chain' }, { bucket: 'end-b' }),
    ];
    expect(checkRuleGraph(chain)).toEqual([]);
    const loop = [
      rule('there', { bucket: 'src-b', replicas: 'chain' }, { bucket: 'mid-b' }),
      rule('back', { bucket: 'mid-b', replicas: 'chain' }, { bucket: 'src-b' }),
    ];
    expect(checkRuleGraph(loop)).toEqual([
      {
        path: ['rules', 0, 'objects', 'replicas'],
        message: expect.stringContaining('"there" → "back" → "there"'),
      },
    ]);
  });

  it('It should accept two-way replication when both rules skip replicas', () => {
    const twoWay = [
      rule('east', { bucket: 'east-b', replicas: 'skip' }, { bucket: 'west-b' }),
      rule('west', { bucket: 'west-b', replicas: 'skip' }, { bucket: 'east-b' }),
    ];
    expect(checkRuleGraph(twoWay)).toEqual([]);
  });

  it.each([
    [{ prefix: 'a/', suffix: undefined }, { prefix: 'a/b/', suffix: undefined }, true],
    [{ prefix: 'a/', suffix: undefined }, { prefix: 'b/', suffix: undefined }, false],
    [{ prefix: '', suffix: '.pdf' }, { prefix: '', suffix: '.csv' }, false],
    [{ prefix: '', suffix: '.tar.gz' }, { prefix: '', suffix: '.gz' }, true],
    [{ prefix: '', suffix: '.pdf' }, { prefix: 'x/', suffix: undefined }, true],
  ])('It should tell whether key spaces %o and %o overlap (%s)', (a, b, expected) => {
    expect(keySpacesOverlap({ bucket: 'b', ...a }, { bucket: 'b', ...b })).toBe(expected);
    expect(keySpacesOverlap({ bucket: 'b', ...a }, { bucket: 'other', ...b })).toBe(false);
  });
});
