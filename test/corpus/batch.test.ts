import { readFileSync } from 'node:fs';
import {
  CreateImageCommand,
  CreateSnapshotCommand,
  DescribeImagesCommand,
  DescribeSnapshotsCommand,
} from '@aws-sdk/client-ec2';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MARKER } from '#ec2/markers';
import { MalformedEventError } from '#foundation/observability/malformed-event';
import type { Delivery } from '#local/event-bus';
import { type Sandbox, startSandbox } from '#local/sandbox';
import {
  BUS_ENTRY_POINTS,
  busFateOf,
  type MalformedEventCase,
  malformedEvents,
  namesField,
  type SkipEventCase,
  skippedEvents,
} from '#test/corpus/events';
import { configFrom } from '#test/support/fixtures';

/**
 * "The rest of the batch unharmed": every S3 and EC2 event of the corpus on the sandbox's bus, interleaved
 * with real uploads, a delete, snapshots and an AMI made through the SDK. The bus applies the EventBridge
 * patterns generated from the rules and delivers to the real handlers with Lambda's retries; each malformed
 * event must end as the corpus says (a dead letter naming its fields, or never delivered), and every valid
 * one must be replicated as if the malformed ones were not there.
 */

const CONFIG = configFrom(readFileSync(new URL('./valid.replication.yml', import.meta.url), 'utf8'));
const ON_BUS = [...malformedEvents(), ...skippedEvents()].filter((entry) =>
  BUS_ENTRY_POINTS.includes(entry.handler),
);

let sandbox: Sandbox;
const deliveries: Delivery[] = [];
const source = () => sandbox.s3('us-east-1');
const dr = () => sandbox.s3('us-west-2');
const east = () => sandbox.ec2Client('us-east-1');
const west = () => sandbox.ec2Client('us-west-2');

beforeAll(async () => {
  sandbox = await startSandbox({
    config: CONFIG,
    port: 0,
    onDelivery: (delivery) => deliveries.push(delivery),
    ec2: { copyBytesPerSecond: 1024 * 1024 * 1024 },
  });
});
afterAll(async () => {
  await sandbox.stop();
});

const upload = (key: string, body: string) =>
  source().send(new PutObjectCommand({ Bucket: 'acme-prod', Key: key, Body: body }));

async function createSnapshot(): Promise<string> {
  const volumeId = sandbox.ec2.createVolume('us-east-1', { sizeGiB: 1 });
  const { SnapshotId } = await east().send(new CreateSnapshotCommand({ VolumeId: volumeId }));
  if (!SnapshotId) throw new Error('CreateSnapshot returned no id');
  return SnapshotId;
}

async function createImage(name: string): Promise<string> {
  const volumeId = sandbox.ec2.createVolume('us-east-1', { sizeGiB: 1 });
  const instanceId = sandbox.ec2.createInstance('us-east-1', [volumeId]);
  const { ImageId } = await east().send(new CreateImageCommand({ InstanceId: instanceId, Name: name }));
  if (!ImageId) throw new Error('CreateImage returned no id');
  return ImageId;
}

const deliveriesOf = (event: unknown) => deliveries.filter((delivery) => delivery.event === event);

async function replicaBody(key: string): Promise<string | undefined> {
  const object = await dr().send(new GetObjectCommand({ Bucket: 'acme-dr', Key: key }));
  return object.Body?.transformToString();
}

function expectDeadLetter(entry: MalformedEventCase | SkipEventCase, target: string, fields: string[]) {
  const letters = sandbox.bus.deadLetters.filter((letter) => letter.event === entry.event);
  expect(letters, `${entry.name}: one dead letter`).toHaveLength(1);
  const [letter] = letters;
  expect(letter?.target).toBe(target);
  // Delivered, refused, retried twice as Lambda does, then kept.
  expect(letter?.attempt).toBe(3);
  expect(letter?.error).toBeInstanceOf(MalformedEventError);
  const error = letter?.error as MalformedEventError;
  expect(error.issues.map((issue) => issue.path).sort()).toEqual([...fields].sort());
  for (const field of fields) expect(error.message).toMatch(namesField(field));
}

describe('the malformed events of the corpus, in a batch with valid ones, on the sandbox', () => {
  it('It should replicate every valid event, and end each malformed one as the corpus says, naming its fields', async () => {
    expect(ON_BUS.length).toBeGreaterThanOrEqual(30);
    // A replica to be deleted within the batch.
    await upload('invoices/batch/doomed.txt', 'short-lived');
    await sandbox.settle();
    await expect(replicaBody('invoices/batch/doomed.txt')).resolves.toBe('short-lived');
    deliveries.length = 0;

    // The batch: each malformed event followed, every few events, by real work, none awaited in between.
    const work: Promise<unknown>[] = [];
    const uploaded: string[] = [];
    const snapshots: Promise<string>[] = [];
    const images: Promise<string>[] = [];
    ON_BUS.forEach((entry, index) => {
      sandbox.bus.put(entry.event);
      if (index % 4 === 0) {
        const key = `invoices/batch/${index}.txt`;
        uploaded.push(key);
        work.push(upload(key, `object ${index}`));
      }
      if (index % 12 === 5) snapshots.push(createSnapshot());
      if (index === 20) images.push(createImage('corpus-batch-web'));
      if (index === 30)
        work.push(
          source().send(new DeleteObjectCommand({ Bucket: 'acme-prod', Key: 'invoices/batch/doomed.txt' })),
        );
    });
    await Promise.all([...work, ...snapshots, ...images]);
    await sandbox.settle();

    // The valid ones: every upload replicated, the delete replicated, every snapshot and the AMI copied.
    expect(uploaded.length).toBeGreaterThanOrEqual(8);
    for (const key of uploaded) {
      await expect(replicaBody(key), key).resolves.toBe(`object ${key.match(/(\d+)\.txt$/)?.[1]}`);
    }
    await expect(
      dr().send(new HeadObjectCommand({ Bucket: 'acme-dr', Key: 'invoices/batch/doomed.txt' })),
    ).rejects.toMatchObject({ name: 'NotFound' });
    const snapshotIds = await Promise.all(snapshots);
    expect(snapshotIds.length).toBeGreaterThanOrEqual(2);
    for (const id of snapshotIds) {
      const { Snapshots = [] } = await west().send(
        new DescribeSnapshotsCommand({
          OwnerIds: ['self'],
          Filters: [{ Name: `tag:${MARKER.sourceId}`, Values: [id] }],
        }),
      );
      expect(
        Snapshots.map((copy) => copy.State),
        id,
      ).toEqual(['completed']);
    }
    const [imageId] = await Promise.all(images);
    const { Images = [] } = await west().send(
      new DescribeImagesCommand({
        Owners: ['self'],
        Filters: [{ Name: `tag:${MARKER.sourceId}`, Values: [imageId ?? ''] }],
      }),
    );
    expect(Images.map((copy) => copy.State)).toEqual(['available']);

    // The malformed ones, each as the corpus says.
    let deadLetters = 0;
    for (const entry of ON_BUS) {
      const bus = busFateOf(entry);
      if (!bus) throw new Error(`${entry.name}: no bus fate`);
      if (bus.fate === 'dead-letter') {
        deadLetters += 1;
        expectDeadLetter(entry, bus.target, bus.fields);
      } else if (bus.fate === 'not-delivered') {
        expect(deliveriesOf(entry.event), `${entry.name}: delivered`).toEqual([]);
      } else {
        const skip = 'skip' in entry.expect ? entry.expect.skip : '';
        const [delivery, ...more] = deliveriesOf(entry.event);
        expect(more, `${entry.name}: delivered once`).toEqual([]);
        expect(delivery?.target).toBe(bus.target);
        expect(delivery?.error).toBeUndefined();
        expect(delivery?.result).toContainEqual(
          expect.objectContaining({ status: 'skipped', reason: expect.stringContaining(skip) }),
        );
      }
    }
    // Nothing else died: no valid event of the batch became a dead letter.
    expect(deadLetters).toBeGreaterThanOrEqual(20);
    expect(sandbox.bus.deadLetters).toHaveLength(deadLetters);
  });
});
