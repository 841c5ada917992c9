import { readFileSync } from 'node:fs';
import { checkConfig, type FerryConfig, type RawIssue } from './config.ts';

/**
 * Validating rules, and loading them as the deployed functions do: from JSON that `npm run package` compiled
 * from replication.yml. Nothing here reads YAML, so a function's bundle carries no YAML parser (115 kB, and
 * about 17 ms of a cold init to parse the file). The YAML side is `load.ts`.
 */

/** One thing wrong with a configuration, located by its path (`rules[1].to[0].storageClass`). */
export interface ConfigIssue {
  path: string;
  message: string;
}

export class InvalidConfigError extends Error {
  constructor(
    readonly source: string,
    readonly issues: ConfigIssue[],
  ) {
    super(
      `${source} is not a valid Ferry configuration:\n${issues.map((i) => `  ${i.path}: ${i.message}`).join('\n')}`,
    );
    this.name = 'InvalidConfigError';
  }
}

/** Renders a zod path the way a user would write it in YAML: `rules[1].to[0].storageClass`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out === '' ? '(root)' : out;
}

/** Issues as a person reads them. Unknown keys already say which key was meant (unknown-keys.ts). */
export function toConfigIssues(issues: readonly RawIssue[]): ConfigIssue[] {
  return issues.map((issue) => {
    if (issue.code === 'invalid_key' && issue.issues?.length) {
      return { path: formatPath(issue.path), message: issue.issues.map((inner) => inner.message).join('; ') };
    }
    return { path: formatPath(issue.path), message: issue.message };
  });
}

/** Validates an already parsed document; every issue is reported, not just the first. */
export function validateConfig(
  raw: unknown,
): { ok: true; config: FerryConfig } | { ok: false; issues: ConfigIssue[] } {
  const { config, issues } = checkConfig(raw);
  return config ? { ok: true, config } : { ok: false, issues: toConfigIssues(issues) };
}

/** Reads a file, or names it and why it cannot be read. */
export function readRulesFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new InvalidConfigError(path, [
      { path: '(file)', message: `cannot be read: ${(error as Error).message}` },
    ]);
  }
}

/**
 * The rules a function runs with: the JSON `npm run package` compiled from the YAML (the same document), checked
 * again with the same schema, so a file edited by hand after packaging still fails the init with its paths.
 */
export function loadCompiledRules(path: string): FerryConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(readRulesFile(path));
  } catch (error) {
    if (error instanceof InvalidConfigError) throw error;
    throw new InvalidConfigError(path, [
      {
        path: '(file)',
        message: `is not JSON (${(error as Error).message}): functions read the rules \`npm run package\` compiles from replication.yml`,
      },
    ]);
  }
  const result = validateConfig(raw);
  if (!result.ok) throw new InvalidConfigError(path, result.issues);
  return result.config;
}
