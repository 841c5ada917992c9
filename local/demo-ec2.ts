import {
  CreateImageCommand,
  CreateSnapshotCommand,
  DeregisterImageCommand,
  DescribeImagesCommand,
  type EC2Client,
} from '@aws-sdk/client-ec2';
import { MARKER, type Tags, tagList, tagMap } from '#ec2/markers';
import { SLOT_WAIT_STATES } from '../statemachines/ec2-copy.ts';
import {
  type Check,
  type DemoPartResult,
  type Narrator,
  printChecks,
  resultOf,
  total,
} from './demo-checks.ts';
import {
  amiToDr,
  COPY_LIMIT,
  copySeconds,
  DEMO_COPY_BYTES_PER_SECOND,
  DESTINATIONS,
  DR,
  type ExpectedCopy,
  ebsEncryptedToDr,
  ebsMonthlyArchive,
  ebsToDr,
  type NotCopied,
  SOURCE,
  type SourceImage,
  type SourceSnapshot,
} from './demo-ec2-expectations.ts';
import { duration, jobOf, tagText } from './demo-ec2-narration.ts';
import {
  type Found,
  prunedImageSnapshots,
  readBack,
  snapshotIdsOf,
  userCall,
  verify,
} from './demo-ec2-verify.ts';
import type { Ec2FaultRates } from './ec2/faults.ts';
import type { Sandbox } from './sandbox.ts';
import { type Execution, statesEnteredOf } from './step-functions.ts';

/**
 * The EC2 part of the demo of `npm start` / `npm run demo`, written for the snapshot and image rules of
 * `local/sandbox.replication.yml`: it creates snapshots and AMIs in us-east-1 through the SDK, the way a
 * user (or AWS Backup, or a pipeline baking AMIs) would, lets the real handlers and state machines copy
 * them on the sandbox's virtual clock, then reads every copy back with DescribeSnapshots / DescribeImages
 * and checks it (local/demo-ec2-verify.ts) against the copies the rules call for
 * (local/demo-ec2-expectations.ts). The pipeline's own lines come from local/demo-ec2-narration.ts.
 */

const MiB = 1024 * 1024;
const BURST = 30;
const BURST_GIB = 50;
const BURST_TAGS = { backup: 'dr', fleet: 'batch' };

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
  /** Of the burst: ResourceLimitExceeded answers to StartCopy, waits for a slot, executions that met it. */
  limitHits: number;
  slotWaits: number;
  limitedExecutions: number;
  /** The most snapshot copies that ran at once in us-west-2, as the fake EC2 recorded them. */
  peakConcurrentCopies: number;
  /** Virtual seconds from the burst's snapshots to the last copy completed in EC2, and to the last execution's end. */
  burstCopiesSeconds: number;
  burstExecutionsSeconds: number;
  idealSeconds: number;
}

export interface Ec2DemoResult extends DemoPartResult {
  summary: Ec2DemoSummary;
}

/** What the phases share: where and how they act, and the copies the rules must make of what they create. */
interface Run {
  sandbox: Sandbox;
  narrator: Narrator;
  print: (line?: string) => void;
  /** The user's EC2 client in the source Region. */
  east: EC2Client;
  expected: ExpectedCopy[];
  notCopied: NotCopied[];
}

interface SnapshotSpec {
  label: string;
  sizeGiB: number;
  description: string;
  tags: Tags;
  encrypted?: boolean;
  /** A snapshot of this (earlier) volume; else of a new one. */
  volumeId?: string;
}

/** The burst's snapshots, when they were taken and when the last of their executions ended (virtual ms). */
interface Burst {
  snapshots: SourceSnapshot[];
  start: number;
  end: number;
}

const isEc2Execution = (execution: Execution) =>
  execution.stateMachine === 'snapshot-copy' || execution.stateMachine === 'image-copy';

export async function runEc2Demo(
  sandbox: Sandbox,
  narrator: Narrator,
  options: Ec2DemoOptions = {},
): Promise<Ec2DemoResult> {
  const deadLettersBefore = sandbox.bus.deadLetters.length;
  const prunedMetricBefore = sandbox.metrics.prunedCopies;
  const ec2Before = new Set(
    [...sandbox.stepFunctions.executions.values()].filter(isEc2Execution).map((e) => e.name),
  );
  const started = sandbox.clock.now();
  const run: Run = {
    sandbox,
    narrator,
    print: (line = '') => narrator.print(line),
    east: sandbox.ec2Client(SOURCE),
    expected: [],
    notCopied: [],
  };

  run.print(`EC2 demo: snapshots and AMIs created in ${SOURCE} through the SDK, copied by the real handlers`);
  run.print(
    `and state machines. The fake EC2 copies ${DEMO_COPY_BYTES_PER_SECOND / MiB} MiB/s on the virtual clock ` +
      `(100 GiB: ${duration(copySeconds(100))}); every time shown is virtual.`,
  );
  await snapshotsPhase(run);
  await retentionPhase(run);
  const copiedSnapshots = await amisPhase(run);
  const burst = await burstPhase(run);

  // Read every copy back, the way a user would check: one listing of Ferry's copies per Region.
  const found = await readBack(sandbox);
  const executions = [...sandbox.stepFunctions.executions.values()].filter(
    (e) => isEc2Execution(e) && !ec2Before.has(e.name),
  );
  const verification = verify({
    expected: run.expected,
    notCopied: run.notCopied,
    found,
    executions,
    copyErrorsInjected: (options.faults?.['copy-error'] ?? 0) > 0,
  });
  const checks = [
    ...verification.checks,
    ...(await prunedImageSnapshots(sandbox, verification.prunedImages, copiedSnapshots)),
  ];
  const { figures, succeeded } = summarizeBurst(sandbox, burst, executions, found);
  const prunedCounted = sandbox.metrics.prunedCopies - prunedMetricBefore;
  const deadLetters = sandbox.bus.deadLetters.length - deadLettersBefore;
  checks.push(
    ...burstChecks(figures, succeeded, verification.injectedFailures.burst),
    {
      ok: prunedCounted === verification.counts.pruned,
      label: 'CopiesPruned metric',
      detail: `counted ${prunedCounted}, ${verification.counts.pruned} verified gone`,
    },
    { ok: deadLetters === 0, label: 'dead letters', detail: `${deadLetters} EC2 events failed for good` },
  );
  const summary: Ec2DemoSummary = { ...verification.counts, ...figures };
  printSummary(run, { checks, summary, executions, deadLetters, started });
  return { ...resultOf(checks), summary };
}

/** Four snapshots at once: their copies overlap, each to the destinations its rules name. */
async function snapshotsPhase(run: Run): Promise<void> {
  const { sandbox, narrator, print } = run;
  print();
  print('Snapshots (four at once, copies overlapping):');
  const dbVolume = sandbox.ec2.createVolume(SOURCE, { sizeGiB: 100 });
  narrator.trace(dbVolume);
  narrator.hold();
  const specs: SnapshotSpec[] = [
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
  const [db, vault, ledger, scratch] = await Promise.all(specs.map((spec) => createSnapshot(run, spec)));
  if (!db || !vault || !ledger || !scratch) throw new Error('a snapshot was not created');
  narrator.release([db, vault, ledger, scratch].map(describeCreated));
  await sandbox.settle();
  run.expected.push(ebsToDr(db), ebsEncryptedToDr(vault), ebsToDr(ledger), ebsMonthlyArchive(ledger));
  run.notCopied.push({ id: scratch.id, why: 'tag backup=none matches no rule' });
}

/** Retention: one volume snapshotted night after night; the rule keeps the newest 2 copies. */
async function retentionPhase(run: Run): Promise<void> {
  const { sandbox, print } = run;
  print();
  print('Retention (ebs-to-dr keeps the newest 2 copies per volume): four nightly snapshots of one volume');
  const logsVolume = sandbox.ec2.createVolume(SOURCE, { sizeGiB: 16 });
  for (let night = 1; night <= 4; night += 1) {
    const snapshot = await createSnapshot(run, {
      label: `logs, night ${night}`,
      sizeGiB: 16,
      volumeId: logsVolume,
      description: `nightly logs backup ${night}`,
      tags: { backup: 'dr', team: 'web' },
    });
    print(describeCreated(snapshot));
    await sandbox.settle();
    run.expected.push(ebsToDr(snapshot));
  }
}

/**
 * AMIs: one baked and copied, then replaced by a new release of the same name. Returns the snapshots of
 * each AMI's copy, by source AMI, to check later that retention deleted them with the copy.
 */
async function amisPhase(run: Run): Promise<Map<string, string[]>> {
  const { sandbox, print } = run;
  print();
  print('AMIs (ami-to-dr keeps the newest copy per AMI name): a release, then its replacement');
  const instance = sandbox.ec2.createInstance(SOURCE, [
    sandbox.ec2.createVolume(SOURCE, { sizeGiB: 8 }),
    sandbox.ec2.createVolume(SOURCE, { sizeGiB: 24 }),
  ]);
  const copiedSnapshots = new Map<string, string[]>();
  let previous: SourceImage | undefined;
  for (const release of [1, 2]) {
    if (previous) {
      print(
        `  deregister-image ${previous.id} (release ${release - 1}) with its snapshots: release ${release} replaces it`,
      );
      const ImageId = previous.id;
      await userCall(() =>
        run.east.send(new DeregisterImageCommand({ ImageId, DeleteAssociatedSnapshots: true })),
      );
    }
    const image = await createImage(run, instance, release);
    await sandbox.settle();
    run.expected.push(amiToDr(image));
    for (const id of image.snapshotIds)
      run.notCopied.push({ id, why: `a snapshot of ${image.id}, without backup=dr` });
    await followImageCopies(run, image.id, copiedSnapshots);
    previous = image;
  }
  return copiedSnapshots;
}

/** A release of the web server's AMI, baked from the instance; the pipeline's lines follow its own. */
async function createImage(run: Run, instance: string, release: number): Promise<SourceImage> {
  const name = 'ferry-demo-web';
  const description = `web server, release ${release}`;
  const tags = { dr: 'true', app: 'web' };
  run.narrator.hold();
  const { ImageId = '' } = await userCall(() =>
    run.east.send(
      new CreateImageCommand({
        InstanceId: instance,
        Name: name,
        Description: description,
        TagSpecifications: [{ ResourceType: 'image', Tags: tagList(tags) }],
      }),
    ),
  );
  const { Images = [] } = await userCall(() =>
    run.east.send(new DescribeImagesCommand({ ImageIds: [ImageId] })),
  );
  const snapshotIds = Images[0] ? snapshotIdsOf(Images[0]) : [];
  run.narrator.release([
    `  create-image ${ImageId} "${name}" of ${instance} (8 + 24 GiB: snapshots ${snapshotIds.join(', ')}), ${tagText(tags)}`,
  ]);
  return { label: `web, release ${release}`, id: ImageId, name, description, tags, snapshotIds };
}

/** The copies of an AMI in us-west-2 as they stand, with the snapshots each is on (kept in `copiedSnapshots`). */
async function followImageCopies(
  run: Run,
  imageId: string,
  copiedSnapshots: Map<string, string[]>,
): Promise<void> {
  const { Images: copies = [] } = await userCall(() =>
    run.sandbox.ec2Client(DR).send(
      new DescribeImagesCommand({
        Owners: ['self'],
        Filters: [{ Name: `tag:${MARKER.sourceId}`, Values: [imageId] }],
      }),
    ),
  );
  for (const copy of copies) {
    const ids = snapshotIdsOf(copy);
    copiedSnapshots.set(imageId, ids);
    run.print(
      `    copy ${copy.ImageId} "${copy.Name}" in ${DR} is ${copy.State}, on snapshots ${ids.join(', ')}`,
    );
  }
}

/** A burst above EC2's copy limit: none may be lost, and never more than 20 copies may run at once. */
async function burstPhase(run: Run): Promise<Burst> {
  const { sandbox, narrator, print } = run;
  print();
  print(
    `Burst: ${BURST} snapshots of ${BURST} volumes at once (${BURST_GIB} GiB each, ${duration(copySeconds(BURST_GIB))} of copy), ` +
      `more than the ${COPY_LIMIT} copies EC2 runs at once per Region (one line per failure only)`,
  );
  narrator.mute(true);
  const start = sandbox.clock.now();
  const snapshots = await Promise.all(
    Array.from({ length: BURST }, (_, i) =>
      createSnapshot(run, {
        label: `batch ${i + 1}`,
        sizeGiB: BURST_GIB,
        description: `batch node ${i + 1} backup`,
        tags: BURST_TAGS,
      }),
    ),
  );
  print(
    `  create-snapshot ×${BURST} (${tagText(BURST_TAGS)}): ${snapshots[0]?.id} … ${snapshots.at(-1)?.id}`,
  );
  await sandbox.settle();
  const end = sandbox.clock.now();
  narrator.mute(false);
  print(`  every execution ended ${duration((end - start) / 1000)} after the snapshots were taken`);
  for (const snapshot of snapshots) run.expected.push({ ...ebsToDr(snapshot), burst: true });
  return { snapshots, start, end };
}

/** A snapshot created as a user (or AWS Backup) creates it: through the SDK, of a new volume or an earlier one. */
async function createSnapshot(run: Run, spec: SnapshotSpec): Promise<SourceSnapshot> {
  const encrypted = spec.encrypted ?? false;
  const volumeId =
    spec.volumeId ??
    run.sandbox.ec2.createVolume(SOURCE, {
      sizeGiB: spec.sizeGiB,
      ...(encrypted ? { encrypted, kmsKeyId: 'alias/ferry-prod' } : {}),
    });
  const { SnapshotId } = await userCall(() =>
    run.east.send(
      new CreateSnapshotCommand({
        VolumeId: volumeId,
        Description: spec.description,
        TagSpecifications: [{ ResourceType: 'snapshot', Tags: tagList(spec.tags) }],
      }),
    ),
  );
  return { ...spec, id: SnapshotId ?? '', volumeId, encrypted };
}

const describeCreated = (s: SourceSnapshot) =>
  `  create-snapshot ${s.id} of ${s.volumeId} (${s.label}: ${s.sizeGiB} GiB${s.encrypted ? ', encrypted under alias/ferry-prod' : ''}, "${s.description}", ${tagText(s.tags)})`;

/** The summary's figures about the burst. */
type BurstFigures = Omit<Ec2DemoSummary, 'expected' | 'planned' | 'verified' | 'pruned' | 'failed'>;

/** The burst, from its executions, from its copies as EC2 reports them, and from the fake's record of copies. */
function summarizeBurst(
  sandbox: Sandbox,
  burst: Burst,
  executions: readonly Execution[],
  found: Found,
): { figures: BurstFigures; succeeded: number } {
  const ids = new Set(burst.snapshots.map((s) => s.id));
  const burstExecutions = executions.filter((e) => ids.has(jobOf(e).source.id));
  const copies = (found.snapshots.get(DR) ?? []).filter((s) =>
    ids.has(tagMap(s.Tags)[MARKER.sourceId] ?? ''),
  );
  const lastCompletion = Math.max(burst.start, ...copies.map((s) => s.CompletionTime?.getTime() ?? 0));
  const figures: BurstFigures = {
    limitHits: burstExecutions.reduce((sum, e) => sum + limitHitsOf(e), 0),
    slotWaits: burstExecutions.reduce((sum, e) => sum + slotWaitsOf(e), 0),
    limitedExecutions: burstExecutions.filter((e) => limitHitsOf(e) > 0).length,
    peakConcurrentCopies: sandbox.ec2.peakConcurrentCopies(DR),
    burstCopiesSeconds: (lastCompletion - burst.start) / 1000,
    burstExecutionsSeconds: (burst.end - burst.start) / 1000,
    idealSeconds: Math.ceil(BURST / COPY_LIMIT) * copySeconds(BURST_GIB),
  };
  return { figures, succeeded: burstExecutions.filter((e) => e.status === 'SUCCEEDED').length };
}

/** ResourceLimitExceeded answers to an execution's StartCopy (each queues the copy for a slot). */
function limitHitsOf(execution: Execution): number {
  return execution.events.filter((event) => {
    if (event.type !== 'StateExited' || event.state.name !== 'StartCopy') return false;
    const copy = (event.state.output as { copy?: { state?: string; message?: string } }).copy;
    return copy?.state === 'queued' && String(copy.message).startsWith('ResourceLimitExceeded');
  }).length;
}

/** How often an execution waited for a slot (its copy refused, for the limit or throttling), timed or woken. */
const slotWaitsOf = (execution: Execution): number =>
  statesEnteredOf(execution).filter((state) => SLOT_WAIT_STATES.includes(state)).length;

/** Never above the copy limit, and every execution of the burst succeeded (or failed as injected). */
function burstChecks(burst: BurstFigures, succeeded: number, injectedFailures: number): Check[] {
  const peak = burst.peakConcurrentCopies;
  return [
    {
      ok: peak > 0 && peak <= COPY_LIMIT,
      label: `burst in ${DR}`,
      detail: `at most ${peak} copies in flight at once (EC2's limit: ${COPY_LIMIT}), read from the StartTime and CompletionTime of each copy there`,
    },
    {
      ok: burst.limitHits > 0 && succeeded + injectedFailures === BURST,
      label: `burst over the limit`,
      detail:
        `ResourceLimitExceeded answered ${burst.limitHits} StartCopy calls of ${burst.limitedExecutions} executions; ` +
        `each waited for a slot until EC2 started it: ${succeeded} of ${BURST} executions succeeded`,
    },
  ];
}

function printSummary(
  { sandbox, print }: Run,
  report: {
    checks: readonly Check[];
    summary: Ec2DemoSummary;
    executions: readonly Execution[];
    deadLetters: number;
    started: number;
  },
): void {
  const { summary, executions } = report;
  print();
  print(
    `EC2 summary, verified by reading every copy back (DescribeSnapshots, DescribeImages in ${DESTINATIONS.join(' and ')}):`,
  );
  printChecks(report.checks, print);
  const planned = summary.planned === summary.expected ? '' : ` (${summary.planned} had no copy failed)`;
  print(
    `Copies expected ${summary.expected}${planned} · verified ${summary.verified} · pruned ${summary.pruned} · ` +
      `failed ${summary.failed} · dead letters ${report.deadLetters}`,
  );
  print(
    `Burst of ${BURST}: ${summary.limitedExecutions} executions met ResourceLimitExceeded (${summary.limitHits} times; ${summary.slotWaits} waits for a slot) · ` +
      `peak ${summary.peakConcurrentCopies} copies at once · copies done in ${duration(summary.burstCopiesSeconds)}, executions in ` +
      `${duration(summary.burstExecutionsSeconds)} · ideal ⌈${BURST}/${COPY_LIMIT}⌉ × ${duration(copySeconds(BURST_GIB))} = ${duration(summary.idealSeconds)} ` +
      '(a copy refused for the limit waits until a copy in flight ends and wakes it, or at most until its turn in the slot queue)',
  );
  const byMachine = (machine: string, status: string) =>
    executions.filter((e) => e.stateMachine === machine && e.status === status).length;
  print(
    `State machines: snapshot-copy ${byMachine('snapshot-copy', 'SUCCEEDED')} succeeded, ${byMachine('snapshot-copy', 'FAILED')} failed · ` +
      `image-copy ${byMachine('image-copy', 'SUCCEEDED')} succeeded, ${byMachine('image-copy', 'FAILED')} failed · ` +
      `EC2 faults injected ${total(sandbox.ec2.faults.injected)} · ` +
      `virtual time of the EC2 part ${duration((sandbox.clock.now() - report.started) / 1000)}`,
  );
}
