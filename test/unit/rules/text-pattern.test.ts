import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { imageMatches } from '#ec2/images/router';
import { snapshotMatches } from '#ec2/snapshots/router';
import { type ImageRule, ImageRuleSchema, type SnapshotRule, SnapshotRuleSchema } from '#rules/ec2-schema';
import { validateConfig } from '#rules/load';
import { patternMatches, patternProblem } from '#rules/text-pattern';
import { ec2Event } from '#test/support/ec2-events';
import { planCommand } from '../../../cli/commands.ts';

/**
 * Description and name patterns run on text anyone who can create a snapshot or an AMI sets, so they are
 * matched in linear time (RE2 semantics) and a pattern RE2 cannot compile is refused with its reason.
 */

// 40 characters: a backtracking engine needs about 2^40 steps to fail `(a+)+$` on it.
const HOSTILE = `${'a'.repeat(39)}!`;

const snapshotRule = (description: string): SnapshotRule =>
  SnapshotRuleSchema.parse({
    name: 'ebs',
    snapshots: { regions: ['us-east-1'], description },
    to: [{ region: 'us-west-2' }],
  });
const imageRule = (name: string): ImageRule =>
  ImageRuleSchema.parse({
    name: 'ami',
    images: { regions: ['us-east-1'], name },
    to: [{ region: 'us-west-2' }],
  });

const issuesOf = (snapshots: Record<string, unknown>) => {
  const result = validateConfig({
    rules: [
      { name: 'ebs', snapshots: { regions: ['us-east-1'], ...snapshots }, to: [{ region: 'us-west-2' }] },
    ],
  });
  return result.ok ? [] : result.issues;
};

describe('rule patterns', () => {
  it('It should decide a nested quantifier on a hostile 40-character description, in the snapshot router', () => {
    const rule = snapshotRule('(a+)+$');
    const facts = { snapshotId: 'snap-0a1b2c3d4e5f60718', region: 'us-east-1', encrypted: false, tags: {} };
    expect(snapshotMatches(rule, { ...facts, description: HOSTILE })).toBe(false);
    expect(snapshotMatches(rule, { ...facts, description: 'a'.repeat(40) })).toBe(true);
  });

  it('It should decide a nested quantifier on a hostile 40-character AMI name, in the image router', () => {
    const rule = imageRule('(a+)+$');
    const facts = {
      imageId: 'ami-0b1c2d3e4f5a60718',
      region: 'us-east-1',
      description: '',
      encrypted: false,
    };
    expect(imageMatches(rule, { ...facts, name: HOSTILE, tags: {} })).toBe(false);
    expect(imageMatches(rule, { ...facts, name: `web-${'a'.repeat(36)}`, tags: {} })).toBe(true);
  });

  it('It should keep patterns unanchored unless they say otherwise', () => {
    expect(patternMatches('db-\\d', 'nightly db-1')).toBe(true);
    expect(patternMatches('^db-\\d', 'nightly db-1')).toBe(false);
  });

  it.each([
    ['a lookahead', '^(?=nightly)', 'invalid or unsupported Perl syntax: `(?=`'],
    ['a negative lookbehind', '(?<!weekly)backup', 'invalid named capture: `(?<!weekly)backup`'],
    ['a backreference', '^(a)\\1$', 'invalid escape sequence: `\\1`'],
  ])('It should refuse %s with the reason RE2 gives', (_, description, reason) => {
    expect(patternProblem(description)).toBe(reason);
    expect(issuesOf({ description })).toEqual([
      {
        path: 'rules[0].snapshots.description',
        message: expect.stringContaining(
          `expected a regular expression for the snapshot description, but it does not compile: ${reason}`,
        ),
      },
    ]);
  });

  it('It should say in the refusal that patterns use RE2 syntax', () => {
    expect(issuesOf({ description: '(?=x)' })[0]?.message).toContain('RE2 syntax');
  });

  it('It should decide the hostile description in ferry plan too, with the routers’ matcher', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ferry-pattern-'));
    const config = join(dir, 'rules.yml');
    writeFileSync(
      config,
      `rules:
  - name: nested
    snapshots: { regions: [us-east-1], description: "(a+)+$" }
    to: [ { region: us-west-2 } ]
`,
    );
    const event = join(dir, 'event.json');
    writeFileSync(event, JSON.stringify(ec2Event('snapshot-created')));
    const plan = (description: string) =>
      planCommand({ eventFile: event, configFile: config, facts: { description } }).lines.join('\n');
    expect(plan(HOSTILE)).not.toContain('[rule nested]');
    expect(plan('a'.repeat(40))).toContain('copy → us-west-2 [rule nested]');
  });
});
