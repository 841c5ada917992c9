import { GetObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Delivery } from '#local/event-bus';
import { type Sandbox, startSandbox } from '#local/sandbox';
import { metadataBytes } from '#objects/copy-request';
import type { Outcome, Report } from '#objects/outcomes';
import { configFrom } from '#test/support/fixtures';

/**
 * Inputs near S3's limits and keys whose event encoding is ambiguous, through the real handlers on the
 * sandbox: what S3 would refuse is never sent, and a raw key (as other S3 implementations send it) still
 * finds its object.
 */

const CONFIG = configFrom(`
copy: { multipartThreshold: 5242880, partSize: 5242880 }
rules:
  - name: docs
    objects: { bucket: in-source, prefix: docs/ }
    to:
      - { bucket: in-dr, region: us-west-2 }
  - name: tagged
    objects: { bucket: in-source, prefix: tagged/ }
    to:
      - { bucket: in-dr, region: us-west-2, tags: { set: { dr: "yes", tier: "cold" } } }
`);

let sandbox: Sandbox;
const deliveries: Delivery[] = [];
const source = () => sandbox.s3('us-east-1');
const dr = () => sandbox.s3('us-west-2');

beforeAll(async () => {
  sandbox = await startSandbox({ config: CONFIG, port: 0, onDelivery: (d) => deliveries.push(d) });
});
afterAll(() => sandbox.stop());

async function put(key: string, extra: Partial<ConstructorParameters<typeof PutObjectCommand>[0]> = {}) {
  await source().send(
    new PutObjectCommand({ Bucket: 'in-source', Key: key, Body: `body of ${key}`, ...extra }),
  );
  await sandbox.settle();
}

async function replica(key: string) {
  try {
    return await dr().send(new HeadObjectCommand({ Bucket: 'in-dr', Key: key }));
  } catch {
    return undefined;
  }
}

const outcomesFor = (key: string): Outcome[] =>
  deliveries
    .filter((d) => (d.result as Report | undefined)?.source === `s3://in-source/${key}`)
    .flatMap((d) => (d.result as Report).outcomes);

/** User metadata of `bytes` bytes in all. */
const metadataOf = (bytes: number) => ({ filler: 'x'.repeat(bytes - 'filler'.length) });

describe('limits at run time, on the sandbox', () => {
  it('It should replicate a source near the metadata limit, with compact markers', async () => {
    const key = `docs/near-limit-${'n'.repeat(300)}.txt`;
    await put(key, { Metadata: metadataOf(1800) });

    const written = await replica(key);
    expect(written?.Metadata).toMatchObject({
      filler: expect.any(String),
      'ferry-source-key': expect.stringMatching(/^sha256:/),
      'ferry-rule': 'docs',
    });
    expect(metadataBytes(written?.Metadata ?? {})).toBeLessThanOrEqual(2048);
  });

  it('It should fail a source whose metadata leaves no room for the markers with MetadataTooLarge, writing nothing', async () => {
    const key = 'docs/over-limit.txt';
    const copiesBefore = sandbox.requests.get('CopyObject') ?? 0;
    await put(key, { Metadata: metadataOf(2000) });

    // Refused before sending: S3 would refuse it too, but Ferry knows without asking.
    expect(sandbox.requests.get('CopyObject') ?? 0).toBe(copiesBefore);

    expect(await replica(key)).toBeUndefined();
    expect(outcomesFor(key)).toEqual([
      expect.objectContaining({
        status: 'failed',
        error: expect.objectContaining({ class: 'permanent', cause: 'MetadataTooLarge' }),
      }),
    ]);
  });

  it('It should fail a source whose tags with set pass 10 with TooManyTags, writing nothing', async () => {
    const key = 'tagged/nine-tags.txt';
    await put(key, { Tagging: Array.from({ length: 9 }, (_, i) => `t${i}=v`).join('&') });

    expect(await replica(key)).toBeUndefined();
    expect(outcomesFor(key)).toEqual([
      expect.objectContaining({ status: 'failed', error: expect.objectContaining({ cause: 'TooManyTags' }) }),
    ]);
  });

  it('It should let reconcile report such items under their causes, pass after pass, without copying', async () => {
    const copiesBefore = sandbox.requests.get('CopyObject') ?? 0;
    for (let pass = 0; pass < 2; pass++) {
      const report = await sandbox.reconcile({});
      const failed = report.rules.flatMap((rule) => rule.failed.map((failure) => failure.cause));
      expect(failed).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/^MetadataTooLarge: /),
          expect.stringMatching(/^TooManyTags: /),
        ]),
      );
    }
    expect(sandbox.requests.get('CopyObject') ?? 0).toBe(copiesBefore);
  });
});

describe('keys whose event encoding is ambiguous, on the sandbox', () => {
  /** An event for `key` written raw, as an S3 implementation that does not encode keys sends it. */
  async function rawEvent(key: string) {
    const head = await source().send(new HeadObjectCommand({ Bucket: 'in-source', Key: key }));
    sandbox.bus.put({
      version: '0',
      id: `raw-${key}`,
      'detail-type': 'Object Created',
      source: 'aws.s3',
      account: '000000000000',
      time: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
      region: 'us-east-1',
      resources: ['arn:aws:s3:::in-source'],
      detail: {
        version: '0',
        bucket: { name: 'in-source' },
        object: { key, size: head.ContentLength, etag: head.ETag?.replaceAll('"', '') },
        'request-id': 'raw',
        requester: '000000000000',
        reason: 'PutObject',
      },
    });
    await sandbox.settle();
  }

  /** Writes the source with its own (well-encoded) event lost, so only the raw event reaches Ferry. */
  async function putQuietly(key: string) {
    sandbox.bus.pause();
    try {
      await source().send(new PutObjectCommand({ Bucket: 'in-source', Key: key, Body: `raw ${key}` }));
    } finally {
      sandbox.bus.resume();
    }
  }

  it.each([
    ['a literal plus', 'docs/a+b.txt'],
    ['a plus, percent signs and unicode', 'docs/ü+100%25 – v2.txt'],
  ])('It should copy an object whose raw event key has %s to the key that exists', async (_, key) => {
    await putQuietly(key);
    await rawEvent(key);

    const body = await dr()
      .send(new GetObjectCommand({ Bucket: 'in-dr', Key: key }))
      .then((object) => object.Body?.transformToString());
    expect(body).toBe(`raw ${key}`);
    expect(outcomesFor(key)).toEqual([
      expect.objectContaining({ status: 'copied', target: `s3://in-dr/${key}` }),
    ]);
  });

  it('It should copy the event object, not another one at the decoded key', async () => {
    // Both keys exist: the decoded key holds another object, so the ETag pin sends Ferry to the raw key.
    await put('docs/c d.txt');
    await putQuietly('docs/c+d.txt');
    await rawEvent('docs/c+d.txt');

    const body = await dr()
      .send(new GetObjectCommand({ Bucket: 'in-dr', Key: 'docs/c+d.txt' }))
      .then((object) => object.Body?.transformToString());
    expect(body).toBe('raw docs/c+d.txt');
    const other = await dr()
      .send(new GetObjectCommand({ Bucket: 'in-dr', Key: 'docs/c d.txt' }))
      .then((object) => object.Body?.transformToString());
    expect(other).toBe('body of docs/c d.txt');
  });

  it('It should still read keys as S3 encodes them (a space as "+")', async () => {
    await put('docs/e f+g.txt');
    expect((await replica('docs/e f+g.txt'))?.Metadata).toMatchObject({ 'ferry-rule': 'docs' });
  });
});

describe('what a replica carries over, on the sandbox', () => {
  it.each([
    ['CopyObject', 'docs/site/index.html', 1024],
    ['a multipart copy', 'docs/site/big.html', 6 * 1024 * 1024],
  ])('It should carry the website redirect over on %s', async (_, key, size) => {
    await put(key, { Body: 'r'.repeat(size), WebsiteRedirectLocation: '/docs/new-home.html' });
    const written = await replica(key);
    expect(written?.ContentLength).toBe(size);
    expect(written?.WebsiteRedirectLocation).toBe('/docs/new-home.html');
  });
});
