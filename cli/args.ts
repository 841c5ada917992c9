import { type ParseArgsConfig, parseArgs } from 'node:util';
import { closest } from '#rules/closest';

/**
 * Command lines read the way people expect of a CLI: a wrong option is named (with the option that was
 * likely meant) and answered with the command's usage, never with parseArgs' stack trace. Used by `ferry`
 * (cli/ferry.ts) and `npm start` (local/main.ts).
 */

export type OptionsConfig = NonNullable<ParseArgsConfig['options']>;

/** The command line cannot be run as written: the CLI prints the message and its usage, and exits 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export class UnknownOptionError extends UsageError {
  constructor(
    readonly option: string,
    readonly meant: string | undefined,
  ) {
    super(`unknown option ${option}${meant ? ` (did you mean ${meant}?)` : ''}`);
    this.name = 'UnknownOptionError';
  }
}

export class OptionValueMissingError extends UsageError {
  constructor(readonly option: string) {
    super(`${option} needs a value: ${option} VALUE (or ${option}=VALUE)`);
    this.name = 'OptionValueMissingError';
  }
}

/** The exit status of a usage error, as most CLIs (and Bash's builtins) use it. */
export const USAGE_EXIT_CODE = 2;

const isParseArgsError = (error: unknown): error is Error & { code: string } =>
  error instanceof Error && String((error as { code?: unknown }).code).startsWith('ERR_PARSE_ARGS_');

/**
 * parseArgs in strict mode, after a lenient pass over the same arguments that finds what strict mode would
 * only throw about: an unknown option (named, with the closest known one) and a value missing at the end.
 * Anything else strict mode refuses (a value given to a flag, an argument where none is taken) becomes a
 * UsageError with its message.
 */
export function parseCommandLine<const Options extends OptionsConfig>(
  args: readonly string[],
  options: Options,
  { allowPositionals = true }: { allowPositionals?: boolean } = {},
) {
  const { tokens } = parseArgs({
    args: [...args],
    options,
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  for (const token of tokens) {
    if (token.kind !== 'option') continue;
    const option = Object.hasOwn(options, token.name) ? options[token.name] : undefined;
    if (option === undefined) {
      const long = Object.keys(options).map((name) => `--${name}`);
      const meant = token.rawName.startsWith('--') ? closest(token.rawName, long) : undefined;
      throw new UnknownOptionError(token.rawName, meant);
    }
    if (option.type === 'string' && token.value === undefined)
      throw new OptionValueMissingError(token.rawName);
  }
  try {
    return parseArgs({ args: [...args], options, strict: true, allowPositionals });
  } catch (error) {
    if (isParseArgsError(error)) throw new UsageError(error.message.split('\n')[0] ?? error.message);
    throw error;
  }
}
