import { createS3ClientFactory } from '#foundation/aws-clients';
import { SANDBOX_CREDENTIALS } from '#foundation/sandbox-credentials';
import { checkInventories, hasErrors, type InventoryCheck } from '#reconcile/inventory/check';
import { inventoryRulesOf } from '#reconcile/inventory/deps';
import { InventoryConfigurationMissingError, isWarning } from '#reconcile/inventory/errors';
import type { FerryConfig } from '#rules/config';
import { homeOf } from './backfill.ts';
import { type CommandResult, loadConfigOrReport, validateCommand } from './commands.ts';

/**
 * `ferry validate --inventory` (and the first step of `ferry backfill --inventory`): reads the S3 Inventory
 * configuration and newest report of every bucket a rule names an inventory for, and prints every problem
 * at once, by name; for a missing configuration, the command that puts the one Ferry needs.
 */

export interface InventoryCheckOptions {
  rule?: string | undefined;
  /** A local endpoint (the sandbox), with its fixed credentials; else the default credential chain. */
  endpoint?: string | undefined;
  region: string;
  account?: string | undefined;
  now?: Date;
}

/** A shell word in single quotes (a prefix may hold a quote). */
const shellQuoted = (text: string) => `'${text.replaceAll("'", `'\\''`)}'`;

export function inventoryCheckLines(checks: readonly InventoryCheck[]): string[] {
  const lines: string[] = [];
  for (const { side, problems } of checks) {
    const errors = problems.filter((problem) => !isWarning(problem)).length;
    lines.push(
      `${errors > 0 ? '✘' : '✔'} rule ${side.rule}, ${side.side}: inventory "${side.location.configId}" of s3://${side.bucket} ` +
        `(${side.target.region}) → s3://${side.location.bucket}/${side.location.prefix}` +
        (problems.length === 0 ? ': as the inventory reconcile needs it' : ''),
    );
    for (const problem of problems) {
      lines.push(`  ${isWarning(problem) ? '!' : '✘'} ${problem.name}: ${problem.message}`);
      if (problem instanceof InventoryConfigurationMissingError) {
        lines.push(
          '    Put the configuration Ferry needs (then wait for the first report, up to 48 hours):',
          `    aws s3api put-bucket-inventory-configuration --region ${side.target.region} --bucket ${side.bucket} ` +
            `--id ${side.location.configId} --inventory-configuration ${shellQuoted(problem.putJson)}`,
        );
      }
    }
  }
  if (checks.length === 0)
    lines.push('No object rule names inventories (objects.inventory, to[].inventory).');
  return lines;
}

/** The check of the rules that name inventories (or `rule`); exit 1 on any error, 2 for an unusable --rule. */
export async function inventoryCheck(
  config: FerryConfig,
  options: InventoryCheckOptions,
): Promise<{
  result: CommandResult;
  checks: InventoryCheck[];
}> {
  let rules: ReturnType<typeof inventoryRulesOf>;
  try {
    rules = inventoryRulesOf(config.rules, options.rule);
  } catch (error) {
    return { result: { exitCode: 2, lines: [`✘ ${(error as Error).message}`] }, checks: [] };
  }
  const s3 = createS3ClientFactory(
    options.endpoint ? { endpoint: options.endpoint, credentials: SANDBOX_CREDENTIALS } : {},
  );
  const checks = await checkInventories(rules, {
    s3,
    homeRegion: options.region,
    account: options.account,
    now: options.now ?? new Date(),
  });
  return { result: { exitCode: hasErrors(checks) ? 1 : 0, lines: inventoryCheckLines(checks) }, checks };
}

/** `ferry validate FILE --inventory`: the file's rules, then their inventories as S3 has them. */
export async function validateInventoryCommand(options: {
  configFile: string;
  rule?: string | undefined;
  endpoint?: string | undefined;
  region?: string | undefined;
  account?: string | undefined;
  env?: NodeJS.ProcessEnv;
}): Promise<CommandResult> {
  const loaded = loadConfigOrReport(options.configFile);
  if ('report' in loaded) return loaded.report;
  const { region, account } = homeOf(options, options.env ?? process.env);
  if (!region)
    return { exitCode: 2, lines: ['✘ validate --inventory needs the home Region: --region or AWS_REGION'] };
  const { result } = await inventoryCheck(loaded.config, { ...options, region, account });
  return {
    exitCode: result.exitCode,
    lines: [...validateCommand(options.configFile).lines, ...result.lines],
  };
}
