import type { SoakReport } from './run.ts';

const seconds = (ms: number) => {
  const s = ms / 1000;
  if (s < 120) return `${s.toFixed(1)} s`;
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h} h ${m} min` : `${m} min ${Math.round(s % 60)} s`;
};

const pairs = (record: Record<string, number>) =>
  Object.entries(record)
    .sort(([, a], [, b]) => b - a)
    .map(([name, count]) => `${name} ${count}`)
    .join(', ') || 'none';

const table = (header: string[], rows: string[][]) =>
  [
    `| ${header.join(' | ')} |`,
    `| ${header.map(() => '---').join(' | ')} |`,
    ...rows.map((row) => `| ${row.map((cell) => cell.replaceAll('|', '\\|')).join(' | ')} |`),
  ].join('\n');

/** The soak's result as Markdown: the invariants, the RPO compliance per rule, then the counts. */
export function renderReport(report: SoakReport): string {
  const { items, faults, retries, throttles, limitHits, reconcile } = report;
  const invariants = table(
    ['invariant', 'expected', 'observed', ''],
    report.invariants.map((invariant) => [
      invariant.name,
      invariant.expected,
      invariant.observed,
      invariant.ok ? '✔' : '✘',
    ]),
  );
  const counts = table(
    ['count', 'value'],
    [
      [
        'objects',
        `${items.objectsWritten} keys written, ${items.overwrites} overwrites, ${items.deletes} deletes → ${items.finalSources} sources, ${sumStates(items.objectReplicas)} replicas expected`,
      ],
      [
        'deleted sources',
        `${items.deletedReplicas.removed} replicas removed (replicateDeletes; ${items.deletedReplicas.afterLostDelete} of them after their delete event was lost), ${items.deletedReplicas.lingering} left, ${items.deletedReplicas.kept} kept where deletes are not replicated, ${items.deletedReplicas.keptAfterLostDelete} kept after a lost delete event where lifecycle deletes are not replicated (reconcile cannot tell the two apart)`,
      ],
      [
        'expired sources (lifecycle)',
        `${items.expired} expired; replicas: ${items.expiredReplicas.outlived} kept where lifecycle deletes are not replicated, ${items.expiredReplicas.removed} removed where they are (${items.expiredReplicas.afterLostEvent} by reconcile after the event was lost), ${items.expiredReplicas.lost} lost, ${items.expiredReplicas.lingering} left`,
      ],
      [
        'limits',
        `refused with their named cause: ${pairs(items.refusalsByCause)}; ${items.compactMarkers.verified} of ${items.compactMarkers.expected} near-limit sources replicated with compact markers`,
      ],
      [
        'overwritten during their multipart copy',
        `${items.races.total} large objects, ${items.races.fired} overwrites made, ${items.races.newerFirst} newer replicas in place before the old copy's Complete, ${items.races.verified} replicas = current version`,
      ],
      [
        'versioned source bucket',
        `${items.versionedSources} keys (overwrites and delete markers among them)`,
      ],
      ['snapshots', `${items.snapshots} sources, ${sumStates(items.snapshotCopies)} copies expected`],
      ['AMIs', `${items.images} sources, ${sumStates(items.imageCopies)} copies expected`],
      ['S3 faults injected', pairs(faults.s3)],
      ['EC2 faults injected', pairs(faults.ec2)],
      ['events lost by the bus', pairs(faults.droppedEvents)],
      ['handler crashes (Lambda.Unknown)', String(faults.crashes)],
      [
        'retries',
        `SDK ${retries.sdk}; state machines: ${pairs(retries.stateMachine)}; the soak's own EC2 calls ${retries.soakDriver}`,
      ],
      [
        'throttles',
        `S3 SlowDown ${throttles.s3SlowDown} (injected); EC2 RequestLimitExceeded ${throttles.ec2RequestLimitExceeded} (${faults.ec2.throttle ?? 0} injected, the rest from EC2's request-rate buckets)`,
      ],
      [
        'copy limit',
        `ResourceLimitExceeded answered ${limitHits.resourceLimitExceeded} copy calls (queued and retried by the machines); most snapshot copies at once: ${pairs(limitHits.peakSnapshotCopies)} (limit 20)`,
      ],
      [
        'reconcile',
        `${reconcile.passes} passes in ${reconcile.rounds.length} rounds: ${reconcile.missing} missing, ${reconcile.stale} stale, ${reconcile.sent} sent (by round: ${reconcile.rounds.join(', ')}), ${reconcile.failed} failed (${pairs(reconcile.failedByCause)}), ${reconcile.listingFailures} listings failed for good (${reconcile.listingFailuresScripted} scripted); replicas of deleted sources: ${reconcile.orphanedReplicas.found} found, ${reconcile.orphanedReplicas.deleted} deleted`,
      ],
      [
        'executions',
        Object.entries(report.executions)
          .map(
            ([machine, { succeeded, failed, laterAttempts }]) =>
              `${machine} ${succeeded} succeeded / ${failed} failed${laterAttempts > 0 ? ` (${laterAttempts} later attempt${laterAttempts === 1 ? '' : 's'} of failed copies)` : ''}`,
          )
          .join('; '),
      ],
      ['failures by cause (items)', pairs(report.failuresByCause)],
      ['CopyFailures metric by cause', pairs(report.metricFailures)],
      ['dead letters', String(report.deadLetters)],
      [
        'RPO monitor passes',
        `failed ${pairs(report.rpoMonitorFailures)} (a lost scheduled run; the next window's pass goes on)`,
      ],
      [
        'duration',
        `${seconds(report.durations.wallMs)} wall, ${seconds(report.durations.virtualMs)} virtual`,
      ],
    ],
  );
  const rpo = table(
    [
      'rule',
      'RPO',
      'items verified',
      'within RPO',
      'p50',
      'p99',
      'max',
      'over',
      'of them after a lost event (found by reconcile)',
      'missed events (distinct id)',
      'of them never verified',
      'within after a failed attempt (no event)',
      'completed-after events',
      'invariant',
    ],
    report.rpo.map((rule) => [
      rule.rule,
      rule.rpo,
      String(rule.verified),
      rule.verified === 0 ? '—' : `${((100 * rule.within) / rule.verified).toFixed(1)} %`,
      seconds(rule.p50Ms),
      seconds(rule.p99Ms),
      seconds(rule.maxMs),
      String(rule.over),
      String(rule.overAfterLostEvent),
      String(rule.missedEvents),
      String(rule.missedUnverified),
      String(rule.retriedWithin),
      String(rule.completedAfterEvents),
      rule.violations.length === 0 ? '✔' : `✘ ${rule.violations.slice(0, 3).join('; ')}`,
    ]),
  );
  const problems =
    report.problems.length === 0
      ? ''
      : `\n\nProblems (first 20 of ${report.problems.length}):\n${report.problems
          .slice(0, 20)
          .map((problem) => `- ${problem.state}: ${problem.item}: ${problem.detail}`)
          .join('\n')}`;
  return `${invariants}\n\nRPO compliance per rule (virtual time):\n\n${rpo}\n\n${counts}${problems}`;
}

const sumStates = (states: Record<string, number>) => Object.values(states).reduce((a, b) => a + b, 0);
