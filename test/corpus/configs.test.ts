import { describe, expect, it } from 'vitest';
import { type ConfigIssue, InvalidConfigError, loadConfigFile, parseConfig } from '#rules/load';
import { type ConfigCase, invalidConfigs } from '#test/corpus/configs';
import { validateCommand } from '../../cli/commands.ts';

/**
 * Every invalid configuration of the corpus through the loader the Lambda functions, the sandbox and
 * `ferry validate` use: it must be refused with exactly the expected errors, each at its path.
 */

const CASES = invalidConfigs();

function issuesOf(entry: ConfigCase): ConfigIssue[] {
  try {
    parseConfig(entry.text, entry.name);
  } catch (error) {
    if (error instanceof InvalidConfigError) return error.issues;
    throw error;
  }
  throw new Error(`${entry.name} was accepted: ${entry.description}`);
}

describe('the configuration corpus', () => {
  it('It should hold at least 30 invalid configurations', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(30);
    // Object rules, snapshot rules, image rules and top-level problems are all represented.
    for (const kind of ['objects:', 'snapshots:', 'images:', 'copy:']) {
      expect(CASES.some((entry) => entry.text.includes(kind))).toBe(true);
    }
  });
});

describe('invalid configurations through the loader', () => {
  it.each(CASES.map((entry) => [entry.name, entry] as const))(
    '%s: refused, every error at its path',
    (_, entry) => {
      const issues = issuesOf(entry);
      const unmatched = [...issues];
      for (const expected of entry.issues) {
        const index = unmatched.findIndex(
          (issue) => issue.path === expected.path && issue.message.includes(expected.message),
        );
        expect(
          index,
          `${expected.path}: ${expected.message}\nreported:\n${JSON.stringify(issues, null, 2)}`,
        ).not.toBe(-1);
        unmatched.splice(index, 1);
      }
      expect(unmatched, 'errors reported beyond the expected ones').toEqual([]);
    },
  );

  it('It should name the file and every error in the message of the error the functions fail their init with', () => {
    const entry = CASES.find((candidate) => candidate.name === 'top-every-error-reported.yml');
    if (!entry) throw new Error('the corpus lost top-every-error-reported.yml');
    expect(() => loadConfigFile(entry.file)).toThrow(InvalidConfigError);
    try {
      loadConfigFile(entry.file);
    } catch (error) {
      const { message } = error as InvalidConfigError;
      expect(message).toContain(`${entry.file} is not a valid Ferry configuration`);
      for (const expected of entry.issues)
        expect(message).toContain(`  ${expected.path}: ${expected.message}`);
    }
  });
});

describe('ferry validate on the corpus', () => {
  it.each([
    'top-every-error-reported.yml',
    'top-not-yaml.yml',
    'object-chain-loop.yml',
    'snapshot-kms-key-other-region.yml',
    'image-name-unknown-placeholder.yml',
    'top-yaml-alias-bomb.yml',
    'top-yaml-nested-20000-deep.yml',
  ])('It should exit non-zero for %s and print each error with its path', (name) => {
    const entry = CASES.find((candidate) => candidate.name === name);
    if (!entry) throw new Error(`the corpus lost ${name}`);
    const result = validateCommand(entry.file);
    expect(result.exitCode).toBe(1);
    const count = entry.issues.length;
    expect(result.lines[0]).toBe(`✘ ${entry.file}: ${count} error${count === 1 ? '' : 's'}`);
    for (const expected of entry.issues) {
      expect(result.lines).toContainEqual(expect.stringContaining(`  ${expected.path}: ${expected.message}`));
    }
  });

  it('It should exit non-zero for every file of the corpus', () => {
    for (const entry of CASES) expect(validateCommand(entry.file).exitCode, entry.name).toBe(1);
  });
});
