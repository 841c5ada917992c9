import { fileURLToPath } from 'node:url';
import {
  CreateImageCommand,
  CreateSnapshotCommand,
  CreateTagsCommand,
  DeleteTagsCommand,
} from '@aws-sdk/client-ec2';
import {
  DeleteObjectCommand,
  HeadObjectCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  PutObjectLockConfigurationCommand,
} from '@aws-sdk/client-s3';
import { GetQueueUrlCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, describe, expect, it } from 'vitest';
import { formatMissing, type ProofReport, proveRequests } from '#deploy/iam-proof/evaluate';
import { JUSTIFIED, surplusAcross, unjustified } from '#deploy/iam-proof/justified';
import { proofRoles } from '#deploy/iam-proof/policies';
import type { IamRequest } from '#deploy/iam-proof/request';
import { Narration, runDemo } from '#local/demo';
import { DEMO_EC2_OPTIONS } from '#local/demo-ec2-expectations';
import {
  SANDBOX_COPY_WAITERS_TABLE,
  SANDBOX_CREDENTIALS,
  type Sandbox,
  type SandboxOptions,
  startSandbox,
} from '#local/sandbox';
import type { Execution } from '#local/step-functions';
import type { FerryConfig } from '#rules/config';
import { loadConfigFile } from '#rules/load';
import { ec2Event } from '#test/support/ec2-events';
import { s3Event } from '#test/support/fixtures';

/**
 * The IAM proof (issue 13): run the sandbox through each configuration's main paths, take every IAM
 * authorization the functions' recorded calls needed (`sandbox.iamRequests()`), and evaluate each against
 * the policies the package deploys for that configuration (deploy/iam-proof). Missing, calls IAM would deny,
 * must be none; surplus, actions no call needed, must each be justified (deploy/iam-proof/justified.ts).
 */

const configFile = (path: string) => fileURLToPath(new URL(path, import.meta.url));
const DEFAULT_CONFIG = configFile('../../local/sandbox.replication.yml');
const CROSS_ACCOUNT = configFile('../configs/cross-account.yml');
const MULTI_REGION = configFile('../configs/multi-region.yml');
const OBJECT_LOCK = configFile('../configs/object-lock.yml');
const RPO = configFile('../configs/rpo.yml');

const VAULT_KEY = 'arn:aws:kms:us-west-2:333344445555:key/1234abcd-12ab-34cd-56ef-1234567890ab';

const started: Sandbox[] = [];
const reports: ProofReport[] = [];
afterAll(async () => {
  for (const sandbox of started) await sandbox.stop();
});

interface Run {
  report: ProofReport;
  executions: Execution[];
  requests: IamRequest[];
}

async function prove(
  config: FerryConfig,
  ec2: SandboxOptions['ec2'],
  drive: (sandbox: Sandbox) => Promise<void>,
  more: Pick<SandboxOptions, 'objectCreatedQueue'> = {},
): Promise<Run> {
  const executions: Execution[] = [];
  const sandbox = await startSandbox({
    config,
    port: 0,
    ec2,
    ...more,
    // As deployed (deploy/parts.cjs): the EC2 copy machines wait for the copies' completion events.
    ec2Completion: 'events',
    onExecutionEnd: (execution) => executions.push(execution),
  });
  started.push(sandbox);
  await drive(sandbox);
  const requests = sandbox.iamRequests();
  const report = await proveRequests(requests, proofRoles(config));
  reports.push(report);
  return { report, executions, requests };
}

async function putAndDelete(sandbox: Sandbox, region: string, bucket: string, key: string) {
  const s3 = sandbox.s3(region);
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: `contents of ${key}` }));
  await sandbox.settle();
  await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
  await sandbox.reconcile();
  await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
  await sandbox.settle();
}

async function createSnapshot(sandbox: Sandbox, region: string, tags: Record<string, string>) {
  const volumeId = sandbox.ec2.createVolume(region, { sizeGiB: 8, encrypted: false });
  await sandbox.ec2Client(region).send(
    new CreateSnapshotCommand({
      VolumeId: volumeId,
      Description: 'nightly',
      TagSpecifications: [
        { ResourceType: 'snapshot', Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) },
      ],
    }),
  );
  await sandbox.settle();
}

async function createImage(sandbox: Sandbox, region: string, name: string) {
  const volumeId = sandbox.ec2.createVolume(region, { sizeGiB: 8, encrypted: false });
  const instanceId = sandbox.ec2.createInstance(region, [volumeId]);
  await sandbox.ec2Client(region).send(new CreateImageCommand({ InstanceId: instanceId, Name: name }));
  await sandbox.settle();
}

/** Object Lock on an existing bucket: versioning, then the configuration (object-lock-configure.html). */
async function enableObjectLock(sandbox: Sandbox, region: string, bucket: string) {
  const s3 = sandbox.s3(region);
  await s3.send(
    new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }),
  );
  await s3.send(
    new PutObjectLockConfigurationCommand({
      Bucket: bucket,
      ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled' },
    }),
  );
}

/** Messages into the sandbox's dead-letter queue, each an on-failure record of the event (or a raw body). */
async function sendDeadLetters(sandbox: Sandbox, events: readonly unknown[]) {
  const sqs = new SQSClient({
    region: 'us-east-1',
    endpoint: sandbox.endpoint,
    credentials: SANDBOX_CREDENTIALS,
  });
  try {
    const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: 'ferry-sandbox-dead-letters' }));
    for (const event of events)
      await sqs.send(
        new SendMessageCommand({
          QueueUrl,
          MessageBody:
            typeof event === 'string'
              ? event
              : JSON.stringify({
                  version: '1.0',
                  requestContext: {
                    functionArn:
                      'arn:aws:lambda:us-east-1:000000000000:function:ferry-sandbox-objectCreated:$LATEST',
                    condition: 'RetriesExhausted',
                  },
                  requestPayload: event,
                  responsePayload: {
                    errorType: 'SlowDown',
                    errorMessage: 'Please reduce your request rate.',
                  },
                }),
        }),
      );
  } finally {
    sqs.destroy();
  }
}

/** The proof's verdict, readable: the missing permissions one per line (function: call, action, resource, why). */
function expectProven({ report, executions }: Run) {
  expect(report.evaluated).toBeGreaterThan(0);
  expect(formatMissing(report.missing), 'calls IAM would deny').toBe('');
  expect(executions.filter((execution) => execution.status !== 'SUCCEEDED').map(({ name }) => name)).toEqual(
    [],
  );
}

describe('The IAM proof: every call the functions make is allowed, and every grant is needed or justified', () => {
  it('It should hold for the default configuration, over the demo (objects, snapshots, AMIs) and a reconcile pass', async () => {
    const run = await prove(loadConfigFile(DEFAULT_CONFIG), DEMO_EC2_OPTIONS, async (sandbox) => {
      const demo = await runDemo(sandbox, new Narration(() => undefined));
      expect(demo.checks.filter((check) => !check.ok)).toEqual([]);
      await sandbox.reconcile();
    });
    // The demo injects no fault: its executions all succeed, like those of the other configurations.
    expectProven(run);
  }, 180_000);

  it('It should hold for test/configs/cross-account.yml: objects through the partner’s role, snapshots into the vault', async () => {
    const run = await prove(
      loadConfigFile(CROSS_ACCOUNT),
      { kmsKeys: { 'us-west-2': [VAULT_KEY] } },
      async (sandbox) => {
        await putAndDelete(sandbox, 'us-east-1', 'acme-media', 'published/report.txt');
        await createSnapshot(sandbox, 'us-east-1', { backup: 'vault' });
      },
    );
    expectProven(run);
  }, 120_000);

  it('It should hold for test/configs/multi-region.yml: objects to two Regions, snapshots from two, AMIs to a partner', async () => {
    const run = await prove(
      loadConfigFile(MULTI_REGION),
      { kmsKeys: { 'eu-central-1': ['alias/dr-ebs'], 'us-west-2': ['alias/partner-amis'] } },
      async (sandbox) => {
        await putAndDelete(sandbox, 'us-east-1', 'acme-assets-eu', 'assets/logo.png');
        await createSnapshot(sandbox, 'eu-west-1', {});
        await createSnapshot(sandbox, 'us-east-1', {});
        await createImage(sandbox, 'ap-southeast-2', 'web-1');
      },
    );
    expectProven(run);
  }, 120_000);

  it('It should hold for test/configs/object-lock.yml: locked replicas, single and multipart, carried and minimum, and a delete', async () => {
    const run = await prove(loadConfigFile(OBJECT_LOCK), {}, async (sandbox) => {
      await enableObjectLock(sandbox, 'us-east-1', 'acme-records');
      await enableObjectLock(sandbox, 'us-west-2', 'acme-records-vault');
      await enableObjectLock(sandbox, 'eu-west-1', 'acme-records-mirror');
      const s3 = sandbox.s3('us-east-1');
      const locked = {
        ObjectLockMode: 'GOVERNANCE' as const,
        ObjectLockRetainUntilDate: new Date(sandbox.clock.now() + 90 * 86_400_000),
        ObjectLockLegalHoldStatus: 'ON' as const,
        ChecksumAlgorithm: 'CRC32' as const,
      };
      const put = async (key: string, body: string | Buffer) => {
        await s3.send(new PutObjectCommand({ Bucket: 'acme-records', Key: key, Body: body, ...locked }));
        await sandbox.settle();
      };
      await put('records/2026.csv', 'ledger');
      // Written again: the copy's guard reads the locked replica first.
      await put('records/2026.csv', 'ledger, amended');
      await put('records/archive.bin', Buffer.alloc(9 * 1024 * 1024, 7));
      await sandbox.reconcile();
      await s3.send(new DeleteObjectCommand({ Bucket: 'acme-records', Key: 'records/2026.csv' }));
      await sandbox.settle();
    });
    expectProven(run);
  }, 120_000);

  it('It should hold for test/configs/rpo.yml: the monitor routing object, snapshot and AMI dead letters by their sources', async () => {
    const run = await prove(loadConfigFile(RPO), {}, async (sandbox) => {
      const s3 = sandbox.s3('us-east-1');
      await s3.send(
        new PutObjectCommand({ Bucket: 'acme-docs', Key: 'docs/a.txt', Body: 'a', Tagging: 'replicate=yes' }),
      );
      await s3.send(new PutObjectCommand({ Bucket: 'acme-docs', Key: 'docs/b.txt', Body: 'b' }));
      await createSnapshot(sandbox, 'us-east-1', { backup: 'dr' });
      await createImage(sandbox, 'us-east-1', 'web-1');
      const [snapshot] = sandbox.ec2.snapshots('us-east-1').filter((s) => s.tags.get('backup') === 'dr');
      // A tag change on the source reaches its copy (ec2TagsChanged), as in every config with snapshot rules.
      await sandbox.ec2Client('us-east-1').send(
        new CreateTagsCommand({
          Resources: [snapshot?.snapshotId ?? ''],
          Tags: [{ Key: 'owner', Value: 'ops' }],
        }),
      );
      await sandbox.settle();
      await sandbox
        .ec2Client('us-east-1')
        .send(new DeleteTagsCommand({ Resources: [snapshot?.snapshotId ?? ''], Tags: [{ Key: 'owner' }] }));
      await sandbox.settle();
      const [image] = sandbox.ec2.images('us-east-1');
      // Tagged after it became available (its own event routed it to no rule): its dead letter now matches.
      await sandbox
        .ec2Client('us-east-1')
        .send(
          new CreateTagsCommand({ Resources: [image?.imageId ?? ''], Tags: [{ Key: 'dr', Value: 'true' }] }),
        );
      // Their events, as a Lambda on-failure destination records them after the handler failed.
      const fresh = new Date(sandbox.clock.now()).toISOString();
      const objectEvent = (key: string) => {
        const event = s3Event('object-created');
        event.time = fresh;
        event.account = sandbox.account;
        event.region = 'us-east-1';
        event.detail.bucket.name = 'acme-docs';
        event.detail.object.key = key;
        return event;
      };
      const snapshotEvent = ec2Event('snapshot-created');
      snapshotEvent.time = fresh;
      snapshotEvent.detail.snapshot_id = `arn:aws:ec2:us-east-1::snapshot/${snapshot?.snapshotId}`;
      const imageEvent = ec2Event('image-available');
      imageEvent.time = fresh;
      imageEvent.region = 'us-east-1';
      imageEvent.resources = [`arn:aws:ec2:us-east-1::image/${image?.imageId}`];
      imageEvent.detail.ImageId = image?.imageId;
      await sendDeadLetters(sandbox, [
        objectEvent('docs/a.txt'),
        objectEvent('docs/b.txt'),
        snapshotEvent,
        imageEvent,
        'not an event',
      ]);
      const pass = await sandbox.rpoMonitor.pass();
      // docs/a.txt (its tags match), the snapshot and the AMI; docs/b.txt has not the rule's tag.
      expect(pass.deadLetters).toBe(3);
      expect(pass.unroutable).toEqual({ 'no-rpo-rule': 1, 'not-an-event': 1 });
    });
    expectProven(run);
    const monitorCalls = run.report.evaluated;
    expect(monitorCalls).toBeGreaterThan(0);
  }, 120_000);

  it('It should hold with queue delivery (deployment.delivery.mode queue): objectCreatedBatch polls its own queue and copies each record', async () => {
    const base = loadConfigFile(DEFAULT_CONFIG);
    const config: FerryConfig = {
      ...base,
      deployment: {
        ...base.deployment,
        delivery: { mode: 'queue', batchSize: 10, batchingWindowSeconds: 1 },
      },
    };
    const run = await prove(
      config,
      {},
      async (sandbox) => {
        const s3 = sandbox.s3('us-east-1');
        for (const key of ['docs/a.txt', 'docs/b.txt', 'docs/c.txt'])
          await s3.send(new PutObjectCommand({ Bucket: 'ferry-demo-source', Key: key, Body: key }));
        await sandbox.settle();
        await s3.send(new DeleteObjectCommand({ Bucket: 'ferry-demo-source', Key: 'docs/a.txt' }));
        await sandbox.settle();
      },
      // The sandbox's times are its own milliseconds (local/sqs-event-source.ts).
      {
        objectCreatedQueue: {
          batchSize: 10,
          batchingWindowMs: 30,
          visibilityTimeoutMs: 1000,
          maxReceiveCount: 5,
        },
      },
    );
    expectProven(run);
    const byBatch = run.requests.filter(
      (request) => 'function' in request.principal && request.principal.function === 'objectCreatedBatch',
    );
    const queueArn = 'arn:aws:sqs:us-east-1:000000000000:ferry-sandbox-objectCreatedBatch';
    // Lambda's poller under the function's role, on its queue only; then the copies, as objectCreated makes them.
    for (const action of ['sqs:GetQueueAttributes', 'sqs:ReceiveMessage', 'sqs:DeleteMessage'])
      expect(
        byBatch.filter((request) => request.action === action).map(({ resource }) => resource),
      ).toContain(queueArn);
    expect(
      byBatch
        .filter((request) => request.action.startsWith('sqs:'))
        .every(({ resource }) => resource === queueArn),
    ).toBe(true);
    expect(byBatch.map(({ action }) => action)).toContain('s3:PutObject');
    // objectCreated itself is not invoked: its events go to the queue.
    expect(
      run.requests.some(
        (request) => 'function' in request.principal && request.principal.function === 'objectCreated',
      ),
    ).toBe(false);
  }, 120_000);

  it('It should hold for the hourly copy sweep: a snapshot and an AMI whose completion events are lost', async () => {
    const run = await prove(loadConfigFile(DEFAULT_CONFIG), {}, async (sandbox) => {
      const stop = sandbox.copySweep.start();
      const east = sandbox.ec2Client('us-east-1');
      const volumeId = sandbox.ec2.createVolume('us-east-1', { sizeGiB: 8, encrypted: false });
      await east.send(
        new CreateSnapshotCommand({
          VolumeId: volumeId,
          TagSpecifications: [{ ResourceType: 'snapshot', Tags: [{ Key: 'backup', Value: 'dr' }] }],
        }),
      );
      const instanceId = sandbox.ec2.createInstance('us-east-1', [
        sandbox.ec2.createVolume('us-east-1', { sizeGiB: 8, encrypted: false }),
      ]);
      await east.send(
        new CreateImageCommand({
          InstanceId: instanceId,
          Name: 'web-swept',
          TagSpecifications: [{ ResourceType: 'image', Tags: [{ Key: 'dr', Value: 'true' }] }],
        }),
      );
      // Every copy waits in AwaitCopy: from then on the bus is paused, so every completion event is lost.
      for (let i = 0; i < 1000 && sandbox.dynamoDb.items(SANDBOX_COPY_WAITERS_TABLE).length < 2; i++)
        await new Promise((resolve) => setTimeout(resolve, 2));
      sandbox.bus.pause();
      await sandbox.settle();
      sandbox.bus.resume();
      stop();
      const ended = sandbox.copySweep.passes.flatMap((pass) => pass.ended);
      expect(ended.filter(({ outcome }) => outcome === 'signalled')).toHaveLength(2);
    });
    expectProven(run);
    const bySweep = run.requests.filter(
      (request) => 'function' in request.principal && request.principal.function === 'ec2CopySweep',
    );
    expect(new Set(bySweep.map(({ action }) => action))).toEqual(
      new Set([
        'dynamodb:Scan',
        'ec2:DescribeSnapshots',
        'ec2:DescribeImages',
        'dynamodb:PutItem',
        'dynamodb:Query',
        'dynamodb:GetItem',
        'states:SendTaskSuccess',
        'dynamodb:DeleteItem',
      ]),
    );
  }, 120_000);

  it('It should need every grant on some path, or justify it (deploy/iam-proof/justified.ts)', () => {
    expect(reports).toHaveLength(7);
    const surplus = surplusAcross(reports);
    const lines = unjustified(surplus).map(
      ({ principal, action, sids }) => `${principal} ${action} (${sids.join(', ')})`,
    );
    expect(lines.join('\n'), 'granted actions no run needed, not justified').toBe('');
    // And no justification outlives its surplus: a grant a run now uses is no longer excused.
    const stale = JUSTIFIED.filter(
      (justification) => unjustified(surplus, [justification]).length === surplus.length,
    );
    expect(stale.map(({ principal, action }) => `${principal} ${action}`)).toEqual([]);
  });
});
