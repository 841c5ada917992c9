import { parseArgs } from 'node:util';
import {
  type CommandResult,
  type PlanFacts,
  parseTagsOption,
  planCommand,
  validateCommand,
} from './commands.ts';

const USAGE = `ferry — replicate S3 objects, EBS snapshots and AMIs by rule

Usage:
  npm run ferry -- validate [FILE]                          check a replication.yml (default: ./replication.yml)
  npm run ferry -- plan --event EVENT.json [--config FILE] [--tags k=v,…]
                        [--volume-size GiB] [--encrypted true|false] [--description TEXT] [--name TEXT]
                                                            dry run: the copies an S3 or EC2 event would make;
                                                            the options give what the handler would read
                                                            (tags, snapshot size/encryption/description, AMI name)
`;

/** The facts options of `plan`, checked; a bad value is a usage error. */
function planFactsOf(values: {
  'volume-size'?: string | undefined;
  encrypted?: string | undefined;
  description?: string | undefined;
  name?: string | undefined;
}): PlanFacts | string {
  const facts: PlanFacts = {};
  if (values['volume-size'] !== undefined) {
    const size = Number(values['volume-size']);
    if (!Number.isInteger(size) || size < 1)
      return `--volume-size expects a whole number of GiB, got "${values['volume-size']}"`;
    facts.volumeSizeGiB = size;
  }
  if (values.encrypted !== undefined) {
    if (values.encrypted !== 'true' && values.encrypted !== 'false')
      return `--encrypted expects true or false, got "${values.encrypted}"`;
    facts.encrypted = values.encrypted === 'true';
  }
  if (values.description !== undefined) facts.description = values.description;
  if (values.name !== undefined) facts.name = values.name;
  return facts;
}

function run(argv: string[]): CommandResult {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      event: { type: 'string' },
      config: { type: 'string', default: 'replication.yml' },
      tags: { type: 'string' },
      'volume-size': { type: 'string' },
      encrypted: { type: 'string' },
      description: { type: 'string' },
      name: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const [command, file] = positionals;
  if (values.help || command === undefined) return { exitCode: command ? 0 : 2, lines: [USAGE] };
  switch (command) {
    case 'validate':
      return validateCommand(file ?? values.config);
    case 'plan': {
      if (!values.event) return { exitCode: 2, lines: ['plan needs --event FILE', USAGE] };
      const facts = planFactsOf(values);
      if (typeof facts === 'string') return { exitCode: 2, lines: [facts, USAGE] };
      return planCommand({
        eventFile: values.event,
        configFile: values.config,
        ...(values.tags !== undefined ? { tags: parseTagsOption(values.tags) } : {}),
        facts,
      });
    }
    default:
      return { exitCode: 2, lines: [`unknown command "${command}"`, USAGE] };
  }
}

try {
  const result = run(process.argv.slice(2));
  (result.exitCode === 0 ? console.log : console.error)(result.lines.join('\n'));
  process.exitCode = result.exitCode;
} catch (error) {
  console.error(`ferry: ${(error as Error).message}`);
  process.exitCode = 2;
}
