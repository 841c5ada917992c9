import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Delivery } from '#local/event-bus';
import { type Sandbox, startSandbox } from '#local/sandbox';
import type { Report } from '#objects/outcomes';
import { configFrom } from '#test/support/fixtures';

/**
 * Rules whose replicas share keys, ordered by priority, on the sandbox with the real handlers: each shared
 * key gets one writer, the higher-priority rule, whichever source is written last; the lower rule keeps its
 * other keys and destinations. (Unordered, validation refuses these rules: test/unit/rules/shared-replicas.)
 */
const CONFIG = configFrom(`
rules:
  - name: everything
    priority: 1
    objects: { bucket: sr-prod }
    to:
      - { bucket: sr-dr, region: us-west-2, replicateDeletes: true }
  - name: invoices
    priority: 2
    objects: { bucket: sr-prod, prefix: invoices/ }
    to:
      - { bucket: sr-dr, region: us-west-2, storageClass: STANDARD_IA, replicateDeletes: true }
  - name: docs-a
    priority: 5
    objects: { bucket: sr-a, prefix: docs/ }
    to:
      - { bucket: sr-vault, region: us-west-2, keyPrefix: mirror/ }
  - name: docs-b
    priority: 4
    objects: { bucket: sr-b, prefix: docs/ }
    to:
      - { bucket: sr-vault, region: us-west-2, keyPrefix: mirror/ }
      - { bucket: sr-b-dr, region: us-west-2 }
`);

let sandbox: Sandbox;
const deliveries: Delivery[] = [];
const source = () => sandbox.s3('us-east-1');
const dr = () => sandbox.s3('us-west-2');

beforeAll(async () => {
  sandbox = await startSandbox({ config: CONFIG, port: 0, onDelivery: (d) => deliveries.push(d) });
});
afterAll(async () => {
  await sandbox.stop();
});

async function put(bucket: string, key: string, body: string) {
  await source().send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
  await sandbox.settle();
}

async function replica(bucket: string, key: string) {
  const object = await dr().send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return {
    body: await object.Body?.transformToString(),
    rule: object.Metadata?.['ferry-rule'],
    storageClass: object.StorageClass ?? 'STANDARD',
  };
}

const outcomesFor = (source: string) =>
  deliveries
    .filter((d) => (d.result as Report | undefined)?.source === source)
    .flatMap((d) => (d.result as Report).outcomes);

describe('replicas shared by rules ordered by priority (sandbox, real handlers)', () => {
  it('It should copy an object both rules match once, with the higher rule’s settings', async () => {
    await put('sr-prod', 'invoices/2026/1.pdf', 'invoice');
    await put('sr-prod', 'photos/1.jpg', 'photo');

    expect(await replica('sr-dr', 'invoices/2026/1.pdf')).toEqual({
      body: 'invoice',
      rule: 'invoices',
      storageClass: 'STANDARD_IA',
    });
    expect(outcomesFor('s3://sr-prod/invoices/2026/1.pdf')).toEqual([
      expect.objectContaining({ status: 'copied', rule: 'invoices' }),
    ]);
    expect(await replica('sr-dr', 'photos/1.jpg')).toEqual({
      body: 'photo',
      rule: 'everything',
      storageClass: 'STANDARD',
    });
  });

  it('It should keep the higher rule’s replica when the lower rule’s source is written last', async () => {
    await put('sr-a', 'docs/plan.txt', 'from a');
    await put('sr-b', 'docs/plan.txt', 'from b');

    expect(await replica('sr-vault', 'mirror/plan.txt')).toMatchObject({ body: 'from a', rule: 'docs-a' });
    // The lower rule still copies to its destination that nobody shares.
    expect(await replica('sr-b-dr', 'docs/plan.txt')).toMatchObject({ body: 'from b', rule: 'docs-b' });
    expect(outcomesFor('s3://sr-b/docs/plan.txt')).toEqual([
      expect.objectContaining({
        status: 'copied',
        rule: 'docs-b',
        target: expect.stringContaining('sr-b-dr'),
      }),
    ]);
  });

  it('It should delete a shared key’s replica once, for the rule that owns it', async () => {
    await put('sr-prod', 'invoices/2026/2.pdf', 'short-lived');
    await source().send(new DeleteObjectCommand({ Bucket: 'sr-prod', Key: 'invoices/2026/2.pdf' }));
    await sandbox.settle();

    await expect(
      dr().send(new HeadObjectCommand({ Bucket: 'sr-dr', Key: 'invoices/2026/2.pdf' })),
    ).rejects.toThrow();
    const deletes = outcomesFor('s3://sr-prod/invoices/2026/2.pdf').filter((o) => o.status !== 'copied');
    expect(deletes).toEqual([expect.objectContaining({ status: 'deleted', rule: 'invoices' })]);
  });

  it('It should not count the higher rule’s replica stale when reconciling the lower rule, pass after pass', async () => {
    await put('sr-a', 'docs/report.txt', 'from a');
    await put('sr-b', 'docs/report.txt', 'from b');
    for (let pass = 0; pass < 2; pass++) {
      const { rules } = await sandbox.reconcile({ rule: 'docs-b' });
      await sandbox.settle();
      expect(rules.find((report) => report.rule === 'docs-b')).toMatchObject({
        missing: 0,
        stale: 0,
        sent: 0,
      });
    }
    expect(await replica('sr-vault', 'mirror/report.txt')).toMatchObject({ body: 'from a', rule: 'docs-a' });
  });
});
