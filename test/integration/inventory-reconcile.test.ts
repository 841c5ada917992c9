import {
  DeleteObjectCommand,
  GetObjectCommand,
  PutBucketInventoryConfigurationCommand,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Sandbox, startSandbox } from '#local/sandbox';
import { inventorySidesOf, requiredConfiguration } from '#reconcile/inventory/configuration';
import { inventoryRule, writeConfigFile } from '#test/support/inventory-rule';
import { backfillCommand } from '../../cli/backfill.ts';
import { InventoryMachineNotDeployedError, inventoryMachineArnFor } from '../../cli/backfill-inventory.ts';

/**
 * The inventory path end to end on the sandbox: S3 Inventory reports published by the sandbox's S3, the real
 * statemachines/inventory-reconcile.asl.yaml (its Distributed Maps emulated by local/distributed-map.ts), the
 * real inventory-batch handler, and the report read back from the join map's ResultWriter export.
 */

const {
  yaml: YAML,
  config: CONFIG,
  rule: CONFIG_RULE,
} = inventoryRule({
  buckets: 'iv',
  destinationConfigId: 'daily',
  destination: { replicateDeletes: true, replicateLifecycleDeletes: true },
});

let sandbox: Sandbox;
const source = () => sandbox.s3('us-east-1');
const replicas = () => sandbox.s3('us-west-2');

const bodyOf = async (bucket: string, key: string) => {
  try {
    const client = bucket === 'iv-dr' ? replicas() : source();
    const object = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return await object.Body?.transformToString();
  } catch {
    return undefined;
  }
};

/** Source writes and deletes whose events are lost (the bus publishes into nothing meanwhile). */
async function lost(work: () => Promise<void>) {
  sandbox.bus.pause();
  try {
    await work();
  } finally {
    sandbox.bus.resume();
  }
}

const put = (key: string, body: string) =>
  source().send(new PutObjectCommand({ Bucket: 'iv-source', Key: key, Body: body }));

const MATCHING = ['docs/m4.txt', 'docs/m5 b+ü.txt'];
const STALE = ['docs/m0.txt', 'docs/m1.txt'];
const DELETED = ['docs/m2.txt', 'docs/m3.txt'];
const MISSING = ['docs/n0.txt', 'docs/n1 c.txt'];

beforeAll(async () => {
  sandbox = await startSandbox({ config: CONFIG, port: 0 });
  // Replicated as usual, through their events.
  for (const key of [...MATCHING, ...STALE, ...DELETED]) await put(key, `first ${key}`);
  await put('other/x.txt', 'outside the rule');
  await sandbox.settle();
  await lost(async () => {
    for (const key of STALE) await put(key, `second ${key}`);
    for (const key of DELETED)
      await source().send(new DeleteObjectCommand({ Bucket: 'iv-source', Key: key }));
    for (const key of MISSING) await put(key, `only ${key}`);
  });
});
afterAll(() => sandbox.stop());

describe('inventory reconcile on the sandbox', () => {
  it('repairs missing and stale replicas and deletes replicas of deleted sources, reporting exactly that', async () => {
    for (const key of MATCHING) expect(await bodyOf('iv-dr', `mirror/${key.slice(5)}`)).toBe(`first ${key}`);
    await sandbox.publishInventories({ rowsPerFile: 3 });
    const { execution, report } = await sandbox.reconcileInventory({ shards: 3 });
    expect(execution.status, JSON.stringify(execution.error)).toBe('SUCCEEDED');
    await sandbox.settle();

    expect(report?.rules).toEqual([
      {
        rule: 'docs',
        kind: 'objects',
        scanned: MATCHING.length + STALE.length + MISSING.length,
        missing: MISSING.length,
        stale: STALE.length,
        sent: MISSING.length + STALE.length,
        skipped: 0,
        orphanedReplicas: { found: DELETED.length, deleted: DELETED.length },
        failed: [],
      },
    ]);
    for (const key of MISSING) expect(await bodyOf('iv-dr', `mirror/${key.slice(5)}`)).toBe(`only ${key}`);
    for (const key of STALE) expect(await bodyOf('iv-dr', `mirror/${key.slice(5)}`)).toBe(`second ${key}`);
    for (const key of DELETED) expect(await bodyOf('iv-dr', `mirror/${key.slice(5)}`)).toBeUndefined();
    for (const key of MATCHING) expect(await bodyOf('iv-dr', `mirror/${key.slice(5)}`)).toBe(`first ${key}`);
  });

  it('made no HeadObject for the rows whose replicas matched (call recorder)', () => {
    const calls = sandbox.calls().filter((call) => call.function === 'inventoryBatch');
    expect(calls.some((call) => call.operation === 'GetObject')).toBe(true);
    const matchingKeys = new Set(MATCHING.flatMap((key) => [key, `mirror/${key.slice(5)}`]));
    const heads = calls.filter((call) => call.operation === 'HeadObject');
    expect(heads.filter((call) => matchingKeys.has(String(call.input.Key)))).toEqual([]);
    // HEADs were made only for what needed them: the create path's and the orphan check's.
    expect(heads.length).toBeGreaterThan(0);
  });

  it('finds nothing more to do on a second run over fresh inventories', async () => {
    await sandbox.publishInventories();
    const { report } = await sandbox.reconcileInventory({ shards: 2 });
    expect(report?.rules[0]).toMatchObject({ scanned: 6, missing: 0, stale: 0, sent: 0, failed: [] });
    expect(report?.rules[0]?.orphanedReplicas).toEqual({ found: 0, deleted: 0 });
  });

  it('ferry backfill --inventory starts the machine through the Step Functions API and prints its report', async () => {
    await lost(() => put('docs/late.txt', 'late').then(() => undefined));
    // backfill --inventory checks the buckets' inventory configurations first: put the ones Ferry needs.
    for (const side of inventorySidesOf(CONFIG_RULE, 'us-east-1', sandbox.account))
      await sandbox.s3(side.target.region).send(
        new PutBucketInventoryConfigurationCommand({
          Bucket: side.bucket,
          Id: side.location.configId,
          InventoryConfiguration: requiredConfiguration(side),
        }),
      );
    await sandbox.publishInventories();
    const configFile = writeConfigFile(YAML, 'ferry-inv-');
    const result = await backfillCommand({
      configFile,
      endpoint: sandbox.endpoint,
      inventory: true,
      env: {},
    });
    expect(result.lines.join('\n')).toContain('rule docs (objects): scanned 7, missing 1, stale 0, sent 1');
    expect(result.exitCode).toBe(0);
    await sandbox.settle();
    expect(await bodyOf('iv-dr', 'mirror/late.txt')).toBe('late');
  });

  it('ferry backfill --inventory finds the machine of the stage by name, and says so when it is not deployed', async () => {
    const configFile = writeConfigFile(YAML, 'ferry-inv-');
    const expected = 'arn:aws:states:us-east-1:000000000000:stateMachine:ferry-prod-inventory-reconcile';
    expect(
      inventoryMachineArnFor({ FERRY_STAGE: 'prod' }, { region: 'us-east-1', account: '000000000000' }),
    ).toBe(expected);
    expect(
      inventoryMachineArnFor({}, { region: 'cn-north-1', account: '111122223333', endpoint: undefined }),
    ).toBe('arn:aws-cn:states:cn-north-1:111122223333:stateMachine:ferry-dev-inventory-reconcile');
    // The sandbox deploys stage `sandbox` only: stage prod's machine is not there.
    const result = await backfillCommand({
      configFile,
      endpoint: sandbox.endpoint,
      inventory: true,
      env: { FERRY_STAGE: 'prod' },
    });
    expect(result.exitCode).toBe(1);
    expect(result.lines.join('\n')).toBe(`✘ ${new InventoryMachineNotDeployedError(expected).message}`);
  });
});
