import { randomUUID } from 'node:crypto';
import { eventTime } from './ids.ts';

/**
 * "Tag Change on Resource" (`source: aws.tag`), the event EventBridge receives for every change to a
 * resource's tags, whichever API made it. Shape from the Tag Editor user guide's sample ("Monitor tag changes
 * with serverless workflows and Amazon EventBridge",
 * https://docs.aws.amazon.com/tag-editor/latest/userguide/tag-monitor.html) and the EventBridge reference
 * ("Tags events", https://docs.aws.amazon.com/eventbridge/latest/ref/events-ref-tag.html; delivery is best
 * effort): `detail.changed-tag-keys` lists the keys added, changed or deleted, `detail.tags` the resource's
 * tags after the change (deleted keys are absent), `detail.version` counts the resource's tag changes.
 * The resource ARN carries the account, as in the guide's sample.
 */
export interface TagChangeEvent {
  version: '0';
  id: string;
  'detail-type': 'Tag Change on Resource';
  source: 'aws.tag';
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: {
    'changed-tag-keys': string[];
    service: 'ec2';
    'resource-type': string;
    version: number;
    tags: Record<string, string>;
  };
}

const RESOURCE_TYPES: Record<string, string> = { snap: 'snapshot', ami: 'image', vol: 'volume' };

/** The EC2 resource type of an id (`snap-…` → `snapshot`, `ami-…` → `image`, `vol-…` → `volume`). */
export const resourceTypeOf = (id: string): string => RESOURCE_TYPES[id.split('-')[0] ?? ''] ?? 'unknown';

/**
 * Each resource's tag version, kept beside its tags map (the map is the resource's own, for its lifetime):
 * the first change is version 1.
 */
const versions = new WeakMap<ReadonlyMap<string, string>, number>();

/** The keys whose presence or value differs between two states of a resource's tags, in a stable order. */
export function changedKeys(
  before: ReadonlyMap<string, string>,
  after: ReadonlyMap<string, string>,
): string[] {
  const keys = new Set([...before.keys(), ...after.keys()]);
  return [...keys].filter((key) => before.get(key) !== after.get(key));
}

/**
 * The event for a change of `tags` (already applied), or undefined when nothing changed: a CreateTags that
 * sets the values a resource has, or a DeleteTags of keys it lacks, changes no tag.
 */
export function tagChanged(
  resource: { id: string; region: string; account: string; tags: ReadonlyMap<string, string> },
  before: ReadonlyMap<string, string>,
  at: number,
): TagChangeEvent | undefined {
  const changed = changedKeys(before, resource.tags);
  if (changed.length === 0) return undefined;
  const version = (versions.get(resource.tags) ?? 0) + 1;
  versions.set(resource.tags, version);
  const resourceType = resourceTypeOf(resource.id);
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Tag Change on Resource',
    source: 'aws.tag',
    account: resource.account,
    time: eventTime(at),
    region: resource.region,
    resources: [`arn:aws:ec2:${resource.region}:${resource.account}:${resourceType}/${resource.id}`],
    detail: {
      'changed-tag-keys': changed,
      service: 'ec2',
      'resource-type': resourceType,
      version,
      tags: Object.fromEntries(resource.tags),
    },
  };
}
