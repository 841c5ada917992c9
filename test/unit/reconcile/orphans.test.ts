import {
  DeleteObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import { markersFor, readMarkers } from '#objects/markers';
import { orphanKeepReason, sourceKeyOf } from '#reconcile/orphans';
import { type ReconcileDeps, reconcile } from '#reconcile/reconcile';
import { decodeCursor, encodeCursor, mergeReports, type RuleReport } from '#reconcile/report';
import type { FerryConfig } from '#rules/config';
import { objectRulesOf } from '#rules/config';
import { configFrom, recordingLog, recordingMetrics, s3Error } from '#test/support/fixtures';
import { reportLines } from '../../../cli/backfill.ts';

/**
 * A lost "Object Deleted" event leaves a replica behind: reconcile sweeps each destination that replicates
 * deletes and removes Ferry's replicas of this rule whose source is gone — and nothing else.
 */

const CONFIG = configFrom(`
rules:
  - name: docs
    # logs writes inside docs' replica space (mirror/logs/): a shared key space needs an order.
    priority: 1
    objects: { bucket: acme-prod, prefix: docs/, suffix: .pdf }
    to:
      - bucket: acme-dr
        region: us-west-2
        keyPrefix: mirror/
        replicateDeletes: true
        replicateLifecycleDeletes: true
      - { bucket: acme-eu, region: eu-west-1 }
  - name: logs
    priority: 2
    objects: { bucket: acme-prod, prefix: logs/ }
    to:
      - { bucket: acme-dr, region: us-west-2, keyPrefix: mirror/logs/ }
`);
const [DOCS, LOGS] = objectRulesOf(CONFIG);
const rule = DOCS ?? ({} as never);
const DR = rule.to[0] ?? ({} as never);
const EU = rule.to[1] ?? ({} as never);
const T0 = new Date('2026-11-21T10:00:00Z');
const T1 = new Date('2026-11-21T11:00:00Z');

const replicaOf = (key: string, ruleName = 'docs', bucket = 'acme-prod') =>
  markersFor({ bucket, key, versionId: undefined, sequencer: undefined, rule: ruleName });
const markersOf = (key: string, ruleName = 'docs', bucket = 'acme-prod') =>
  readMarkers(replicaOf(key, ruleName, bucket));

describe('the orphan decision', () => {
  it('maps a destination key back to the source key of the rule, inside its key space only', () => {
    expect(sourceKeyOf(rule, DR, 'mirror/a b+ü.pdf')).toBe('docs/a b+ü.pdf');
    expect(sourceKeyOf(rule, DR, 'mirror/sub/c.pdf')).toBe('docs/sub/c.pdf');
    expect(sourceKeyOf(rule, EU, 'docs/c.pdf')).toBe('docs/c.pdf');
    expect(sourceKeyOf(rule, DR, 'mirror/c.txt')).toBeUndefined(); // the rule's suffix
    expect(sourceKeyOf(rule, DR, 'elsewhere/c.pdf')).toBeUndefined();
    expect(sourceKeyOf(rule, EU, 'mirror/c.pdf')).toBeUndefined();
  });

  it('is an orphan only for Ferry’s replica of this rule’s source, gone, where deletes are replicated', () => {
    const at = (key: string, markers = markersOf('docs/a.pdf')) => ({ key, markers });
    expect(orphanKeepReason(rule, DR, at('mirror/a.pdf'), false)).toBeUndefined();
    expect(orphanKeepReason(rule, DR, at('mirror/a.pdf'), true)).toBe('source-exists');
    // A user's object, without markers.
    expect(orphanKeepReason(rule, DR, { key: 'mirror/a.pdf', markers: undefined }, false)).toBe(
      'not-a-replica',
    );
    // Ferry's replica of another key, another source bucket, or written by another rule.
    expect(orphanKeepReason(rule, DR, at('mirror/a.pdf', markersOf('docs/b.pdf')), false)).toBe(
      'not-a-replica',
    );
    expect(
      orphanKeepReason(rule, DR, at('mirror/a.pdf', markersOf('docs/a.pdf', 'docs', 'acme-test')), false),
    ).toBe('not-a-replica');
    expect(orphanKeepReason(rule, DR, at('mirror/a.pdf', markersOf('docs/a.pdf', 'other')), false)).toBe(
      'other-rule',
    );
    // The logs rule writes under mirror/logs/: its replica there is not a docs replica.
    expect(orphanKeepReason(rule, DR, at('mirror/logs/x.pdf', markersOf('logs/x.pdf', 'logs')), false)).toBe(
      'other-rule',
    );
    // Outside the key space, or where deletes are not replicated.
    expect(orphanKeepReason(rule, DR, at('mirror/a.txt'), false)).toBe('outside-rule');
    expect(orphanKeepReason(rule, EU, at('docs/a.pdf'), false)).toBe('deletes-not-replicated');
    expect(LOGS?.to[0]?.replicateDeletes).toBe(false);
    // Deletes replicated, lifecycle expirations not: a source gone from the listing may have expired.
    const deletesOnly = { ...DR, replicateLifecycleDeletes: false };
    expect(orphanKeepReason(rule, deletesOnly, at('mirror/a.pdf'), false)).toBe('lifecycle-unknown');
  });
});

function depsWith(s3: S3Client, config: FerryConfig = CONFIG): ReconcileDeps {
  const common = { log: recordingLog(), metrics: recordingMetrics(), now: () => T1.getTime() };
  return {
    rules: config.rules,
    objects: {
      ...common,
      rules: objectRulesOf(config),
      s3: () => s3,
      multipartThreshold: 512 * 1024 * 1024,
      source: { region: 'us-east-1', account: '111122223333' },
    },
    ec2: { snapshots: {} as never, images: {} as never, now: common.now },
  };
}

const listing = (...keys: string[]) => ({
  IsTruncated: false,
  Contents: keys.map((Key) => ({ Key, Size: 1, ETag: '"abc"', LastModified: T0 })),
});
const current = (key: string) => ({ Metadata: replicaOf(key), ETag: '"abc"', LastModified: T1 });
const notFound = () => s3Error('NotFound', 404);

/** A source bucket with docs/keep.pdf, whose replicas are current, and the given destination objects. */
function world(destination: Record<string, Record<string, string> | undefined>) {
  const s3 = new S3Client({ region: 'us-east-1' });
  const mock = mockClient(s3);
  mock.on(ListObjectsV2Command, { Bucket: 'acme-prod' }).resolves(listing('docs/keep.pdf'));
  mock.on(ListObjectsV2Command, { Bucket: 'acme-dr' }).resolves(listing(...Object.keys(destination)));
  mock.on(HeadObjectCommand).rejects(notFound());
  // Reconcile compares a current replica's tags with its source's (src/reconcile/object-tags.ts): none here.
  mock.on(GetObjectTaggingCommand).resolves({ TagSet: [] });
  mock.on(HeadObjectCommand, { Bucket: 'acme-prod', Key: 'docs/keep.pdf' }).resolves({ ETag: '"abc"' });
  mock
    .on(HeadObjectCommand, { Bucket: 'acme-dr', Key: 'mirror/keep.pdf' })
    .resolves(current('docs/keep.pdf'));
  mock.on(HeadObjectCommand, { Bucket: 'acme-eu', Key: 'docs/keep.pdf' }).resolves(current('docs/keep.pdf'));
  for (const [key, metadata] of Object.entries(destination))
    if (key !== 'mirror/keep.pdf')
      mock
        .on(HeadObjectCommand, { Bucket: 'acme-dr', Key: key })
        .resolves({ Metadata: metadata ?? {}, ETag: '"abc"', LastModified: T0 });
  mock.on(DeleteObjectCommand).resolves({});
  return { s3, mock };
}

const deletedKeys = (mock: ReturnType<typeof mockClient>) =>
  mock
    .commandCalls(DeleteObjectCommand)
    .map((call) => `${call.args[0].input.Bucket}/${call.args[0].input.Key}`);
const headedSources = (mock: ReturnType<typeof mockClient>) =>
  mock
    .commandCalls(HeadObjectCommand)
    .map((call) => call.args[0].input)
    .filter((input) => input.Bucket === 'acme-prod')
    .map((input) => input.Key);

describe('a reconcile pass over a destination that replicates deletes', () => {
  it('deletes Ferry’s replica of a deleted source, and keeps every other object', async () => {
    const { s3, mock } = world({
      'mirror/gone.pdf': replicaOf('docs/gone.pdf'), // its delete event was lost
      'mirror/keep.pdf': replicaOf('docs/keep.pdf'), // the source was just listed: no request
      'mirror/mine.pdf': undefined, // a user's object, no markers
      'mirror/logs/x.pdf': replicaOf('logs/x.pdf', 'logs'), // the logs rule's replica
      'mirror/theirs.pdf': replicaOf('docs/theirs.pdf', 'docs', 'acme-test'), // another source bucket's
      'mirror/note.txt': replicaOf('docs/note.txt'), // outside the rule's suffix: never touched
    });
    const report = await reconcile({ rule: 'docs' }, depsWith(s3));

    expect(deletedKeys(mock)).toEqual(['acme-dr/mirror/gone.pdf']);
    expect(mock.commandCalls(DeleteObjectCommand)[0]?.args[0].input).toEqual({
      Bucket: 'acme-dr',
      Key: 'mirror/gone.pdf',
      ExpectedBucketOwner: undefined,
      IfMatch: '"abc"', // the replica as read: one rewritten meanwhile is not deleted
    });
    // The rule's key space at the destination that replicates deletes; not at the one that keeps replicas.
    const listings = mock.commandCalls(ListObjectsV2Command).map((call) => call.args[0].input);
    expect(listings.map(({ Bucket, Prefix }) => ({ Bucket, Prefix }))).toEqual([
      { Bucket: 'acme-prod', Prefix: 'docs/' },
      { Bucket: 'acme-dr', Prefix: 'mirror/' },
    ]);
    // A HEAD of the source for each candidate of the key space whose source the listing did not show.
    expect(headedSources(mock).sort()).toEqual([
      'docs/gone.pdf',
      'docs/logs/x.pdf',
      'docs/mine.pdf',
      'docs/theirs.pdf',
    ]);
    expect(report.rules).toEqual([
      {
        rule: 'docs',
        kind: 'objects',
        scanned: 1,
        missing: 0,
        stale: 0,
        sent: 0,
        skipped: 0,
        orphanedReplicas: { found: 1, deleted: 1 },
        failed: [],
      },
    ]);
    expect(report.next).toBeUndefined();
  });

  it('keeps a replica whose source was re-created since the listing', async () => {
    const { s3, mock } = world({ 'mirror/back.pdf': replicaOf('docs/back.pdf') });
    mock.on(HeadObjectCommand, { Bucket: 'acme-prod', Key: 'docs/back.pdf' }).resolves({ ETag: '"new"' });
    const report = await reconcile({ rule: 'docs' }, depsWith(s3));
    expect(headedSources(mock)).toEqual(['docs/back.pdf']);
    expect(deletedKeys(mock)).toEqual([]);
    expect(report.rules[0]?.orphanedReplicas).toEqual({ found: 0, deleted: 0 });
  });

  it('reports what it could not check or delete with the cause, and goes on', async () => {
    const { s3, mock } = world({
      'mirror/a.pdf': replicaOf('docs/a.pdf'), // the source cannot be read
      'mirror/b.pdf': replicaOf('docs/b.pdf'), // the delete is refused
      'mirror/c.pdf': replicaOf('docs/c.pdf'), // deleted
    });
    mock
      .on(HeadObjectCommand, { Bucket: 'acme-prod', Key: 'docs/a.pdf' })
      .rejects(s3Error('AccessDenied', 403));
    mock.on(DeleteObjectCommand, { Key: 'mirror/b.pdf' }).rejects(s3Error('AccessDenied', 403));
    const report = await reconcile({ rule: 'docs' }, depsWith(s3));
    expect(deletedKeys(mock).sort()).toEqual(['acme-dr/mirror/b.pdf', 'acme-dr/mirror/c.pdf']);
    expect(report.rules[0]?.orphanedReplicas).toEqual({ found: 2, deleted: 1 });
    expect(report.rules[0]?.failed).toEqual([
      {
        item: 's3://acme-dr/mirror/a.pdf (replica of s3://acme-prod/docs/a.pdf, deleted)',
        cause: expect.stringContaining('AccessDenied'),
      },
      {
        item: 's3://acme-dr/mirror/b.pdf (replica of s3://acme-prod/docs/b.pdf, deleted)',
        cause: expect.stringContaining('AccessDenied'),
      },
    ]);
    expect(report.next).toBeUndefined();
  });

  it('leaves every destination alone when no destination of the rule replicates deletes', async () => {
    const config = configFrom(`
rules:
  - name: docs
    # logs writes inside docs' replica space (mirror/logs/): a shared key space needs an order.
    priority: 1
    objects: { bucket: acme-prod, prefix: docs/, suffix: .pdf }
    to:
      - { bucket: acme-dr, region: us-west-2, keyPrefix: mirror/ }
`);
    const { s3, mock } = world({ 'mirror/gone.pdf': replicaOf('docs/gone.pdf') });
    const report = await reconcile({}, depsWith(s3, config));
    expect(mock.commandCalls(ListObjectsV2Command).map((call) => call.args[0].input.Bucket)).toEqual([
      'acme-prod',
    ]);
    expect(headedSources(mock)).toEqual([]);
    expect(deletedKeys(mock)).toEqual([]);
    expect(report.rules[0]).not.toHaveProperty('orphanedReplicas');
  });

  it('is bounded by limit and resumes the sweep where it stopped, HEADing sources it did not list', async () => {
    const { s3, mock } = world({});
    mock
      .on(ListObjectsV2Command, { Bucket: 'acme-dr' })
      .resolves({ IsTruncated: true, Contents: [{ Key: 'mirror/keep.pdf' }] });
    const first = await reconcile({ rule: 'docs', limit: 2 }, depsWith(s3));
    expect(mock.commandCalls(ListObjectsV2Command)[1]?.args[0].input).toMatchObject({
      Bucket: 'acme-dr',
      Prefix: 'mirror/',
      MaxKeys: 1,
    });
    expect(headedSources(mock)).toEqual([]); // docs/keep.pdf was listed in this pass
    expect(decodeCursor(first.next ?? '')).toEqual({
      rule: 'docs',
      destination: 0,
      after: 'mirror/keep.pdf',
    });

    mock.resetHistory();
    mock
      .on(ListObjectsV2Command, { Bucket: 'acme-dr' })
      .resolves({ IsTruncated: false, Contents: [{ Key: 'mirror/z.pdf' }] });
    const second = await reconcile({ rule: 'docs', limit: 2, resume: first.next }, depsWith(s3));
    // No source listing in this pass: the sweep goes on after the key it stopped at.
    expect(mock.commandCalls(ListObjectsV2Command).map((call) => call.args[0].input)).toEqual([
      { Bucket: 'acme-dr', Prefix: 'mirror/', MaxKeys: 2, StartAfter: 'mirror/keep.pdf' },
    ]);
    expect(headedSources(mock)).toEqual(['docs/z.pdf']);
    expect(second.next).toBeUndefined();

    // The budget spent on the source listing: the sweep starts in the next pass.
    mock.resetHistory();
    const spent = await reconcile({ rule: 'docs', limit: 1 }, depsWith(s3));
    expect(decodeCursor(spent.next ?? '')).toEqual({ rule: 'docs', destination: 0 });
    expect(encodeCursor({ rule: 'docs', destination: 0 })).toBe(spent.next);
  });
});

describe('the report of orphaned replicas', () => {
  const ruleReport = (found: number, deleted: number): RuleReport => ({
    rule: 'docs',
    kind: 'objects',
    scanned: 1,
    missing: 0,
    stale: 0,
    sent: 0,
    skipped: 0,
    orphanedReplicas: { found, deleted },
    failed: [],
  });

  it('adds up across passes and is printed by ferry backfill', () => {
    const merged = mergeReports([
      { rules: [ruleReport(2, 1)], next: 'a' },
      { rules: [ruleReport(1, 1)], next: undefined },
    ]);
    expect(merged.rules[0]?.orphanedReplicas).toEqual({ found: 3, deleted: 2 });
    expect(reportLines(merged)[0]).toBe(
      'rule docs (objects): scanned 2, missing 0, stale 0, sent 0, skipped 0, failed 0; ' +
        'replicas of deleted sources: found 3, deleted 2',
    );
  });
});
