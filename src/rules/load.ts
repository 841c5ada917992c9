import { parseDocument } from 'yaml';
import type { FerryConfig } from './config.ts';
import { InvalidConfigError, readRulesFile, validateConfig } from './validate.ts';

export {
  type ConfigIssue,
  formatPath,
  InvalidConfigError,
  loadCompiledRules,
  toConfigIssues,
  validateConfig,
} from './validate.ts';

/** The YAML document as plain data, or InvalidConfigError naming each syntax error by line and column. */
function documentOf(text: string, source: string): unknown {
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
  return document.toJS();
}

/** Parses YAML text into a validated configuration, or throws InvalidConfigError listing every problem. */
export function parseConfig(text: string, source = 'replication.yml'): FerryConfig {
  const result = validateConfig(documentOf(text, source));
  if (!result.ok) throw new InvalidConfigError(source, result.issues);
  return result.config;
}

export function loadConfigFile(path: string): FerryConfig {
  return parseConfig(readRulesFile(path), path);
}

/**
 * The rules as the deployed functions read them: the YAML document as JSON, after checking it (an invalid
 * file stops packaging with its paths). The functions validate it again at init (`loadCompiledRules`).
 */
export function compileRules(path: string): string {
  const raw = documentOf(readRulesFile(path), path);
  const result = validateConfig(raw);
  if (!result.ok) throw new InvalidConfigError(path, result.issues);
  return `${JSON.stringify(raw, null, 1)}\n`;
}
