import { parseArgs } from 'node:util';
import { backfillCommand } from './backfill.ts';
import {
  type CommandResult,
  type PlanFacts,
  parseTagsOption,
  planCommand,
  validateCommand,
} from './commands.ts';
import { parseSince, redriveCommand, statusCommand } from './operate.ts';

const USAGE = `ferry — replicate S3 objects, EBS snapshots and AMIs by rule

Usage:
  npm run ferry -- validate [FILE]                          check a replication.yml (default: ./replication.yml)
  npm run ferry -- plan --event EVENT.json [--config FILE] [--tags k=v,…]
                        [--volume-size GiB] [--encrypted true|false] [--description TEXT] [--name TEXT]
                                                            dry run: the copies an S3 or EC2 event would make;
                                                            the options give what the handler would read
                                                            (tags, snapshot size/encryption/description, AMI name)
  npm run ferry -- backfill [--config FILE] [--rule NAME] [--limit N] [--resume TOKEN]
                        [--endpoint URL] [--region R] [--account ID]
                                                            one bounded reconcile pass: copy what matches a rule
                                                            but has no verified replica or copy; against AWS
                                                            (default credentials) or the sandbox (--endpoint)
  npm run ferry -- status [--stage dev] [--region us-east-1] [--endpoint URL] [--since 24h]
                                                            copies in flight, failed copies since then with
                                                            their causes, dead-letter queue depth
  npm run ferry -- redrive [--stage dev] [--region us-east-1] [--endpoint URL] [--max 100] [--dry-run]
                                                            hand dead letters back to the function they failed
                                                            in; a message is deleted only once handed back
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

/** The deployment `status` and `redrive` look at: AWS, or the sandbox with `--endpoint`. */
const target = (values: { stage: string; region?: string | undefined; endpoint?: string | undefined }) => ({
  stage: values.stage,
  region: values.region ?? process.env.AWS_REGION ?? 'us-east-1',
  ...(values.endpoint ? { endpoint: values.endpoint } : {}),
});

async function run(argv: string[]): Promise<CommandResult> {
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
      rule: { type: 'string' },
      limit: { type: 'string' },
      resume: { type: 'string' },
      endpoint: { type: 'string' },
      region: { type: 'string' },
      account: { type: 'string' },
      stage: { type: 'string', default: 'dev' },
      since: { type: 'string', default: '24h' },
      max: { type: 'string', default: '100' },
      'dry-run': { type: 'boolean', default: false },
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
    case 'backfill': {
      const limit = values.limit === undefined ? undefined : Number(values.limit);
      if (limit !== undefined && (!Number.isInteger(limit) || limit < 1))
        return {
          exitCode: 2,
          lines: [`--limit expects a positive whole number, got "${values.limit}"`, USAGE],
        };
      return backfillCommand({
        configFile: values.config,
        rule: values.rule,
        limit,
        resume: values.resume,
        endpoint: values.endpoint,
        region: values.region,
        account: values.account,
      });
    }
    case 'status': {
      const since = parseSince(values.since);
      if (!since)
        return {
          exitCode: 2,
          lines: [`--since expects 24h, 30m, 7d or a date, got "${values.since}"`, USAGE],
        };
      return statusCommand({ ...target(values), since, sinceText: values.since });
    }
    case 'redrive': {
      const max = Number(values.max);
      if (!Number.isInteger(max) || max < 1)
        return {
          exitCode: 2,
          lines: [`--max expects a whole number of messages, got "${values.max}"`, USAGE],
        };
      return redriveCommand({ ...target(values), max, dryRun: values['dry-run'] });
    }
    default:
      return { exitCode: 2, lines: [`unknown command "${command}"`, USAGE] };
  }
}

try {
  const result = await run(process.argv.slice(2));
  (result.exitCode === 0 ? console.log : console.error)(result.lines.join('\n'));
  process.exitCode = result.exitCode;
} catch (error) {
  console.error(`ferry: ${(error as Error).message}`);
  process.exitCode = 2;
}
