import { beforeAll, describe, expect, it } from 'vitest';
import { SMALL_SOAK, SOAK_CONFIG } from '#soak/options';
import { runSoak, type SoakReport } from '#soak/run';
import { renderReport } from '#soak/table';

/**
 * The CI-sized soak (`npm run soak -- --small`): objects with overwrites and deletes (large ones overwritten
 * during their multipart copy, a versioned bucket, lifecycle expirations, sources near S3's metadata and
 * tag limits), snapshots and AMIs,
 * all under the full set of injected faults, then reconcile and a check of the final state. Every
 * invariant must hold, and every kind of fault must really have been injected, so it cannot pass vacuously.
 */

let report: SoakReport;

beforeAll(async () => {
  report = await runSoak(SMALL_SOAK);
}, 150_000);

describe('soak (small)', () => {
  it('holds every invariant', () => {
    const failed = report.invariants.filter((invariant) => !invariant.ok);
    expect(failed, renderReport(report)).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.problems).toEqual([]);
  });

  it('accounts for every item: verified or failed with a cause, none lost, none doubled, none stale', () => {
    const { items } = report;
    for (const states of [items.objectReplicas, items.snapshotCopies, items.imageCopies]) {
      expect(states['silent-loss']).toBe(0);
      expect(states.stale).toBe(0);
      expect(states.duplicate).toBe(0);
      expect(states['wrong-markers']).toBe(0);
      expect(states.verified).toBeGreaterThan(0);
    }
    // The docs/ and large/ objects the options name, and the kinds beside them.
    expect(items.objectsWritten).toBeGreaterThan(SMALL_SOAK.objects);
    expect(items.versionedSources).toBeGreaterThan(0);
    expect(items.overwrites).toBeGreaterThan(0);
    expect(items.deletes).toBeGreaterThan(0);
    expect(items.deletedReplicas.removed).toBeGreaterThan(0);
    expect(items.deletedReplicas.lingering).toBe(0);
    // Replicas left by lost delete events: reconcile found them and deleted every one.
    const orphans = report.reconcile.orphanedReplicas;
    expect(orphans.deleted).toBe(orphans.found);
    expect(orphans.deleted).toBeLessThanOrEqual(report.faults.droppedEvents['Object Deleted'] ?? 0);
    // A replica reconcile deleted is one whose source is gone and whose event was lost: a delete's, or a
    // lifecycle expiration's (where the destination replicates those).
    expect(
      items.deletedReplicas.afterLostDelete + items.expiredReplicas.afterLostEvent,
    ).toBeGreaterThanOrEqual(orphans.deleted);
    expect(items.snapshots).toBe(SMALL_SOAK.snapshots);
    expect(items.images).toBe(SMALL_SOAK.images);
    // Every failure counted is one with a cause someone can read.
    const failedItems =
      items.objectReplicas['failed-reported'] +
      items.snapshotCopies['failed-reported'] +
      items.imageCopies['failed-reported'];
    expect(Object.values(report.failuresByCause).reduce((a, b) => a + b, 0)).toBe(failedItems);
    expect(Object.keys(report.failuresByCause)).not.toContain('Unknown');
  });

  it('really injected every kind of fault', () => {
    expect(report.faults.s3.slowdown).toBeGreaterThan(0);
    expect(report.faults.s3.embedded).toBeGreaterThan(0);
    expect(report.faults.s3['embedded-newline']).toBeGreaterThan(0);
    expect(report.faults.ec2.throttle).toBeGreaterThan(0);
    expect(report.faults.ec2['copy-error']).toBeGreaterThan(0);
    expect(Object.values(report.faults.droppedEvents).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    // The mid-multipart crash, and one before each raced Complete.
    expect(report.faults.crashes).toBe(3);
    expect(report.limitHits.resourceLimitExceeded).toBeGreaterThan(0);
    expect(report.limitHits.peakSnapshotCopies['us-west-2']).toBe(20);
    expect(report.retries.sdk).toBeGreaterThan(0);
  });

  it('recovers lost events and failed EC2 copies with reconcile (a later attempt of the copy)', () => {
    expect(report.reconcile.sent).toBeGreaterThan(0);
    // Rounds went on until one found nothing more to send (a copy a round sends may fail again under
    // the faults, and the next round sends it), within the most allowed.
    expect(report.reconcile.rounds.at(-1)).toBe(0);
    // What reconcile could not send is only what S3 cannot take (over its limits), never sent again.
    expect(Object.keys(report.reconcile.failedByCause).sort()).toEqual(['MetadataTooLarge', 'TooManyTags']);
    // A source listing throttled past its patient retries was named, not thrown: the rounds went on.
    expect(report.reconcile.listingFailuresScripted).toBe(1);
    expect(report.reconcile.listingFailures).toBeGreaterThanOrEqual(1);
    // EC2 copy errors failed their executions; reconcile found those copies missing and started the next
    // attempt, which completed (the invariants above count each such item once, verified).
    const ec2 = [report.executions['snapshot-copy'], report.executions['image-copy']];
    const failedExecutions = ec2.reduce((total, entry) => total + (entry?.failed ?? 0), 0);
    const laterAttempts = ec2.reduce((total, entry) => total + (entry?.laterAttempts ?? 0), 0);
    expect(failedExecutions).toBeGreaterThan(0);
    // A drawn copy-error can land on a call EC2 refuses anyway (the copy limit): at most one failure each.
    expect(failedExecutions).toBeLessThanOrEqual(report.faults.ec2['copy-error'] ?? 0);
    expect(laterAttempts).toBeGreaterThan(0);
    expect(laterAttempts).toBeLessThanOrEqual(failedExecutions);
    const copyFailures =
      report.items.snapshotCopies['failed-reported'] + report.items.imageCopies['failed-reported'];
    expect(copyFailures).toBeLessThanOrEqual(failedExecutions - laterAttempts);
  });

  it('reports RPO compliance per rule with an rpo, and every missed and completion event matches an item over its RPO', () => {
    const rpoRules = SOAK_CONFIG.rules.filter((rule) => rule.rpo !== undefined).map((rule) => rule.name);
    expect(report.rpo.map((rule) => rule.rule)).toEqual(rpoRules);
    for (const rule of report.rpo) {
      expect(rule.violations, rule.rule).toEqual([]);
      expect(rule.verified).toBe(rule.within + rule.over);
      expect(rule.completedAfterEvents).toBe(rule.over);
      // A missed event comes exactly for the items not verified within their RPO: none for an item within.
      expect(rule.missedEvents).toBe(rule.over + rule.missedUnverified);
      expect(rule.retriedWithin).toBeLessThanOrEqual(rule.within);
      expect(rule.maxMs).toBeGreaterThanOrEqual(rule.p99Ms);
      expect(rule.p99Ms).toBeGreaterThanOrEqual(rule.p50Ms);
    }
    // The tight rule is missed under the faults, so the invariant is not met vacuously.
    const byName = new Map(report.rpo.map((rule) => [rule.rule, rule]));
    expect(byName.get('ebs-dr')?.over).toBeGreaterThan(0);
    // The generous hour holds for every versioned object whose event came, whatever else the faults did. One
    // whose event was lost waits for reconcile, which here runs once every copy has ended: hours of virtual
    // time when a snapshot copy's completion event was lost too (the safety check). Which events are lost
    // depends on the order they are published in, so their number varies from run to run.
    const versioned = byName.get('versioned');
    expect(versioned?.within).toBeGreaterThan(0);
    expect(versioned?.over).toBe(versioned?.overAfterLostEvent);
    const invariant = report.invariants.find((row) => row.name.startsWith('RPO events'));
    expect(invariant?.ok).toBe(true);
    // The table has one row per rule with an rpo.
    const rows = renderReport(report)
      .split('\n')
      .filter((line) => rpoRules.some((name) => line.startsWith(`| ${name} | `)));
    expect(rows).toHaveLength(rpoRules.length);
  });

  it('overwrites large objects during their multipart copy, and each replica ends as the current version', () => {
    const { races } = report.items;
    expect(races.total).toBe(5);
    expect(races.fired).toBe(races.total);
    expect(races.verified).toBe(races.total);
    // At least one old copy's Complete met the newer replica its overwrite's fast path had written.
    expect(races.newerFirst).toBeGreaterThan(0);
    expect(report.items.objectReplicas.stale).toBe(0);
  });

  it('keeps a DR copy after a lifecycle expiration unless the destination replicates those, which removes it', () => {
    const { expired, expiredReplicas } = report.items;
    expect(expired).toBeGreaterThan(0);
    expect(expiredReplicas.outlived).toBeGreaterThan(0);
    expect(expiredReplicas.removed).toBeGreaterThan(0);
    expect(expiredReplicas.lost).toBe(0);
    expect(expiredReplicas.lingering).toBe(0);
  });

  it('refuses sources over the metadata and tag limits by name, and replicates those that fit with compact markers', () => {
    const { refusalsByCause, compactMarkers, objectReplicas } = report.items;
    expect(refusalsByCause.MetadataTooLarge).toBeGreaterThan(0);
    expect(refusalsByCause.TooManyTags).toBeGreaterThan(0);
    expect(objectReplicas.refused).toBe(
      (refusalsByCause.MetadataTooLarge ?? 0) + (refusalsByCause.TooManyTags ?? 0),
    );
    expect(objectReplicas['wrong-refusal']).toBe(0);
    expect(compactMarkers.expected).toBeGreaterThan(0);
    expect(compactMarkers.verified).toBe(compactMarkers.expected);
    // Counted by Ferry's own metric too.
    expect(report.metricFailures.MetadataTooLarge).toBeGreaterThan(0);
    expect(report.metricFailures.TooManyTags).toBeGreaterThan(0);
  });
});
