import { PATIENT_MAX_ATTEMPTS } from '#foundation/aws-clients';
import type { Delivery } from '#local/event-bus';
import { type Sandbox, startSandbox } from '#local/sandbox';
import type { ReconcileReport } from '#reconcile/report';
import {
  COPY_BYTES_PER_SECOND,
  SOAK_CONFIG,
  SOURCE_BUCKET,
  type SoakOptions,
  VERSIONED_BUCKET,
} from './options.ts';
import { type RpoRuleFigures, rpoCompliance } from './rpo.ts';
import { type ItemState, type Verification, verify } from './verify.ts';
import { expireWork, runWorkload, type Workload } from './workload.ts';

export interface Invariant {
  name: string;
  expected: string;
  observed: string;
  ok: boolean;
}

export interface SoakReport {
  options: Omit<SoakOptions, 'log'>;
  ok: boolean;
  invariants: Invariant[];
  items: {
    objectsWritten: number;
    overwrites: number;
    deletes: number;
    finalSources: number;
    objectReplicas: Record<ItemState, number>;
    deletedReplicas: Verification['deletes'];
    /** Sources a lifecycle rule expired, and what became of their replicas. */
    expired: number;
    expiredReplicas: Verification['expirations'];
    /** Replicas over S3's limits by design, refused with their named cause, by cause. */
    refusalsByCause: Record<string, number>;
    /** Sources that fit only with compact markers, and their replicas verified with them. */
    compactMarkers: Verification['compact'];
    /** Large objects overwritten during their multipart copy. */
    races: Verification['races'];
    versionedSources: number;
    snapshots: number;
    snapshotCopies: Record<ItemState, number>;
    images: number;
    imageCopies: Record<ItemState, number>;
  };
  faults: {
    s3: Record<string, number>;
    ec2: Record<string, number>;
    droppedEvents: Record<string, number>;
    crashes: number;
  };
  retries: { sdk: number; stateMachine: Record<string, number>; soakDriver: number };
  /** Throttling answers: S3 SlowDown (all injected), EC2 RequestLimitExceeded (injected or its token buckets). */
  throttles: { s3SlowDown: number; ec2RequestLimitExceeded: number };
  /** EC2's concurrent-copy limits: ResourceLimitExceeded answers, and the most snapshot copies at once. */
  limitHits: { resourceLimitExceeded: number; peakSnapshotCopies: Record<string, number> };
  reconcile: {
    passes: number;
    missing: number;
    stale: number;
    sent: number;
    failed: number;
    /** Replicas of deleted sources (lost delete events) reconcile found and deleted. */
    orphanedReplicas: { found: number; deleted: number };
    /** The causes of the items reconcile could not send, by error name (failed listings apart). */
    failedByCause: Record<string, number>;
    /**
     * Listings that still failed after their patient retries (named in their rule's report; the round went
     * on from the pass's `next`), and how many the soak scripted (the first round's source listing).
     */
    listingFailures: number;
    listingFailuresScripted: number;
    /** Items sent by each round; the last is 0 once reconcile has caught up. */
    rounds: number[];
  };
  /** Per state machine; `laterAttempts`: executions started as attempt 2 or 3 of a copy whose earlier one failed. */
  executions: Record<string, { succeeded: number; failed: number; laterAttempts: number }>;
  failuresByCause: Record<string, number>;
  /** Ferry's own CopyFailures metric, by cause (what it claimed; the invariants do not rely on it). */
  metricFailures: Record<string, number>;
  deadLetters: number;
  problems: Verification['problems'];
  /** Scheduled RPO monitor passes that failed (each lost, as a failed scheduled run in AWS), by error. */
  rpoMonitorFailures: Record<string, number>;
  /** RPO compliance per rule with an `rpo` (soak/rpo.ts). */
  rpo: RpoRuleFigures[];
  durations: { wallMs: number; virtualMs: number };
}

const tally = (names: readonly string[]) => {
  const counts: Record<string, number> = {};
  for (const name of names) counts[name] = (counts[name] ?? 0) + 1;
  return counts;
};

const sum = (values: Iterable<number>) => [...values].reduce((total, value) => total + value, 0);

/** The mid-multipart crash, and the one before the Complete of each `complete` race. */
export const expectedCrashes = (workload: Workload) =>
  (workload.crashKey ? 1 : 0) + workload.races.filter((race) => race.stage === 'complete').length;

/** Every pass of one reconcile round (to the end of every rule), each followed by a settle. */
async function reconcileRound(sandbox: Sandbox): Promise<ReconcileReport[]> {
  const reports: ReconcileReport[] = [];
  let resume: string | undefined;
  do {
    const report = await sandbox.reconcile(resume ? { resume } : {});
    await sandbox.settle();
    reports.push(report);
    resume = report.next;
  } while (resume !== undefined && reports.length < 100);
  return reports;
}

function invariants(
  verification: Verification,
  sandbox: Sandbox,
  workload: Workload,
  reconcileRounds: number[],
  rpo: RpoRuleFigures[],
  listings: { failed: number; scripted: number },
): Invariant[] {
  const { objects, snapshots, images } = verification;
  const row = (name: string, expected: string, observed: number | string, ok: boolean): Invariant => ({
    name,
    expected,
    observed: String(observed),
    ok,
  });
  const itemTotal = (states: Record<ItemState, number>) => sum(Object.values(states));
  const accounted = (states: Record<ItemState, number>) =>
    states.verified + states['failed-reported'] + states.refused;
  const all = [objects, snapshots, images];
  const silent = sum(all.map((states) => states['silent-loss']));
  const duplicates = snapshots.duplicate + images.duplicate;
  const rpoViolations = sum(rpo.map((rule) => rule.violations.length));
  return [
    row(
      'objects: replicated and verified, or failed with a cause',
      `${itemTotal(objects)} of ${itemTotal(objects)}`,
      `${accounted(objects)} (${objects.verified} verified, ${objects['failed-reported']} failed, ${objects.refused} refused by a limit)`,
      accounted(objects) === itemTotal(objects),
    ),
    row(
      'snapshots: copied and completed, or failed with a cause',
      `${itemTotal(snapshots)} of ${itemTotal(snapshots)}`,
      `${accounted(snapshots)} (${snapshots.verified} verified, ${snapshots['failed-reported']} failed)`,
      accounted(snapshots) === itemTotal(snapshots),
    ),
    row(
      'AMIs: copied and available, or failed with a cause',
      `${itemTotal(images)} of ${itemTotal(images)}`,
      `${accounted(images)} (${images.verified} verified, ${images['failed-reported']} failed)`,
      accounted(images) === itemTotal(images),
    ),
    row('silent losses (neither copied nor reported failed)', '0', silent, silent === 0),
    row('duplicate snapshot / AMI copies', '0', duplicates, duplicates === 0),
    row(
      'copies of sources no rule matches',
      '0',
      verification.unexpectedCopies,
      verification.unexpectedCopies === 0,
    ),
    row('stale overwrites (replica ≠ latest source version)', '0', objects.stale, objects.stale === 0),
    row('replicas with wrong markers', '0', objects['wrong-markers'], objects['wrong-markers'] === 0),
    row(
      'replicas left after their source was deleted (delete event delivered or lost)',
      '0',
      verification.deletes.lingering,
      verification.deletes.lingering === 0,
    ),
    row(
      'replicas kept where lifecycle deletes are not replicated, after their source expired',
      `${verification.expirations.outlived + verification.expirations.lost}`,
      verification.expirations.outlived,
      verification.expirations.lost === 0,
    ),
    row(
      'replicas left after a lifecycle expiration where that is replicated',
      '0',
      verification.expirations.lingering,
      verification.expirations.lingering === 0,
    ),
    row(
      'sources over S3 limits (metadata, tags) refused with their named cause, no replica',
      String(workload.expectedRefusals.size === 0 ? 0 : objects.refused + objects['wrong-refusal']),
      objects.refused,
      objects['wrong-refusal'] === 0,
    ),
    row(
      'sources near the metadata limit replicated with compact markers',
      String(verification.compact.expected),
      verification.compact.verified,
      verification.compact.verified === verification.compact.expected,
    ),
    row(
      'large objects overwritten during their multipart copy: replica = current version',
      `${verification.races.total} of ${verification.races.total}`,
      `${verification.races.verified} (${verification.races.fired} overwrites made, ${verification.races.newerFirst} newer replicas before the Complete)`,
      verification.races.verified === verification.races.total &&
        verification.races.fired === verification.races.total,
    ),
    row(
      'objects in destinations no source accounts for',
      '0',
      verification.strays,
      verification.strays === 0,
    ),
    row('orphaned multipart uploads', '0', verification.orphanedUploads, verification.orphanedUploads === 0),
    row(
      'failed EC2 copies left in a destination',
      '0',
      verification.leftBehind,
      verification.leftBehind === 0,
    ),
    row(
      'the handler crashes happened (one mid-multipart, one before each raced Complete)',
      String(expectedCrashes(workload)),
      sandbox.crashes.crashed.length,
      sandbox.crashes.crashed.length === expectedCrashes(workload),
    ),
    row(
      'RPO events: a missed id exactly per item not verified within its RPO (a completion id too when verified late), none within it',
      '0',
      `${rpoViolations} (${sum(rpo.map((rule) => rule.over))} items over, ${sum(rpo.map((rule) => rule.within))} within, in ${rpo.length} rules)`,
      rpoViolations === 0,
    ),
    row('executions still running', '0', sandbox.stepFunctions.running, sandbox.stepFunctions.running === 0),
    row(
      'reconcile listings that failed for good: named in the report, the round went on from the pass’s next',
      `at least ${listings.scripted}`,
      listings.failed,
      listings.failed >= listings.scripted,
    ),
    row(
      'reconcile converged: its last round found nothing to send',
      '0',
      reconcileRounds.at(-1) ?? '—',
      reconcileRounds.at(-1) === 0,
    ),
  ];
}

/**
 * One soak: a sandbox with the soak's rules and faults, the workload (objects with overwrites and
 * deletes, snapshots, AMIs, all at once), a settle, reconcile rounds for what the lost events left out,
 * then the final state read back and checked.
 */
export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  const log = options.log ?? (() => undefined);
  const started = Date.now();
  const deliveries: Delivery[] = [];
  const sandbox = await startSandbox({
    config: SOAK_CONFIG,
    port: 0,
    seed: options.seed,
    ec2: { copyBytesPerSecond: COPY_BYTES_PER_SECOND },
    onDelivery: (delivery) => {
      if (delivery.target === 'object-created' || delivery.target === 'object-deleted')
        deliveries.push(delivery);
    },
  });
  const skippedStart = sandbox.clock.skippedMs;
  let stopMonitor: () => void = () => undefined;
  let stopSweep: () => void = () => undefined;
  try {
    const { faults } = options;
    sandbox.faults.setRates({
      slowdown: faults.slowdown,
      embedded: faults.embedded / 2,
      'embedded-newline': faults.embedded / 2,
    });
    sandbox.ec2.faults.setRates({ throttle: faults.throttle, 'copy-error': faults.copyError });
    // Beside the rate, one snapshot copy and one AMI copy fail for sure, so even a small run has both.
    if (faults.copyError > 0) {
      sandbox.ec2.faults.script('CopySnapshot', 'copy-error');
      sandbox.ec2.faults.script('CopyImage', 'copy-error');
    }
    sandbox.bus.setDropRate(faults.drop);

    log(`workload: ${options.objects} objects, ${options.snapshots} snapshots, ${options.images} AMIs`);
    // The backlog monitor's passes, at each window's end, as its schedule runs it.
    stopMonitor = sandbox.rpoMonitor.start();
    // And the hourly copy sweep, as deployed: the copies whose completion event the bus lost end by it.
    stopSweep = sandbox.copySweep.start();
    const workload = await runWorkload(sandbox, options);
    log('settling (every event handled, every execution ended)…');
    await sandbox.settle();
    log(
      `  settled after ${((Date.now() - started) / 1000).toFixed(1)} s; ${sandbox.bus.dropped.length} events were lost`,
    );
    // Later, lifecycle rules expire some sources whose replicas are made.
    await expireWork(sandbox, options, workload);
    await sandbox.settle();

    // The scheduled reconcile, as it would run after the burst: the lost events' items are found there.
    // Its own requests are not faulted beyond what the rates do to copies and EC2 calls, but for one source
    // listing throttled past its patient retries: the first pass names it, the round goes on from `next`.
    const listingFailuresScripted = faults.slowdown > 0 ? 1 : 0;
    if (listingFailuresScripted > 0)
      sandbox.faults.scriptFor(
        SOURCE_BUCKET,
        'ListObjectsV2',
        ...Array.from({ length: PATIENT_MAX_ATTEMPTS }, () => 'slowdown' as const),
      );
    const reconciles: ReconcileReport[] = [];
    const rounds: number[] = [];
    // Until a round finds nothing to send: one of its copies may meet an injected failure again.
    while (rounds.length < options.maxReconcileRounds && rounds.at(-1) !== 0) {
      const passes = await reconcileRound(sandbox);
      reconciles.push(...passes);
      const sent = sum(passes.flatMap((pass) => pass.rules.map((rule) => rule.sent)));
      rounds.push(sent);
      log(`reconcile round ${rounds.length}: ${passes.length} passes, ${sent} items sent`);
    }
    await sandbox.settle();
    stopMonitor();
    stopSweep();

    // The checks read the final state without faults in the way.
    sandbox.faults.clear();
    sandbox.ec2.faults.clear();
    log('verifying the final state…');
    const verification = await verify(sandbox, workload, deliveries, reconciles);
    const rpo = rpoCompliance(sandbox, SOAK_CONFIG);
    const reconcileRules = reconciles.flatMap((report) => report.rules);
    const failures = reconcileRules.flatMap((rule) => rule.failed);
    const listingFailures = failures.filter((failure) => failure.listing).length;
    const rows = invariants(verification, sandbox, workload, rounds, rpo, {
      failed: listingFailures,
      scripted: listingFailuresScripted,
    });

    const executions: SoakReport['executions'] = {};
    const stateMachineRetries: Record<string, number> = {};
    for (const execution of sandbox.stepFunctions.executions.values()) {
      const entry = executions[execution.stateMachine] ?? { succeeded: 0, failed: 0, laterAttempts: 0 };
      executions[execution.stateMachine] = entry;
      if (execution.status === 'SUCCEEDED') entry.succeeded += 1;
      if (execution.status === 'FAILED') entry.failed += 1;
      if (((execution.input as { attempt?: number }).attempt ?? 1) > 1) entry.laterAttempts += 1;
      stateMachineRetries[execution.stateMachine] =
        (stateMachineRetries[execution.stateMachine] ?? 0) + sum(execution.retries.values());
    }
    const droppedEvents: Record<string, number> = {};
    for (const event of sandbox.bus.dropped) {
      const type = (event as { 'detail-type'?: string })['detail-type'] ?? 'unknown';
      droppedEvents[type] = (droppedEvents[type] ?? 0) + 1;
    }
    const writes = sum(workload.writes.values());
    const { log: _, ...reportedOptions } = options;
    const report: SoakReport = {
      options: reportedOptions,
      ok: rows.every((invariant) => invariant.ok),
      invariants: rows,
      items: {
        objectsWritten: workload.writes.size,
        overwrites: writes - workload.writes.size,
        deletes: workload.deleted.size,
        finalSources: workload.writes.size - workload.deleted.size,
        objectReplicas: verification.objects,
        deletedReplicas: verification.deletes,
        expired: workload.expired.size,
        expiredReplicas: verification.expirations,
        refusalsByCause: Object.fromEntries(verification.refusalsByCause),
        compactMarkers: verification.compact,
        races: verification.races,
        versionedSources: [...workload.writes.keys()].filter((id) => id.startsWith(`${VERSIONED_BUCKET}/`))
          .length,
        snapshots: workload.snapshots.length,
        snapshotCopies: verification.snapshots,
        images: workload.images.length,
        imageCopies: verification.images,
      },
      faults: {
        s3: Object.fromEntries(sandbox.faults.injected),
        ec2: Object.fromEntries(sandbox.ec2.faults.injected),
        droppedEvents,
        crashes: sandbox.crashes.crashed.length,
      },
      retries: {
        sdk: sandbox.sdkRetries,
        stateMachine: stateMachineRetries,
        soakDriver: workload.driverRetries,
      },
      throttles: {
        s3SlowDown: sandbox.faults.injected.get('slowdown') ?? 0,
        ec2RequestLimitExceeded: sandbox.ec2.errors.get('RequestLimitExceeded') ?? 0,
      },
      limitHits: {
        resourceLimitExceeded: sandbox.ec2.errors.get('ResourceLimitExceeded') ?? 0,
        peakSnapshotCopies: Object.fromEntries(
          ['us-west-2', 'eu-west-1'].map((region) => [region, sandbox.ec2.peakConcurrentCopies(region)]),
        ),
      },
      reconcile: {
        passes: reconciles.length,
        missing: sum(reconcileRules.map((rule) => rule.missing)),
        stale: sum(reconcileRules.map((rule) => rule.stale)),
        sent: sum(reconcileRules.map((rule) => rule.sent)),
        failed: failures.length - listingFailures,
        orphanedReplicas: {
          found: sum(reconcileRules.map((rule) => rule.orphanedReplicas?.found ?? 0)),
          deleted: sum(reconcileRules.map((rule) => rule.orphanedReplicas?.deleted ?? 0)),
        },
        failedByCause: tally(
          failures.flatMap((failure) => (failure.listing ? [] : [failure.cause.split(':')[0] ?? ''])),
        ),
        listingFailures,
        listingFailuresScripted,
        rounds,
      },
      executions,
      failuresByCause: Object.fromEntries(verification.failuresByCause),
      metricFailures: Object.fromEntries(sandbox.metrics.failures),
      deadLetters: sandbox.bus.deadLetters.length,
      problems: verification.problems,
      rpo,
      rpoMonitorFailures: tally(sandbox.rpoMonitor.failures.map((error) => error.name)),
      durations: {
        wallMs: Date.now() - started,
        virtualMs: Date.now() - started + (sandbox.clock.skippedMs - skippedStart),
      },
    };
    return report;
  } finally {
    stopMonitor();
    stopSweep();
    await sandbox.stop();
  }
}
