import { parseArgs } from 'node:util';
import { closest } from '#rules/closest';
import { type OptionsConfig, parseCommandLine, USAGE_EXIT_CODE, UsageError } from './args.ts';
import {
  type CommandResult,
  type PlanFacts,
  parseTagsOption,
  planCommand,
  validateCommand,
} from './commands.ts';

const HEADER = 'ferry — replicate S3 objects, EBS snapshots and AMIs by rule';
const DEFAULT_CONFIG = 'replication.yml';

const HELP = { help: { type: 'boolean', short: 'h', default: false } } as const;

type Values<Options extends OptionsConfig> = ReturnType<typeof parseCommandLine<Options>>['values'];

interface Command {
  name: string;
  /** Its lines in the usage: the synopsis, then what it does. */
  usage: string;
  options: OptionsConfig;
  /** Runs it with the arguments after its name; a usage error is answered with its usage. */
  run(args: readonly string[]): Promise<CommandResult>;
}

const usageOf = (command: Command) => `Usage:\n${command.usage}`;

/**
 * A command with its own options: `ferry plan --evnt` is told that `--evnt` is not an option of `plan` (did
 * you mean `--event`?), above plan's usage; `--help` (or `-h`) prints that usage and exits 0.
 */
function command<const Options extends OptionsConfig>(spec: {
  name: string;
  usage: string;
  options: Options;
  /** How many arguments it takes besides options (validate: its file). */
  positionals?: number;
  run: (
    values: Values<Options & typeof HELP>,
    positionals: string[],
  ) => CommandResult | Promise<CommandResult>;
}): Command {
  const options = { ...spec.options, ...HELP };
  const self: Command = {
    name: spec.name,
    usage: spec.usage,
    options,
    async run(args) {
      try {
        const { values, positionals } = parseCommandLine(args, options);
        // The values' type is only known once Options is; every command has `help`.
        if ((values as { help?: boolean }).help) return { exitCode: 0, lines: [usageOf(self)] };
        const extra = positionals[spec.positionals ?? 0];
        if (extra !== undefined) throw new UsageError(`unexpected argument "${extra}"`);
        return await spec.run(values as Values<Options & typeof HELP>, positionals);
      } catch (error) {
        if (!(error instanceof UsageError)) throw error;
        return {
          exitCode: USAGE_EXIT_CODE,
          lines: [`ferry ${spec.name}: ${error.message}`, '', usageOf(self)],
        };
      }
    },
  };
  return self;
}

/** The facts options of `plan`, checked; a bad value is a usage error. */
function planFactsOf(values: {
  'volume-size'?: string | undefined;
  encrypted?: string | undefined;
  description?: string | undefined;
  name?: string | undefined;
}): PlanFacts {
  const facts: PlanFacts = {};
  if (values['volume-size'] !== undefined) {
    const size = Number(values['volume-size']);
    if (!Number.isInteger(size) || size < 1)
      throw new UsageError(`--volume-size expects a whole number of GiB, got "${values['volume-size']}"`);
    facts.volumeSizeGiB = size;
  }
  if (values.encrypted !== undefined) {
    if (values.encrypted !== 'true' && values.encrypted !== 'false')
      throw new UsageError(`--encrypted expects true or false, got "${values.encrypted}"`);
    facts.encrypted = values.encrypted === 'true';
  }
  if (values.description !== undefined) facts.description = values.description;
  if (values.name !== undefined) facts.name = values.name;
  return facts;
}

/** The options of `status` and `redrive`: the deployment they look at, AWS or the sandbox (`--endpoint`). */
const TARGET_OPTIONS = {
  stage: { type: 'string', default: 'dev' },
  region: { type: 'string' },
  endpoint: { type: 'string' },
} as const;

const target = (values: { stage: string; region?: string | undefined; endpoint?: string | undefined }) => ({
  stage: values.stage,
  region: values.region ?? process.env.AWS_REGION ?? 'us-east-1',
  ...(values.endpoint ? { endpoint: values.endpoint } : {}),
});

/** The rules of a file that set `rpo`, with their RPO in ms, and the rules (they route dead letters). */
async function rpoRulesOfFile(file: string) {
  const [{ loadConfigFile }, { rulesWithRpo }] = await Promise.all([
    import('#rules/load'),
    import('#rpo/rules'),
  ]);
  const config = loadConfigFile(file);
  return { rpoRules: rulesWithRpo(config), config };
}

/**
 * backfill, status and redrive load the AWS SDK and the handlers' runtime when they run, not when `ferry`
 * starts: `ferry --help` or a usage error need neither.
 */
const COMMANDS: readonly Command[] = [
  command({
    name: 'validate',
    usage: `  npm run ferry -- validate [FILE]                          check a replication.yml (default: ./replication.yml)
  npm run ferry -- validate [FILE] --inventory [--rule NAME] [--endpoint URL] [--region R] [--account ID]
                                                            and read each S3 Inventory configuration and newest
                                                            report the rules name: every problem, by name`,
    options: {
      config: { type: 'string', default: DEFAULT_CONFIG },
      inventory: { type: 'boolean', default: false },
      rule: { type: 'string' },
      endpoint: { type: 'string' },
      region: { type: 'string' },
      account: { type: 'string' },
    },
    positionals: 1,
    run: async (values, [file]) => {
      const configFile = file ?? values.config;
      if (!values.inventory) return validateCommand(configFile);
      const { validateInventoryCommand } = await import('./inventory-check.ts');
      return validateInventoryCommand({
        configFile,
        rule: values.rule,
        endpoint: values.endpoint,
        region: values.region,
        account: values.account,
      });
    },
  }),
  command({
    name: 'plan',
    usage: `  npm run ferry -- plan --event EVENT.json [--config FILE] [--tags k=v,…]
                        [--volume-size GiB] [--encrypted true|false] [--description TEXT] [--name TEXT]
                                                            dry run: the copies an S3 or EC2 event would make;
                                                            the options give what the handler would read
                                                            (tags, snapshot size/encryption/description, AMI name)`,
    options: {
      event: { type: 'string' },
      config: { type: 'string', default: DEFAULT_CONFIG },
      tags: { type: 'string' },
      'volume-size': { type: 'string' },
      encrypted: { type: 'string' },
      description: { type: 'string' },
      name: { type: 'string' },
    },
    run: (values) => {
      if (!values.event) throw new UsageError('plan needs --event FILE');
      return planCommand({
        eventFile: values.event,
        configFile: values.config,
        ...(values.tags !== undefined ? { tags: parseTagsOption(values.tags) } : {}),
        facts: planFactsOf(values),
      });
    },
  }),
  command({
    name: 'backfill',
    usage: `  npm run ferry -- backfill [--config FILE] [--rule NAME] [--limit N] [--resume TOKEN]
                        [--endpoint URL] [--region R] [--account ID] [--inventory]
                                                            one bounded reconcile pass: copy what matches a rule
                                                            but has no verified replica or copy; against AWS
                                                            (default credentials) or the sandbox (--endpoint,
                                                            with --config local/sandbox.replication.yml)`,
    options: {
      config: { type: 'string', default: DEFAULT_CONFIG },
      rule: { type: 'string' },
      limit: { type: 'string' },
      resume: { type: 'string' },
      endpoint: { type: 'string' },
      region: { type: 'string' },
      account: { type: 'string' },
      inventory: { type: 'boolean' },
    },
    run: async (values) => {
      const limit = values.limit === undefined ? undefined : Number(values.limit);
      if (limit !== undefined && (!Number.isInteger(limit) || limit < 1))
        throw new UsageError(`--limit expects a positive whole number, got "${values.limit}"`);
      const { backfillCommand } = await import('./backfill.ts');
      return backfillCommand({
        configFile: values.config,
        rule: values.rule,
        limit,
        resume: values.resume,
        endpoint: values.endpoint,
        region: values.region,
        account: values.account,
        inventory: values.inventory,
      });
    },
  }),
  command({
    name: 'status',
    usage: `  npm run ferry -- status [--stage dev] [--region us-east-1] [--endpoint URL] [--since 24h] [--config replication.yml]
                                                            copies in flight, failed copies since then with
                                                            their causes, dead-letter queue depth; with --config,
                                                            each rule's RPO, latency p50/p99/max, share within
                                                            and items over (CloudWatch GetMetricData) and oldest
                                                            pending (the sandbox: --stage sandbox --endpoint URL)`,
    options: { ...TARGET_OPTIONS, since: { type: 'string', default: '24h' }, config: { type: 'string' } },
    run: async (values) => {
      const { parseSince, statusCommand } = await import('./operate.ts');
      const since = parseSince(values.since);
      if (!since) throw new UsageError(`--since expects 24h, 30m, 7d or a date, got "${values.since}"`);
      // With the rules file, each rule's RPO section (src/rpo/status.ts).
      const rpo = values.config ? await rpoRulesOfFile(values.config) : undefined;
      return statusCommand({
        ...target(values),
        since,
        sinceText: values.since,
        ...(rpo ?? {}),
      });
    },
  }),
  command({
    name: 'redrive',
    usage: `  npm run ferry -- redrive [--stage dev] [--region us-east-1] [--endpoint URL] [--max 100] [--dry-run]
                                                            hand dead letters back to the function they failed
                                                            in; a message is deleted only once handed back`,
    options: {
      ...TARGET_OPTIONS,
      max: { type: 'string', default: '100' },
      'dry-run': { type: 'boolean', default: false },
    },
    run: async (values) => {
      const max = Number(values.max);
      if (!Number.isInteger(max) || max < 1)
        throw new UsageError(`--max expects a whole number of messages, got "${values.max}"`);
      const { redriveCommand } = await import('./operate.ts');
      return redriveCommand({ ...target(values), max, dryRun: values['dry-run'] });
    },
  }),
];

export const USAGE = `${HEADER}

Usage:
${COMMANDS.map((entry) => entry.usage).join('\n')}
  npm run ferry -- help [COMMAND]                           this text, or one command's (also COMMAND --help)
`;

const commandNamed = (name: string) => COMMANDS.find((entry) => entry.name === name);
const usageError = (message: string): CommandResult => ({
  exitCode: USAGE_EXIT_CODE,
  lines: [`ferry: ${message}`, '', USAGE],
});

/**
 * The command's name is the first argument that is not an option or an option's value, so options may
 * come before it (`ferry --config x.yml validate`); every option of every command is known for that.
 */
function splitCommand(argv: readonly string[]): { name?: string; rest: string[] } {
  const options = Object.assign({}, HELP, ...COMMANDS.map((entry) => entry.options)) as OptionsConfig;
  const { tokens } = parseArgs({
    args: [...argv],
    options,
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const first = tokens.find((token) => token.kind === 'positional');
  if (first === undefined) return { rest: [...argv] };
  return { name: first.value, rest: argv.filter((_, index) => index !== first.index) };
}

/** `ferry ARGS…`: what to print and how to exit. */
export async function runFerry(argv: readonly string[]): Promise<CommandResult> {
  const { name, rest } = splitCommand(argv);
  const help = rest.includes('--help') || rest.includes('-h');
  if (name === undefined) {
    if (help) return { exitCode: 0, lines: [USAGE] };
    return usageError(argv.length === 0 ? 'which command?' : `which command? (got only ${argv.join(' ')})`);
  }
  if (name === 'help') {
    const [topic] = rest.filter((arg) => !arg.startsWith('-'));
    if (topic === undefined) return { exitCode: 0, lines: [USAGE] };
    const found = commandNamed(topic);
    return found ? { exitCode: 0, lines: [usageOf(found)] } : unknownCommand(topic);
  }
  const found = commandNamed(name);
  return found ? found.run(rest) : unknownCommand(name);
}

function unknownCommand(name: string): CommandResult {
  const meant = closest(
    name,
    COMMANDS.map((entry) => entry.name),
  );
  return usageError(`unknown command "${name}"${meant ? ` (did you mean ${meant}?)` : ''}`);
}
