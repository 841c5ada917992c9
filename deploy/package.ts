// npm run package [-- --stage prod --region us-east-1 --package dir]: the CloudFormation template of the
// stack (serverless package, offline), then one forwarder template per other source Region of the rules
// (forwarder-<region>.json beside it; deploy each in its Region, see README "Deploy").
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parse } from 'yaml';
import { loadConfigFile } from '#rules/load';
import { forwarderRegions, forwarderTemplate } from './forwarders.ts';
import { type CfnTemplate, checkTemplate, formatReport } from './limits.ts';

const args = process.argv.slice(2);
const { values } = parseArgs({
  args,
  options: {
    stage: { type: 'string', default: 'dev' },
    region: { type: 'string', default: 'us-east-1' },
    package: { type: 'string', default: '.serverless' },
  },
  strict: false,
});
const stage = String(values.stage);
const region = String(values.region);
const folder = String(values.package);

const run = spawnSync('npx', ['serverless', 'package', ...args], { stdio: 'inherit' });
if (run.status !== 0) process.exit(run.status ?? 1);

const { service } = parse(readFileSync('serverless.yml', 'utf8')) as { service: string };
const config = loadConfigFile(process.env.FERRY_CONFIG ?? 'replication.yml');
const templates = [{ name: 'main', file: `${folder}/cloudformation-template-update-stack.json` }];
for (const source of forwarderRegions(config, region)) {
  const file = `${folder}/forwarder-${source}.json`;
  writeFileSync(
    file,
    `${JSON.stringify(forwarderTemplate(config, { service, stage, region }, source), null, 2)}\n`,
  );
  console.log(`✔ ${file}: forwards events from ${source} to ${region}`);
  templates.push({ name: `forwarder-${source}`, file });
}

// Every packaged template against IAM's and CloudFormation's limits (deploy/limits.ts), before AWS would
// refuse it: a short size report, then the named errors, failing the package.
const checks = templates.map(({ name, file }) => {
  const body = readFileSync(file, 'utf8');
  return checkTemplate(name, JSON.parse(body) as CfnTemplate, body);
});
console.log(formatReport(checks.map((check) => check.report)));
const errors = checks.flatMap((check) => check.errors);
for (const error of errors) console.error(`✖ ${error.name}: ${error.message}`);
if (errors.length > 0) process.exit(1);
