import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Sandbox, startSandbox } from '#local/sandbox';
import { configFrom } from '#test/support/fixtures';

/**
 * The scheduled reconcile (src/reconcile/scheduled.ts) on the sandbox: a rule with inventories is reconciled by
 * the inventory-reconcile machine it starts, the rule without is listed, and one run repairs both. The
 * inventoried rule's source is never listed nor HEAD-checked by the reconcile function (call recorder).
 */

const CONFIG = configFrom(`
rules:
  - name: archive
    objects:
      bucket: sc-archive
      prefix: records/
      inventory: { bucket: sc-reports, prefix: inventories, configId: daily }
    to:
      - bucket: sc-archive-dr
        region: us-west-2
        inventory: { bucket: sc-reports-dr, configId: daily }
  - name: listed
    objects:
      bucket: sc-web
      prefix: site/
    to:
      - bucket: sc-web-dr
        region: us-west-2
`);

let sandbox: Sandbox;

const bodyOf = async (bucket: string, key: string) => {
  try {
    const object = await sandbox.s3('us-west-2').send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return await object.Body?.transformToString();
  } catch {
    return undefined;
  }
};

const put = (bucket: string, key: string) =>
  sandbox.s3('us-east-1').send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: `body of ${key}` }));

beforeAll(async () => {
  sandbox = await startSandbox({ config: CONFIG, port: 0 });
  await put('sc-archive', 'records/replicated.txt');
  await put('sc-web', 'site/replicated.html');
  await sandbox.settle();
  // Their events are lost: only a reconcile can find them.
  sandbox.bus.pause();
  try {
    await put('sc-archive', 'records/lost.txt');
    await put('sc-web', 'site/lost.html');
  } finally {
    sandbox.bus.resume();
  }
});
afterAll(() => sandbox.stop());

describe('the scheduled reconcile: inventories where configured, listing where not', () => {
  it('repairs both rules in one run, the inventoried one by the inventory machine it starts', async () => {
    expect(await bodyOf('sc-archive-dr', 'records/lost.txt')).toBeUndefined();
    expect(await bodyOf('sc-web-dr', 'site/lost.html')).toBeUndefined();
    await sandbox.publishInventories();
    const before = sandbox.calls().length;

    const report = await sandbox.reconcile();
    await sandbox.settle();

    expect(report.rules.map((rule) => rule.rule)).toEqual(['listed']);
    expect(report.rules[0]).toMatchObject({ scanned: 2, missing: 1, sent: 1, failed: [] });
    expect(report.inventoryRun?.rules).toEqual(['archive']);
    expect(report.inventoryRun?.execution).toContain(
      ':execution:ferry-sandbox-inventory-reconcile:scheduled-',
    );
    expect(await bodyOf('sc-archive-dr', 'records/lost.txt')).toBe('body of records/lost.txt');
    expect(await bodyOf('sc-web-dr', 'site/lost.html')).toBe('body of site/lost.html');

    const calls = sandbox.calls().slice(before);
    const byBucket = (fn: string, operation: string, bucket: string) =>
      calls.filter(
        (call) => call.function === fn && call.operation === operation && call.input.Bucket === bucket,
      ).length;
    // The listed rule's source was listed; the inventoried one's never, and its matching key never HEAD-checked.
    expect(byBucket('reconcile', 'ListObjectsV2', 'sc-web')).toBeGreaterThan(0);
    for (const fn of ['reconcile', 'inventoryBatch']) {
      expect(byBucket(fn, 'ListObjectsV2', 'sc-archive'), fn).toBe(0);
      expect(byBucket(fn, 'ListObjectsV2', 'sc-archive-dr'), fn).toBe(0);
    }
    expect(byBucket('reconcile', 'HeadObject', 'sc-archive')).toBe(0);
    expect(byBucket('reconcile', 'HeadObject', 'sc-archive-dr')).toBe(0);
    const heads = calls.filter(
      (call) => call.operation === 'HeadObject' && call.input.Bucket === 'sc-archive-dr',
    );
    expect(heads.map((call) => call.input.Key)).not.toContain('records/replicated.txt');
    // The reconcile function started the run itself.
    expect(
      calls.filter((call) => call.function === 'reconcile' && call.operation === 'StartExecution').length,
    ).toBe(1);
  });

  it('gives an inventoried rule asked for by name an inventory run and no listing pass', async () => {
    const report = await sandbox.reconcile({ rule: 'archive' });
    await sandbox.settle();
    expect(report.rules).toEqual([]);
    expect(report.inventoryRun?.rules).toEqual(['archive']);
  });
});
