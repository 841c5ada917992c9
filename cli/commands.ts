import { readFileSync } from 'node:fs';
import { availableImageOf, ImageStateChangeEventSchema } from '#ec2/images/event';
import { type ImageFilterFact, imageFactsFilteredBy, planImageCopies } from '#ec2/images/router';
import type { Retention } from '#ec2/retention';
import { createdSnapshotsOf, SnapshotEventSchema } from '#ec2/snapshots/event';
import { planSnapshotCopies, type SnapshotFilterFact, snapshotFactsFilteredBy } from '#ec2/snapshots/router';
import { ObjectCreatedEventSchema, ObjectDeletedEventSchema } from '#objects/event';
import { candidateRules, filtersOnTags, planCopies, planDeletes } from '#objects/router';
import {
  type FerryConfig,
  imageRulesOf,
  kindOf,
  objectRulesOf,
  type RuleKind,
  snapshotRulesOf,
} from '#rules/config';
import type { ImageDestination, SnapshotDestination } from '#rules/ec2-schema';
import { formatPath, InvalidConfigError, loadConfigFile } from '#rules/load';
import type { Tags } from '#rules/tags';
import { copyDate, renderImageName } from '#rules/templates';

import { UsageError } from './args.ts';
/** What a command printed and how it exits; `ferry.ts` writes it out, tests read it. */
export interface CommandResult {
  exitCode: number;
  lines: string[];
}

export function validateCommand(file: string): CommandResult {
  try {
    const config = loadConfigFile(file);
    const destinations = config.rules.reduce((sum, rule) => sum + rule.to.length, 0);
    const kinds: RuleKind[] = ['objects', 'snapshots', 'images'];
    const byKind = kinds.map(
      (kind) => `${config.rules.filter((rule) => kindOf(rule) === kind).length} ${kind}`,
    );
    return {
      exitCode: 0,
      lines: [
        `✔ ${file}: ${config.rules.length} rules (${byKind.join(', ')}), ${destinations} destinations, valid`,
      ],
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

/**
 * What the handler would read with DescribeSnapshots / DescribeImages, given on the command line. A rule
 * that filters on a fact left out is listed, not guessed.
 */
export interface PlanFacts {
  volumeSizeGiB?: number;
  encrypted?: boolean;
  description?: string;
  name?: string;
}

export interface PlanOptions {
  eventFile: string;
  configFile: string;
  tags?: Tags;
  facts?: PlanFacts;
}

const SNAPSHOT_DETAIL_TYPES: readonly unknown[] = [
  'EBS Snapshot Notification',
  'EBS Multi-Volume Snapshots Completion Status',
];

/** The rules of a file, or, when they are invalid, what `ferry validate` says of them (every error). */
export function loadConfigOrReport(file: string): { config: FerryConfig } | { report: CommandResult } {
  try {
    return { config: loadConfigFile(file) };
  } catch (error) {
    if (error instanceof InvalidConfigError) return { report: validateCommand(file) };
    throw error;
  }
}

/** Dry run: the copy (or delete) plans an event would produce. No AWS call is made. */
export function planCommand(options: PlanOptions): CommandResult {
  const loaded = loadConfigOrReport(options.configFile);
  if ('report' in loaded) return loaded.report;
  const { config } = loaded;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(options.eventFile, 'utf8'));
  } catch (error) {
    return { exitCode: 1, lines: [`✘ ${options.eventFile}: not a JSON event (${(error as Error).message})`] };
  }

  const { 'detail-type': detailType, source } = (raw ?? {}) as { 'detail-type'?: unknown; source?: unknown };
  if (detailType === 'EC2 AMI State Change') return planImageEvent(raw, config, options);
  if (SNAPSHOT_DETAIL_TYPES.includes(detailType) || source === 'aws.ec2')
    return planSnapshotEvent(raw, config, options);
  const rules = objectRulesOf(config);
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
    const plans = planDeletes(rules, object);
    if (plans.length === 0) lines.push('No rule replicates deletes of this object: nothing to do.');
    for (const plan of plans) {
      lines.push(
        `  delete s3://${plan.destination.bucket}/${plan.destinationKey} (${plan.destination.region}) [rule ${plan.rule.name}], if it is Ferry's replica of this object`,
      );
    }
    return { exitCode: 0, lines };
  }

  const candidates = candidateRules(rules, object);
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

const invalidEvent = (
  file: string,
  what: string,
  issues: readonly { path: PropertyKey[]; message: string }[],
) => ({
  exitCode: 1,
  lines: [
    `✘ ${file}: not a valid ${what}`,
    ...issues.map((issue) => `  ${formatPath(issue.path)}: ${issue.message}`),
  ],
});

/** How each fact a rule may filter on is given to `ferry plan`. */
const FACT_OPTIONS: Record<SnapshotFilterFact | ImageFilterFact, { label: string; option?: string }> = {
  tags: { label: 'tags', option: '--tags k=v,…' },
  volumeSize: { label: 'volume size', option: '--volume-size GiB' },
  encrypted: { label: 'encryption', option: '--encrypted true|false' },
  description: { label: 'description', option: '--description TEXT' },
  name: { label: 'name', option: '--name TEXT' },
  // Known from the event when it names the volume; there is no option for it.
  volumeId: { label: 'volume id' },
};

/**
 * Splits rules into those `plan` can route with the facts it has, and a note naming the others with the
 * facts they miss and how to give them.
 */
function routable<Rule extends { name: string }, Fact extends SnapshotFilterFact | ImageFilterFact>(
  rules: readonly Rule[],
  factsOf: (rule: Rule) => Fact[],
  known: (fact: Fact) => boolean,
  reader: string,
): { rules: Rule[]; note?: string } {
  const missing = rules.map((rule) => ({ rule, facts: factsOf(rule).filter((fact) => !known(fact)) }));
  const blocked = missing.filter((entry) => entry.facts.length > 0);
  if (blocked.length === 0) return { rules: [...rules] };
  const options = [...new Set(blocked.flatMap((entry) => entry.facts))].flatMap((fact) => {
    const option = FACT_OPTIONS[fact].option;
    return option ? [option] : [];
  });
  const named = blocked.map(
    (entry) => `"${entry.rule.name}" (${entry.facts.map((fact) => FACT_OPTIONS[fact].label).join(', ')})`,
  );
  return {
    rules: missing.filter((entry) => entry.facts.length === 0).map((entry) => entry.rule),
    note:
      `Rules ${named.join(', ')} filter on facts the event does not carry: the handler reads them with ${reader}. ` +
      `${options.length > 0 ? `Pass ${options.join(', ')} to plan them; t` : 'T'}hey are left out below.`,
  };
}

const retentionText = (retain: Retention | undefined, perSource: string): string | undefined => {
  if (retain === undefined) return undefined;
  return 'count' in retain ? `keep ${retain.count} per ${perSource}` : `keep ${retain.days} days`;
};

const detailsText = (details: readonly (string | undefined)[]): string => {
  const given = details.filter((detail) => detail !== undefined);
  return given.length > 0 ? ` (${given.join(', ')})` : '';
};

const nothingToCopy = (note: string | undefined): string =>
  note ? 'No rule that can be planned without those facts matches.' : 'No rule matches: nothing to copy.';

const commonDetails = (destination: SnapshotDestination | ImageDestination) => [
  destination.kmsKeyId ? `key ${destination.kmsKeyId}` : undefined,
  destination.account ? `account ${destination.account} via ${destination.roleArn}` : undefined,
];

function planSnapshotEvent(raw: unknown, config: FerryConfig, options: PlanOptions): CommandResult {
  const parsed = SnapshotEventSchema.safeParse(raw);
  if (!parsed.success)
    return invalidEvent(
      options.eventFile,
      'EBS snapshot or "EC2 AMI State Change" event',
      parsed.error.issues,
    );
  const event = parsed.data;
  const facts = options.facts ?? {};
  const rules = snapshotRulesOf(config);
  const lines = [`${event['detail-type']}: ${event.detail.event} ${event.detail.result} in ${event.region}`];
  for (const snapshot of createdSnapshotsOf(event)) {
    const label = `${snapshot.snapshotId} (${snapshot.region}${snapshot.volumeId ? `, volume ${snapshot.volumeId}` : ''})`;
    if (!snapshot.accepted) {
      lines.push(`  skip ${label}: ${snapshot.reason}`);
      continue;
    }
    lines.push(`  ${label}`);
    const known: Record<SnapshotFilterFact, boolean> = {
      tags: options.tags !== undefined,
      volumeId: snapshot.volumeId !== undefined,
      volumeSize: facts.volumeSizeGiB !== undefined,
      encrypted: facts.encrypted !== undefined,
      description: facts.description !== undefined,
    };
    const { rules: usable, note } = routable(
      rules.filter((rule) => rule.snapshots.regions.includes(snapshot.region)),
      snapshotFactsFilteredBy,
      (fact) => known[fact],
      'DescribeSnapshots',
    );
    if (note) lines.push(`    ${note}`);
    const plans = planSnapshotCopies(usable, {
      snapshotId: snapshot.snapshotId,
      region: snapshot.region,
      ...(snapshot.volumeId ? { volumeId: snapshot.volumeId } : {}),
      ...(facts.volumeSizeGiB !== undefined ? { volumeSizeGiB: facts.volumeSizeGiB } : {}),
      // Rules that filter on a fact not given were left out above, so these stand-ins decide nothing.
      encrypted: facts.encrypted ?? false,
      description: facts.description ?? '',
      tags: options.tags ?? {},
    });
    if (plans.length === 0) lines.push(`    ${nothingToCopy(note)}`);
    for (const { destination: d, rule } of plans) {
      const details = detailsText([
        ...commonDetails(d),
        d.completionDurationMinutes ? `within ${d.completionDurationMinutes} min` : undefined,
        retentionText(d.retain, 'volume'),
        d.archive ? 'then archived' : undefined,
      ]);
      lines.push(`    copy → ${d.region}${details} [rule ${rule.name}]`);
    }
  }
  return { exitCode: 0, lines };
}

function planImageEvent(raw: unknown, config: FerryConfig, options: PlanOptions): CommandResult {
  const parsed = ImageStateChangeEventSchema.safeParse(raw);
  if (!parsed.success)
    return invalidEvent(options.eventFile, '"EC2 AMI State Change" event', parsed.error.issues);
  const event = parsed.data;
  const image = availableImageOf(event);
  const facts = options.facts ?? {};
  const lines = [`EC2 AMI State Change: ${image.imageId} ${event.detail.State} in ${image.region}`];
  if (!image.accepted) {
    lines.push(`  skip ${image.imageId}: ${image.reason}`);
    return { exitCode: 0, lines };
  }
  const known: Record<ImageFilterFact, boolean> = {
    tags: options.tags !== undefined,
    name: facts.name !== undefined,
    encrypted: facts.encrypted !== undefined,
  };
  const { rules: usable, note } = routable(
    imageRulesOf(config).filter((rule) => rule.images.regions.includes(image.region)),
    imageFactsFilteredBy,
    (fact) => known[fact],
    'DescribeImages',
  );
  if (note) lines.push(`  ${note}`);
  const plans = planImageCopies(usable, {
    imageId: image.imageId,
    region: image.region,
    // Rules that filter on a fact not given were left out above, so these stand-ins decide nothing.
    name: facts.name ?? '',
    ...(facts.description !== undefined ? { description: facts.description } : {}),
    encrypted: facts.encrypted ?? false,
    tags: options.tags ?? {},
  });
  if (plans.length === 0) lines.push(`  ${nothingToCopy(note)}`);
  for (const { destination: d, rule } of plans) {
    // The copy's name can be shown when the source's name is known (or not used).
    const name =
      facts.name !== undefined || !d.name.includes('{name}')
        ? `"${renderImageName(d.name, {
            sourceId: image.imageId,
            sourceRegion: image.region,
            rule: rule.name,
            date: copyDate(new Date()),
            name: facts.name ?? '',
            description: facts.description ?? '',
          })}"`
        : d.name;
    const details = detailsText([...commonDetails(d), retentionText(d.retain, 'AMI name')]);
    lines.push(`  copy → ${d.region} as ${name}${details} [rule ${rule.name}]`);
  }
  return { exitCode: 0, lines };
}

/** A `--tags` entry that is not `key=value`, or a key given twice: refused, not planned with a guess. */
export class InvalidTagsOptionError extends UsageError {
  constructor(
    readonly entry: string,
    reason: string,
  ) {
    super(`--tags: "${entry}" ${reason}; write --tags key=value,… (key= for an empty value)`);
    this.name = 'InvalidTagsOptionError';
  }
}

/**
 * `--tags backup=dr,team=ap` as the tags the handler would read. A value may be empty and may hold "=", a key
 * may not be empty (S3 and EC2 tag keys have 1 to 128 characters, values 0 to 256:
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_control_S3Tag.html). An entry without "=" is refused:
 * `--tags dr` most likely forgot its value, and planning it as dr="" would route on a tag nobody set.
 */
export function parseTagsOption(text: string): Tags {
  const entries = new Map<string, string>();
  for (const entry of text.split(',').filter(Boolean)) {
    const split = entry.indexOf('=');
    if (split < 0) throw new InvalidTagsOptionError(entry, 'has no value');
    const key = entry.slice(0, split);
    if (key === '') throw new InvalidTagsOptionError(entry, 'has no key');
    if (entries.has(key)) throw new InvalidTagsOptionError(entry, `repeats the key "${key}"`);
    entries.set(key, entry.slice(split + 1));
  }
  // Built by Object.fromEntries, so a tag named __proto__ is a key, not the map's prototype (tags.ts).
  return Object.fromEntries(entries);
}
