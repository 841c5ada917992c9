import { SFNClient } from '@aws-sdk/client-sfn';
import { stepFunctionsCopyStarter, stepFunctionsEc2CopyStarter } from '#adapters/step-functions';
import { classifyError } from '#foundation/errors/classify';
import { SANDBOX_CREDENTIALS } from '#foundation/sandbox-credentials';
import { InvalidResumeTokenError, UnknownRuleError } from '#reconcile/errors';
import { reconcile } from '#reconcile/reconcile';
import { missingBucketOf, type ReconcileReport } from '#reconcile/report';
import { objectRulesOf } from '#rules/config';
import { createRuntime } from '#wiring';
import { type CommandResult, loadConfigOrReport } from './commands.ts';

/** The sandbox's account (local/sandbox.ts): every resource it serves is owned by it. */
const SANDBOX_ACCOUNT = '000000000000';
/** The rules `npm start` runs, whose buckets the sandbox serves (local/main.ts). */
export const SANDBOX_RULES_FILE = 'local/sandbox.replication.yml';

export interface BackfillOptions {
  configFile: string;
  rule?: string | undefined;
  limit?: number | undefined;
  resume?: string | undefined;
  /** A local endpoint (the sandbox); its fixed credentials are used. Else the default credential chain. */
  endpoint?: string | undefined;
  region?: string | undefined;
  /** The account that owns the source buckets (S3 listings do not say it; events do). */
  account?: string | undefined;
  /** Reconcile from the S3 Inventories on the inventory-reconcile state machine (cli/backfill-inventory.ts). */
  inventory?: boolean | undefined;
  env?: NodeJS.ProcessEnv;
}

/** Lines for a report: one per rule, then each failure with its cause, then how to go on. */
export function reportLines(report: ReconcileReport): string[] {
  const lines: string[] = [];
  for (const rule of report.rules) {
    lines.push(
      `rule ${rule.rule} (${rule.kind}): scanned ${rule.scanned}, missing ${rule.missing}, stale ${rule.stale}, ` +
        `sent ${rule.sent}, skipped ${rule.skipped}, failed ${rule.failed.length}` +
        (rule.orphanedReplicas
          ? `; replicas of deleted sources: found ${rule.orphanedReplicas.found}, deleted ${rule.orphanedReplicas.deleted}`
          : ''),
    );
    for (const failure of rule.failed)
      lines.push(
        `  ✘ ${failure.item}: ${failure.cause}` +
          (failure.listing ? ' (the rule stopped at this listing; --resume comes back to it)' : ''),
      );
  }
  if (report.rules.length === 0) lines.push('No rule to reconcile.');
  lines.push(
    report.next === undefined
      ? 'Done: the pass reached the end of every rule.'
      : `More to do: run again with --resume ${report.next}`,
  );
  return lines;
}

/**
 * What to say when a rule's source bucket is not there: which bucket, every bucket the rules read (S3 may
 * not name the one it missed), and, against the sandbox, the rules whose buckets it serves. `ferry backfill
 * --endpoint …` without --config reads ./replication.yml, whose buckets the sandbox does not have.
 */
export function missingBucketLines(
  error: unknown,
  options: Pick<BackfillOptions, 'configFile' | 'endpoint'>,
  config: Parameters<typeof objectRulesOf>[0],
  region: string,
): string[] {
  const named = (error as { BucketName?: unknown }).BucketName;
  const where = options.endpoint ? ` at ${options.endpoint} (${region})` : ` (${region})`;
  const readers = new Map<string, string[]>();
  for (const rule of objectRulesOf(config))
    readers.set(rule.objects.bucket, [...(readers.get(rule.objects.bucket) ?? []), rule.name]);
  const buckets = [...readers].map(
    ([bucket, rules]) => `${bucket} (rule${rules.length === 1 ? '' : 's'} ${rules.join(', ')})`,
  );
  return [
    `✘ backfill: ${typeof named === 'string' ? `the bucket ${named} does not exist` : 'a source bucket does not exist'}${where}`,
    `  The rules of ${options.configFile} read from ${buckets.join(', ')}.`,
    options.endpoint
      ? options.configFile === SANDBOX_RULES_FILE
        ? '  Is the sandbox at that endpoint the one `npm start` runs with these rules?'
        : `  The sandbox (npm start) serves the buckets of ${SANDBOX_RULES_FILE}: add --config ${SANDBOX_RULES_FILE}`
      : '  Check the buckets of the rules, or the account whose credentials are in use.',
  ];
}

/**
 * The home Region and the source account a command runs with: the options, the environment, or with a
 * sandbox endpoint the sandbox's (us-east-1, its account); undefined when none says.
 */
export function homeOf(
  options: Pick<BackfillOptions, 'region' | 'account' | 'endpoint'>,
  env: NodeJS.ProcessEnv,
): { region: string | undefined; account: string | undefined } {
  return {
    region:
      options.region ??
      env.AWS_REGION ??
      env.AWS_DEFAULT_REGION ??
      (options.endpoint ? 'us-east-1' : undefined),
    account: options.account ?? env.AWS_ACCOUNT_ID ?? (options.endpoint ? SANDBOX_ACCOUNT : undefined),
  };
}

/**
 * `ferry backfill`: one bounded reconcile pass in this process, against AWS or the sandbox endpoint. Copies
 * that need a state machine (large objects, snapshots, AMIs) are started only when its ARN is in the
 * environment (FERRY_*_STATE_MACHINE_ARN); otherwise they are reported as failed with that cause.
 */
export async function backfillCommand(options: BackfillOptions): Promise<CommandResult> {
  const env = options.env ?? process.env;
  const loaded = loadConfigOrReport(options.configFile);
  if ('report' in loaded) return loaded.report;
  const { config } = loaded;
  const names = config.rules.map((rule) => rule.name);
  if (options.rule !== undefined && !names.includes(options.rule))
    return { exitCode: 2, lines: [`✘ ${new UnknownRuleError(options.rule, names).message}`] };

  const { region, account } = homeOf(options, env);
  if (!region)
    return {
      exitCode: 2,
      lines: ['✘ backfill needs the Region of the source buckets: --region or AWS_REGION'],
    };
  if (!account)
    return {
      exitCode: 2,
      lines: ['✘ backfill needs the account that owns the source buckets: --account or AWS_ACCOUNT_ID'],
    };

  if (options.inventory) {
    // The inventories are checked first: a run over a missing, disabled or stale inventory would repair
    // from a wrong picture (or every replica would look orphaned), so it is refused with every cause.
    const { inventoryCheck } = await import('./inventory-check.ts');
    const checked = await inventoryCheck(config, {
      rule: options.rule,
      endpoint: options.endpoint,
      region,
      account,
    });
    if (checked.result.exitCode !== 0)
      return {
        exitCode: checked.result.exitCode,
        lines: [
          '✘ backfill --inventory refused: the inventories are not what the join needs',
          ...checked.result.lines,
        ],
      };
    const { inventoryBackfill } = await import('./backfill-inventory.ts');
    return inventoryBackfill(config, { ...options, region, account });
  }
  // The handlers' logs and metrics are for Lambda; here the report says it all.
  process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
  process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
  process.env.POWERTOOLS_TRACE_ENABLED ??= 'false';
  const sfn = () => new SFNClient({ region });
  const arn = (name: string) => env[name] || undefined;
  const objectArn = arn('FERRY_OBJECT_COPY_STATE_MACHINE_ARN');
  const snapshotArn = arn('FERRY_SNAPSHOT_COPY_STATE_MACHINE_ARN');
  const imageArn = arn('FERRY_IMAGE_COPY_STATE_MACHINE_ARN');
  const runtime = createRuntime(config, {
    ...(options.endpoint ? { endpoint: options.endpoint, credentials: SANDBOX_CREDENTIALS } : {}),
    copies: objectArn ? stepFunctionsCopyStarter(objectArn, sfn()) : undefined,
    snapshotCopies: snapshotArn ? stepFunctionsEc2CopyStarter(snapshotArn, sfn()) : undefined,
    imageCopies: imageArn ? stepFunctionsEc2CopyStarter(imageArn, sfn()) : undefined,
  });
  try {
    const report = await reconcile(
      { rule: options.rule, limit: options.limit, resume: options.resume },
      runtime.reconcileDeps({ region, account }),
    );
    const failed = report.rules.some((rule) => rule.failed.length > 0);
    // A rule's bucket that is not there is recorded as its failed listing (the other rules went on): the
    // hint that says which bucket, and which rules file, comes first.
    const missing = missingBucketOf(report);
    if (missing !== undefined)
      return {
        exitCode: 1,
        lines: [
          ...missingBucketLines({ BucketName: missing }, options, config, region),
          ...reportLines(report),
        ],
      };
    return { exitCode: failed ? 1 : 0, lines: reportLines(report) };
  } catch (error) {
    if (error instanceof InvalidResumeTokenError || error instanceof RangeError)
      return { exitCode: 2, lines: [`✘ ${error.message}`] };
    if (classifyError(error).cause === 'NoSuchBucket')
      return { exitCode: 1, lines: missingBucketLines(error, options, config, region) };
    throw error;
  }
}
