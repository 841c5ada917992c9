import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * The bad-input corpus of configurations: one `replication.yml` variant per file in `test/corpus/configs/`,
 * each opening with comments that say what it is and every error the validator must report for it:
 *
 *   # A storage class S3 does not have.
 *   # expect: rules[0].to[0].storageClass: expected one of STANDARD
 *
 * An `expect` line is `path: message`, split at the first ": " (paths hold no ": ", though they may hold
 * ":", as in `tags.aws:backup`). The path must be reported exactly, the message must contain the text;
 * the validator must report one error per `expect` line and no other. Adding a case is adding a file.
 */

export interface ExpectedIssue {
  path: string;
  message: string;
}

export interface ConfigCase {
  name: string;
  /** The file's path on disk, for the functions that read the file themselves. */
  file: string;
  description: string;
  text: string;
  issues: ExpectedIssue[];
}

const DIR = new URL('./configs/', import.meta.url);
const EXPECT = /^#\s*expect:\s*(.*)$/;

export function invalidConfigs(): ConfigCase[] {
  return readdirSync(DIR)
    .sort()
    .map((name) => {
      if (!name.endsWith('.yml')) throw new Error(`test/corpus/configs/${name}: expected a .yml file`);
      const text = readFileSync(new URL(name, DIR), 'utf8');
      const header = text.split('\n').filter((line) => line.startsWith('#'));
      const issues = header.flatMap((line) => {
        const expected = EXPECT.exec(line)?.[1];
        if (expected === undefined) return [];
        const split = expected.indexOf(': ');
        if (split < 1)
          throw new Error(`test/corpus/configs/${name}: "${line}" is not "# expect: path: message"`);
        return [{ path: expected.slice(0, split), message: expected.slice(split + 2).trim() }];
      });
      const description = header
        .filter((line) => !EXPECT.test(line))
        .map((line) => line.replace(/^#\s*/, ''))
        .join(' ')
        .trim();
      if (issues.length === 0) throw new Error(`test/corpus/configs/${name}: no "# expect:" line`);
      if (description === '') throw new Error(`test/corpus/configs/${name}: no description comment`);
      return { name, file: fileURLToPath(new URL(name, DIR)), description, text, issues };
    });
}
