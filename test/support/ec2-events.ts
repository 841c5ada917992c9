import { readFileSync } from 'node:fs';

export type Ec2EventName =
  | 'snapshot-created'
  | 'multi-volume-snapshots'
  | 'snapshot-copied'
  | 'snapshot-copy-failed'
  | 'image-available'
  | 'image-failed'
  | 'tag-change-snapshot'
  | 'tag-change-image';

/** The loose shape tests edit (and break) before parsing an EC2 event. */
export interface Ec2FixtureEvent {
  [field: string]: unknown;
  'detail-type': string;
  region: string;
  detail: { [field: string]: unknown; snapshots?: { [field: string]: unknown }[] };
}

/** A fresh copy of a real-shaped EC2 event fixture (test/events/ec2), safe to mutate in one test. */
export function ec2Event(name: Ec2EventName): Ec2FixtureEvent {
  return structuredClone(
    JSON.parse(readFileSync(new URL(`../events/ec2/${name}.json`, import.meta.url), 'utf8')),
  );
}
