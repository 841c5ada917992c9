import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { s3Event } from '#test/support/fixtures';
import { runTsx } from '#test/support/run-tsx';
import {
  OptionValueMissingError,
  parseCommandLine,
  UnknownOptionError,
  UsageError,
} from '../../../cli/args.ts';
import { runFerry, USAGE } from '../../../cli/command-line.ts';
import { InvalidTagsOptionError, parseTagsOption } from '../../../cli/commands.ts';

/** `ferry` read as people use CLIs: help exits 0, a wrong option is named above the command's usage. */

const dir = mkdtempSync(join(tmpdir(), 'ferry-command-line-'));
const CONFIG = join(dir, 'replication.yml');
writeFileSync(
  CONFIG,
  `rules:
  - name: tagged
    objects: { bucket: acme-prod, tags: { dr: "true" } }
    to: [ { bucket: acme-tagged, region: eu-west-1 } ]
`,
);
const EVENT = join(dir, 'created.json');
writeFileSync(EVENT, JSON.stringify(s3Event('object-created')));

const text = (result: { lines: string[] }) => result.lines.join('\n');
const PLAN_SYNOPSIS = 'npm run ferry -- plan --event EVENT.json';
const BACKFILL_SYNOPSIS = 'npm run ferry -- backfill [--config FILE]';

describe('ferry --help', () => {
  it('It should print every command on stdout and exit 0, from the real command line', () => {
    const run = runTsx('cli/ferry.ts', ['--help']);
    expect(run.status).toBe(0);
    expect(run.stdout).toContain(PLAN_SYNOPSIS);
    expect(run.stdout).toContain(BACKFILL_SYNOPSIS);
    expect(run.stderr).not.toContain('ferry —');
  });

  it('It should print one command’s usage for COMMAND --help, -h and help COMMAND, and exit 0', async () => {
    for (const argv of [
      ['plan', '--help'],
      ['plan', '-h'],
      ['help', 'plan'],
      ['--help', 'plan'],
    ]) {
      const result = await runFerry(argv);
      expect(result.exitCode, argv.join(' ')).toBe(0);
      expect(text(result)).toContain(PLAN_SYNOPSIS);
      expect(text(result)).not.toContain(BACKFILL_SYNOPSIS);
    }
    expect(await runFerry(['help'])).toEqual({ exitCode: 0, lines: [USAGE] });
  });

  it('It should exit 2 with the usage when no command or an unknown one is given', async () => {
    expect(await runFerry([])).toEqual({ exitCode: 2, lines: ['ferry: which command?', '', USAGE] });
    expect(await runFerry(['pln'])).toEqual({
      exitCode: 2,
      lines: ['ferry: unknown command "pln" (did you mean plan?)', '', USAGE],
    });
  });
});

describe('ferry with a wrong option', () => {
  it('It should name an unknown option and the one meant above the command’s usage, without a stack trace', () => {
    const run = runTsx('cli/ferry.ts', ['plan', '--evnt', EVENT]);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('ferry plan: unknown option --evnt (did you mean --event?)');
    expect(run.stderr).toContain(PLAN_SYNOPSIS);
    expect(run.stderr).not.toContain(BACKFILL_SYNOPSIS);
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });

  it('It should refuse an option of another command, a value left out and an argument too many', async () => {
    const other = await runFerry(['plan', '--event', EVENT, '--limit', '3']);
    expect(other.exitCode).toBe(2);
    expect(other.lines[0]).toBe('ferry plan: unknown option --limit');
    const missing = await runFerry(['plan', '--event']);
    expect(missing.exitCode).toBe(2);
    expect(missing.lines[0]).toBe('ferry plan: --event needs a value: --event VALUE (or --event=VALUE)');
    const extra = await runFerry(['validate', CONFIG, 'other.yml']);
    expect(extra.exitCode).toBe(2);
    expect(extra.lines[0]).toBe('ferry validate: unexpected argument "other.yml"');
  });

  it('It should still read options written before the command', async () => {
    const result = await runFerry(['--config', CONFIG, 'validate']);
    expect(result.exitCode).toBe(0);
    expect(text(result)).toContain(`✔ ${CONFIG}: 1 rules`);
  });
});

describe('ferry plan --tags', () => {
  it('It should refuse a tag without a value, from the real command line', () => {
    const run = runTsx('cli/ferry.ts', ['plan', '--event', EVENT, '--config', CONFIG, '--tags', 'dr']);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain(
      'ferry plan: --tags: "dr" has no value; write --tags key=value,… (key= for an empty value)',
    );
    expect(run.stdout).not.toContain('copy →');
  });

  it('It should read key=value pairs, an empty value and values holding "=", and refuse what is not a tag', () => {
    expect(parseTagsOption('dr=true,team=,note=a=b,__proto__=x')).toEqual(
      Object.fromEntries([
        ['dr', 'true'],
        ['team', ''],
        ['note', 'a=b'],
        ['__proto__', 'x'],
      ]),
    );
    expect(() => parseTagsOption('dr')).toThrow(InvalidTagsOptionError);
    expect(() => parseTagsOption('=true')).toThrow('--tags: "=true" has no key');
    expect(() => parseTagsOption('dr=true,dr=false')).toThrow('--tags: "dr=false" repeats the key "dr"');
  });

  it('It should plan with the tags given', async () => {
    const result = await runFerry(['plan', '--event', EVENT, '--config', CONFIG, '--tags', 'dr=true']);
    expect(result.exitCode).toBe(0);
    expect(text(result)).toContain('copy → s3://acme-tagged/');
  });
});

describe('parseCommandLine', () => {
  const OPTIONS = {
    port: { type: 'string' },
    verbose: { type: 'boolean' },
  } as const;

  it('It should return the values of known options', () => {
    const { values } = parseCommandLine(['--port', '4567', '--verbose'], OPTIONS);
    expect(values).toEqual({ port: '4567', verbose: true });
  });

  it('It should throw a UsageError naming what is wrong, never a parseArgs error', () => {
    expect(() => parseCommandLine(['--prot', '4567'], OPTIONS)).toThrow(
      new UnknownOptionError('--prot', '--port'),
    );
    expect(() => parseCommandLine(['--prot=4567'], OPTIONS)).toThrow(
      'unknown option --prot (did you mean --port?)',
    );
    expect(() => parseCommandLine(['-x'], OPTIONS)).toThrow('unknown option -x');
    expect(() => parseCommandLine(['--port'], OPTIONS)).toThrow(OptionValueMissingError);
    expect(() => parseCommandLine(['--verbose=yes'], OPTIONS)).toThrow(UsageError);
    expect(() => parseCommandLine(['extra'], OPTIONS, { allowPositionals: false })).toThrow(UsageError);
  });
});
