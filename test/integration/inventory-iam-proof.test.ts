import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatMissing, proveRequests } from '#deploy/iam-proof/evaluate';
import { proofRoles } from '#deploy/iam-proof/policies';
import type { IamRequest } from '#deploy/iam-proof/request';
import { type Sandbox, startSandbox } from '#local/sandbox';
import { configFrom } from '#test/support/fixtures';

/**
 * The IAM proof (deploy/iam-proof) of the inventory path: a scheduled reconcile that starts the inventory
 * machine, and the machine's run, on the sandbox. Every authorization recorded, the functions' (reconcile,
 * inventoryBatch) and the machine's own (ItemReader, ResultWriter, child executions, its Tasks' invocations,
 * local/distributed-map.ts), is allowed by the roles the package generates (deploy/inventory-machine.ts,
 * deploy/iam/policies.ts); a call outside them is denied.
 */

const CONFIG = configFrom(`
rules:
  - name: archive
    objects:
      bucket: pf-archive
      prefix: records/
      inventory: { bucket: pf-reports, prefix: inventories, configId: daily }
    to:
      - bucket: pf-archive-dr
        region: us-west-2
        keyPrefix: mirror/
        replicateDeletes: true
        replicateLifecycleDeletes: true
        inventory: { bucket: pf-reports-dr, configId: daily }
  - name: listed
    objects:
      bucket: pf-web
      prefix: site/
    to:
      - bucket: pf-web-dr
        region: us-west-2
`);

let sandbox: Sandbox;
const MACHINE = { stateMachine: 'inventory-reconcile' } as const;

beforeAll(async () => {
  sandbox = await startSandbox({ config: CONFIG, port: 0 });
  const put = (bucket: string, key: string) =>
    sandbox.s3('us-east-1').send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: key }));
  await put('pf-archive', 'records/a.txt');
  await sandbox.settle();
  sandbox.bus.pause();
  try {
    await put('pf-archive', 'records/lost.txt');
    await put('pf-web', 'site/lost.html');
  } finally {
    sandbox.bus.resume();
  }
  await sandbox.publishInventories();
  const report = await sandbox.reconcile();
  expect(report.inventoryRun?.rules).toEqual(['archive']);
  await sandbox.settle();
});
afterAll(() => sandbox.stop());

describe('The IAM proof of the inventory path', () => {
  it('allows every call of the scheduled reconcile, the inventory-batch function and the machine itself', async () => {
    const requests = sandbox.iamRequests();
    const machine = requests.filter((request) => 'stateMachine' in request.principal);
    expect(new Set(machine.map((request) => request.action))).toEqual(
      new Set(['s3:GetObject', 's3:PutObject', 'states:StartExecution', 'lambda:InvokeFunction']),
    );
    expect(requests.some((r) => 'function' in r.principal && r.principal.function === 'inventoryBatch')).toBe(
      true,
    );
    expect(
      requests.some(
        (r) =>
          'function' in r.principal &&
          r.principal.function === 'reconcile' &&
          r.action === 'states:StartExecution' &&
          r.resource.endsWith(':stateMachine:ferry-sandbox-inventory-reconcile'),
      ),
    ).toBe(true);
    const report = await proveRequests(requests, proofRoles(CONFIG));
    expect(formatMissing(report.missing), 'calls IAM would deny').toBe('');
    // The machine's grants the run did not use are those the Distributed Map page requires for what the
    // sandbox never does: stopping children, large ResultWriter uploads, reading its own results back.
    expect(
      report.surplus
        .filter((surplus) => surplus.principal === 'stateMachine:inventory-reconcile')
        .map((surplus) => surplus.action)
        .sort(),
    ).toEqual([
      's3:AbortMultipartUpload',
      's3:ListMultipartUploadParts',
      'states:DescribeExecution',
      'states:StopExecution',
    ]);
  });

  it('denies the machine and the reconcile function what lies outside their generated policies', async () => {
    const outside: IamRequest[] = [
      // The inventory reports are read by the inventory-batch function, never by the machine.
      {
        principal: MACHINE,
        action: 's3:GetObject',
        resource: 'arn:aws:s3:::pf-reports/inventories/pf-archive/daily/manifest.json',
        context: {},
        call: 'states:ItemReader',
      },
      {
        principal: MACHINE,
        action: 's3:PutObject',
        resource: 'arn:aws:s3:::pf-web/site/results.json',
        context: {},
        call: 'states:ResultWriter',
      },
      {
        principal: MACHINE,
        action: 'states:StartExecution',
        resource: 'arn:aws:states:us-east-1:000000000000:stateMachine:ferry-sandbox-object-copy',
        context: {},
        call: 'states:StartExecution',
      },
      {
        principal: MACHINE,
        action: 'lambda:InvokeFunction',
        resource: 'arn:aws:lambda:us-east-1:000000000000:function:ferry-sandbox-reconcile',
        context: {},
        call: 'lambda:Invoke',
      },
      // The reconcile function starts its own stage's inventory machine only.
      {
        principal: { function: 'reconcile' },
        action: 'states:StartExecution',
        resource: 'arn:aws:states:us-east-1:000000000000:stateMachine:ferry-other-inventory-reconcile',
        context: {},
        call: 'states:StartExecution',
      },
    ];
    const report = await proveRequests(outside, proofRoles(CONFIG));
    expect(report.missing.map(({ request }) => request.resource)).toEqual(
      outside.map(({ resource }) => resource),
    );
  });
});
