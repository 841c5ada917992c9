import { type CST, LineCounter, Parser, parseDocument } from 'yaml';
import type { FerryConfig } from './config.ts';
import { InvalidConfigError } from './errors.ts';
import { readRulesFile, validateConfig } from './validate.ts';

export { type ConfigIssue, InvalidConfigError } from './errors.ts';
export { formatPath, loadCompiledRules, toConfigIssues, validateConfig } from './validate.ts';

/**
 * Bounds on what a configuration file may make the parser build. replication.yml nests about six levels deep
 * and needs few aliases (if any), so these refuse only hostile or broken files: a 20,000-deep `[[[…` that
 * would exhaust the stack (V8 can even abort the process when the stack runs out inside a regular expression,
 * which no catch sees), and an alias bomb ("billion laughs") that expands a few lines into millions of nodes.
 */
export const MAX_YAML_DEPTH = 64;
const MAX_ALIAS_COUNT = 100;

/**
 * The first collection nested deeper than MAX_YAML_DEPTH, by its offset, found on the parser's concrete syntax
 * tree before any node is composed. The tree is walked with an explicit stack: recursion is what must not run
 * out here.
 */
function tooDeepAt(text: string): number | undefined {
  const pending: { token: CST.Token | null | undefined; depth: number }[] = [];
  for (const token of new Parser().parse(text)) pending.push({ token, depth: 0 });
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const { token, depth } = next;
    if (!token) continue;
    if (token.type === 'document') pending.push({ token: token.value, depth });
    else if (token.type === 'block-map' || token.type === 'block-seq' || token.type === 'flow-collection') {
      if (depth >= MAX_YAML_DEPTH) return token.offset;
      for (const item of token.items) {
        pending.push({ token: item.key, depth: depth + 1 }, { token: item.value, depth: depth + 1 });
      }
    }
  }
  return undefined;
}

/** Where an offset is, the way the YAML errors say it (1-based). */
function positionOf(text: string, offset: number): string {
  const lines = new LineCounter();
  for (const _ of new Parser(lines.addNewLine).parse(text));
  const { line, col } = lines.linePos(offset);
  return `line ${line}, column ${col}`;
}

/** The YAML document as plain data, or InvalidConfigError naming each syntax error by line and column. */
function documentOf(text: string, source: string): unknown {
  const deep = tooDeepAt(text);
  if (deep !== undefined) {
    throw new InvalidConfigError(source, [
      {
        path: positionOf(text, deep),
        message: `nested deeper than ${MAX_YAML_DEPTH} levels (a Ferry configuration needs fewer than ten); not read further`,
      },
    ]);
  }
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
  try {
    return document.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (error) {
    // yaml throws ReferenceError when aliases expand past maxAliasCount; RangeError is a stack overflow
    // that the depth bound above should have made impossible. Either way: this file, in the ✘ format.
    if (!(error instanceof ReferenceError || error instanceof RangeError)) throw error;
    throw new InvalidConfigError(source, [
      {
        path: '(yaml)',
        message:
          error instanceof ReferenceError
            ? `its aliases expand into too many nodes (over the parser's maxAliasCount of ${MAX_ALIAS_COUNT}, which stops alias bombs); write the values out or use fewer aliases`
            : `cannot be read: ${error.message}`,
      },
    ]);
  }
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
