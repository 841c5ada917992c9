import { parseArgs } from 'node:util';
import { type CommandResult, parseTagsOption, planCommand, validateCommand } from './commands.ts';

const USAGE = `ferry — replicate S3 objects by rule

Usage:
  npm run ferry -- validate [FILE]                          check a replication.yml (default: ./replication.yml)
  npm run ferry -- plan --event EVENT.json [--config FILE] [--tags k=v,…]
                                                            dry run: the copies an S3 event would make
`;

function run(argv: string[]): CommandResult {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      event: { type: 'string' },
      config: { type: 'string', default: 'replication.yml' },
      tags: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const [command, file] = positionals;
  if (values.help || command === undefined) return { exitCode: command ? 0 : 2, lines: [USAGE] };
  switch (command) {
    case 'validate':
      return validateCommand(file ?? values.config);
    case 'plan':
      if (!values.event) return { exitCode: 2, lines: ['plan needs --event FILE', USAGE] };
      return planCommand({
        eventFile: values.event,
        configFile: values.config,
        ...(values.tags !== undefined ? { tags: parseTagsOption(values.tags) } : {}),
      });
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
