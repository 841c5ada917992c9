import { Ec2Error, invalidValue } from './errors.ts';
import { isoTime } from './ids.ts';
import type { Filter, QueryParams } from './query.ts';
import type { ImageRecord, SnapshotRecord } from './records.ts';

/** Filter values are case-sensitive patterns where `*` matches any run of characters and `?` one. */
const patternOf = (value: string) =>
  new RegExp(
    `^${value
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replaceAll('*', '.*')
      .replaceAll('?', '.')}$`,
    's',
  );

/** The values a resource has for a filter name, or undefined when the action has no such filter. */
type FieldsOf<T> = (resource: T, name: string) => readonly string[] | undefined;

function tagFields(tags: ReadonlyMap<string, string>, name: string): readonly string[] | undefined {
  if (name.startsWith('tag:')) {
    const value = tags.get(name.slice(4));
    return value === undefined ? [] : [value];
  }
  if (name === 'tag-key') return [...tags.keys()];
  if (name === 'tag-value') return [...tags.values()];
  return undefined;
}

const SNAPSHOT_FIELDS: Record<string, (s: SnapshotRecord) => string | undefined> = {
  'snapshot-id': (s) => s.snapshotId,
  'volume-id': (s) => s.volumeId,
  status: (s) => s.state,
  'owner-id': (s) => s.ownerId,
  description: (s) => s.description,
  encrypted: (s) => String(s.encrypted),
  'storage-tier': (s) => s.storageTier,
  progress: (s) => `${s.progress}%`,
  'volume-size': (s) => String(s.volumeSizeGiB),
  'start-time': (s) => isoTime(s.startTime),
  'kms-key-id': (s) => s.kmsKeyId,
};

export const snapshotFields: FieldsOf<SnapshotRecord> = (snapshot, name) => {
  const field = SNAPSHOT_FIELDS[name];
  if (field) {
    const value = field(snapshot);
    return value === undefined ? [] : [value];
  }
  return tagFields(snapshot.tags, name);
};

const IMAGE_FIELDS: Record<string, (i: ImageRecord) => readonly (string | undefined)[]> = {
  'image-id': (i) => [i.imageId],
  name: (i) => [i.name],
  state: (i) => [i.state],
  'owner-id': (i) => [i.ownerId],
  description: (i) => [i.description],
  architecture: (i) => [i.architecture],
  'image-type': () => ['machine'],
  'is-public': () => ['false'],
  'root-device-type': () => ['ebs'],
  'root-device-name': (i) => [i.rootDeviceName],
  'virtualization-type': (i) => [i.virtualizationType],
  'block-device-mapping.snapshot-id': (i) => i.blockDevices.map((d) => d.snapshotId),
  'block-device-mapping.encrypted': (i) => i.blockDevices.map((d) => String(d.encrypted)),
  'source-instance-id': (i) => [i.sourceInstanceId],
};

export const imageFields: FieldsOf<ImageRecord> = (image, name) => {
  const field = IMAGE_FIELDS[name];
  if (field) return field(image).filter((value): value is string => value !== undefined);
  return tagFields(image.tags, name);
};

/** Every filter must match (any of its values, against any of the resource's values for it). */
export function matchesFilters<T>(resource: T, filters: readonly Filter[], fieldsOf: FieldsOf<T>): boolean {
  return filters.every((filter) => {
    const values = fieldsOf(resource, filter.name);
    if (values === undefined)
      throw new Ec2Error('InvalidParameterValue', `The filter '${filter.name}' is invalid`);
    const patterns = filter.values.map(patternOf);
    return values.some((value) => patterns.some((pattern) => pattern.test(value)));
  });
}

/** `MaxResults` / `NextToken` over a stable order; the token is opaque to clients. */
export function paginate<T>(items: readonly T[], params: QueryParams): { page: T[]; nextToken?: string } {
  const maxResults = params.int('MaxResults');
  if (maxResults !== undefined && (maxResults < 1 || maxResults > 1000)) {
    throw invalidValue('MaxResults', String(maxResults), 'Expecting a value between 1 and 1000.');
  }
  const token = params.get('NextToken');
  const decoded = token === undefined ? 'ferry:0' : Buffer.from(token, 'base64url').toString('utf8');
  const start = decoded.startsWith('ferry:') ? Number(decoded.slice('ferry:'.length)) : Number.NaN;
  if (!Number.isInteger(start) || start < 0 || start > items.length) {
    throw new Ec2Error(
      'InvalidPaginationToken',
      'The specified pagination token is not valid or is expired.',
    );
  }
  if (maxResults === undefined) return { page: items.slice(start) };
  const end = start + maxResults;
  const page = items.slice(start, end);
  return end < items.length
    ? { page, nextToken: Buffer.from(`ferry:${end}`).toString('base64url') }
    : { page };
}
