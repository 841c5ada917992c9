import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { checkConfig, type FerryConfig, type RawIssue } from './config.ts';

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

export function toConfigIssues(issues: readonly RawIssue[]): ConfigIssue[] {
  return issues.map((issue) => {
    if (issue.code === 'unrecognized_keys' && issue.keys) {
      const keys = issue.keys.map((k) => `"${k}"`).join(', ');
      return { path: formatPath(issue.path), message: `unknown key ${keys} (keys are case-sensitive)` };
    }
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

/** Parses YAML text into a validated configuration, or throws InvalidConfigError listing every problem. */
export function parseConfig(text: string, source = 'replication.yml'): FerryConfig {
  const document = parseDocument(text, { uniqueKeys: true });
  if (document.errors.length > 0) {
    throw new InvalidConfigError(
      source,
      document.errors.map((error) => {
        const position = error.linePos?.[0];
        return {
          path: position ? `line ${position.line}, column ${position.col}` : '(yaml)',
          message: (error.message.split('\n')[0] ?? error.code).replace(/ at line \d+, column \d+:?$/, ''),
        };
      }),
    );
  }
  const result = validateConfig(document.toJS());
  if (!result.ok) throw new InvalidConfigError(source, result.issues);
  return result.config;
}

export function loadConfigFile(path: string): FerryConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new InvalidConfigError(path, [
      { path: '(file)', message: `cannot be read: ${(error as Error).message}` },
    ]);
  }
  return parseConfig(text, path);
}
