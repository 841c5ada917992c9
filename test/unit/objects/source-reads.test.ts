import {
  CopyObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  S3Client,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { createS3ClientFactory } from '#foundation/aws-clients';
import { copyPartBatch } from '#objects/copy-machine/multipart-copy';
import { MiB } from '#objects/copy-machine/part-planner';
import type { SourceObject } from '#objects/event';
import { createObjectCreatedHandler } from '#objects/handlers/object-created';
import type { Report } from '#objects/outcomes';
import { planCopies } from '#objects/router';
import { reconcileObjectRule } from '#reconcile/objects';
import { objectRulesOf } from '#rules/config';
import {
  configFrom,
  lambdaContext,
  recordingDeps,
  SMALL_MULTIPART_SETTINGS,
  s3Error,
  s3Event,
} from '#test/support/fixtures';

const s3 = mockClient(S3Client);
afterEach(() => s3.reset());

const ETAG = 'b1946ac92492d2347c6235b4d2611184';

const rules = (extra = '') => `
rules:
  - name: docs
    objects: { bucket: acme-prod, prefix: docs/${extra} }
    to:
      - { bucket: acme-dr, region: us-west-2, tags: { set: { dr: "yes" } } }
`;

function setup(yaml: string) {
  const recorded = recordingDeps(configFrom(yaml), createS3ClientFactory());
  const handler = createObjectCreatedHandler(recorded.tools, recorded.deps);
  return {
    ...recorded,
    invoke: (event: unknown) => handler(event as never, lambdaContext) as Promise<Report>,
  };
}

const eventFor = (key: string) => {
  const event = s3Event('object-created');
  event.detail.object.key = key;
  return event;
};

const copied = () => s3.on(CopyObjectCommand).resolves({ CopyObjectResult: { ETag: `"${ETAG}"` } });

describe('requester pays', () => {
  it('It should read and copy as requester where the rule opts in', async () => {
    s3.on(HeadObjectCommand).resolves({ ETag: `"${ETAG}"`, TagCount: 1 });
    s3.on(GetObjectTaggingCommand).resolves({ TagSet: [{ Key: 'team', Value: 'ap' }] });
    copied();
    const { invoke } = setup(rules(', requesterPays: true'));

    const report = await invoke(eventFor('docs/a.pdf'));

    expect(report.outcomes).toEqual([expect.objectContaining({ status: 'copied' })]);
    expect(s3).toReceiveCommandWith(HeadObjectCommand, { Key: 'docs/a.pdf', RequestPayer: 'requester' });
    expect(s3).toReceiveCommandWith(GetObjectTaggingCommand, { RequestPayer: 'requester' });
    expect(s3).toReceiveCommandWith(CopyObjectCommand, { RequestPayer: 'requester' });
  });

  it('It should copy parts as requester where the rule opts in', async () => {
    const config = configFrom(rules(', requesterPays: true'));
    const source: SourceObject = {
      bucket: 'acme-prod',
      key: 'docs/big.bin',
      region: 'us-east-1',
      account: '111122223333',
      size: 10 * MiB,
      etag: ETAG,
      versionId: undefined,
      sequencer: undefined,
      eventTime: '2026-11-21T18:43:48Z',
      requesterPays: true,
    };
    const [plan] = planCopies(objectRulesOf(config), source);
    if (!plan) throw new Error('the rule must match');
    s3.on(UploadPartCopyCommand).resolves({ CopyPartResult: { ETag: '"p"' } });
    await copyPartBatch(
      { mode: 'multipart', plan, source, reason: 'large' },
      { uploadId: 'up-1', partSize: 5 * MiB },
      { first: 1, last: 2 },
      {
        s3: createS3ClientFactory(),
        settings: SMALL_MULTIPART_SETTINGS,
      },
    );
    expect(s3).toReceiveCommandTimes(UploadPartCopyCommand, 2);
    expect(s3).toReceiveCommandWith(UploadPartCopyCommand, { RequestPayer: 'requester' });
  });

  it('It should list a Requester Pays source as payer in reconcile', async () => {
    const config = configFrom(rules(', requesterPays: true'));
    const [rule] = objectRulesOf(config);
    if (!rule) throw new Error('one rule');
    s3.on(ListObjectsV2Command).resolves({ Contents: [], IsTruncated: false });
    const { deps } = setup(rules(', requesterPays: true'));
    await reconcileObjectRule(rule, undefined, 10, {
      ...deps,
      source: { region: 'us-east-1', account: '111122223333' },
    });
    expect(s3).toReceiveCommandWith(ListObjectsV2Command, { Bucket: 'acme-prod', RequestPayer: 'requester' });
  });

  it('It should name RequesterPaysRequired when the source answers 403 but answers the payer', async () => {
    s3.on(HeadObjectCommand).rejects(s3Error('Forbidden', 403));
    s3.on(HeadObjectCommand, { RequestPayer: 'requester' }).resolves({ ETag: `"${ETAG}"` });
    const { invoke, metrics } = setup(rules());

    const report = await invoke(eventFor('docs/a.pdf'));

    expect(report.outcomes).toEqual([
      expect.objectContaining({
        status: 'failed',
        error: expect.objectContaining({ class: 'permanent', cause: 'RequesterPaysRequired' }),
      }),
    ]);
    expect(metrics.failed).toHaveBeenCalledWith('docs', 'RequesterPaysRequired');
    expect(s3).not.toReceiveCommand(CopyObjectCommand);
  });

  it('It should keep AccessDenied when the payer is refused too', async () => {
    s3.on(HeadObjectCommand).rejects(s3Error('Forbidden', 403));
    const { invoke } = setup(rules());
    const report = await invoke(eventFor('docs/a.pdf'));
    expect(report.outcomes).toEqual([
      expect.objectContaining({ error: expect.objectContaining({ cause: 'AccessDenied' }) }),
    ]);
  });
});

describe('SSE-C sources', () => {
  it('It should name SourceEncryptedWithCustomerKey when the HEAD of the source answers 400', async () => {
    s3.on(HeadObjectCommand).rejects(s3Error('BadRequest', 400));
    const { invoke, metrics } = setup(rules());

    const report = await invoke(eventFor('docs/secret.bin'));

    expect(report.outcomes).toEqual([
      expect.objectContaining({
        status: 'failed',
        error: expect.objectContaining({ class: 'permanent', cause: 'SourceEncryptedWithCustomerKey' }),
      }),
    ]);
    expect(metrics.failed).toHaveBeenCalledWith('docs', 'SourceEncryptedWithCustomerKey');
  });
});

describe('keys whose event encoding is ambiguous', () => {
  it('It should try the raw key once when the decoded one is not found, both pinned by the ETag', async () => {
    s3.on(HeadObjectCommand).rejects(s3Error('NotFound', 404));
    s3.on(HeadObjectCommand, { Bucket: 'acme-prod', Key: 'docs/a+b%20100%25.txt' }).resolves({
      ETag: `"${ETAG}"`,
    });
    copied();
    const { invoke } = setup(rules());

    // A store that sends raw keys: this object's key has a literal plus and literal percent signs.
    const report = await invoke(eventFor('docs/a+b%20100%25.txt'));
    expect(report.outcomes).toEqual([expect.objectContaining({ status: 'copied' })]);

    const heads = s3.commandCalls(HeadObjectCommand).map((call) => call.args[0].input);
    expect(heads.map((input) => [input.Key, input.IfMatch])).toEqual([
      ['docs/a b 100%.txt', ETAG],
      ['docs/a+b%20100%25.txt', ETAG],
    ]);
  });

  it('It should copy from and to the key that exists', async () => {
    s3.on(HeadObjectCommand).rejects(s3Error('NotFound', 404));
    s3.on(HeadObjectCommand, { Bucket: 'acme-prod', Key: 'docs/ü+b.txt' }).resolves({ ETag: `"${ETAG}"` });
    copied();
    const { invoke } = setup(rules());

    const report = await invoke(eventFor('docs/ü+b.txt'));

    expect(report).toMatchObject({ source: 's3://acme-prod/docs/ü+b.txt' });
    expect(s3).toReceiveCommandWith(CopyObjectCommand, {
      Key: 'docs/ü+b.txt',
      CopySource: 'acme-prod/docs/%C3%BC%2Bb.txt',
      CopySourceIfMatch: ETAG,
    });
  });

  it('It should not try another key when the decoded one exists, nor when the event key decodes to itself', async () => {
    s3.on(HeadObjectCommand).resolves({ ETag: `"${ETAG}"` });
    copied();
    await setup(rules()).invoke(eventFor('docs/a+b.txt'));
    expect(s3).toReceiveCommandTimes(HeadObjectCommand, 1);
    expect(s3).toReceiveCommandWith(HeadObjectCommand, { Key: 'docs/a b.txt' });

    s3.reset();
    s3.on(HeadObjectCommand).rejects(s3Error('NotFound', 404));
    const report = await setup(rules()).invoke(eventFor('docs/plain.txt'));
    expect(s3).toReceiveCommandTimes(HeadObjectCommand, 1);
    // Not copied (how a missing source ends, failed or skipped, is the ordering rules' call).
    expect(report.outcomes).toEqual([expect.objectContaining({ target: 's3://acme-dr/docs/plain.txt' })]);
    expect(report.outcomes[0]?.status).not.toBe('copied');
    expect(s3).not.toReceiveCommand(CopyObjectCommand);
  });

  it('It should report a key found under neither form under the decoded key', async () => {
    s3.on(HeadObjectCommand).rejects(s3Error('NotFound', 404));
    const report = await setup(rules()).invoke(eventFor('docs/a+b.txt'));
    expect(s3).toReceiveCommandTimes(HeadObjectCommand, 2);
    expect(report).toMatchObject({
      source: 's3://acme-prod/docs/a b.txt',
      outcomes: [expect.objectContaining({ target: 's3://acme-dr/docs/a b.txt' })],
    });
    expect(s3).not.toReceiveCommand(CopyObjectCommand);
  });

  it('It should try the raw key when another object sits at the decoded key (412), and copy the event object', async () => {
    s3.on(HeadObjectCommand).rejects(s3Error('PreconditionFailed', 412));
    s3.on(HeadObjectCommand, { Bucket: 'acme-prod', Key: 'docs/a+b.txt' }).resolves({ ETag: `"${ETAG}"` });
    copied();

    const report = await setup(rules()).invoke(eventFor('docs/a+b.txt'));

    expect(report.outcomes).toEqual([
      expect.objectContaining({ status: 'copied', target: 's3://acme-dr/docs/a+b.txt' }),
    ]);
    expect(s3).toReceiveCommandWith(CopyObjectCommand, {
      CopySource: 'acme-prod/docs/a%2Bb.txt',
      CopySourceIfMatch: ETAG,
    });
  });

  it('It should report a failure under the event key when only that key has a rule', async () => {
    s3.on(HeadObjectCommand).rejects(s3Error('Forbidden', 403));
    // Only the raw form `docs+x/…` has a rule (prefix docs+x/); the decoded `docs x/…` has none.
    const yaml = `
rules:
  - name: plus
    objects: { bucket: acme-prod, prefix: docs+x/ }
    to:
      - { bucket: acme-dr, region: us-west-2 }
`;
    const { invoke, metrics } = setup(yaml);
    const report = await invoke(eventFor('docs+x/a.txt'));
    expect(report).toMatchObject({
      source: 's3://acme-prod/docs+x/a.txt',
      outcomes: [
        expect.objectContaining({
          status: 'failed',
          error: expect.objectContaining({ cause: 'AccessDenied' }),
        }),
      ],
    });
    expect(metrics.failed).toHaveBeenCalledWith('plus', 'AccessDenied');
    // The decoded key has no rule, so it is not read at all.
    const keys = s3.commandCalls(HeadObjectCommand).map((call) => call.args[0].input.Key);
    expect(new Set(keys)).toEqual(new Set(['docs+x/a.txt']));
  });
});
