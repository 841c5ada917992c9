// npx tsx deploy/cross-account-overrides.ts --account 111122223333 --stage prod [replication.yml]: for each
// roleArn of the rules, the `--parameter-overrides` its account deploys deploy/cross-account-role.yml with
// (deploy/cross-account-parameters.ts), and what to check by hand.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parse } from 'yaml';
import { loadConfigFile } from '#rules/load';
import { crossAccountParameters, parameterOverrides } from './cross-account-parameters.ts';

const { values, positionals } = parseArgs({
  options: { account: { type: 'string' }, stage: { type: 'string', default: 'dev' } },
  allowPositionals: true,
});
if (!values.account) {
  console.error(
    'usage: tsx deploy/cross-account-overrides.ts --account <Ferry account id> [--stage dev] [rules.yml]',
  );
  process.exit(2);
}
const { service } = parse(readFileSync('serverless.yml', 'utf8')) as { service: string };
const config = loadConfigFile(positionals[0] ?? process.env.FERRY_CONFIG ?? 'replication.yml');
for (const setup of crossAccountParameters(config, {
  account: values.account,
  deployment: { service, stage: values.stage ?? 'dev' },
})) {
  console.log(`# ${setup.roleArn} (account ${setup.account})`);
  console.log(
    'aws cloudformation deploy --template-file deploy/cross-account-role.yml --capabilities CAPABILITY_NAMED_IAM \\',
  );
  console.log(`  --stack-name ${setup.parameters.RoleName} --parameter-overrides \\`);
  console.log(
    `  ${parameterOverrides(setup.parameters)
      .map((pair) => `'${pair}'`)
      .join(' \\\n  ')}`,
  );
  for (const note of setup.notes) console.log(`# note: ${note}`);
  console.log();
}
