import { ListObjectsV2Command, type ListObjectsV2CommandInput, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import { compareKeys } from '#objects/keys';
import { ListingFailedError } from '#reconcile/errors';
import {
  DestinationListing,
  justBelow,
  LIST_IN_HEADS,
  ListingBudget,
  listedReplicaState,
  listedStatesOf,
} from '#reconcile/listing-join';
import type { ListedObject } from '#reconcile/objects';
import { objectRulesOf } from '#rules/config';
import { configFrom } from '#test/support/fixtures';

const CONFIG = configFrom(`
rules:
  - name: docs
    objects: { bucket: src, prefix: docs/ }
    to:
      - { bucket: dr-bucket, region: us-west-2, keyPrefix: mirror/, tags: { copy: false } }
      - { bucket: kms-bucket, region: us-west-2, tags: { copy: false }, encryption: { sse: "aws:kms", kmsKeyId: alias/dr } }
`);
const rule = objectRulesOf(CONFIG)[0];
if (!rule) throw new Error('no rule');
const [plain, kms] = rule.to as [(typeof rule.to)[0], (typeof rule.to)[0]];

const at = (iso: string) => new Date(iso);
const source: ListedObject = {
  key: 'docs/a',
  size: 10,
  etag: '"0cc175b9c0f1b6a831c399e269772661"',
  lastModified: at('2026-01-01T00:00:00Z'),
};
const copy = { ...source, key: 'mirror/a', lastModified: at('2026-01-01T00:00:05Z') };

describe('listedReplicaState', () => {
  it('decides missing, stale and current where the listing can tell', () => {
    expect(listedReplicaState(source, undefined, plain)).toBe('missing');
    expect(listedReplicaState(source, { ...copy, size: 11 }, plain)).toBe('stale');
    expect(listedReplicaState(source, { ...copy, lastModified: at('2025-12-31T23:59:59Z') }, plain)).toBe(
      'stale',
    );
    expect(listedReplicaState(source, copy, plain)).toBe('current');
    // A multipart source copied with its layout kept: the same `-N` ETag.
    const parts = { ...source, etag: '"9b2cf535f27731c974343645a3985328-3"' };
    expect(listedReplicaState(parts, { ...copy, etag: parts.etag }, plain)).toBe('current');
  });

  it('leaves to a HEAD what it cannot tell: ETags that differ, or ones KMS makes no digests', () => {
    expect(listedReplicaState(source, { ...copy, etag: '"92eb5ffee6ae2fec3ad71c777531578f"' }, plain)).toBe(
      undefined,
    );
    expect(listedReplicaState(source, copy, kms)).toBe(undefined);
  });
});

describe('ListingBudget', () => {
  it('lists a page only when its HEADs would cost more than a LIST', () => {
    expect(LIST_IN_HEADS).toBeCloseTo(12.5);
    expect(new ListingBudget(12).worthListing).toBe(false);
    expect(new ListingBudget(12).mayList()).toBe(false);
    expect(new ListingBudget(13).mayList()).toBe(true);
  });

  it('makes another LIST only while the LISTs made answered LIST_IN_HEADS replicas each', () => {
    const budget = new ListingBudget(1000);
    budget.listed();
    for (let i = 0; i < 12; i++) budget.told();
    expect(budget.mayList()).toBe(false); // 12 answered: the LIST did not pay for itself
    budget.told();
    expect(budget.mayList()).toBe(true);
  });

  it('never makes more LISTs than the HEADs of the page would cost', () => {
    const budget = new ListingBudget(25);
    budget.listed();
    for (let i = 0; i < 25; i++) budget.told();
    expect(budget.mayList()).toBe(true); // two LISTs: 25 HEADs' worth
    budget.listed();
    expect(budget.mayList()).toBe(false);
  });
});

describe('justBelow', () => {
  it('gives a string just before the key, with no key between but those that start with it', () => {
    expect(justBelow('mirror/20')).toBe('mirror/2/');
    expect(compareKeys(justBelow('a\u{1F600}') ?? '', 'a\u{1F600}')).toBeLessThan(0);
    expect(justBelow('a\u{1F600}')).toBe('a\u{1F5FF}');
    expect(justBelow('a\uE000')).toBe('a\uD7FF');
    expect(justBelow('')).toBeUndefined();
  });
});

describe('compareKeys', () => {
  it('orders keys by their UTF-8 bytes, as S3 lists them', () => {
    expect(compareKeys('x\uFFFD', 'x\u{1F600}')).toBeLessThan(0);
    expect('x\uFFFD' < 'x\u{1F600}').toBe(false); // JavaScript's order is the reverse
    expect(compareKeys('a', 'a')).toBe(0);
    expect(compareKeys('ab', 'a')).toBeGreaterThan(0);
  });
});

/** A destination holding `keys`, listed in pages of `pageSize` keys (S3 sends up to 1,000). */
function fakeDestination(keys: readonly string[], pageSize: number, etag = '"e"') {
  const s3 = mockClient(S3Client);
  const inputs: ListObjectsV2CommandInput[] = [];
  s3.on(ListObjectsV2Command).callsFake((input: ListObjectsV2CommandInput) => {
    inputs.push(input);
    const after = input.StartAfter;
    const rest = keys.filter(
      (key) => key.startsWith(input.Prefix ?? '') && (after === undefined || compareKeys(key, after) > 0),
    );
    return {
      Contents: rest.slice(0, pageSize).map((Key) => ({ Key, Size: 1, ETag: etag })),
      IsTruncated: rest.length > pageSize,
    };
  });
  const client = new S3Client({ region: 'us-west-2' });
  return { inputs, deps: { s3: () => client }, restore: () => s3.restore() };
}

describe('listedStatesOf', () => {
  const sourceKeys = Array.from({ length: 300 }, (_, i) => `docs/${String(i).padStart(4, '0')}`);
  const candidates: ListedObject[] = sourceKeys.map((key) => ({
    key,
    size: 1,
    etag: '"e"',
    lastModified: undefined,
  }));
  // Nine other destination objects after each replica: a page of 1,000 keys holds 100 replicas.
  const destinationKeys = sourceKeys.flatMap((key) => {
    const replica = `mirror/${key.slice('docs/'.length)}`;
    return [replica, ...Array.from({ length: 9 }, (_, j) => `${replica}/other-${j}`)];
  });

  it('goes on listing while each LIST tells more replicas than it costs in HEADs', async () => {
    const { inputs, deps, restore } = fakeDestination(destinationKeys, 1000);
    const states = await listedStatesOf(rule, candidates, undefined, new Map(), deps as never);
    expect(states.map((row) => row[0])).toEqual(sourceKeys.map(() => 'current'));
    // The other destination has nothing under docs/ in this fake: missing, whatever its encryption.
    expect(states.map((row) => row[1])).toEqual(sourceKeys.map(() => 'missing'));
    expect(inputs.filter((input) => input.Bucket === 'dr-bucket')).toHaveLength(3);
    restore();
  });

  it('stops listing when a LIST told fewer replicas than it costs, and leaves the rest to HEADs', async () => {
    const { inputs, deps, restore } = fakeDestination(destinationKeys, 100); // 10 replicas a page
    const states = await listedStatesOf(rule, candidates, undefined, new Map(), deps as never);
    expect(states.filter((row) => row[0] === 'current')).toHaveLength(10);
    expect(states.filter((row) => row[0] === undefined)).toHaveLength(290);
    expect(inputs.filter((input) => input.Bucket === 'dr-bucket')).toHaveLength(1);
    restore();
  });
});

describe('DestinationListing', () => {
  const keys = Array.from({ length: 30 }, (_, i) => `mirror/${String(i).padStart(2, '0')}`);
  it('walks forward, answers present and absent keys, and starts a page after the last key asked', async () => {
    const { inputs, deps, restore } = fakeDestination(keys, 5);
    const walk = new DestinationListing(rule, plain, deps as never, undefined);
    const budget = new ListingBudget(1000);
    expect((await walk.find('mirror/01', budget))?.key).toBe('mirror/01');
    expect(await walk.find('mirror/01x', budget)).toBeNull();
    expect((await walk.find('mirror/04', budget))?.key).toBe('mirror/04');
    for (let i = 0; i < 13; i++) budget.told(); // as if the first page had answered 13 replicas
    // Far ahead: the next page starts just below the key asked, not after the page's last key.
    expect((await walk.find('mirror/20', budget))?.key).toBe('mirror/20');
    expect(await walk.find('mirror/22x', budget)).toBeNull(); // on the page held
    expect(inputs.map((input) => input.StartAfter)).toEqual(['mirror/00', 'mirror/2/']);
    expect(inputs.every((input) => input.Prefix === 'mirror/' && input.Bucket === 'dr-bucket')).toBe(true);
    restore();
  });

  it('stops where its budget allows no more LISTs and refuses keys out of order: a HEAD decides those', async () => {
    const { inputs, deps, restore } = fakeDestination(keys, 5);
    const walk = new DestinationListing(rule, plain, deps as never, 'mirror/02');
    const budget = new ListingBudget(20); // one LIST: 12.5 HEADs' worth
    expect((await walk.find('mirror/03', budget))?.key).toBe('mirror/03');
    expect(await walk.find('mirror/02', budget)).toBeUndefined(); // before the last key asked
    expect((await walk.find('mirror/07', budget))?.key).toBe('mirror/07'); // still on the page held
    expect(await walk.find('mirror/12', budget)).toBeUndefined(); // another page, none left to pay for
    expect(inputs.map((input) => input.StartAfter)).toEqual(['mirror/02']);
    restore();
  });
});

describe('a destination listing that fails', () => {
  it('is no answer: the walk throws a ListingFailedError naming the key space, never "no replica"', async () => {
    const s3 = mockClient(S3Client);
    const throttled = Object.assign(new Error('Please reduce your request rate.'), { name: 'SlowDown' });
    s3.on(ListObjectsV2Command).rejects(throttled);
    const client = new S3Client({ region: 'us-west-2' });
    const asked: unknown[] = [];
    const deps = {
      s3: (_target: unknown, options?: { retries?: unknown }) => {
        asked.push(options?.retries);
        return client;
      },
    };
    const walk = new DestinationListing(rule, plain, deps as never, undefined);
    const failure = walk.find('mirror/a', new ListingBudget(1000));
    await expect(failure).rejects.toThrow(ListingFailedError);
    await expect(failure).rejects.toMatchObject({
      what: 's3://dr-bucket/mirror/ in us-west-2',
      bucket: 'dr-bucket',
      cause: throttled,
    });
    expect(asked).toEqual(['patient']);
    s3.restore();
  });
});
