import type { Ec2CopyJob } from '#ec2/copy-machine/contract';
import type { Tags } from '#ec2/markers';
import type { SandboxOptions } from './sandbox.ts';

/**
 * What the EC2 part of the demo (local/demo-ec2.ts) runs on and expects: the fake EC2's settings, and the
 * copies each snapshot and image rule of `local/sandbox.replication.yml` must produce. Written out by hand
 * from the rules, not derived from Ferry's router.
 */

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/** 64 MiB/s of virtual time: a 100 GiB volume copies in 26m40s, a 50 GiB one in 13m20s. */
export const DEMO_COPY_BYTES_PER_SECOND = 64 * MiB;

/** What the fake EC2 needs for these rules: the copy speed, and the KMS keys that exist in each Region. */
export const DEMO_EC2_OPTIONS = {
  copyBytesPerSecond: DEMO_COPY_BYTES_PER_SECOND,
  kmsKeys: { 'us-east-1': ['alias/ferry-prod'], 'us-west-2': ['alias/ferry-dr'] },
} satisfies NonNullable<SandboxOptions['ec2']>;

export const SOURCE = 'us-east-1';
export const DR = 'us-west-2';
export const ARCHIVE = 'eu-west-1';
export const DESTINATIONS = [DR, ARCHIVE];
/** EC2's limit of concurrent snapshot copies per destination Region (the fake's default). */
export const COPY_LIMIT = 20;

/** How long EC2 takes to copy a volume of this size, in virtual seconds. */
export const copySeconds = (gib: number) => (gib * GiB) / DEMO_COPY_BYTES_PER_SECOND;

export interface SourceSnapshot {
  label: string;
  id: string;
  volumeId: string;
  sizeGiB: number;
  encrypted: boolean;
  description: string;
  tags: Tags;
}

export interface SourceImage {
  label: string;
  id: string;
  name: string;
  description: string;
  tags: Tags;
  snapshotIds: string[];
}

/** One copy the rules call for, as the demo expects to read it back. */
export interface ExpectedCopy {
  kind: 'snapshot' | 'image';
  label: string;
  sourceId: string;
  region: string;
  rule: string;
  /** The user tags on the copy: the source's (copyTags) and the rule's; Ferry's markers come on top. */
  tags: Tags;
  description: string;
  sizeGiB?: number;
  /** Encrypted under this key of the destination Region; unencrypted when absent. */
  kmsAlias?: string;
  archived?: boolean;
  imageName?: string;
  /** The retention group (rule, Region, then the source volume or AMI name) and how many copies it keeps. */
  group: string;
  keep: number;
  burst?: boolean;
}

/** A source that no rule copies, and why. */
export interface NotCopied {
  id: string;
  why: string;
}

/** Whether this copy job is the one that makes the expected copy. */
export const isJobFor = (copy: ExpectedCopy, job: Ec2CopyJob): boolean =>
  job.source.id === copy.sourceId && job.rule === copy.rule && job.destination.region === copy.region;

// The expectations, one function per rule of local/sandbox.replication.yml.
const descriptionOf = (source: { id: string; description: string }) =>
  `${source.description} (copy of ${source.id} from ${SOURCE})`;
const snapshotCopy = (
  source: SourceSnapshot,
  fields: Omit<ExpectedCopy, 'kind' | 'label' | 'sourceId' | 'description' | 'sizeGiB' | 'group'>,
): ExpectedCopy => ({
  kind: 'snapshot',
  label: source.label,
  sourceId: source.id,
  description: descriptionOf(source),
  sizeGiB: source.sizeGiB,
  group: source.volumeId,
  ...fields,
});
/** ebs-to-dr: the source's tags plus copied-by=ferry, the newest 2 per volume kept. */
export const ebsToDr = (source: SourceSnapshot) =>
  snapshotCopy(source, {
    region: DR,
    rule: 'ebs-to-dr',
    tags: { ...source.tags, 'copied-by': 'ferry' },
    keep: 2,
  });
/** ebs-encrypted-to-dr: re-encrypted under alias/ferry-dr, which exists in us-west-2 only. */
export const ebsEncryptedToDr = (source: SourceSnapshot) =>
  snapshotCopy(source, {
    region: DR,
    rule: 'ebs-encrypted-to-dr',
    tags: { ...source.tags, 'copied-by': 'ferry' },
    kmsAlias: 'alias/ferry-dr',
    keep: Number.POSITIVE_INFINITY,
  });
/** ebs-monthly-archive: to eu-west-1, moved to the archive tier. */
export const ebsMonthlyArchive = (source: SourceSnapshot) =>
  snapshotCopy(source, {
    region: ARCHIVE,
    rule: 'ebs-monthly-archive',
    tags: { ...source.tags },
    archived: true,
    keep: Number.POSITIVE_INFINITY,
  });
/** ami-to-dr: named {name}-{sourceId}, the newest copy per AMI name kept. */
export const amiToDr = (image: SourceImage): ExpectedCopy => ({
  kind: 'image',
  label: image.label,
  sourceId: image.id,
  region: DR,
  rule: 'ami-to-dr',
  tags: { ...image.tags, 'copied-by': 'ferry' },
  description: descriptionOf(image),
  imageName: `${image.name}-${image.id}`,
  group: image.name,
  keep: 1,
});

/**
 * Which expected copies must still exist, group by group: in each retention group (rule, Region, source
 * volume or AMI name) the newest `keep` of the copies that `succeeded` stay, older ones are pruned.
 */
export function retained(
  expected: readonly ExpectedCopy[],
  succeeded: (copy: ExpectedCopy) => boolean = () => true,
): Set<ExpectedCopy> {
  const groups = new Map<string, ExpectedCopy[]>();
  for (const copy of expected) {
    const key = `${copy.region}|${copy.rule}|${copy.group}`;
    groups.set(key, [...(groups.get(key) ?? []), copy]);
  }
  return new Set(
    [...groups.values()].flatMap((members) => {
      const done = members.filter(succeeded);
      return done.slice(Math.max(0, done.length - (members[0]?.keep ?? 0)));
    }),
  );
}
