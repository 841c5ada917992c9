import type { EC2Client } from '@aws-sdk/client-ec2';
import type { Ec2CopyJob } from '#ec2/copy-machine/contract';
import type { Tags } from './markers.ts';

/** A copy as the steps see it, whatever it copies: EC2's states mapped onto one vocabulary. */
export interface CopyView {
  id: string;
  /** Snapshot `pending|completed|error`, image `pending|available|failed|…` → these three. */
  state: 'pending' | 'completed' | 'failed';
  /** EC2's integer percentage; 0 when it reports none. */
  progress: number;
  /** Snapshots: `archive` once moved to the archive tier. */
  storageTier?: string | undefined;
  /** Why a copy failed (`StateMessage`, `StateReason.Message`). */
  message?: string | undefined;
  tags: Tags;
  /** Epoch ms the copy started. */
  createdAt: number;
  /** Images: the snapshots behind the image, which retention deletes with it. */
  snapshotIds?: string[] | undefined;
  /** Images: DescribeImages' `DeregistrationProtection` (`disabled`, `enabled-with-cooldown`, …). */
  deregistrationProtection?: string | undefined;
  /** Images: DescribeImages' `DeprecationTime`, when deprecation is set. */
  deprecationTime?: string | undefined;
}

/**
 * What differs between copying a snapshot and copying an image; the steps (start, check, finalize,
 * record failure) are the same for both and live in `copy-steps.ts`.
 */
export interface CopyKind {
  /** Copies owned by the caller in the client's Region that carry all of these tags. */
  findCopies(client: EC2Client, tags: Tags): Promise<CopyView[]>;
  describe(client: EC2Client, id: string): Promise<CopyView | undefined>;
  /**
   * The caller's copies among these ids in the client's Region, every page; an id not found is left out
   * (an id *list* would fail the whole call on one missing id: `InvalidSnapshot.NotFound`), so they are
   * asked for by the id *filter*, `filterBatches` at a time. The sweep's read (copy-machine/sweep.ts).
   */
  describeMany(client: EC2Client, ids: readonly string[]): Promise<CopyView[]>;
  /**
   * What is in flight in the client's Region (owned by the caller, still pending), with progress: a refused
   * copy estimates from it when a slot frees (`copy-queue.ts`).
   */
  inFlight(client: EC2Client): Promise<CopyView[]>;
  /**
   * Issues the copy (in the destination Region) with its tags, and returns the new id. `clientToken` makes
   * the call idempotent where EC2 supports it (CopyImage).
   */
  startCopy(
    client: EC2Client,
    job: Ec2CopyJob,
    request: { tags: Tags; clientToken: string },
  ): Promise<string>;
  /** Lets another account read the source (cross-account copies), from the source account and Region. */
  share(sourceClient: EC2Client, job: Ec2CopyJob, account: string): Promise<void>;
  /** Tags the copy (and, for an image, the snapshots behind it). */
  tag(client: EC2Client, copy: CopyView, tags: Tags): Promise<void>;
  /** Deletes a copy: a snapshot, or an image and then the snapshots behind it. */
  remove(client: EC2Client, copy: CopyView): Promise<void>;
  /** Moves a completed copy to the archive tier (snapshots only). */
  archive?(client: EC2Client, id: string): Promise<void>;
}

/**
 * EC2's filter limits, "up to 50 filters and up to 200 values per filter in a single request"
 * (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/Using_Filtering.html#filtering-considerations);
 * several values of one filter are joined with OR
 * (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_Filter.html).
 */
export const EC2_FILTER_LIMITS = { filters: 50, valuesPerFilter: 200 } as const;

/** `ids` in runs of at most one filter's worth of values. */
export function filterBatches(ids: readonly string[]): string[][] {
  const batches: string[][] = [];
  for (let start = 0; start < ids.length; start += EC2_FILTER_LIMITS.valuesPerFilter)
    batches.push(ids.slice(start, start + EC2_FILTER_LIMITS.valuesPerFilter));
  return batches;
}
