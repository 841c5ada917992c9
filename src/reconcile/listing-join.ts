import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { destinationTarget } from '#foundation/aws-clients';
import { unquote } from '#objects/copy-request';
import { etagsMustMatch, partsOfETag } from '#objects/etag-rule';
import { compareKeys } from '#objects/keys';
import { destinationKeyOf } from '#objects/router';
import type { ObjectDestination, ObjectRule } from '#rules/schema';
import { isOutranked } from '#rules/shared-replicas';
import type { ListedObject, ObjectReconcileDeps, ReplicaState } from './objects.ts';
import { keySpaceOf, listing } from './report.ts';

/**
 * The list reconcile's replica check from a listing of the destination instead of a HeadObject per
 * replica: the source page's keys, mapped into the replica's key space (destinationKeyOf), are joined with
 * a ListObjectsV2 of that key space, page by page.
 *
 * Why it is sound and cheap:
 * - ListObjectsV2 returns up to 1,000 keys per request, each with its ETag, Size, LastModified and
 *   StorageClass (https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html,
 *   https://docs.aws.amazon.com/AmazonS3/latest/API/API_Object.html), only current objects (a key whose
 *   latest version is a delete marker is not listed; ListObjectVersions would list the others), "always
 *   in UTF-8 binary order" (https://docs.aws.amazon.com/AmazonS3/latest/userguide/ListingKeysUsingAPIs.html).
 *   A LIST is billed at the PUT/COPY/POST/LIST rate, a HEAD at the GET rate: one LIST costs what
 *   LIST_IN_HEADS HEADs cost (https://aws.amazon.com/s3/pricing/, S3 Standard, us-east-1).
 * - destinationKeyOf replaces the rule's prefix with the keyPrefix, the same bytes in front of every key, so
 *   the replica keys of a sorted source page are sorted too: one forward walk of the destination listing
 *   meets them all. A key asked out of order (which that mapping cannot produce) is not guessed: it is left
 *   to a HEAD.
 * - Only one page of each listing is held (never a bucket), and a new page starts (StartAfter) just below
 *   the replica key asked (justBelow): destination keys between two sources are not listed.
 *
 * The listing decides `missing` (no key), `stale` (another size: a copy has its source's size; or written
 * before the source's current version) and `current`: the same size and ETag, and the comparable-ETag rule
 * (#objects/etag-rule) says the two ETags must be equal for a true copy (with the destination's configured
 * encryption; a listing does not say an object's). Anything else (ETags that differ, which SSE-KMS on
 * either side explains, or that the rule cannot compare) is left to the HEAD-based check (replicaStateOf),
 * as the inventory join does. A listing carries no metadata, so Ferry's markers are not read for a
 * current replica: equal sizes and equal comparable ETags (content digests) say it holds the source's bytes,
 * whoever wrote it (as in the inventory join, inventory/join.ts).
 */

/** S3 Standard request prices in us-east-1 (https://aws.amazon.com/s3/pricing/), in dollars per request. */
export const S3_REQUEST_PRICES = {
  /** PUT, COPY, POST, LIST. */
  tier1: 0.005 / 1000,
  /** GET, HEAD, SELECT and all other requests (GetObjectTagging, GetObjectRetention, …). */
  tier2: 0.0004 / 1000,
} as const;

/** What one LIST costs in HEADs: 12.5. */
export const LIST_IN_HEADS = S3_REQUEST_PRICES.tier1 / S3_REQUEST_PRICES.tier2;

/**
 * The verdict of the listing on one replica, or undefined when only a HEAD can tell. Pure.
 */
export function listedReplicaState(
  source: ListedObject,
  replica: ListedObject | undefined,
  destination: ObjectDestination,
): ReplicaState | undefined {
  if (!replica) return 'missing';
  if (replica.size !== source.size) return 'stale';
  if (replica.lastModified && source.lastModified && replica.lastModified < source.lastModified)
    return 'stale';
  if (unquote(replica.etag) !== unquote(source.etag)) return undefined;
  // Equal ETags: a plain one is a copy's MD5, a multipart one (`-N`) a copy that kept the source's N parts.
  const parts = partsOfETag(replica.etag);
  const comparable = etagsMustMatch({
    sourceETag: source.etag,
    encryptions: [destination.encryption?.sse],
    replica: parts === 0 ? { copy: true } : { parts },
  });
  return comparable ? 'current' : undefined;
}

/**
 * Whether the destination's replicas can be judged from its listing at all: a destination that copies
 * tags or carries Object Lock settings has its replica's tags or lock compared (object-tags.ts,
 * object-locks.ts), which needs the HEAD's markers, version and lock headers anyway.
 */
export const listable = (destination: ObjectDestination): boolean =>
  !destination.tags.copy && destination.lock === undefined;

/**
 * The cheaper path for one source page at one destination, chosen from the source listing and from what the
 * walk has met so far. HEADs cost `candidates` GET-class requests. The listing costs at least one LIST,
 * and one more for each source whose replica key is past the page held (1,000 keys): about one per 1,000
 * sources in a dense key space, up to one per source in a sparse one, which only listing tells. So:
 * - a page with fewer candidates than one LIST is worth (LIST_IN_HEADS) is HEADed without a LIST;
 * - otherwise each further LIST is made only while the LISTs made so far for the page answered at least
 *   LIST_IN_HEADS replicas each (they paid for themselves), and never more LISTs than the page's HEADs
 *   would cost; the candidates not reached then are HEADed.
 * A sparse source range in a large destination key space thus costs its HEADs plus at most one LIST (and
 * one more per LIST that paid off), a dense one about 1/80th of its HEADs.
 */
export class ListingBudget {
  private lists = 0;
  private answered = 0;

  constructor(private readonly candidates: number) {}

  /** Whether the page is worth a LIST at all. */
  get worthListing(): boolean {
    return this.candidates >= LIST_IN_HEADS;
  }

  /** Whether one more LIST may be made for the page. */
  mayList(): boolean {
    return (this.lists + 1) * LIST_IN_HEADS <= this.candidates && this.answered >= this.lists * LIST_IN_HEADS;
  }

  listed(): void {
    this.lists += 1;
  }

  /** One replica's state told by the listing (a HEAD saved). */
  told(): void {
    this.answered += 1;
  }
}

/** A forward walk of one destination's listing of a rule's key space, one page held at a time. */
export class DestinationListing {
  private page: ListedObject[] = [];
  private index = 0;
  private truncated = true;
  /** No replica key up to this one is asked for any more: a new page may start after it. */
  private floor: string | undefined;
  /** LIST requests made, in all. */
  requests = 0;

  constructor(
    private readonly rule: ObjectRule,
    private readonly destination: ObjectDestination,
    private readonly deps: Pick<ObjectReconcileDeps, 's3'>,
    /** The replica key of the last source before the walk starts (the pass's resume point), if any. */
    startAfter: string | undefined,
  ) {
    this.floor = startAfter;
  }

  /**
   * The listed object at `key`, null when the destination has none, or undefined when the walk cannot
   * tell without a LIST the budget does not allow, or `key` is not after the last one asked: then a HEAD
   * decides. Keys must come in S3's order for the walk to answer.
   */
  async find(key: string, budget: ListingBudget): Promise<ListedObject | null | undefined> {
    if (this.floor !== undefined && compareKeys(key, this.floor) <= 0) return undefined;
    try {
      for (;;) {
        while (this.index < this.page.length && compareKeys(this.page[this.index]?.key ?? '', key) < 0)
          this.index += 1;
        const entry = this.page[this.index];
        if (entry) return entry.key === key ? entry : null;
        if (!this.truncated) return null;
        if (!budget.mayList()) return undefined;
        budget.listed();
        await this.next(key);
      }
    } finally {
      this.floor = key;
    }
  }

  /**
   * The next page: after the last key listed, the last key asked, or just below `key`, whichever is
   * latest (the destination keys between two sources are never listed, only what shares all of `key` but
   * its last character and has a smaller one there).
   */
  private async next(key: string): Promise<void> {
    const { destination, rule } = this;
    const startAfter = [this.page.at(-1)?.key, this.floor, justBelow(key)]
      .filter((bound): bound is string => bound !== undefined && compareKeys(bound, key) < 0)
      .sort(compareKeys)
      .at(-1);
    const prefix = destination.keyPrefix ?? rule.objects.prefix;
    // A page that cannot be read is no answer (ListingFailedError), never "no replica": the caller stops.
    const page = await listing(keySpaceOf(destination.bucket, prefix, destination.region), () =>
      this.deps.s3(destinationTarget(destination), { retries: 'patient' }).send(
        new ListObjectsV2Command({
          Bucket: destination.bucket,
          Prefix: prefix,
          ...(startAfter !== undefined ? { StartAfter: startAfter } : {}),
          ...(destination.account ? { ExpectedBucketOwner: destination.account } : {}),
        }),
      ),
    );
    this.requests += 1;
    this.page = listedObjectsOf(page.Contents);
    this.index = 0;
    // Not truncated: no key after StartAfter is left, so none after any later key either.
    this.truncated = page.IsTruncated === true && this.page.length > 0;
  }
}

/**
 * A string before `key` in S3's order with no key between the two but those that start with it: `key`
 * with its last character replaced by the one before it (UTF-8 orders characters by code point; a
 * surrogate code point has no UTF-8 form, so U+E000 steps down to U+D7FF).
 */
export function justBelow(key: string): string | undefined {
  const characters = Array.from(key);
  const last = characters.pop()?.codePointAt(0);
  if (last === undefined) return undefined;
  if (last === 0) return characters.join('');
  const before = last === 0xe000 ? 0xd7ff : last - 1;
  return characters.join('') + String.fromCodePoint(before);
}

/** A listing page's entries as ListedObject (a key-less entry, which S3 never sends, is left out). */
export function listedObjectsOf(
  contents: readonly { Key?: string; Size?: number; ETag?: string; LastModified?: Date }[] | undefined,
): ListedObject[] {
  return (contents ?? []).flatMap((entry) =>
    entry.Key === undefined
      ? []
      : [{ key: entry.Key, size: entry.Size ?? 0, etag: entry.ETag ?? '', lastModified: entry.LastModified }],
  );
}

/**
 * Each destination's state of each candidate of one source page (in the page's order), where its listing
 * tells (`states[candidate][destination]`); undefined where a HEAD must (not listable, outranked, a page
 * too small to pay for a LIST, or where the budget allows no more LISTs). `walks` carries each destination's walk from
 * one page to the next of the same step; `pageAfter` is the source key the page was listed after.
 */
export async function listedStatesOf(
  rule: ObjectRule,
  candidates: readonly ListedObject[],
  pageAfter: string | undefined,
  walks: Map<number, DestinationListing>,
  deps: Pick<ObjectReconcileDeps, 's3'>,
): Promise<(ReplicaState | undefined)[][]> {
  const states = candidates.map((): (ReplicaState | undefined)[] => []);
  if (!new ListingBudget(candidates.length).worthListing) return states;
  for (const [index, destination] of rule.to.entries()) {
    if (!listable(destination)) continue;
    let walk = walks.get(index);
    if (!walk) {
      const startAfter = pageAfter === undefined ? undefined : destinationKeyOf(rule, destination, pageAfter);
      walk = new DestinationListing(rule, destination, deps, startAfter);
      walks.set(index, walk);
    }
    const budget = new ListingBudget(candidates.length);
    for (const [position, object] of candidates.entries()) {
      const key = destinationKeyOf(rule, destination, object.key);
      // A rule of higher priority owns this replica key (#rules/shared-replicas): reconcileOne skips it.
      if (isOutranked(rule, index, destination.bucket, key)) continue;
      const found = await walk.find(key, budget);
      const row = states[position];
      if (found === undefined || !row) continue;
      const state = listedReplicaState(object, found ?? undefined, destination);
      row[index] = state;
      // A state the listing told is a HEAD saved: what pays for the next LIST (ListingBudget).
      if (state !== undefined) budget.told();
    }
  }
  return states;
}
