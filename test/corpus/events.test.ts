import { readFileSync } from 'node:fs';
import {
  CopyImageCommand,
  CopySnapshotCommand,
  DescribeImagesCommand,
  DescribeSnapshotsCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import {
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Ec2CopyStarter } from '#ec2/copy-machine/contract';
import { createEc2CopyStepHandler } from '#ec2/handlers/ec2-copy-step';
import { createImageAvailableHandler } from '#ec2/handlers/image-available';
import { createSnapshotCreatedHandler } from '#ec2/handlers/snapshot-created';
import { imageCopies } from '#ec2/images/image-copies';
import { snapshotCopies } from '#ec2/snapshots/snapshot-copies';
import { createEc2ClientFactory, createS3ClientFactory } from '#foundation/aws-clients';
import { MalformedEventError } from '#foundation/observability/malformed-event';
import { createPowertools } from '#foundation/observability/powertools';
import type { CopyStarter } from '#objects/copy-machine/contract';
import { createObjectCopyStepHandler } from '#objects/handlers/object-copy-step';
import { createObjectCreatedHandler } from '#objects/handlers/object-created';
import { createObjectDeletedHandler } from '#objects/handlers/object-deleted';
import { markersFor } from '#objects/markers';
import { imageRulesOf, snapshotRulesOf } from '#rules/config';
import {
  controlEvent,
  ENTRY_POINTS,
  type EntryPoint,
  malformedEvents,
  namesField,
  skippedEvents,
} from '#test/corpus/events';
import {
  configFrom,
  lambdaContext,
  recordingDeps,
  recordingLog,
  recordingMetrics,
  SMALL_MULTIPART_SETTINGS,
} from '#test/support/fixtures';

/**
 * Every event of the corpus through the real handler of its entry point (the Middy + Powertools chain),
 * with mocked S3 and EC2 clients that would let a well-formed event copy: the controls prove that, and each
 * malformed event must fail with a MalformedEventError naming exactly its bad fields, having made no AWS
 * call at all, so nothing was copied, deleted or handed to a state machine.
 */

const s3 = mockClient(S3Client);
const ec2 = mockClient(EC2Client);
afterEach(() => {
  s3.reset();
  ec2.reset();
});

const CONFIG = configFrom(readFileSync(new URL('./valid.replication.yml', import.meta.url), 'utf8'));
const ETAG = 'd41d8cd98f00b204e9800998ecf8427e';
const SOURCE_KEY = 'invoices/2026/march.pdf';
const SNAP = 'snap-0a1b2c3d4e5f60718';
const AMI = 'ami-0b1c2d3e4f5a60718';
const NOW = Date.parse('2026-11-21T19:00:00Z');

/** The S3 and EC2 calls that copy or delete something. */
const S3_WRITES = new Set([
  'CopyObjectCommand',
  'CreateMultipartUploadCommand',
  'UploadPartCopyCommand',
  'CompleteMultipartUploadCommand',
  'PutObjectCommand',
  'DeleteObjectCommand',
]);
const EC2_COPIES = new Set(['CopySnapshotCommand', 'CopyImageCommand']);

const sent = (mock: typeof s3 | typeof ec2) =>
  mock.calls().map((call) => (call.args[0] as object).constructor.name);

interface Harness {
  invoke(event: unknown): Promise<unknown>;
  /** Copies (or deletes) made, and executions started: what a well-formed event leads to. */
  effects(): number;
}

function fakeStarter<Starter extends CopyStarter | Ec2CopyStarter>(): Starter {
  return { start: vi.fn(async () => ({ execution: 'corpus-execution', started: true })) } as never;
}

const s3Effects = () => sent(s3).filter((name) => S3_WRITES.has(name)).length;
const ec2Effects = () => sent(ec2).filter((name) => EC2_COPIES.has(name)).length;
const startCount = (starter: { start: unknown }) =>
  vi.mocked(starter.start as () => unknown).mock.calls.length;

/** S3 as it answers for the source object of the controls, and a destination with no replica yet. */
function s3WithSource(replicaMetadata?: Record<string, string>) {
  s3.on(HeadObjectCommand, { Bucket: 'acme-prod' }).resolves({
    ETag: `"${ETAG}"`,
    ContentLength: 1048576,
    ContentType: 'application/pdf',
    Metadata: {},
    TagCount: 0,
  });
  if (replicaMetadata) {
    s3.on(HeadObjectCommand, { Bucket: 'acme-dr' }).resolves({
      ETag: `"${ETAG}"`,
      Metadata: replicaMetadata,
    });
  } else {
    s3.on(HeadObjectCommand, { Bucket: 'acme-dr' }).rejects(
      Object.assign(new Error('Not Found'), { name: 'NotFound', $metadata: { httpStatusCode: 404 } }),
    );
  }
  s3.on(CopyObjectCommand).resolves({ CopyObjectResult: { ETag: `"${ETAG}"` } });
  s3.on(DeleteObjectCommand).resolves({});
}

const harnesses: Record<EntryPoint, () => Harness> = {
  'object-created': () => {
    s3WithSource();
    const copies = fakeStarter<CopyStarter>();
    const { deps, tools } = recordingDeps(CONFIG, createS3ClientFactory());
    const handler = createObjectCreatedHandler(tools, { ...deps, copies });
    return {
      invoke: (event) => handler(event as never, lambdaContext),
      effects: () => s3Effects() + startCount(copies),
    };
  },
  'object-deleted': () => {
    // The replica Ferry wrote from an earlier write of the deleted object: a valid delete removes it.
    s3WithSource(
      markersFor({
        bucket: 'acme-prod',
        key: SOURCE_KEY,
        versionId: undefined,
        sequencer: '00617F0832A1D5C2B1',
        rule: 'invoices',
      }),
    );
    const { deps, tools } = recordingDeps(CONFIG, createS3ClientFactory());
    const handler = createObjectDeletedHandler(tools, deps);
    return { invoke: (event) => handler(event as never, lambdaContext), effects: s3Effects };
  },
  'snapshot-created': () => {
    ec2.on(DescribeSnapshotsCommand).resolves({
      Snapshots: [
        {
          SnapshotId: SNAP,
          VolumeId: 'vol-0f1e2d3c4b5a69788',
          VolumeSize: 8,
          Encrypted: false,
          Description: 'nightly db backup',
          OwnerId: '111122223333',
          State: 'completed',
          Tags: [{ Key: 'team', Value: 'db' }],
        },
      ],
    });
    const copies = fakeStarter<Ec2CopyStarter>();
    const handler = createSnapshotCreatedHandler(createPowertools(), {
      rules: snapshotRulesOf(CONFIG),
      ec2: createEc2ClientFactory(),
      copies,
      log: recordingLog(),
      metrics: recordingMetrics(),
    });
    return {
      invoke: (event) => handler(event as never, lambdaContext),
      effects: () => ec2Effects() + startCount(copies),
    };
  },
  'image-available': () => {
    ec2.on(DescribeImagesCommand).resolves({
      Images: [
        {
          ImageId: AMI,
          Name: 'golden-web-2026-11-21',
          OwnerId: '111122223333',
          State: 'available',
          BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { SnapshotId: SNAP, Encrypted: false } }],
          Tags: [{ Key: 'team', Value: 'web' }],
        },
      ],
    });
    const copies = fakeStarter<Ec2CopyStarter>();
    const handler = createImageAvailableHandler(createPowertools(), {
      rules: imageRulesOf(CONFIG),
      ec2: createEc2ClientFactory(),
      copies,
      log: recordingLog(),
      metrics: recordingMetrics(),
    });
    return {
      invoke: (event) => handler(event as never, lambdaContext),
      effects: () => ec2Effects() + startCount(copies),
    };
  },
  'object-copy-step': () => {
    s3WithSource();
    const handler = createObjectCopyStepHandler(createPowertools(), {
      s3: createS3ClientFactory(),
      log: recordingLog(),
      metrics: recordingMetrics(),
      now: () => NOW,
      multipart: SMALL_MULTIPART_SETTINGS,
    });
    return { invoke: (event) => handler(event as never, lambdaContext), effects: s3Effects };
  },
  'ec2-copy-step': () => {
    ec2.onAnyCommand().resolves({});
    ec2.on(DescribeSnapshotsCommand).resolves({ Snapshots: [] });
    ec2.on(CopySnapshotCommand).resolves({ SnapshotId: 'snap-0c0c0c0c0c0c0c0c1' });
    const handler = createEc2CopyStepHandler(createPowertools(), {
      ec2: createEc2ClientFactory(),
      kinds: { snapshot: snapshotCopies, image: imageCopies },
      log: recordingLog(),
      metrics: recordingMetrics(),
      now: () => NOW,
    });
    return { invoke: (event) => handler(event as never, lambdaContext), effects: ec2Effects };
  },
};

const MALFORMED = malformedEvents();
const SKIPPED = skippedEvents();

describe('the event corpus', () => {
  it('It should hold at least 30 malformed events, covering every entry point', () => {
    expect(MALFORMED.length).toBeGreaterThanOrEqual(30);
    const covered = new Set(MALFORMED.map((entry) => entry.handler));
    expect([...covered].sort()).toEqual([...ENTRY_POINTS].sort());
    // Both snapshot event types, and both ARN forms EBS events use.
    const snapshotEvents = MALFORMED.filter((entry) => entry.handler === 'snapshot-created').map((entry) =>
      JSON.stringify(entry.event),
    );
    expect(snapshotEvents.some((text) => text.includes('"EBS Snapshot Notification"'))).toBe(true);
    expect(
      snapshotEvents.some((text) => text.includes('"EBS Multi-Volume Snapshots Completion Status"')),
    ).toBe(true);
    expect(snapshotEvents.some((text) => text.includes('arn:aws:ec2:us-east-1::'))).toBe(true);
    expect(snapshotEvents.some((text) => text.includes('arn:aws:ec2::us-east-1:'))).toBe(true);
  });

  it('It should give every event on the bus an expected fate, and no step input one', () => {
    for (const entry of [...MALFORMED, ...SKIPPED]) {
      const onBus = !entry.handler.endsWith('-step');
      expect(entry.expect.bus !== undefined, entry.name).toBe(onBus);
    }
  });
});

describe.each(ENTRY_POINTS)('%s: the control', (handler) => {
  it('It should copy a well-formed input in the same harness the malformed ones run in', async () => {
    const harness = harnesses[handler]();
    await expect(harness.invoke(controlEvent(handler))).resolves.toBeDefined();
    expect(harness.effects()).toBeGreaterThan(0);
  });
});

describe('malformed events through the real handlers', () => {
  it.each(MALFORMED.map((entry) => [entry.name, entry] as const))(
    '%s: refused, naming the field, nothing copied',
    async (_, entry) => {
      const harness = harnesses[entry.handler]();
      const error = await harness.invoke(entry.event).then(
        () => undefined,
        (thrown: unknown) => thrown,
      );

      expect(error, entry.description).toBeInstanceOf(MalformedEventError);
      const malformed = error as MalformedEventError;
      expect(malformed.name).toBe(entry.expect.error);
      expect(malformed.issues.map((issue) => issue.path).sort()).toEqual([...entry.expect.fields].sort());
      for (const field of entry.expect.fields) expect(malformed.message).toMatch(namesField(field));
      if (entry.expect.message) expect(malformed.message).toContain(entry.expect.message);

      expect(s3).not.toReceiveCommand(CopyObjectCommand);
      expect(s3).not.toReceiveCommand(CreateMultipartUploadCommand);
      expect(s3).not.toReceiveCommand(PutObjectCommand);
      expect(s3).not.toReceiveCommand(DeleteObjectCommand);
      expect(ec2).not.toReceiveCommand(CopySnapshotCommand);
      expect(ec2).not.toReceiveCommand(CopyImageCommand);
      // Nor any other write, nor a state machine start.
      expect(harness.effects()).toBe(0);
      // The schema is checked before any work: not even a read was made.
      expect(s3.calls()).toHaveLength(0);
      expect(ec2.calls()).toHaveLength(0);
    },
  );
});

describe('well-formed events that are not copies to make', () => {
  it.each(SKIPPED.map((entry) => [entry.name, entry] as const))(
    '%s: skipped with its reason, not an error',
    async (_, entry) => {
      const harness = harnesses[entry.handler]();
      const outcomes = (await harness.invoke(entry.event)) as { status: string; reason?: string }[];
      expect(outcomes).toContainEqual(
        expect.objectContaining({ status: 'skipped', reason: expect.stringContaining(entry.expect.skip) }),
      );
      expect(ec2).not.toReceiveCommand(CopySnapshotCommand);
      expect(ec2).not.toReceiveCommand(CopyImageCommand);
    },
  );
});
