import {
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createS3ClientFactory } from '#foundation/aws-clients';
import type { CopyStarter } from '#objects/copy-machine/contract';
import { startMultipartCopy } from '#objects/copy-machine/multipart-copy';
import { MiB } from '#objects/copy-machine/part-planner';
import { metadataBytes } from '#objects/copy-request';
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
  s3Event,
} from '#test/support/fixtures';

const s3 = mockClient(S3Client);
afterEach(() => s3.reset());

const ETAG = 'b1946ac92492d2347c6235b4d2611184';

function setup(yaml: string, copies?: CopyStarter) {
  const recorded = recordingDeps(configFrom(yaml), createS3ClientFactory());
  const deps = { ...recorded.deps, ...(copies ? { copies } : {}) };
  const handler = createObjectCreatedHandler(recorded.tools, deps);
  const invoke = (event: unknown) => handler(event as never, lambdaContext) as Promise<Report>;
  return { ...recorded, deps, invoke };
}

const RULE = (destination = '{ bucket: acme-dr, region: us-west-2 }') => `
rules:
  - name: invoices
    objects: { bucket: acme-prod, prefix: invoices/ }
    to:
      - ${destination}
`;

/** Metadata of `bytes` bytes in all (keys and values). */
const metadataOf = (bytes: number) => ({ filler: 'x'.repeat(bytes - 'filler'.length) });

const eventFor = (key: string, size = 5576) => {
  const event = s3Event('object-created');
  event.detail.object.key = key;
  event.detail.object.size = size;
  return event;
};

describe('S3 limits checked before the write', () => {
  it('It should write compact markers when the readable ones would take the metadata past 2 KB', async () => {
    const key = `invoices/${'long-name-'.repeat(30)}.pdf`;
    s3.on(HeadObjectCommand).resolves({ ETag: `"${ETAG}"`, Metadata: metadataOf(1700) });
    s3.on(CopyObjectCommand).resolves({ CopyObjectResult: { ETag: `"${ETAG}"` } });
    const { invoke } = setup(RULE());

    const report = await invoke(eventFor(key));

    expect(report.outcomes).toEqual([expect.objectContaining({ status: 'copied' })]);
    const sent = s3.commandCalls(CopyObjectCommand)[0]?.args[0].input;
    expect(metadataBytes(sent?.Metadata ?? {})).toBeLessThanOrEqual(2048);
    expect(sent?.Metadata).toMatchObject({
      filler: expect.any(String),
      'ferry-source-bucket': 'acme-prod',
      'ferry-source-key': expect.stringMatching(/^sha256:[0-9a-f]{64}$/),
      'ferry-source-sequencer': '00617F08299329D189',
      'ferry-rule': 'invoices',
    });
  });

  it('It should fail with MetadataTooLarge, counted and sent nowhere, when even compact markers do not fit', async () => {
    s3.on(HeadObjectCommand).resolves({ ETag: `"${ETAG}"`, Metadata: metadataOf(1990) });
    const { invoke, metrics } = setup(RULE());

    const report = await invoke(eventFor('invoices/a.pdf'));

    expect(report.outcomes).toEqual([
      expect.objectContaining({
        status: 'failed',
        error: expect.objectContaining({ class: 'permanent', cause: 'MetadataTooLarge' }),
      }),
    ]);
    expect(s3).not.toReceiveCommand(CopyObjectCommand);
    expect(metrics.failed).toHaveBeenCalledWith('invoices', 'MetadataTooLarge');
  });

  it('It should fail with TooManyTags when copy plus set pass 10 tags', async () => {
    s3.on(HeadObjectCommand).resolves({ ETag: `"${ETAG}"`, TagCount: 9 });
    s3.on(GetObjectTaggingCommand).resolves({
      TagSet: Array.from({ length: 9 }, (_, i) => ({ Key: `t${i}`, Value: 'v' })),
    });
    const { invoke, metrics } = setup(
      RULE('{ bucket: acme-dr, region: us-west-2, tags: { set: { dr: "yes", tier: "cold" } } }'),
    );

    const report = await invoke(eventFor('invoices/a.pdf'));

    expect(report.outcomes).toEqual([
      expect.objectContaining({ status: 'failed', error: expect.objectContaining({ cause: 'TooManyTags' }) }),
    ]);
    expect(s3).not.toReceiveCommand(CopyObjectCommand);
    expect(metrics.failed).toHaveBeenCalledWith('invoices', 'TooManyTags');
  });

  it('It should fail with KeyTooLong when keyPrefix takes the replica key past 1,024 bytes', async () => {
    s3.on(HeadObjectCommand).resolves({ ETag: `"${ETAG}"` });
    const { invoke } = setup(
      RULE(`{ bucket: acme-dr, region: us-west-2, keyPrefix: "${'é'.repeat(400)}/" }`),
    );

    // 300 bytes of key after the prefix: 801 + 300 > 1024 bytes, though fewer than 1024 characters.
    const report = await invoke(eventFor(`invoices/${'k'.repeat(300)}`));

    expect(report.outcomes).toEqual([
      expect.objectContaining({ status: 'failed', error: expect.objectContaining({ cause: 'KeyTooLong' }) }),
    ]);
    expect(s3).not.toReceiveCommand(CopyObjectCommand);
  });

  it('It should not hand a large object that breaks a limit to the state machine', async () => {
    s3.on(HeadObjectCommand).resolves({ ETag: `"${ETAG}"`, Metadata: metadataOf(2040) });
    const copies: CopyStarter = { start: vi.fn() };
    const { invoke } = setup(RULE(), copies);

    const report = await invoke(eventFor('invoices/big.bin', 6 * 1024 * MiB));

    expect(report.outcomes).toEqual([
      expect.objectContaining({
        status: 'failed',
        error: expect.objectContaining({ cause: 'MetadataTooLarge' }),
      }),
    ]);
    expect(copies.start).not.toHaveBeenCalled();
  });

  it('It should not create a multipart upload whose tags S3 would refuse', async () => {
    const config = configFrom(RULE('{ bucket: acme-dr, region: us-west-2, tags: { set: { dr: "yes" } } }'));
    const source: SourceObject = {
      bucket: 'acme-prod',
      key: 'invoices/big.bin',
      region: 'us-east-1',
      account: '111122223333',
      size: 12 * MiB,
      etag: ETAG,
      versionId: undefined,
      sequencer: '00617F08299329D189',
      eventTime: '2026-11-21T18:43:48Z',
    };
    const [plan] = planCopies(objectRulesOf(config), source);
    if (!plan) throw new Error('the rule must match');
    s3.on(HeadObjectCommand).resolves({ ETag: `"${ETAG}"`, TagCount: 10 });
    s3.on(GetObjectTaggingCommand).resolves({
      TagSet: Array.from({ length: 10 }, (_, i) => ({ Key: `t${i}`, Value: 'v' })),
    });

    await expect(
      startMultipartCopy(
        { mode: 'multipart', plan, source, reason: 'large' },
        {
          s3: createS3ClientFactory(),
          settings: SMALL_MULTIPART_SETTINGS,
        },
      ),
    ).rejects.toMatchObject({ name: 'TooManyObjectTagsError' });
    expect(s3).not.toReceiveCommand(CreateMultipartUploadCommand);
  });

  it('It should report such an item in reconcile under its cause, pass after pass, without sending a copy', async () => {
    const config = configFrom(RULE());
    const [rule] = objectRulesOf(config);
    if (!rule) throw new Error('one rule');
    s3.on(ListObjectsV2Command).resolves({
      Contents: [{ Key: 'invoices/a.pdf', Size: 5, ETag: `"${ETAG}"` }],
      IsTruncated: false,
    });
    s3.on(HeadObjectCommand, { Bucket: 'acme-dr' }).rejects(
      Object.assign(new Error('NotFound'), { name: 'NotFound', $metadata: { httpStatusCode: 404 } }),
    );
    s3.on(HeadObjectCommand, { Bucket: 'acme-prod' }).resolves({
      ETag: `"${ETAG}"`,
      Metadata: metadataOf(2040),
    });
    const { deps } = setup(RULE());
    const reconcileDeps = { ...deps, source: { region: 'us-east-1', account: '111122223333' } };

    for (let pass = 0; pass < 2; pass++) {
      const { report } = await reconcileObjectRule(rule, undefined, 100, reconcileDeps);
      expect(report.failed).toEqual([
        expect.objectContaining({ cause: expect.stringMatching(/^MetadataTooLarge: /) }),
      ]);
    }
    expect(s3).not.toReceiveCommand(CopyObjectCommand);
  });
});

describe('what a replica carries over', () => {
  it('It should carry WebsiteRedirectLocation over on CopyObject and on CreateMultipartUpload', async () => {
    const head = { ETag: `"${ETAG}"`, WebsiteRedirectLocation: '/new/home.html' };
    s3.on(HeadObjectCommand).resolves(head);
    s3.on(CopyObjectCommand).resolves({ CopyObjectResult: { ETag: `"${ETAG}"` } });
    const { invoke } = setup(RULE());
    await invoke(eventFor('invoices/index.html'));
    expect(s3).toReceiveCommandWith(CopyObjectCommand, {
      MetadataDirective: 'REPLACE',
      WebsiteRedirectLocation: '/new/home.html',
    });

    const config = configFrom(RULE());
    const source: SourceObject = {
      bucket: 'acme-prod',
      key: 'invoices/big.html',
      region: 'us-east-1',
      account: '111122223333',
      size: 12 * MiB,
      etag: ETAG,
      versionId: undefined,
      sequencer: undefined,
      eventTime: '2026-11-21T18:43:48Z',
    };
    const [plan] = planCopies(objectRulesOf(config), source);
    if (!plan) throw new Error('the rule must match');
    s3.on(CreateMultipartUploadCommand).resolves({ UploadId: 'up-1' });
    await startMultipartCopy(
      { mode: 'multipart', plan, source, reason: 'large' },
      {
        s3: createS3ClientFactory(),
        settings: SMALL_MULTIPART_SETTINGS,
      },
    );
    expect(s3).toReceiveCommandWith(CreateMultipartUploadCommand, {
      WebsiteRedirectLocation: '/new/home.html',
    });
  });
});

describe('requests refused, not retried for hours', () => {
  const refusal = (name: string, status: number, message: string) =>
    new S3ServiceException({
      name,
      $fault: status >= 500 ? 'server' : 'client',
      $metadata: { httpStatusCode: status },
      message,
    });

  it.each([
    [
      '501 NotImplemented',
      refusal('NotImplemented', 501, 'A header you provided implies functionality that is not implemented'),
      'NotImplemented',
    ],
    [
      'a copy of an SSE-C source',
      refusal(
        'InvalidRequest',
        400,
        'The object was stored using a form of Server Side Encryption. The correct parameters must be provided to retrieve the object.',
      ),
      'SourceEncryptedWithCustomerKey',
    ],
    [
      'S3 refusing more than 10 tags',
      refusal('BadRequest', 400, 'Object tags cannot be greater than 10'),
      'TooManyTags',
    ],
  ])('It should fail %s for good instead of handing it to the state machine', async (_, error, cause) => {
    s3.on(HeadObjectCommand).resolves({ ETag: `"${ETAG}"` });
    s3.on(CopyObjectCommand).rejects(error);
    const copies: CopyStarter = { start: vi.fn() };
    const { invoke, metrics } = setup(RULE(), copies);

    const report = await invoke(eventFor('invoices/a.pdf'));

    expect(report.outcomes).toEqual([
      expect.objectContaining({
        status: 'failed',
        error: expect.objectContaining({ class: 'permanent', cause }),
      }),
    ]);
    expect(copies.start).not.toHaveBeenCalled();
    expect(metrics.failed).toHaveBeenCalledWith('invoices', cause);
  });
});
