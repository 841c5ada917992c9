import { readFileSync } from 'node:fs';
import { ObjectCreatedEventSchema, ObjectDeletedEventSchema } from '#objects/event';
import { candidateRules, filtersOnTags, planCopies, planDeletes, type Tags } from '#objects/router';
import { formatPath, InvalidConfigError, loadConfigFile } from '#rules/load';

/** What a command printed and how it exits; `ferry.ts` writes it out, tests read it. */
export interface CommandResult {
  exitCode: number;
  lines: string[];
}

export function validateCommand(file: string): CommandResult {
  try {
    const config = loadConfigFile(file);
    const destinations = config.rules.reduce((sum, rule) => sum + rule.to.length, 0);
    return {
      exitCode: 0,
      lines: [`✔ ${file}: ${config.rules.length} rules, ${destinations} destinations, valid`],
    };
  } catch (error) {
    if (!(error instanceof InvalidConfigError)) throw error;
    return {
      exitCode: 1,
      lines: [
        `✘ ${file}: ${error.issues.length} error${error.issues.length === 1 ? '' : 's'}`,
        ...error.issues.map((issue) => `  ${issue.path}: ${issue.message}`),
      ],
    };
  }
}

/** Dry run: the copy (or delete) plans an event would produce. No AWS call is made. */
export function planCommand(options: { eventFile: string; configFile: string; tags?: Tags }): CommandResult {
  let config: ReturnType<typeof loadConfigFile>;
  try {
    config = loadConfigFile(options.configFile);
  } catch (error) {
    if (error instanceof InvalidConfigError) return validateCommand(options.configFile);
    throw error;
  }
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(options.eventFile, 'utf8'));
  } catch (error) {
    return { exitCode: 1, lines: [`✘ ${options.eventFile}: not a JSON event (${(error as Error).message})`] };
  }

  const detailType = (raw as { 'detail-type'?: unknown })?.['detail-type'];
  const schema = detailType === 'Object Deleted' ? ObjectDeletedEventSchema : ObjectCreatedEventSchema;
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    return {
      exitCode: 1,
      lines: [
        `✘ ${options.eventFile}: not a valid S3 "Object Created" or "Object Deleted" event`,
        ...parsed.error.issues.map((issue) => `  ${formatPath(issue.path)}: ${issue.message}`),
      ],
    };
  }

  const event = parsed.data;
  const object = {
    bucket: event.detail.bucket.name,
    key: event.detail.object.key,
    size: event.detail.object.size,
  };
  const lines = [
    `${event['detail-type']}: s3://${object.bucket}/${object.key}${object.size !== undefined ? ` (${object.size} bytes)` : ''}`,
  ];

  if (event['detail-type'] === 'Object Deleted') {
    const plans = planDeletes(config.rules, object);
    if (plans.length === 0) lines.push('No rule replicates deletes of this object: nothing to do.');
    for (const plan of plans) {
      lines.push(
        `  delete s3://${plan.destination.bucket}/${plan.destinationKey} (${plan.destination.region}) [rule ${plan.rule.name}], if it is Ferry's replica of this object`,
      );
    }
    return { exitCode: 0, lines };
  }

  const candidates = candidateRules(config.rules, object);
  const needsTags = candidates.filter(filtersOnTags);
  if (needsTags.length > 0 && options.tags === undefined) {
    lines.push(
      `Rules ${needsTags.map((r) => `"${r.name}"`).join(', ')} filter on tags: the handler would read the object's tags. ` +
        'Pass --tags key=value,… to plan them; they are left out below.',
    );
  }
  const plans = planCopies(
    options.tags === undefined ? candidates.filter((rule) => !filtersOnTags(rule)) : candidates,
    object,
    options.tags,
  );
  if (plans.length === 0) lines.push('No rule matches: nothing to copy.');
  for (const plan of plans) {
    const d = plan.destination;
    const details = [
      d.region,
      d.storageClass ?? 'storage class of the source',
      d.encryption ? `SSE ${d.encryption.sse}` : undefined,
      d.account ? `account ${d.account}${d.roleArn ? ` via ${d.roleArn}` : ''}` : undefined,
    ].filter(Boolean);
    lines.push(
      `  copy → s3://${d.bucket}/${plan.destinationKey} (${details.join(', ')}) [rule ${plan.rule.name}]`,
    );
  }
  return { exitCode: 0, lines };
}

export function parseTagsOption(text: string): Tags {
  return Object.fromEntries(
    text
      .split(',')
      .filter(Boolean)
      .map((pair) => {
        const [key = '', ...value] = pair.split('=');
        return [key, value.join('=')];
      }),
  );
}
