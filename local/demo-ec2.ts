import {
  CreateImageCommand,
  CreateSnapshotCommand,
  DeregisterImageCommand,
  DescribeImagesCommand,
  DescribeSnapshotsCommand,
  type Image,
  type Snapshot,
} from '@aws-sdk/client-ec2';
import type { Ec2CopyJob } from '#ec2/copy-job';
import type { StartOutcome } from '#ec2/start-copies';
import { type Check, type DemoPartResult, type Narrator, printChecks } from './demo-checks.ts';
import type { Ec2FaultRates } from './ec2/faults.ts';
import type { Delivery } from './event-bus.ts';
import type { Sandbox, SandboxOptions } from './sandbox.ts';
import type { Execution } from './step-functions.ts';

/**
 * The EC2 part of the demo of `npm start` / `npm run demo`, written for the snapshot and image rules of
 * `local/sandbox.replication.yml`: it creates snapshots and AMIs in us-east-1 through the SDK, the way a
 * user (or AWS Backup, or a pipeline baking AMIs) would, lets the real handlers and state machines copy
 * them on the sandbox's virtual clock, then reads every copy back with DescribeSnapshots / DescribeImages
 * and checks it. The expectations are written out by hand from the rules, not derived from Ferry's router.
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

const SOURCE = 'us-east-1';
const DR = 'us-west-2';
const ARCHIVE = 'eu-west-1';
const DESTINATIONS = [DR, ARCHIVE];
/** EC2's limit of concurrent snapshot copies per destination Region (the fake's default). */
const COPY_LIMIT = 20;
const BURST = 30;
const BURST_GIB = 50;
const SOURCE_ID_TAG = 'ferry:source-id';
const RULE_TAG = 'ferry:rule';

const copySeconds = (gib: number) => (gib * GiB) / DEMO_COPY_BYTES_PER_SECOND;

/** 45s, 26m40s, 2h05m10s. */
export function duration(totalSeconds: number): string {
  const seconds = Math.round(totalSeconds);
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  const pad = (n: number) => String(n).padStart(2, '0');
  if (h > 0) return `${h}h${pad(m)}m${pad(s)}s`;
  if (m > 0) return `${m}m${pad(s)}s`;
  return `${s}s`;
}

type TagMap = Record<string, string>;
const tagList = (tags: TagMap) => Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
const tagsOf = (resource: { Tags?: { Key?: string; Value?: string }[] }): TagMap =>
  Object.fromEntries((resource.Tags ?? []).map((tag) => [tag.Key ?? '', tag.Value ?? '']));
const userTagsOf = (tags: TagMap): TagMap =>
  Object.fromEntries(Object.entries(tags).filter(([key]) => !key.startsWith('ferry:')));
const tagText = (tags: TagMap) =>
  Object.entries(tags)
    .map(([key, value]) => `${key}=${value}`)
    .join(',');
const sameTags = (a: TagMap, b: TagMap) =>
  Object.keys(a).length === Object.keys(b).length && Object.entries(b).every(([k, v]) => a[k] === v);

/**
 * The demo's own EC2 calls, made as a careful user's script makes them: the SDK retries a throttled or
 * failed call three times, and this retries the whole call three times more (under `--faults`, EC2 fails
 * the demo's own requests too). The fake fails a request before acting on it, so a retry never doubles it.
 */
async function userCall<T>(attempt: () => Promise<T>): Promise<T> {
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

interface SourceSnapshot {
  label: string;
  id: string;
  volumeId: string;
  sizeGiB: number;
  encrypted: boolean;
  description: string;
  tags: TagMap;
}

interface SnapshotSpec {
  label: string;
  sizeGiB: number;
  description: string;
  tags: TagMap;
  encrypted?: boolean;
  /** A snapshot of this (earlier) volume; else of a new one. */
  volumeId?: string;
}

interface SourceImage {
  label: string;
  id: string;
  name: string;
  description: string;
  tags: TagMap;
  snapshotIds: string[];
}

/** One copy the rules call for, as the demo expects to read it back. */
interface ExpectedCopy {
  kind: 'snapshot' | 'image';
  label: string;
  sourceId: string;
  region: string;
  rule: string;
  /** The user tags on the copy: the source's (copyTags) and the rule's; Ferry's markers come on top. */
  tags: TagMap;
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
const ebsToDr = (source: SourceSnapshot) =>
  snapshotCopy(source, {
    region: DR,
    rule: 'ebs-to-dr',
    tags: { ...source.tags, 'copied-by': 'ferry' },
    keep: 2,
  });
/** ebs-encrypted-to-dr: re-encrypted under alias/ferry-dr, which exists in us-west-2 only. */
const ebsEncryptedToDr = (source: SourceSnapshot) =>
  snapshotCopy(source, {
    region: DR,
    rule: 'ebs-encrypted-to-dr',
    tags: { ...source.tags, 'copied-by': 'ferry' },
    kmsAlias: 'alias/ferry-dr',
    keep: Number.POSITIVE_INFINITY,
  });
/** ebs-monthly-archive: to eu-west-1, moved to the archive tier. */
const ebsMonthlyArchive = (source: SourceSnapshot) =>
  snapshotCopy(source, {
    region: ARCHIVE,
    rule: 'ebs-monthly-archive',
    tags: { ...source.tags },
    archived: true,
    keep: Number.POSITIVE_INFINITY,
  });
/** ami-to-dr: named {name}-{sourceId}, the newest copy per AMI name kept. */
const amiToDr = (image: SourceImage): ExpectedCopy => ({
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

export interface Ec2DemoOptions {
  /** The EC2 fault rates in force: with `copy-error`, copies that fail by injection are expected. */
  faults?: Ec2FaultRates;
}

export interface Ec2DemoSummary {
  /** Copies that must exist at the end (those a fault-free run leaves: `planned`, unless copies failed). */
  expected: number;
  planned: number;
  verified: number;
  pruned: number;
  failed: number;
  /** Of the burst: ResourceLimitExceeded answers to StartCopy, StartCopy retries, executions that met it. */
  limitHits: number;
  limitRetries: number;
  limitedExecutions: number;
  peakConcurrentCopies: number;
  /** Virtual seconds from the burst's snapshots to the last copy completed in EC2, and to the last execution's end. */
  burstCopiesSeconds: number;
  burstExecutionsSeconds: number;
  idealSeconds: number;
}

export interface Ec2DemoResult extends DemoPartResult {
  summary: Ec2DemoSummary;
}

const jobOf = (execution: Execution) => execution.input as Ec2CopyJob;
const isEc2Execution = (execution: Execution) =>
  execution.stateMachine === 'snapshot-copy' || execution.stateMachine === 'image-copy';

export async function runEc2Demo(
  sandbox: Sandbox,
  narrator: Narrator,
  options: Ec2DemoOptions = {},
): Promise<Ec2DemoResult> {
  const print = (line = '') => narrator.print(line);
  const east = sandbox.ec2Client(SOURCE);
  const expected: ExpectedCopy[] = [];
  const notCopied: { id: string; why: string }[] = [];
  const deadLettersBefore = sandbox.bus.deadLetters.length;
  const prunedMetricBefore = sandbox.metrics.prunedCopies;
  const ec2Before = new Set(
    [...sandbox.stepFunctions.executions.values()].filter(isEc2Execution).map((e) => e.name),
  );
  const started = sandbox.clock.now();

  const createSnapshot = async (spec: SnapshotSpec): Promise<SourceSnapshot> => {
    const encrypted = spec.encrypted ?? false;
    const volumeId =
      spec.volumeId ??
      sandbox.ec2.createVolume(SOURCE, {
        sizeGiB: spec.sizeGiB,
        ...(encrypted ? { encrypted, kmsKeyId: 'alias/ferry-prod' } : {}),
      });
    const { SnapshotId } = await userCall(() =>
      east.send(
        new CreateSnapshotCommand({
          VolumeId: volumeId,
          Description: spec.description,
          TagSpecifications: [{ ResourceType: 'snapshot', Tags: tagList(spec.tags) }],
        }),
      ),
    );
    return { ...spec, id: SnapshotId ?? '', volumeId, encrypted };
  };
  const describeCreated = (s: SourceSnapshot) =>
    `  create-snapshot ${s.id} of ${s.volumeId} (${s.label}: ${s.sizeGiB} GiB${s.encrypted ? ', encrypted under alias/ferry-prod' : ''}, "${s.description}", ${tagText(s.tags)})`;

  print(`EC2 demo: snapshots and AMIs created in ${SOURCE} through the SDK, copied by the real handlers`);
  print(
    `and state machines. The fake EC2 copies ${DEMO_COPY_BYTES_PER_SECOND / MiB} MiB/s on the virtual clock ` +
      `(100 GiB: ${duration(copySeconds(100))}); every time shown is virtual.`,
  );

  // 1. Four snapshots at once: their copies overlap, each to the destinations its rules name.
  print();
  print('Snapshots (four at once, copies overlapping):');
  const dbVolume = sandbox.ec2.createVolume(SOURCE, { sizeGiB: 100 });
  narrator.trace(dbVolume);
  narrator.hold();
  const firstSpecs: SnapshotSpec[] = [
    {
      label: 'database',
      sizeGiB: 100,
      volumeId: dbVolume,
      description: 'nightly database backup',
      tags: { backup: 'dr', team: 'data' },
    },
    {
      label: 'vault',
      sizeGiB: 40,
      encrypted: true,
      description: 'nightly vault backup',
      tags: { backup: 'dr', team: 'security' },
    },
    {
      label: 'ledger',
      sizeGiB: 20,
      description: 'monthly ledger close',
      tags: { backup: 'dr', team: 'finance' },
    },
    { label: 'scratch', sizeGiB: 8, description: 'scratch space', tags: { backup: 'none' } },
  ];
  const [db, vault, ledger, scratch] = await Promise.all(firstSpecs.map(createSnapshot));
  if (!db || !vault || !ledger || !scratch) throw new Error('a snapshot was not created');
  narrator.release([db, vault, ledger, scratch].map(describeCreated));
  await sandbox.settle();
  expected.push(ebsToDr(db), ebsEncryptedToDr(vault), ebsToDr(ledger), ebsMonthlyArchive(ledger));
  notCopied.push({ id: scratch.id, why: 'tag backup=none matches no rule' });

  // 2. Retention: one volume snapshotted night after night; the rule keeps the newest 2 copies.
  print();
  print('Retention (ebs-to-dr keeps the newest 2 copies per volume): four nightly snapshots of one volume');
  const logsVolume = sandbox.ec2.createVolume(SOURCE, { sizeGiB: 16 });
  for (let night = 1; night <= 4; night += 1) {
    const snapshot = await createSnapshot({
      label: `logs, night ${night}`,
      sizeGiB: 16,
      volumeId: logsVolume,
      description: `nightly logs backup ${night}`,
      tags: { backup: 'dr', team: 'web' },
    });
    print(describeCreated(snapshot));
    await sandbox.settle();
    expected.push(ebsToDr(snapshot));
  }

  // 3. AMIs: one baked and copied, then replaced by a new release of the same name.
  print();
  print('AMIs (ami-to-dr keeps the newest copy per AMI name): a release, then its replacement');
  const instance = sandbox.ec2.createInstance(SOURCE, [
    sandbox.ec2.createVolume(SOURCE, { sizeGiB: 8 }),
    sandbox.ec2.createVolume(SOURCE, { sizeGiB: 24 }),
  ]);
  const images: SourceImage[] = [];
  const copiedSnapshots = new Map<string, string[]>();
  for (const release of [1, 2]) {
    const name = 'ferry-demo-web';
    const description = `web server, release ${release}`;
    const tags = { dr: 'true', app: 'web' };
    const previous = images.at(-1);
    if (previous) {
      print(
        `  deregister-image ${previous.id} (release ${release - 1}) with its snapshots: release ${release} replaces it`,
      );
      await userCall(() =>
        east.send(new DeregisterImageCommand({ ImageId: previous.id, DeleteAssociatedSnapshots: true })),
      );
    }
    narrator.hold();
    const { ImageId = '' } = await userCall(() =>
      east.send(
        new CreateImageCommand({
          InstanceId: instance,
          Name: name,
          Description: description,
          TagSpecifications: [{ ResourceType: 'image', Tags: tagList(tags) }],
        }),
      ),
    );
    const { Images = [] } = await userCall(() =>
      east.send(new DescribeImagesCommand({ ImageIds: [ImageId] })),
    );
    const snapshotIds = (Images[0]?.BlockDeviceMappings ?? []).flatMap((m) =>
      m.Ebs?.SnapshotId ? [m.Ebs.SnapshotId] : [],
    );
    const image = { label: `web, release ${release}`, id: ImageId, name, description, tags, snapshotIds };
    images.push(image);
    narrator.release([
      `  create-image ${ImageId} "${name}" of ${instance} (8 + 24 GiB: snapshots ${snapshotIds.join(', ')}), ${tagText(tags)}`,
    ]);
    await sandbox.settle();
    expected.push(amiToDr(image));
    for (const id of snapshotIds) notCopied.push({ id, why: `a snapshot of ${ImageId}, without backup=dr` });
    // The copy's own snapshots, to check later that retention deleted them with the copy.
    const { Images: copies = [] } = await userCall(() =>
      sandbox.ec2Client(DR).send(
        new DescribeImagesCommand({
          Owners: ['self'],
          Filters: [{ Name: `tag:${SOURCE_ID_TAG}`, Values: [ImageId] }],
        }),
      ),
    );
    for (const copy of copies) {
      const ids = (copy.BlockDeviceMappings ?? []).flatMap((m) =>
        m.Ebs?.SnapshotId ? [m.Ebs.SnapshotId] : [],
      );
      copiedSnapshots.set(ImageId, ids);
      print(
        `    copy ${copy.ImageId} "${copy.Name}" in ${DR} is ${copy.State}, on snapshots ${ids.join(', ')}`,
      );
    }
  }

  // 4. A burst above EC2's copy limit: none may be lost, and never more than 20 copies may run at once.
  print();
  print(
    `Burst: ${BURST} snapshots of ${BURST} volumes at once (${BURST_GIB} GiB each, ${duration(copySeconds(BURST_GIB))} of copy), ` +
      `more than the ${COPY_LIMIT} copies EC2 runs at once per Region (one line per failure only)`,
  );
  narrator.mute(true);
  const burstStart = sandbox.clock.now();
  const burst = await Promise.all(
    Array.from({ length: BURST }, (_, i) =>
      createSnapshot({
        label: `batch ${i + 1}`,
        sizeGiB: BURST_GIB,
        description: `batch node ${i + 1} backup`,
        tags: { backup: 'dr', fleet: 'batch' },
      }),
    ),
  );
  print(
    `  create-snapshot ×${BURST} (${tagText({ backup: 'dr', fleet: 'batch' })}): ${burst[0]?.id} … ${burst.at(-1)?.id}`,
  );
  await sandbox.settle();
  const burstEnd = sandbox.clock.now();
  narrator.mute(false);
  print(`  every execution ended ${duration((burstEnd - burstStart) / 1000)} after the snapshots were taken`);
  for (const snapshot of burst) expected.push({ ...ebsToDr(snapshot), burst: true });

  // Read every copy back, the way a user would check: one listing of Ferry's copies per Region.
  const found = await readBack(sandbox);
  const ec2Executions = [...sandbox.stepFunctions.executions.values()].filter(
    (e) => isEc2Execution(e) && !ec2Before.has(e.name),
  );
  const verification = verify({
    expected,
    notCopied,
    found,
    executions: ec2Executions,
    copyErrorsInjected: (options.faults?.['copy-error'] ?? 0) > 0,
  });
  verification.checks.push(
    ...(await prunedImageSnapshots(sandbox, verification.prunedImages, copiedSnapshots)),
  );

  // The burst, from its executions and from the copies as EC2 reports them.
  const burstIds = new Set(burst.map((s) => s.id));
  const burstExecutions = ec2Executions.filter((e) => burstIds.has(jobOf(e).source.id));
  const limitHits = burstExecutions.reduce((sum, e) => sum + limitHitsOf(e), 0);
  const limitRetries = burstExecutions.reduce((sum, e) => sum + (e.retries.get('StartCopy') ?? 0), 0);
  const limitedExecutions = burstExecutions.filter((e) => limitHitsOf(e) > 0).length;
  const burstCopies = (found.snapshots.get(DR) ?? []).filter((s) =>
    burstIds.has(tagsOf(s)[SOURCE_ID_TAG] ?? ''),
  );
  const peak = peakConcurrency(burstCopies);
  const lastCompletion = Math.max(burstStart, ...burstCopies.map((s) => s.CompletionTime?.getTime() ?? 0));
  const idealSeconds = Math.ceil(BURST / COPY_LIMIT) * copySeconds(BURST_GIB);
  const burstSucceeded = burstExecutions.filter((e) => e.status === 'SUCCEEDED').length;
  const checks = verification.checks;
  checks.push(
    {
      ok: peak > 0 && peak <= COPY_LIMIT,
      label: `burst in ${DR}`,
      detail: `at most ${peak} copies in flight at once (EC2's limit: ${COPY_LIMIT}), read from the StartTime and CompletionTime of each copy there`,
    },
    {
      ok: limitHits > 0 && burstSucceeded + verification.injectedFailures.burst === BURST,
      label: `burst over the limit`,
      detail:
        `ResourceLimitExceeded answered ${limitHits} StartCopy calls of ${limitedExecutions} executions; ` +
        `each retried (with backoff) until it started: ${burstSucceeded} of ${BURST} executions succeeded`,
    },
    {
      ok: sandbox.metrics.prunedCopies - prunedMetricBefore === verification.counts.pruned,
      label: 'CopiesPruned metric',
      detail: `counted ${sandbox.metrics.prunedCopies - prunedMetricBefore}, ${verification.counts.pruned} verified gone`,
    },
    {
      ok: sandbox.bus.deadLetters.length === deadLettersBefore,
      label: 'dead letters',
      detail: `${sandbox.bus.deadLetters.length - deadLettersBefore} EC2 events failed for good`,
    },
  );

  const summary: Ec2DemoSummary = {
    ...verification.counts,
    limitHits,
    limitRetries,
    limitedExecutions,
    peakConcurrentCopies: peak,
    burstCopiesSeconds: (lastCompletion - burstStart) / 1000,
    burstExecutionsSeconds: (burstEnd - burstStart) / 1000,
    idealSeconds,
  };
  const ok = checks.every((check) => check.ok);
  print();
  print(
    `EC2 summary, verified by reading every copy back (DescribeSnapshots, DescribeImages in ${DESTINATIONS.join(' and ')}):`,
  );
  printChecks(checks, print);
  const planned = summary.planned === summary.expected ? '' : ` (${summary.planned} had no copy failed)`;
  print(
    `Copies expected ${summary.expected}${planned} · verified ${summary.verified} · pruned ${summary.pruned} · ` +
      `failed ${summary.failed} · dead letters ${sandbox.bus.deadLetters.length - deadLettersBefore}`,
  );
  print(
    `Burst of ${BURST}: ${limitedExecutions} executions met ResourceLimitExceeded (${limitHits} times; ${limitRetries} StartCopy retries) · ` +
      `peak ${peak} copies at once · copies done in ${duration(summary.burstCopiesSeconds)}, executions in ` +
      `${duration(summary.burstExecutionsSeconds)} · ideal ⌈${BURST}/${COPY_LIMIT}⌉ × ${duration(copySeconds(BURST_GIB))} = ${duration(idealSeconds)} ` +
      '(a limited start retries after a jittered backoff, 1 min growing to 15 min)',
  );
  const byMachine = (machine: string, status: string) =>
    ec2Executions.filter((e) => e.stateMachine === machine && e.status === status).length;
  print(
    `State machines: snapshot-copy ${byMachine('snapshot-copy', 'SUCCEEDED')} succeeded, ${byMachine('snapshot-copy', 'FAILED')} failed · ` +
      `image-copy ${byMachine('image-copy', 'SUCCEEDED')} succeeded, ${byMachine('image-copy', 'FAILED')} failed · ` +
      `EC2 faults injected ${[...sandbox.ec2.faults.injected.values()].reduce((a, b) => a + b, 0)} · ` +
      `virtual time of the EC2 part ${duration((sandbox.clock.now() - started) / 1000)}`,
  );
  return { checks, ok, summary };
}

/** ResourceLimitExceeded answers to an execution's StartCopy (each then retried by the machine). */
function limitHitsOf(execution: Execution): number {
  return execution.events.filter(
    (event) =>
      event.type === 'StateFailed' &&
      event.state.name === 'StartCopy' &&
      String(event.Cause).includes('ResourceLimitExceeded'),
  ).length;
}

/** The most copies in flight at one moment, from the StartTime and CompletionTime EC2 reports. */
function peakConcurrency(copies: readonly Snapshot[]): number {
  const edges = copies
    .flatMap((copy) => [
      { at: copy.StartTime?.getTime() ?? 0, delta: 1 },
      { at: copy.CompletionTime?.getTime() ?? Number.POSITIVE_INFINITY, delta: -1 },
    ])
    .sort((a, b) => a.at - b.at || a.delta - b.delta);
  let current = 0;
  let peak = 0;
  for (const edge of edges) {
    current += edge.delta;
    peak = Math.max(peak, current);
  }
  return peak;
}

interface Found {
  /** Per destination Region, every snapshot and image that carries Ferry's source marker. */
  snapshots: Map<string, Snapshot[]>;
  images: Map<string, Image[]>;
}

async function readBack(sandbox: Sandbox): Promise<Found> {
  const found: Found = { snapshots: new Map(), images: new Map() };
  const ferryCopies = [{ Name: 'tag-key', Values: [SOURCE_ID_TAG] }];
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
async function prunedImageSnapshots(
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

interface Verification {
  checks: Check[];
  counts: { expected: number; planned: number; verified: number; pruned: number; failed: number };
  injectedFailures: { burst: number };
  /** Source AMIs whose copy retention removed. */
  prunedImages: Set<string>;
}

/**
 * Each expected copy against what EC2 reports. Which copies must still exist follows the rules by hand:
 * in each retention group the newest `keep` copies stay and older ones are gone. Under an injected
 * `copy-error` a copy may fail by design: it must then have failed with that cause and left nothing behind,
 * and its group keeps the newest copies that did succeed.
 */
function verify(input: {
  expected: ExpectedCopy[];
  notCopied: { id: string; why: string }[];
  found: Found;
  executions: Execution[];
  copyErrorsInjected: boolean;
}): Verification {
  const { expected, found, executions } = input;
  const executionOf = (copy: ExpectedCopy) =>
    executions.find((e) => {
      const job = jobOf(e);
      return (
        job.source.id === copy.sourceId && job.rule === copy.rule && job.destination.region === copy.region
      );
    });
  const groups = new Map<string, ExpectedCopy[]>();
  for (const copy of expected) {
    const key = `${copy.region}|${copy.rule}|${copy.group}`;
    groups.set(key, [...(groups.get(key) ?? []), copy]);
  }
  const kept = (succeeded: (copy: ExpectedCopy) => boolean) =>
    new Set(
      [...groups.values()].flatMap((members) => {
        const done = members.filter(succeeded);
        return done.slice(Math.max(0, done.length - (members[0]?.keep ?? 0)));
      }),
    );
  const planned = kept(() => true);
  const present = kept((copy) => executionOf(copy)?.status === 'SUCCEEDED');

  const checks: Check[] = [];
  const burstChecks: Check[] = [];
  const counts = { expected: present.size, planned: planned.size, verified: 0, pruned: 0, failed: 0 };
  const injectedFailures = { burst: 0 };
  const prunedImages = new Set<string>();
  for (const copy of expected) {
    const execution = executionOf(copy);
    const label = `${copy.region} copy of ${copy.sourceId} (${copy.label}) [${copy.rule}]`;
    let check: Check;
    if (!execution) {
      check = { ok: false, label, detail: 'no copy was started' };
    } else if (execution.status !== 'SUCCEEDED') {
      counts.failed += 1;
      const cause = `${execution.error?.Error}: ${execution.error?.Cause}`;
      const injected = input.copyErrorsInjected && /fault injected/.test(cause);
      const left = copiesOf(found, copy);
      check = {
        ok: injected && left.length === 0,
        label,
        detail: injected
          ? `failed as injected (${cause}); ${left.length === 0 ? 'nothing left behind' : `left ${left.length} copies`}`
          : `${execution.status} (${cause})`,
      };
      if (injected && copy.burst) injectedFailures.burst += 1;
    } else if (present.has(copy)) {
      check =
        copy.kind === 'snapshot' ? checkSnapshotCopy(found, copy, label) : checkImageCopy(found, copy, label);
      if (check.ok) counts.verified += 1;
    } else {
      const left = copiesOf(found, copy);
      check = {
        ok: left.length === 0,
        label,
        detail:
          left.length === 0
            ? `pruned: a newer copy of the same ${copy.kind === 'snapshot' ? 'volume' : 'AMI name'} completed (keep ${copy.keep})`
            : `should have been pruned, still there: ${left.join(', ')}`,
      };
      if (check.ok) {
        counts.pruned += 1;
        if (copy.kind === 'image') prunedImages.add(copy.sourceId);
      }
    }
    (copy.burst ? burstChecks : checks).push(check);
  }
  const burstFailures = burstChecks.filter((check) => !check.ok);
  const burstInjected = injectedFailures.burst;
  const burstVerified = burstChecks.length - burstFailures.length - burstInjected;
  checks.push(...burstFailures, {
    ok: burstFailures.length === 0,
    label: `${burstChecks.length} burst copies to ${DR}`,
    detail:
      `${burstVerified} checked one by one like those above (completed, tags, unencrypted, standard tier)` +
      `${burstInjected > 0 ? `; ${burstInjected} failed as injected (copy-error), nothing left behind` : ''}` +
      `${burstFailures.length > 0 ? `; ${burstFailures.length} wrong, listed above` : ''}`,
  });

  for (const { id, why } of input.notCopied) {
    const copies = DESTINATIONS.flatMap((region) => [
      ...(found.snapshots.get(region) ?? []).filter((s) => tagsOf(s)[SOURCE_ID_TAG] === id),
      ...(found.images.get(region) ?? []).filter((i) => tagsOf(i)[SOURCE_ID_TAG] === id),
    ]);
    checks.push({
      ok: copies.length === 0,
      label: `${id}`,
      detail:
        copies.length === 0 ? `no copy anywhere, as expected (${why})` : `but ${copies.length} copies exist`,
    });
  }

  // Nothing else: every Ferry copy in each Region is one of those expected (an AMI copy with its snapshots).
  for (const region of DESTINATIONS) {
    const images = [...present].filter((c) => c.region === region && c.kind === 'image');
    const imageSnapshots = (found.images.get(region) ?? [])
      .filter((image) => images.some((c) => c.sourceId === tagsOf(image)[SOURCE_ID_TAG]))
      .reduce((sum, image) => sum + (image.BlockDeviceMappings?.length ?? 0), 0);
    const snapshotCopies = [...present].filter((c) => c.region === region && c.kind === 'snapshot').length;
    const snapshots = found.snapshots.get(region)?.length ?? 0;
    const imageCount = found.images.get(region)?.length ?? 0;
    checks.push({
      ok: snapshots === snapshotCopies + imageSnapshots && imageCount === images.length,
      label: `${region}, every snapshot and AMI marked ${SOURCE_ID_TAG}`,
      detail:
        `${snapshots} snapshots (${snapshotCopies} copies + ${imageSnapshots} behind AMI copies), ` +
        `${imageCount} AMIs (${images.length} expected): no stray or duplicate copy`,
    });
  }
  return { checks, counts, injectedFailures, prunedImages };
}

/** The ids of Ferry's copies of this source by this rule in the copy's Region. */
function copiesOf(found: Found, copy: ExpectedCopy): string[] {
  const matches = (tags: TagMap) => tags[SOURCE_ID_TAG] === copy.sourceId && tags[RULE_TAG] === copy.rule;
  return copy.kind === 'snapshot'
    ? (found.snapshots.get(copy.region) ?? [])
        .filter((s) => matches(tagsOf(s)))
        .map((s) => s.SnapshotId ?? '')
    : (found.images.get(copy.region) ?? []).filter((i) => matches(tagsOf(i))).map((i) => i.ImageId ?? '');
}

function checkSnapshotCopy(found: Found, copy: ExpectedCopy, label: string): Check {
  const matches = (found.snapshots.get(copy.region) ?? []).filter((s) => {
    const tags = tagsOf(s);
    return tags[SOURCE_ID_TAG] === copy.sourceId && tags[RULE_TAG] === copy.rule;
  });
  const [snapshot] = matches;
  if (!snapshot || matches.length > 1) return { ok: false, label, detail: `${matches.length} copies found` };
  const tags = tagsOf(snapshot);
  const encrypted = copy.kmsAlias !== undefined;
  const tier = copy.archived ? 'archive' : 'standard';
  const problems = [
    snapshot.State === 'completed' ? '' : `state ${snapshot.State}`,
    sameTags(userTagsOf(tags), copy.tags) ? '' : `tags ${tagText(userTagsOf(tags))}`,
    tags['ferry:source-region'] === SOURCE ? '' : 'ferry:source-region',
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
      `completed, ${snapshot.VolumeSize} GiB, ${tagText(userTagsOf(tags))} + ${SOURCE_ID_TAG}, ` +
      `${encrypted ? `encrypted under ${copy.kmsAlias}` : 'unencrypted'}, ${tier} tier`,
  };
}

function checkImageCopy(found: Found, copy: ExpectedCopy, label: string): Check {
  const matches = (found.images.get(copy.region) ?? []).filter((i) => {
    const tags = tagsOf(i);
    return tags[SOURCE_ID_TAG] === copy.sourceId && tags[RULE_TAG] === copy.rule;
  });
  const [image] = matches;
  if (!image || matches.length > 1) return { ok: false, label, detail: `${matches.length} copies found` };
  const tags = tagsOf(image);
  const snapshotIds = (image.BlockDeviceMappings ?? []).flatMap((m) =>
    m.Ebs?.SnapshotId ? [m.Ebs.SnapshotId] : [],
  );
  const snapshots = (found.snapshots.get(copy.region) ?? []).filter((s) =>
    snapshotIds.includes(s.SnapshotId ?? ''),
  );
  const problems = [
    image.State === 'available' ? '' : `state ${image.State}`,
    image.Name === copy.imageName ? '' : `name ${image.Name}`,
    image.Description === copy.description ? '' : `description "${image.Description}"`,
    sameTags(userTagsOf(tags), copy.tags) ? '' : `tags ${tagText(userTagsOf(tags))}`,
    snapshotIds.length > 0 &&
    snapshots.length === snapshotIds.length &&
    snapshots.every((s) => s.State === 'completed' && tagsOf(s)[SOURCE_ID_TAG] === copy.sourceId)
      ? ''
      : 'its snapshots are not all completed and marked',
  ].filter(Boolean);
  if (problems.length > 0)
    return { ok: false, label: `${label} ${image.ImageId}`, detail: problems.join(', ') };
  return {
    ok: true,
    label: `${label} ${image.ImageId}`,
    detail: `available as "${image.Name}", ${tagText(userTagsOf(tags))} + ${SOURCE_ID_TAG}, ${snapshots.length} snapshots completed and marked`,
  };
}

// What the pipeline does, line by line, as `npm start` shows it.

const machineOf = (target: string) => (target === 'image-available' ? 'image-copy' : 'snapshot-copy');

/** One line per source the EC2 handlers saw: handed to a state machine per destination, or skipped (why). */
export function describeEc2Delivery(delivery: Delivery, print: (line: string) => void): void {
  if (delivery.error) {
    print(`    ↳ ${delivery.target} attempt ${delivery.attempt} failed: ${delivery.error.message}`);
    return;
  }
  if (!Array.isArray(delivery.result)) return;
  for (const outcome of delivery.result as StartOutcome[]) {
    if (outcome.status === 'skipped')
      print(`    ↳ ${delivery.target} ${outcome.source} skipped: ${outcome.reason}`);
    else
      print(
        `    ↳ ${delivery.target} ${outcome.source} [${outcome.rule}] ${outcome.status === 'started' ? 'handed to' : 'already in'} ${machineOf(delivery.target)} → ${outcome.region}`,
      );
  }
}

interface StepState {
  copy?: { id: string; state: string; progress: number; waitSeconds: number; message?: string };
  result?: { copy: string; archived: boolean; tagged: string[]; pruned: string[] };
}

/**
 * One line per finished snapshot-copy or image-copy execution; for a traced one, first each of its steps:
 * the time since the copy started (the sum of its waits), what EC2 reported, and the next wait the Check
 * step chose from it (src/ec2/adaptive-wait.ts).
 */
export function describeEc2Execution(
  execution: Execution,
  print: (line: string) => void,
  traced: boolean,
): void {
  const job = jobOf(execution);
  const output = execution.output as StepState | undefined;
  const checks = execution.events.filter(
    (e) => e.type === 'StateExited' && e.state.name === 'CheckCopy',
  ).length;
  const retries = [...execution.retries.values()].reduce((a, b) => a + b, 0);
  const took = duration((execution.virtualDurationMs ?? 0) / 1000);
  const size = job.source.sizeGiB !== undefined ? `, ${job.source.sizeGiB} GiB` : '';
  if (traced) {
    print(
      `    ↳ ${execution.stateMachine} of ${job.source.id}${size} → ${job.destination.region} [${job.rule}], step by step ` +
        `(${job.source.sizeGiB !== undefined ? `EC2 needs ${duration(copySeconds(job.source.sizeGiB))}` : ''}):`,
    );
    let elapsed = 0;
    for (const event of execution.events) {
      if (event.type === 'StateEntered' && event.state.name === 'WaitForCopy') {
        elapsed += (event.state.input as StepState).copy?.waitSeconds ?? 0;
      } else if (event.type === 'StateRetried') {
        print(
          `        ${`+${duration(elapsed)}`.padEnd(9)} ${event.state.name} retried (attempt ${event.retry.attempt})`,
        );
      } else if (
        event.type === 'StateExited' &&
        (event.state.name === 'StartCopy' || event.state.name === 'CheckCopy')
      ) {
        const copy = (event.state.output as StepState).copy;
        if (!copy) continue;
        const next = copy.state === 'pending' ? ` → next check in ${duration(copy.waitSeconds)}` : '';
        const what =
          event.state.name === 'StartCopy' ? `started ${copy.id}` : `${copy.state} ${copy.progress}%`;
        print(`        ${`+${duration(elapsed)}`.padEnd(9)} ${event.state.name.padEnd(9)} ${what}${next}`);
      } else if (event.type === 'StateExited' && event.state.name === 'Finalize') {
        const result = (event.state.output as StepState).result;
        if (!result) continue;
        print(
          `        ${`+${duration(elapsed)}`.padEnd(9)} Finalize  tags read back${result.tagged.length ? ` (set ${result.tagged.join(', ')})` : ''}` +
            `${result.archived ? ', archived' : ''}${result.pruned.length ? `, pruned ${result.pruned.join(', ')}` : ''}`,
        );
      }
    }
  }
  const head = `    ↳ ${execution.stateMachine} ${job.source.id} → ${job.destination.region} [${job.rule}]`;
  if (execution.status !== 'SUCCEEDED') {
    print(`${head} ${execution.status} (${execution.error?.Error}: ${execution.error?.Cause})`);
    return;
  }
  const result = output?.result;
  print(
    `${head} ${result?.copy ?? '?'} completed after ${took}${size}, ${checks} checks` +
      `${retries ? `, ${retries} retries` : ''}${result?.archived ? ', archived' : ''}` +
      `${result?.pruned.length ? `, pruned ${result.pruned.join(', ')}` : ''}`,
  );
}
