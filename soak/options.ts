import { candidateRules, destinationKeyOf } from '#objects/router';
import { type FerryConfig, objectRulesOf } from '#rules/config';
import { parseConfig } from '#rules/load';

/** How big a soak is, which faults it injects and how hard. */
export interface SoakOptions {
  /** Source objects written (small ones under `docs/`, a few multipart ones under `large/`). */
  objects: number;
  /** Source snapshots created (a tenth match no rule). */
  snapshots: number;
  /** Source AMIs created (a sixth match no rule). */
  images: number;
  seed: number;
  /** Share of objects overwritten once after being written (a quarter of those twice). */
  overwriteShare: number;
  /** Share of objects deleted after the writes. */
  deleteShare: number;
  faults: {
    /** S3 copy requests answered 503 SlowDown. */
    slowdown: number;
    /** S3 copy requests answered 200 with an `<Error>` body; half of them with the trailing newline. */
    embedded: number;
    /** EC2 requests answered RequestLimitExceeded. */
    throttle: number;
    /** EC2 copies that end in `error` / `failed` (and, when above 0, one snapshot copy and one AMI copy for sure). */
    copyError: number;
    /** Events matched by a rule that the bus never delivers. */
    drop: number;
    /** One crash of the object-copy-step function during a multipart copy's part batch. */
    crash: boolean;
  };
  /**
   * The most reconcile rounds after the first settle (each: passes to the end of every rule, then
   * settle). Rounds go on until one sends nothing: the faults stay on, so a copy a round sends may fail
   * again and be sent by the next one.
   */
  maxReconcileRounds: number;
  /** Writes and EC2 creations in flight at once. */
  concurrency: number;
  /** Progress lines (phases) as the run goes. */
  log?: (line: string) => void;
}

export const DEFAULT_FAULTS: SoakOptions['faults'] = {
  slowdown: 0.1,
  embedded: 0.05,
  throttle: 0.1,
  copyError: 0.02,
  drop: 0.05,
  crash: true,
};

const common = {
  seed: 1,
  overwriteShare: 0.2,
  deleteShare: 0.1,
  faults: DEFAULT_FAULTS,
  maxReconcileRounds: 4,
  concurrency: 16,
};

/** `npm run soak`: thousands of objects, hundreds of snapshots, dozens of AMIs. */
export const FULL_SOAK: SoakOptions = { ...common, objects: 2000, snapshots: 200, images: 24 };

/** `--small` and the integration test: the same faults on a CI-sized load. */
export const SMALL_SOAK: SoakOptions = { ...common, objects: 150, snapshots: 30, images: 4 };

export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;

/** Objects above 6 MiB are copied in 5 MiB parts, so a multipart copy costs megabytes, not gigabytes. */
export const MULTIPART_THRESHOLD = 6 * MiB;
export const PART_SIZE = 5 * MiB;

export const SOURCE_REGION = 'us-east-1';
export const SOURCE_BUCKET = 'soak-source';

/** EC2 copies at 32 MiB/s of virtual time: a 1–16 GiB snapshot copies in 32–512 s, so bursts overlap. */
export const COPY_BYTES_PER_SECOND = 32 * MiB;

/** A versioned source bucket (PutBucketVersioning Enabled before any write) with its own rule. */
export const VERSIONED_BUCKET = 'soak-versioned';

/** The tag every `tagged/` replica gets from its rule's `set`: a source with 10 tags of its own cannot take it. */
export const SET_TAG = { replica: 'dr' } as const;

/**
 * The soak's rules. `docs/` goes to two buckets (one replicating deletes, lifecycle ones too, one keeping
 * replicas), `large/` (multipart) to one; `logs/` to a bucket that replicates deletes but keeps replicas
 * whose source a lifecycle rule expired (a DR copy outlives its source's lifecycle) and to one that
 * replicates both; `meta/` (user metadata near S3's 2 KB) and `tagged/` (9 or 10 tags, the rule sets one
 * more) to one; the versioned bucket, whole, to one. Snapshots tagged backup=dr to us-west-2, those also
 * tagged tier=gold to eu-west-1 as well; AMIs tagged dr=true to us-west-2. The replica key spaces in
 * soak-dr (mirror/, large/, logs-dr/, meta/, tagged/, versioned/) are disjoint. No retention, so every
 * copy made must stay.
 * RPOs (the soak reports compliance per rule): `versioned` and `ami-dr` a generous hour, which the faults
 * should not break; `ebs-dr` a tight 5 minutes, which the 20-copy limit (32–512 s copies queued behind it),
 * throttling, failed copies and lost events make some copies miss. Only rules whose items each have their
 * own id get one: in the unversioned bucket an overwrite is the same item (no version id) as the write
 * before it, so its verdicts and events could not be told apart per item.
 */
export const SOAK_CONFIG: FerryConfig = parseConfig(
  `
copy: { multipartThreshold: ${MULTIPART_THRESHOLD}, partSize: ${PART_SIZE}, partConcurrency: 4 }
rules:
  - name: docs
    objects: { bucket: ${SOURCE_BUCKET}, prefix: docs/ }
    to:
      # Lifecycle deletes replicated too: reconcile then sweeps the replicas of lost delete events.
      - { bucket: soak-dr, region: us-west-2, keyPrefix: mirror/, replicateDeletes: true, replicateLifecycleDeletes: true }
      - { bucket: soak-eu, region: eu-west-1 }
  - name: large
    objects: { bucket: ${SOURCE_BUCKET}, prefix: large/ }
    to:
      - { bucket: soak-dr, region: us-west-2, replicateDeletes: true, replicateLifecycleDeletes: true }
  - name: logs
    objects: { bucket: ${SOURCE_BUCKET}, prefix: logs/ }
    to:
      - { bucket: soak-eu, region: eu-west-1, replicateDeletes: true }
      - { bucket: soak-dr, region: us-west-2, keyPrefix: logs-dr/, replicateDeletes: true, replicateLifecycleDeletes: true }
  - name: meta
    objects: { bucket: ${SOURCE_BUCKET}, prefix: meta/ }
    to:
      - { bucket: soak-dr, region: us-west-2 }
  - name: tagged
    objects: { bucket: ${SOURCE_BUCKET}, prefix: tagged/ }
    to:
      - { bucket: soak-dr, region: us-west-2, tags: { set: { replica: ${SET_TAG.replica} } } }
  - name: versioned
    objects: { bucket: ${VERSIONED_BUCKET} }
    rpo: 1h
    to:
      - { bucket: soak-dr, region: us-west-2, keyPrefix: versioned/, replicateDeletes: true, replicateLifecycleDeletes: true }
  - name: ebs-dr
    snapshots: { regions: [${SOURCE_REGION}], tags: { backup: dr } }
    rpo: 5m
    to:
      - region: us-west-2
  - name: ebs-gold
    snapshots: { regions: [${SOURCE_REGION}], tags: { backup: dr, tier: gold } }
    to:
      - region: eu-west-1
  - name: ami-dr
    images: { regions: [${SOURCE_REGION}], tags: { dr: "true" } }
    rpo: 1h
    to:
      - region: us-west-2
`,
  'soak.yml',
);

/** Each destination of each soak rule (or `config`'s) a source object goes to, with its replica's key (sizes and tags aside). */
export function plansOf(bucket: string, key: string, config: FerryConfig = SOAK_CONFIG) {
  return candidateRules(objectRulesOf(config), { bucket, key }).flatMap((rule) =>
    rule.to.map((destination) => ({ rule, destination, key: destinationKeyOf(rule, destination, key) })),
  );
}
