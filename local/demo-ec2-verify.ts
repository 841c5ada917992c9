import {
  DescribeImagesCommand,
  DescribeSnapshotsCommand,
  type Image,
  type Snapshot,
} from '@aws-sdk/client-ec2';
import { MARKER, type Tags, tagMap } from '#ec2/markers';
import { type Check, sameRecord } from './demo-checks.ts';
import {
  DESTINATIONS,
  DR,
  type ExpectedCopy,
  isJobFor,
  type NotCopied,
  retained,
  SOURCE,
} from './demo-ec2-expectations.ts';
import { jobOf, tagText } from './demo-ec2-narration.ts';
import type { Sandbox } from './sandbox.ts';
import type { Execution } from './step-functions.ts';

/**
 * How the EC2 part of the demo checks its copies: it reads every copy back the way a user would (one
 * listing of Ferry's copies per Region, through the SDK) and holds each against what the rules call for
 * (local/demo-ec2-expectations.ts).
 */

/**
 * The demo's own EC2 calls, made as a careful user's script makes them: the SDK retries a throttled or
 * failed call three times, and this retries the whole call three times more (under `--faults`, EC2 fails
 * the demo's own requests too). The fake fails a request before acting on it, so a retry never doubles it.
 */
export async function userCall<T>(attempt: () => Promise<T>): Promise<T> {
  for (let round = 1; ; round += 1) {
    try {
      return await attempt();
    } catch (error) {
      const { name, $metadata } = error as { name?: string; $metadata?: { httpStatusCode?: number } };
      const status = $metadata?.httpStatusCode ?? 0;
      if (round >= 4 || !(status >= 500 || name === 'RequestLimitExceeded')) throw error;
    }
  }
}

/** The snapshot ids an image's block devices use. */
export const snapshotIdsOf = (image: Image): string[] =>
  (image.BlockDeviceMappings ?? []).flatMap((m) => (m.Ebs?.SnapshotId ? [m.Ebs.SnapshotId] : []));

/**
 * The tags on a copy other than Ferry's markers. Not `copyableTags`, which also drops `aws:` tags: a tag the
 * copy should not have must show.
 */
const userTagsOf = (tags: Tags): Tags =>
  Object.fromEntries(Object.entries(tags).filter(([key]) => !key.startsWith('ferry:')));

export interface Found {
  /** Per destination Region, every snapshot and image that carries Ferry's source marker. */
  snapshots: Map<string, Snapshot[]>;
  images: Map<string, Image[]>;
}

export async function readBack(sandbox: Sandbox): Promise<Found> {
  const found: Found = { snapshots: new Map(), images: new Map() };
  const ferryCopies = [{ Name: 'tag-key', Values: [MARKER.sourceId] }];
  for (const region of DESTINATIONS) {
    const client = sandbox.ec2Client(region);
    const snapshots: Snapshot[] = [];
    let NextToken: string | undefined;
    do {
      const page = await userCall(() =>
        client.send(new DescribeSnapshotsCommand({ OwnerIds: ['self'], Filters: ferryCopies, NextToken })),
      );
      snapshots.push(...(page.Snapshots ?? []));
      NextToken = page.NextToken;
    } while (NextToken);
    const { Images = [] } = await userCall(() =>
      client.send(new DescribeImagesCommand({ Owners: ['self'], Filters: ferryCopies })),
    );
    found.snapshots.set(region, snapshots);
    found.images.set(region, Images);
  }
  return found;
}

/** The snapshots of pruned AMI copies must be gone too: looked up by id, whatever their tags. */
export async function prunedImageSnapshots(
  sandbox: Sandbox,
  prunedImages: ReadonlySet<string>,
  copiedSnapshots: ReadonlyMap<string, string[]>,
): Promise<Check[]> {
  const checks: Check[] = [];
  for (const imageId of prunedImages) {
    const ids = copiedSnapshots.get(imageId) ?? [];
    const { Snapshots: left = [] } =
      ids.length === 0
        ? {}
        : await userCall(() =>
            sandbox.ec2Client(DR).send(
              new DescribeSnapshotsCommand({
                OwnerIds: ['self'],
                Filters: [{ Name: 'snapshot-id', Values: ids }],
              }),
            ),
          );
    checks.push({
      ok: ids.length > 0 && left.length === 0,
      label: `${DR} snapshots of the pruned copy of ${imageId}`,
      detail:
        ids.length === 0
          ? 'unknown: the copy was not seen before it was pruned'
          : left.length === 0
            ? `${ids.join(', ')} deleted with it`
            : `still there: ${left.map((s) => s.SnapshotId).join(', ')}`,
    });
  }
  return checks;
}

export interface Verification {
  checks: Check[];
  counts: { expected: number; planned: number; verified: number; pruned: number; failed: number };
  injectedFailures: { burst: number };
  /** Source AMIs whose copy retention removed. */
  prunedImages: Set<string>;
}

interface VerifyInput {
  expected: readonly ExpectedCopy[];
  notCopied: readonly NotCopied[];
  found: Found;
  executions: readonly Execution[];
  copyErrorsInjected: boolean;
}

/**
 * Each expected copy against what EC2 reports. Which copies must still exist follows the rules by hand:
 * in each retention group the newest `keep` copies stay and older ones are gone. Under an injected
 * `copy-error` a copy may fail by design: it must then have failed with that cause and left nothing behind,
 * and its group keeps the newest copies that did succeed. The burst's copies are summed up in one check
 * (any that is wrong listed on its own).
 */
export function verify(input: VerifyInput): Verification {
  const { expected, found, executions } = input;
  const executionOf = (copy: ExpectedCopy) => executions.find((e) => isJobFor(copy, jobOf(e)));
  const present = retained(expected, (copy) => executionOf(copy)?.status === 'SUCCEEDED');
  const counts = {
    expected: present.size,
    planned: retained(expected).size,
    verified: 0,
    pruned: 0,
    failed: 0,
  };
  const injectedFailures = { burst: 0 };
  const prunedImages = new Set<string>();
  const checks: Check[] = [];
  const burstChecks: Check[] = [];
  for (const copy of expected) {
    const { check, outcome } = checkExpected(copy, executionOf(copy), present.has(copy), input);
    if (outcome === 'failed' || outcome === 'failed as injected') counts.failed += 1;
    if (outcome === 'failed as injected' && copy.burst) injectedFailures.burst += 1;
    if (outcome === 'verified') counts.verified += 1;
    if (outcome === 'pruned') {
      counts.pruned += 1;
      if (copy.kind === 'image') prunedImages.add(copy.sourceId);
    }
    (copy.burst ? burstChecks : checks).push(check);
  }
  checks.push(
    ...burstRollup(burstChecks, injectedFailures.burst),
    ...input.notCopied.map((source) => checkNotCopied(found, source)),
    ...DESTINATIONS.map((region) => checkNoStrays(found, present, region)),
  );
  return { checks, counts, injectedFailures, prunedImages };
}

/** One expected copy: made as the rule says, pruned by retention, or failed as injected. */
function checkExpected(
  copy: ExpectedCopy,
  execution: Execution | undefined,
  present: boolean,
  { found, copyErrorsInjected }: VerifyInput,
): { check: Check; outcome?: 'verified' | 'pruned' | 'failed' | 'failed as injected' } {
  const label = `${copy.region} copy of ${copy.sourceId} (${copy.label}) [${copy.rule}]`;
  if (!execution) return { check: { ok: false, label, detail: 'no copy was started' } };
  if (execution.status !== 'SUCCEEDED') {
    const cause = `${execution.error?.Error}: ${execution.error?.Cause}`;
    const injected = copyErrorsInjected && /fault injected/.test(cause);
    const left = copiesOf(found, copy);
    const check = {
      ok: injected && left.length === 0,
      label,
      detail: injected
        ? `failed as injected (${cause}); ${left.length === 0 ? 'nothing left behind' : `left ${left.length} copies`}`
        : `${execution.status} (${cause})`,
    };
    return { check, outcome: injected ? 'failed as injected' : 'failed' };
  }
  if (present) {
    const check =
      copy.kind === 'snapshot' ? checkSnapshotCopy(found, copy, label) : checkImageCopy(found, copy, label);
    return check.ok ? { check, outcome: 'verified' } : { check };
  }
  const left = copiesOf(found, copy);
  if (left.length > 0)
    return {
      check: { ok: false, label, detail: `should have been pruned, still there: ${left.join(', ')}` },
    };
  return {
    check: {
      ok: true,
      label,
      detail: `pruned: a newer copy of the same ${copy.kind === 'snapshot' ? 'volume' : 'AMI name'} completed (keep ${copy.keep})`,
    },
    outcome: 'pruned',
  };
}

/** The burst's copies in one line; those that are wrong listed on their own before it. */
function burstRollup(burstChecks: readonly Check[], injected: number): Check[] {
  const failures = burstChecks.filter((check) => !check.ok);
  const verified = burstChecks.length - failures.length - injected;
  return [
    ...failures,
    {
      ok: failures.length === 0,
      label: `${burstChecks.length} burst copies to ${DR}`,
      detail:
        `${verified} checked one by one like those above (completed, tags, unencrypted, standard tier)` +
        `${injected > 0 ? `; ${injected} failed as injected (copy-error), nothing left behind` : ''}` +
        `${failures.length > 0 ? `; ${failures.length} wrong, listed above` : ''}`,
    },
  ];
}

function checkNotCopied(found: Found, { id, why }: NotCopied): Check {
  const copies = DESTINATIONS.flatMap((region) => [
    ...(found.snapshots.get(region) ?? []).filter((s) => tagMap(s.Tags)[MARKER.sourceId] === id),
    ...(found.images.get(region) ?? []).filter((i) => tagMap(i.Tags)[MARKER.sourceId] === id),
  ]);
  return {
    ok: copies.length === 0,
    label: `${id}`,
    detail:
      copies.length === 0 ? `no copy anywhere, as expected (${why})` : `but ${copies.length} copies exist`,
  };
}

/** Nothing else: every Ferry copy in the Region is one of those expected (an AMI copy with its snapshots). */
function checkNoStrays(found: Found, present: ReadonlySet<ExpectedCopy>, region: string): Check {
  const images = [...present].filter((c) => c.region === region && c.kind === 'image');
  const imageSnapshots = (found.images.get(region) ?? [])
    .filter((image) => images.some((c) => c.sourceId === tagMap(image.Tags)[MARKER.sourceId]))
    .reduce((sum, image) => sum + (image.BlockDeviceMappings?.length ?? 0), 0);
  const snapshotCopies = [...present].filter((c) => c.region === region && c.kind === 'snapshot').length;
  const snapshots = found.snapshots.get(region)?.length ?? 0;
  const imageCount = found.images.get(region)?.length ?? 0;
  return {
    ok: snapshots === snapshotCopies + imageSnapshots && imageCount === images.length,
    label: `${region}, every snapshot and AMI marked ${MARKER.sourceId}`,
    detail:
      `${snapshots} snapshots (${snapshotCopies} copies + ${imageSnapshots} behind AMI copies), ` +
      `${imageCount} AMIs (${images.length} expected): no stray or duplicate copy`,
  };
}

/** Whether a resource is Ferry's copy of this source by this rule. */
const isCopyOf = (copy: ExpectedCopy, resource: { Tags?: Snapshot['Tags'] }) => {
  const tags = tagMap(resource.Tags);
  return tags[MARKER.sourceId] === copy.sourceId && tags[MARKER.rule] === copy.rule;
};

/** Ferry's copies of this source by this rule in the copy's Region. */
const snapshotCopiesOf = (found: Found, copy: ExpectedCopy) =>
  (found.snapshots.get(copy.region) ?? []).filter((s) => isCopyOf(copy, s));
const imageCopiesOf = (found: Found, copy: ExpectedCopy) =>
  (found.images.get(copy.region) ?? []).filter((i) => isCopyOf(copy, i));

/** The ids of Ferry's copies of this source by this rule in the copy's Region. */
function copiesOf(found: Found, copy: ExpectedCopy): string[] {
  return copy.kind === 'snapshot'
    ? snapshotCopiesOf(found, copy).map((s) => s.SnapshotId ?? '')
    : imageCopiesOf(found, copy).map((i) => i.ImageId ?? '');
}

function checkSnapshotCopy(found: Found, copy: ExpectedCopy, label: string): Check {
  const matches = snapshotCopiesOf(found, copy);
  const [snapshot] = matches;
  if (!snapshot || matches.length > 1) return { ok: false, label, detail: `${matches.length} copies found` };
  const tags = tagMap(snapshot.Tags);
  const encrypted = copy.kmsAlias !== undefined;
  const tier = copy.archived ? 'archive' : 'standard';
  const problems = [
    snapshot.State === 'completed' ? '' : `state ${snapshot.State}`,
    sameRecord(userTagsOf(tags), copy.tags) ? '' : `tags ${tagText(userTagsOf(tags))}`,
    tags[MARKER.sourceRegion] === SOURCE ? '' : MARKER.sourceRegion,
    snapshot.Encrypted === encrypted ? '' : `encrypted ${snapshot.Encrypted}`,
    !copy.kmsAlias || snapshot.KmsKeyId?.endsWith(`:${copy.kmsAlias}`) ? '' : `key ${snapshot.KmsKeyId}`,
    snapshot.StorageTier === tier ? '' : `storage tier ${snapshot.StorageTier}`,
    snapshot.VolumeSize === copy.sizeGiB ? '' : `size ${snapshot.VolumeSize} GiB`,
    snapshot.Description === copy.description ? '' : `description "${snapshot.Description}"`,
  ].filter(Boolean);
  if (problems.length > 0)
    return { ok: false, label: `${label} ${snapshot.SnapshotId}`, detail: problems.join(', ') };
  return {
    ok: true,
    label: `${label} ${snapshot.SnapshotId}`,
    detail:
      `completed, ${snapshot.VolumeSize} GiB, ${tagText(userTagsOf(tags))} + ${MARKER.sourceId}, ` +
      `${encrypted ? `encrypted under ${copy.kmsAlias}` : 'unencrypted'}, ${tier} tier`,
  };
}

function checkImageCopy(found: Found, copy: ExpectedCopy, label: string): Check {
  const matches = imageCopiesOf(found, copy);
  const [image] = matches;
  if (!image || matches.length > 1) return { ok: false, label, detail: `${matches.length} copies found` };
  const tags = tagMap(image.Tags);
  const snapshotIds = snapshotIdsOf(image);
  const snapshots = (found.snapshots.get(copy.region) ?? []).filter((s) =>
    snapshotIds.includes(s.SnapshotId ?? ''),
  );
  const problems = [
    image.State === 'available' ? '' : `state ${image.State}`,
    image.Name === copy.imageName ? '' : `name ${image.Name}`,
    image.Description === copy.description ? '' : `description "${image.Description}"`,
    sameRecord(userTagsOf(tags), copy.tags) ? '' : `tags ${tagText(userTagsOf(tags))}`,
    snapshotIds.length > 0 &&
    snapshots.length === snapshotIds.length &&
    snapshots.every((s) => s.State === 'completed' && tagMap(s.Tags)[MARKER.sourceId] === copy.sourceId)
      ? ''
      : 'its snapshots are not all completed and marked',
  ].filter(Boolean);
  if (problems.length > 0)
    return { ok: false, label: `${label} ${image.ImageId}`, detail: problems.join(', ') };
  return {
    ok: true,
    label: `${label} ${image.ImageId}`,
    detail: `available as "${image.Name}", ${tagText(userTagsOf(tags))} + ${MARKER.sourceId}, ${snapshots.length} snapshots completed and marked`,
  };
}
