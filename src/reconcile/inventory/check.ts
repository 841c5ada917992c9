import { GetBucketInventoryConfigurationCommand, type InventoryConfiguration } from '@aws-sdk/client-s3';
import type { S3ClientFactory } from '#foundation/aws-clients';
import { classifyError } from '#foundation/errors/classify';
import type { ObjectRule } from '#rules/schema';
import {
  configurationProblems,
  type InventorySide,
  inventorySidesOf,
  reportAgeProblems,
  requiredConfiguration,
} from './configuration.ts';
import {
  InventoryAccessDeniedError,
  InventoryConfigurationMissingError,
  InventoryFieldMissingError,
  InventoryFormatError,
  InventoryManifestInvalidError,
  InventoryNotFoundError,
  InventoryReadError,
  isWarning,
} from './errors.ts';
import { latestManifestKey, readManifest, reportFolderOf } from './manifest.ts';

/**
 * Reads each inventory a rule names, as S3 has it, and checks it against what the join needs
 * (configuration.ts): the bucket's inventory configuration (GetBucketInventoryConfiguration, in the bucket's
 * Region, with the destination's role as every destination request) and its newest report (the manifest
 * the run would read, and its age). Every problem of every side is returned, none thrown: `ferry validate
 * --inventory` prints them all at once, and `ferry backfill --inventory` refuses on any error among them.
 */

export interface InventoryCheck {
  side: InventorySide;
  problems: Error[];
}

/** The report errors a run would meet too: the check names them the same way. */
const REPORT_ERRORS = [
  InventoryNotFoundError,
  InventoryFormatError,
  InventoryFieldMissingError,
  InventoryManifestInvalidError,
];

/** A failed read as its problem: access denied by name, any other S3 answer by its cause. */
function readProblem(error: unknown, action: string, resource: string): Error {
  const { cause, message } = classifyError(error);
  if (cause === 'AccessDenied' || cause === 'Forbidden')
    return new InventoryAccessDeniedError(action, resource);
  return new InventoryReadError(action, resource, cause, message);
}

const isNoSuchConfiguration = (error: unknown) => classifyError(error).cause === 'NoSuchConfiguration';

export async function checkInventorySide(
  side: InventorySide,
  s3: S3ClientFactory,
  now: Date,
): Promise<InventoryCheck> {
  const client = s3(side.target);
  const { configId } = side.location;
  let configuration: InventoryConfiguration | undefined;
  try {
    const answer = await client.send(
      new GetBucketInventoryConfigurationCommand({ Bucket: side.bucket, Id: configId }),
    );
    configuration = answer.InventoryConfiguration;
  } catch (error) {
    if (isNoSuchConfiguration(error)) {
      const json = JSON.stringify(requiredConfiguration(side));
      return { side, problems: [new InventoryConfigurationMissingError(side.bucket, configId, json)] };
    }
    return {
      side,
      problems: [readProblem(error, 's3:GetInventoryConfiguration', `arn:aws:s3:::${side.bucket}`)],
    };
  }
  if (!configuration) {
    const json = JSON.stringify(requiredConfiguration(side));
    return { side, problems: [new InventoryConfigurationMissingError(side.bucket, configId, json)] };
  }
  const problems = configurationProblems(side, configuration);
  // The report is where the rule reads it (a misdirected configuration is named above, not guessed at).
  const folder = `s3://${side.location.bucket}/${reportFolderOf(side.location, side.bucket)}`;
  try {
    const key = await latestManifestKey(client, side.location, side.bucket);
    try {
      const manifest = await readManifest(client, side.location.bucket, key, side.bucket);
      const created = new Date(Number(manifest.creationTimestamp));
      problems.push(
        ...reportAgeProblems(
          `s3://${side.location.bucket}/${key}`,
          created,
          configuration.Schedule?.Frequency,
          now,
        ),
      );
    } catch (error) {
      if (REPORT_ERRORS.some((type) => error instanceof type)) problems.push(error as Error);
      else problems.push(readProblem(error, 's3:GetObject', `s3://${side.location.bucket}/${key}`));
    }
  } catch (error) {
    if (error instanceof InventoryNotFoundError) problems.push(error);
    else problems.push(readProblem(error, 's3:ListBucket', folder));
  }
  return { side, problems };
}

/** Every side of every rule, checked one after another (a handful of requests each). */
export async function checkInventories(
  rules: readonly ObjectRule[],
  options: { s3: S3ClientFactory; homeRegion: string; account?: string | undefined; now: Date },
): Promise<InventoryCheck[]> {
  const checks: InventoryCheck[] = [];
  for (const rule of rules)
    for (const side of inventorySidesOf(rule, options.homeRegion, options.account))
      checks.push(await checkInventorySide(side, options.s3, options.now));
  return checks;
}

/** Whether any check found an error (warnings do not count). */
export const hasErrors = (checks: readonly InventoryCheck[]): boolean =>
  checks.some((check) => check.problems.some((problem) => !isWarning(problem)));
