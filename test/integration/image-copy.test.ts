import {
  CreateImageCommand,
  DeregisterImageCommand,
  DescribeImagesCommand,
  DescribeSnapshotsCommand,
  type Image,
} from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Ec2CopyJob } from '#ec2/copy-machine/contract';
import { MARKER } from '#ec2/markers';
import { type Sandbox, startSandbox } from '#local/sandbox';
import { type Execution, statesEnteredOf } from '#local/step-functions';
import { configFrom } from '#test/support/fixtures';

/**
 * The real image-available handler, the real image-copy machine (`statemachines/ec2-copy.ts`) and the real copy steps,
 * against the sandbox's fake EC2.
 */

const CONFIG = configFrom(`
rules:
  - name: ami-to-dr
    images: { regions: [us-east-1], tags: { dr: "true" } }
    to:
      - region: us-west-2
        tags: { copied-by: ferry }
        retain: { count: 1 }
  - name: ami-bad-key
    images: { regions: [us-east-1], tags: { dr: bad-key } }
    to:
      - region: us-west-2
        kmsKeyId: alias/does-not-exist
  # Copies land where this rule reads: they must be recognised as Ferry's and skipped.
  - name: ami-west-back
    images: { regions: [us-west-2] }
    to:
      - region: eu-west-1
`);

let sandbox: Sandbox;
const east = () => sandbox.ec2Client('us-east-1');
const west = () => sandbox.ec2Client('us-west-2');

beforeAll(async () => {
  sandbox = await startSandbox({ config: CONFIG, port: 0, ec2: { copyBytesPerSecond: 16 * 1024 * 1024 } });
});
afterAll(() => sandbox.stop());

async function createImage(name: string, tags: Record<string, string>, settle = true): Promise<string> {
  const volumeId = sandbox.ec2.createVolume('us-east-1', { sizeGiB: 8 });
  const instanceId = sandbox.ec2.createInstance('us-east-1', [volumeId]);
  const { ImageId } = await east().send(
    new CreateImageCommand({
      InstanceId: instanceId,
      Name: name,
      Description: `${name} build`,
      TagSpecifications: [
        { ResourceType: 'image', Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) },
      ],
    }),
  );
  if (settle) await sandbox.settle();
  return ImageId ?? '';
}

const executionsOf = (sourceId: string) =>
  [...sandbox.stepFunctions.executions.values()].filter(
    (execution) => (execution.input as Ec2CopyJob).source.id === sourceId,
  );

async function copiesOf(sourceId: string): Promise<Image[]> {
  const { Images } = await west().send(
    new DescribeImagesCommand({
      Owners: ['self'],
      Filters: [{ Name: `tag:${MARKER.sourceId}`, Values: [sourceId] }],
    }),
  );
  return Images ?? [];
}

const tagsOf = (image: Image) => Object.fromEntries((image.Tags ?? []).map((t) => [t.Key, t.Value]));
const snapshotIdsOf = (image: Image) =>
  (image.BlockDeviceMappings ?? []).flatMap((m) => (m.Ebs?.SnapshotId ? [m.Ebs.SnapshotId] : []));

describe('image-copy state machine on the sandbox', () => {
  it('copies an available AMI under its rendered name, with its snapshots, tagged as Ferry copies', async () => {
    const imageId = await createImage('web-1', { dr: 'true', app: 'web' });

    const [execution] = executionsOf(imageId);
    expect(execution?.status).toBe('SUCCEEDED');
    // 8 GiB at 16 MiB/s: 512 s of copy, waited for by "EC2 AMI State Change" as deployed, noticed within
    // a minute.
    expect(statesEnteredOf(execution as Execution)).toContain('AwaitCopy');
    expect(statesEnteredOf(execution as Execution).length).toBeLessThanOrEqual(40);
    expect((execution?.virtualDurationMs ?? 0) / 1000).toBeGreaterThanOrEqual(512);
    expect((execution?.virtualDurationMs ?? 0) / 1000).toBeLessThanOrEqual(512 + 60);
    const [copy, ...others] = await copiesOf(imageId);
    expect(others).toEqual([]);
    expect(copy?.State).toBe('available');
    expect(copy?.Name).toBe(`web-1-${imageId}`);
    expect(tagsOf(copy ?? {})).toMatchObject({
      app: 'web',
      'copied-by': 'ferry',
      [MARKER.rule]: 'ami-to-dr',
    });
    const snapshots = snapshotIdsOf(copy ?? {});
    expect(snapshots.length).toBeGreaterThan(0);
    const { Snapshots } = await west().send(new DescribeSnapshotsCommand({ SnapshotIds: snapshots }));
    for (const snapshot of Snapshots ?? []) {
      expect(snapshot.State).toBe('completed');
      expect(Object.fromEntries((snapshot.Tags ?? []).map((t) => [t.Key, t.Value]))).toMatchObject({
        [MARKER.sourceId]: imageId,
      });
    }
  });

  it('skips the copies Ferry made when they become available where another rule reads', async () => {
    const imageId = await createImage('api-1', { dr: 'true' });
    const [copy] = await copiesOf(imageId);
    expect(copy?.ImageId).toBeDefined();
    // The copy's own "available" event reached image-available in us-west-2 and was skipped.
    expect(executionsOf(copy?.ImageId ?? '')).toEqual([]);
    expect(sandbox.metrics.skips.get('ferry-copy')).toBeGreaterThan(0);
  });

  it('keeps one copy per AMI name: a rebuilt AMI replaces the older copy, image and snapshots', async () => {
    const first = await createImage('batch', { dr: 'true' });
    const [oldCopy] = await copiesOf(first);
    const oldSnapshots = snapshotIdsOf(oldCopy ?? {});
    await east().send(new DeregisterImageCommand({ ImageId: first }));
    const second = await createImage('batch', { dr: 'true' });

    expect(await copiesOf(second)).toHaveLength(1);
    expect(await copiesOf(first)).toEqual([]);
    expect(sandbox.ec2.image('us-west-2', oldCopy?.ImageId ?? '')?.state ?? 'deregistered').toBe(
      'deregistered',
    );
    for (const id of oldSnapshots) expect(sandbox.ec2.snapshot('us-west-2', id)).toBeUndefined();
  });

  it('fails with the StateReason when the copy fails (a key the Region does not have), and deregisters it', async () => {
    const imageId = await createImage('secret-1', { dr: 'bad-key' });

    const [execution] = executionsOf(imageId);
    expect(execution?.status).toBe('FAILED');
    expect(execution?.error?.Error).toBe('ImageCopyFailed');
    expect(execution?.error?.Cause).toMatch(/key/i);
    expect(await copiesOf(imageId)).toEqual([]);
  });

  it('resumes without a second copy when the CopyImage answer is lost, and queues on the copy limit', async () => {
    sandbox.ec2.faults.script('CopyImage', 'limit', 'limit', 'lost-answer');
    const imageId = await createImage('worker-1', { dr: 'true' });

    const [execution] = executionsOf(imageId);
    expect(execution?.status).toBe('SUCCEEDED');
    // Two refusals wait for a slot in the queue loop (AwaitSlot: no copy in flight wakes them, their
    // timeout does); the lost answer is retried, and finds the copy.
    const slotWaits = statesEnteredOf(execution as Execution).filter((state) => state === 'AwaitSlot');
    expect(slotWaits).toHaveLength(2);
    expect(execution?.retries.get('StartCopy')).toBe(1);
    expect(await copiesOf(imageId)).toHaveLength(1);
  });

  it('copies once when the same event arrives twice', async () => {
    const imageId = await createImage('cron-1', { dr: 'true' });
    const event = sandbox.ec2.events.find(
      (e) => JSON.stringify(e).includes(imageId) && JSON.stringify(e).includes('"available"'),
    );
    sandbox.bus.put(event);
    await sandbox.settle();
    expect(executionsOf(imageId)).toHaveLength(1);
    expect(await copiesOf(imageId)).toHaveLength(1);
  });
});
