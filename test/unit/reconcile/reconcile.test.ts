import {
  GetObjectTaggingCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import { createPowertools } from '#foundation/observability/powertools';
import { ObjectCreatedEventSchema, sourceObjectOf } from '#objects/event';
import { markersFor } from '#objects/markers';
import { InvalidResumeTokenError } from '#reconcile/errors';
import { createReconcileHandler } from '#reconcile/handler';
import { objectCreatedEventOf, replicaStateOf } from '#reconcile/objects';
import { type ReconcileDeps, reconcile } from '#reconcile/reconcile';
import { decodeCursor, emptyRuleReport, encodeCursor, missingBucketOf } from '#reconcile/report';
import { objectRulesOf } from '#rules/config';
import { configFrom, lambdaContext, recordingLog, recordingMetrics, s3Error } from '#test/support/fixtures';
import { reportLines } from '../../../cli/backfill.ts';

const CONFIG = configFrom(`
rules:
  - name: docs
    objects: { bucket: acme-prod, prefix: docs/, suffix: .pdf }
    to:
      - { bucket: acme-dr, region: us-west-2, keyPrefix: mirror/ }
`);
const [RULE] = objectRulesOf(CONFIG);
const DESTINATION = RULE?.to[0] ?? ({} as never);
const T0 = new Date('2026-11-21T10:00:00Z');
const T1 = new Date('2026-11-21T11:00:00Z');
const listed = { bucket: 'acme-prod', key: 'docs/a b+ü.pdf', size: 5, etag: '"abc"', lastModified: T0 };
const markers = markersFor({
  bucket: 'acme-prod',
  key: listed.key,
  versionId: undefined,
  sequencer: undefined,
  rule: 'docs',
});

describe('the replica decision', () => {
  it('is missing without a replica, current for Ferry’s replica of this version, stale otherwise', () => {
    expect(replicaStateOf(undefined, listed, DESTINATION)).toBe('missing');
    expect(replicaStateOf({ Metadata: markers, ETag: '"abc"', LastModified: T1 }, listed, DESTINATION)).toBe(
      'current',
    );
    // Not Ferry's, or Ferry's replica of another source.
    expect(replicaStateOf({ Metadata: {}, ETag: '"abc"', LastModified: T1 }, listed, DESTINATION)).toBe(
      'stale',
    );
    const other = markersFor({
      bucket: 'acme-prod',
      key: 'docs/b.pdf',
      versionId: undefined,
      sequencer: undefined,
      rule: 'docs',
    });
    expect(replicaStateOf({ Metadata: other, ETag: '"abc"', LastModified: T1 }, listed, DESTINATION)).toBe(
      'stale',
    );
    // Written before the source's current version, or another content digest.
    expect(
      replicaStateOf(
        { Metadata: markers, ETag: '"abc"', LastModified: T0 },
        { ...listed, lastModified: T1 },
        DESTINATION,
      ),
    ).toBe('stale');
    expect(replicaStateOf({ Metadata: markers, ETag: '"def"', LastModified: T1 }, listed, DESTINATION)).toBe(
      'stale',
    );
    // Multipart or KMS ETags are not digests: they prove nothing either way.
    expect(
      replicaStateOf({ Metadata: markers, ETag: '"def-2"', LastModified: T1 }, listed, DESTINATION),
    ).toBe('current');
    expect(
      replicaStateOf(
        { Metadata: markers, ETag: '"def"', LastModified: T1, ServerSideEncryption: 'aws:kms' },
        listed,
        DESTINATION,
      ),
    ).toBe('current');
  });

  it('judges the content by the source ETag the markers record, whatever the encryption on either side', () => {
    const recorded = markersFor({ bucket: 'acme-prod', key: listed.key, etag: '"kms-etag"', rule: 'docs' });
    // An SSE-KMS source (its ETag no MD5) copied under SSE-S3 (the replica's ETag its MD5): the same content.
    const kmsSource = { ...listed, etag: '"kms-etag"' };
    const replica = {
      Metadata: recorded,
      ETag: '"md5-of-bytes"',
      LastModified: T0,
      ServerSideEncryption: 'AES256' as const,
    };
    expect(replicaStateOf(replica, kmsSource, DESTINATION)).toBe('current');
    // Overwritten in the same second as the copy (equal times): only the recorded ETag tells.
    expect(replicaStateOf(replica, { ...kmsSource, etag: '"another-kms-etag"' }, DESTINATION)).toBe('stale');
    // A replica written before the marker: the source's encryption, where known (inventory), makes the
    // ETags incomparable; unknown (a listing), the MD5s are compared and the replica is copied once more.
    const older = { ...replica, Metadata: markers };
    expect(replicaStateOf(older, { ...kmsSource, serverSideEncryption: 'aws:kms' }, DESTINATION)).toBe(
      'current',
    );
    expect(replicaStateOf(older, kmsSource, DESTINATION)).toBe('stale');
  });

  it('builds an "Object Created" event the handler’s schema parses back to the listed object, timed at its write', () => {
    const event = ObjectCreatedEventSchema.parse(
      objectCreatedEventOf(listed, { region: 'us-east-1', account: '111122223333' }, T1.getTime()),
    );
    expect(event.detail.object.key).toBe(listed.key);
    expect(sourceObjectOf(event)).toMatchObject({
      bucket: 'acme-prod',
      key: listed.key,
      size: 5,
      etag: 'abc',
      region: 'us-east-1',
      account: '111122223333',
      // LastModified, not the pass: the RPO of a copy reconcile makes is measured from the write.
      eventTime: '2026-11-21T10:00:00Z',
    });
  });
});

function depsWith(s3: S3Client): ReconcileDeps {
  const common = { log: recordingLog(), metrics: recordingMetrics(), now: () => T1.getTime() };
  return {
    rules: CONFIG.rules,
    objects: {
      ...common,
      rules: objectRulesOf(CONFIG),
      s3: () => s3,
      multipartThreshold: 512 * 1024 * 1024,
      source: { region: 'us-east-1', account: '111122223333' },
    },
    ec2: { snapshots: {} as never, images: {} as never, now: common.now },
  };
}

describe('a reconcile pass', () => {
  it('lists at most limit keys from the resume point, checks only keys the rule’s filters pass, and says where to go on', async () => {
    const s3 = new S3Client({ region: 'us-east-1' });
    const mock = mockClient(s3);
    // Reconcile compares a current replica's tags with its source's (src/reconcile/object-tags.ts): none here.
    mock.on(GetObjectTaggingCommand).resolves({ TagSet: [] });
    mock.on(ListObjectsV2Command).resolves({
      IsTruncated: true,
      Contents: [
        { Key: 'docs/b.txt', Size: 1, ETag: '"x"', LastModified: T0 },
        { Key: 'docs/c.pdf', Size: 1, ETag: '"abc"', LastModified: T0 },
      ],
    });
    mock.on(HeadObjectCommand).resolves({
      Metadata: markersFor({
        bucket: 'acme-prod',
        key: 'docs/c.pdf',
        versionId: undefined,
        sequencer: undefined,
        rule: 'docs',
      }),
      ETag: '"abc"',
      LastModified: T1,
    });

    const report = await reconcile(
      { limit: 2, resume: encodeCursor({ rule: 'docs', after: 'docs/a.pdf' }) },
      depsWith(s3),
    );
    expect(mock.commandCalls(ListObjectsV2Command)[0]?.args[0].input).toMatchObject({
      Bucket: 'acme-prod',
      Prefix: 'docs/',
      MaxKeys: 2,
      StartAfter: 'docs/a.pdf',
    });
    expect(mock.commandCalls(HeadObjectCommand).map((call) => call.args[0].input.Key)).toEqual([
      'mirror/c.pdf',
    ]);
    expect(report.rules).toEqual([
      { rule: 'docs', kind: 'objects', scanned: 1, missing: 0, stale: 0, sent: 0, skipped: 0, failed: [] },
    ]);
    expect(decodeCursor(report.next ?? '')).toEqual({ rule: 'docs', after: 'docs/c.pdf' });
  });

  it('counts a replica that cannot be checked as failed with its cause, and goes on', async () => {
    const s3 = new S3Client({ region: 'us-east-1' });
    const mock = mockClient(s3);
    mock
      .on(ListObjectsV2Command)
      .resolves({ IsTruncated: false, Contents: [{ Key: 'docs/c.pdf', Size: 1, ETag: '"abc"' }] });
    mock.on(HeadObjectCommand).rejects(s3Error('AccessDenied', 403));
    const report = await reconcile({}, depsWith(s3));
    expect(report.next).toBeUndefined();
    expect(report.rules[0]?.failed).toEqual([
      { item: 's3://acme-prod/docs/c.pdf', cause: expect.stringContaining('AccessDenied') },
    ]);
  });

  it('rejects a resume token it did not make', async () => {
    await expect(reconcile({ resume: 'garbage' }, depsWith(new S3Client({})))).rejects.toThrow(
      'resume token "garbage" is not one a reconcile pass returned',
    );
  });
});

/** An object rule's YAML, replicated to acme-dr without tags (`docs` under mirror/). */
const objectRule = (name: string, objects: string) => `
  - name: ${name}
    objects: { ${objects} }
    to:
      - { bucket: acme-dr, region: us-west-2, ${name === 'docs' ? 'keyPrefix: mirror/, ' : ''}tags: { copy: false } }`;
const DOCS_RULE = objectRule('docs', 'bucket: acme-prod, prefix: docs/');
const TWO_RULES = configFrom(`rules:${DOCS_RULE}${objectRule('logs', 'bucket: acme-logs, prefix: logs/')}`);

/** Deps over `config` (TWO_RULES) whose client factory records the retries each client was asked with. */
function recordingDeps(s3: S3Client, asked: unknown[], config = TWO_RULES): ReconcileDeps {
  const deps = depsWith(s3);
  return {
    ...deps,
    rules: config.rules,
    objects: {
      ...deps.objects,
      rules: objectRulesOf(config),
      s3: (_target, options) => {
        asked.push(options?.retries);
        return s3;
      },
    },
  };
}

describe('a listing that fails for good', () => {
  const slowDown = () => s3Error('SlowDown', 503);

  it('is named in its rule’s report, the other rules go on, and the pass’s next comes back to it', async () => {
    const s3 = new S3Client({ region: 'us-east-1' });
    const mock = mockClient(s3);
    mock.on(ListObjectsV2Command, { Bucket: 'acme-prod' }).rejects(slowDown());
    mock.on(ListObjectsV2Command, { Bucket: 'acme-logs' }).resolves({ IsTruncated: false, Contents: [] });
    const asked: unknown[] = [];
    const report = await reconcile({}, recordingDeps(s3, asked));
    expect(report.rules).toEqual([
      {
        ...emptyRuleReport('docs', 'objects'),
        failed: [
          {
            item: 'listing of s3://acme-prod/docs/ in us-east-1',
            bucket: 'acme-prod',
            cause: expect.stringMatching(/^SlowDown/),
            listing: true,
          },
        ],
      },
      emptyRuleReport('logs', 'objects'),
    ]);
    // The walk reached the end: its next comes back to the failed listing.
    expect(decodeCursor(report.next ?? '')).toEqual({ rule: 'docs', retry: true });
    // The source listings were made with patient clients.
    expect(asked).toEqual(['patient', 'patient']);
    // `ferry backfill` prints it with the way back.
    expect(reportLines(report)[1]).toMatch(
      /^ {2}✘ listing of s3:\/\/acme-prod\/docs\/ in us-east-1: SlowDown.* \(the rule stopped at this listing; --resume comes back to it\)$/,
    );
    expect(reportLines(report).at(-1)).toBe(`More to do: run again with --resume ${report.next}`);
  });

  it('of a destination (the listing join) judges nothing on the page: no HEAD, no copy, the page again next pass', async () => {
    const s3 = new S3Client({ region: 'us-east-1' });
    const mock = mockClient(s3);
    // Enough candidates that a destination LIST is cheaper than their HEADs (listing-join.ts).
    const contents = Array.from({ length: 20 }, (_, i) => ({
      Key: `docs/${String(i).padStart(2, '0')}`,
      Size: 1,
      ETag: '"e"',
      LastModified: T0,
    }));
    mock
      .on(ListObjectsV2Command, { Bucket: 'acme-prod' })
      .resolves({ IsTruncated: true, Contents: contents });
    mock.on(ListObjectsV2Command, { Bucket: 'acme-dr' }).rejects(s3Error('AccessDenied', 403));
    mock.on(ListObjectsV2Command, { Bucket: 'acme-logs' }).resolves({ IsTruncated: false, Contents: [] });
    const report = await reconcile(
      { resume: encodeCursor({ rule: 'docs', after: 'docs/' }) },
      recordingDeps(s3, []),
    );
    expect(report.rules[0]).toMatchObject({
      rule: 'docs',
      scanned: 0,
      missing: 0,
      sent: 0,
      failed: [
        {
          item: 'listing of s3://acme-dr/mirror/ in us-west-2',
          cause: expect.stringMatching(/^AccessDenied/),
          listing: true,
        },
      ],
    });
    expect(mock.commandCalls(HeadObjectCommand)).toHaveLength(0);
    // From the key before the page that could not be judged.
    expect(decodeCursor(report.next ?? '')).toEqual({ rule: 'docs', after: 'docs/', retry: true });
    expect(report.rules[1]).toMatchObject({ rule: 'logs', failed: [] });
  });

  it('carries the bucket of an S3 listing, which names the missing bucket without reading it back out of the text', async () => {
    const s3 = new S3Client({ region: 'us-east-1' });
    const mock = mockClient(s3);
    mock.on(ListObjectsV2Command, { Bucket: 'acme-prod' }).resolves({ IsTruncated: false, Contents: [] });
    mock.on(ListObjectsV2Command, { Bucket: 'acme-logs' }).rejects(s3Error('NoSuchBucket', 404));
    const report = await reconcile({}, recordingDeps(s3, []));
    expect(report.rules[1]?.failed).toEqual([
      {
        item: 'listing of s3://acme-logs/logs/ in us-east-1',
        bucket: 'acme-logs',
        cause: expect.stringMatching(/^NoSuchBucket/),
        listing: true,
      },
    ]);
    expect(missingBucketOf(report)).toBe('acme-logs');
    // The bucket is the failure's, whatever its item says.
    const renamed = {
      item: 'listing of the logs',
      bucket: 'acme-logs',
      cause: 'NoSuchBucket: x',
      listing: true as const,
    };
    expect(
      missingBucketOf({
        rules: [{ ...emptyRuleReport('logs', 'objects'), failed: [renamed] }],
        next: undefined,
      }),
    ).toBe('acme-logs');
  });

  it('still throws an error that is no listing’s (a bug must not pass for a throttled bucket)', async () => {
    const s3 = new S3Client({ region: 'us-east-1' });
    const deps = recordingDeps(s3, []);
    const broken = {
      ...deps,
      objects: {
        ...deps.objects,
        s3: () => {
          throw new TypeError('no client');
        },
      },
    };
    await expect(reconcile({}, broken)).rejects.toThrow(TypeError);
  });
});

const THREE_RULES = configFrom(
  `rules:${DOCS_RULE}${objectRule('logs', 'bucket: acme-logs, prefix: logs/, suffix: .pdf')}${objectRule('audit', 'bucket: acme-audit, prefix: audit/')}`,
);

/**
 * docs's listing is always denied; logs holds five keys its filter passes none of (each listed key still
 * counts against the limit); audit is empty. `listings(bucket)` counts the ListObjectsV2 calls of a bucket.
 */
function deniedFirstRule() {
  const s3 = new S3Client({ region: 'us-east-1' });
  const mock = mockClient(s3);
  mock.on(ListObjectsV2Command, { Bucket: 'acme-prod' }).rejects(s3Error('AccessDenied', 403));
  const logs = ['logs/1.txt', 'logs/2.txt', 'logs/3.txt', 'logs/4.txt', 'logs/5.txt'];
  mock.on(ListObjectsV2Command, { Bucket: 'acme-logs' }).callsFake((input) => {
    const after = logs.filter((key) => input.StartAfter === undefined || key > input.StartAfter);
    const page = after.slice(0, input.MaxKeys ?? 1000);
    return {
      IsTruncated: page.length < after.length,
      Contents: page.map((Key) => ({ Key, Size: 1, ETag: '"e"', LastModified: T0 })),
    };
  });
  mock.on(ListObjectsV2Command, { Bucket: 'acme-audit' }).resolves({ IsTruncated: false, Contents: [] });
  const deps = recordingDeps(s3, [], THREE_RULES);
  const listings = (bucket: string) =>
    mock.commandCalls(ListObjectsV2Command).filter((call) => call.args[0].input.Bucket === bucket).length;
  return { deps, listings };
}

describe('a listing that fails every time, before a rule bigger than the limit', () => {
  it('starves no later rule: a --resume loop reaches every rule, comes back to the failed listing once, and ends', async () => {
    const { deps, listings } = deniedFirstRule();
    const passes: string[][] = [];
    let resume: string | undefined;
    do {
      const report = await reconcile({ limit: 2, ...(resume ? { resume } : {}) }, deps);
      passes.push(report.rules.map((rule) => rule.rule));
      resume = report.next;
    } while (resume !== undefined && passes.length < 20);
    expect(resume).toBeUndefined();
    expect(listings('acme-audit')).toBeGreaterThanOrEqual(1);
    // Denied at the first pass, and once more when the walk came back to it at the end.
    expect(listings('acme-prod')).toBe(2);
    expect(passes[0]).toEqual(['docs', 'logs']);
  });

  it('comes back to the failed listing when the walk reaches the end, and not again from there', async () => {
    const { deps, listings } = deniedFirstRule();
    const first = await reconcile({}, deps);
    expect(first.rules.map((rule) => rule.rule)).toEqual(['docs', 'logs', 'audit']);
    expect(decodeCursor(first.next ?? '')).toEqual({ rule: 'docs', retry: true });
    const again = await reconcile({ resume: first.next }, deps);
    expect(again.rules[0]?.failed).toMatchObject([
      { listing: true, cause: expect.stringMatching(/^AccessDenied/) },
    ]);
    expect(again.next).toBeUndefined();
    expect(listings('acme-prod')).toBe(2);
  });

  it('refuses a token that owes a listing of a rule this pass does not visit (made with another --rule)', async () => {
    const { deps } = deniedFirstRule();
    const resume = encodeCursor({ rule: 'logs', back: { rule: 'docs' } });
    await expect(reconcile({ rule: 'logs', resume }, deps)).rejects.toThrow(InvalidResumeTokenError);
    await expect(reconcile({ resume }, deps)).resolves.toMatchObject({
      rules: [{ rule: 'logs' }, { rule: 'audit' }],
    });
  });

  it('lets each scheduled run reach every rule and retry the failed listing, and its passes end', async () => {
    const { deps, listings } = deniedFirstRule();
    const handler = createReconcileHandler(createPowertools(), () => deps, 'us-east-1');
    const context = { ...lambdaContext, getRemainingTimeInMillis: () => 600_000 };
    for (const run of [1, 2]) {
      const report = await handler({ limit: 2 }, context);
      expect(report.rules.map((rule) => rule.rule)).toEqual(['docs', 'logs', 'audit']);
      expect(report.rules[0]?.failed).toMatchObject([{ listing: true }]);
      expect(listings('acme-audit')).toBe(run);
      expect(listings('acme-prod')).toBe(run);
    }
  });
});

describe('the reconcile handler', () => {
  it('validates its input, runs one pass for the function’s own account, and returns the report', async () => {
    const seen: unknown[] = [];
    const handler = createReconcileHandler(
      createPowertools(),
      (source) => {
        seen.push(source);
        return { ...depsWith(new S3Client({})), rules: [] };
      },
      'eu-west-1',
    );
    await expect(handler({}, lambdaContext)).resolves.toEqual({ rules: [], next: undefined, passes: 1 });
    expect(seen).toEqual([{ region: 'eu-west-1', account: '111122223333' }]);
    await expect(handler({ limit: -1 } as never, lambdaContext)).rejects.toThrow(/limit/);
  });

  it('runs further passes from where the last stopped while the invocation has time, and adds them up', async () => {
    const report = (next: string | undefined, missing: number) => ({
      rules: [
        {
          rule: 'docs',
          kind: 'objects' as const,
          scanned: 10,
          missing,
          stale: 0,
          sent: missing,
          skipped: 0,
          failed: [],
        },
      ],
      next,
    });
    const a = encodeCursor({ rule: 'docs', after: 'a' });
    const b = encodeCursor({ rule: 'docs', after: 'b' });
    const resumes: (string | undefined)[] = [];
    const pass = async (options: { resume?: string }) => {
      resumes.push(options.resume);
      return report(options.resume === undefined ? a : options.resume === a ? b : undefined, 1);
    };
    const deps = () => ({ ...depsWith(new S3Client({})), rules: [] });
    const withTime = (ms: number) => ({ ...lambdaContext, getRemainingTimeInMillis: () => ms });

    const plenty = createReconcileHandler(createPowertools(), deps, 'eu-west-1', pass as never);
    await expect(plenty({}, withTime(600_000))).resolves.toMatchObject({
      passes: 3,
      next: undefined,
      rules: [{ rule: 'docs', scanned: 30, missing: 3, sent: 3 }],
    });
    expect(resumes).toEqual([undefined, a, b]);

    // A pass whose next only comes back to a listing that failed for good ends the run: the next pass would
    // meet the same throttled listing at once.
    const back = encodeCursor({ rule: 'docs', retry: true });
    const failing = async () => ({
      rules: [
        {
          ...report(back, 0).rules[0],
          failed: [
            { item: 'listing of snapshots in us-east-1', cause: 'RequestLimitExceeded: x', listing: true },
          ],
        },
      ],
      next: back,
    });
    const stops = createReconcileHandler(createPowertools(), deps, 'eu-west-1', failing as never);
    await expect(stops({}, withTime(600_000))).resolves.toMatchObject({ passes: 1, next: back });

    // Too little time left for another pass: the cursor is returned instead.
    const short = createReconcileHandler(createPowertools(), deps, 'eu-west-1', pass as never);
    await expect(short({}, withTime(60_000))).resolves.toMatchObject({ passes: 1, next: a });
  });
});
