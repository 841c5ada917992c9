import { readFileSync } from 'node:fs';
import { checkConfig, type FerryConfig, type RawIssue } from './config.ts';
import { type ConfigIssue, InvalidConfigError } from './errors.ts';

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
