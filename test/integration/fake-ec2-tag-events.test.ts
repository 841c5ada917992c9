import {
  CreateImageCommand,
  CreateSnapshotCommand,
  CreateTagsCommand,
  DeleteTagsCommand,
  DescribeImagesCommand,
} from '@aws-sdk/client-ec2';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Ec2Event } from '#local/ec2/events';
import { type StandaloneEc2, startStandaloneEc2 } from '#local/ec2/standalone';
import { VirtualClock } from '#local/virtual-clock';
import { ec2Event } from '#test/support/ec2-events';

/** The shape of an event: its fields and their types, recursively (values aside). */
const shape = (value: unknown): unknown => {
  if (Array.isArray(value)) return value.length > 0 ? [shape(value[0])] : [];
  if (typeof value !== 'object' || value === null) return typeof value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([key]) => key !== 'tags')
      .map(([key, inner]) => [key, shape(inner)]),
  );
};

describe('the fake EC2: "Tag Change on Resource" events', () => {
  let ec2: StandaloneEc2;
  let events: Ec2Event[];
  const east = () => ec2.client('us-east-1', { maxAttempts: 1 });
  const tagChanges = () => events.filter((event) => event['detail-type'] === 'Tag Change on Resource');

  beforeEach(async () => {
    events = [];
    ec2 = await startStandaloneEc2({
      clock: new VirtualClock(() => Date.UTC(2026, 11, 2, 9, 30, 0)),
      onEvent: (event) => events.push(event),
    });
  });
  afterEach(() => ec2.close());

  const snapshot = async (Tags = [{ Key: 'app', Value: 'web' }]) => {
    const VolumeId = ec2.fake.createVolume('us-east-1', { sizeGiB: 1 });
    const { SnapshotId = '' } = await east().send(
      new CreateSnapshotCommand({ VolumeId, TagSpecifications: [{ ResourceType: 'snapshot', Tags }] }),
    );
    await ec2.fake.settle();
    return SnapshotId;
  };

  it('It should send the event of a CreateTags on a snapshot with AWS shape, the changed keys and all its tags', async () => {
    const id = await snapshot();
    await east().send(
      new CreateTagsCommand({
        Resources: [id],
        Tags: [
          { Key: 'dr', Value: 'true' },
          { Key: 'app', Value: 'web' },
        ],
      }),
    );
    await ec2.fake.settle();
    const [event, ...others] = tagChanges();
    expect(others).toEqual([]);
    expect(event).toMatchObject({
      version: '0',
      'detail-type': 'Tag Change on Resource',
      source: 'aws.tag',
      account: '000000000000',
      time: '2026-12-02T09:30:00Z',
      region: 'us-east-1',
      resources: [`arn:aws:ec2:us-east-1:000000000000:snapshot/${id}`],
      // `app` kept its value: it did not change.
      detail: {
        'changed-tag-keys': ['dr'],
        service: 'ec2',
        'resource-type': 'snapshot',
        version: 1,
        tags: { app: 'web', dr: 'true' },
      },
    });
    expect(shape(event)).toEqual(shape(ec2Event('tag-change-snapshot')));
  });

  it('It should count versions, report changed and deleted keys, and send nothing when no tag changed', async () => {
    const id = await snapshot();
    const send = async (request: Promise<unknown>) => {
      await request;
      await ec2.fake.settle();
    };
    await send(east().send(new CreateTagsCommand({ Resources: [id], Tags: [{ Key: 'app', Value: 'web' }] })));
    await send(east().send(new DeleteTagsCommand({ Resources: [id], Tags: [{ Key: 'absent' }] })));
    // A DeleteTags with a value deletes only a tag that has it.
    await send(east().send(new DeleteTagsCommand({ Resources: [id], Tags: [{ Key: 'app', Value: 'api' }] })));
    expect(tagChanges()).toEqual([]);

    await send(east().send(new CreateTagsCommand({ Resources: [id], Tags: [{ Key: 'app', Value: 'api' }] })));
    await send(
      east().send(
        new CreateTagsCommand({
          Resources: [id],
          Tags: [
            { Key: 'dr', Value: 'true' },
            { Key: 'tier', Value: 'gold' },
          ],
        }),
      ),
    );
    await send(
      east().send(new DeleteTagsCommand({ Resources: [id], Tags: [{ Key: 'app' }, { Key: 'tier' }] })),
    );
    expect(tagChanges().map((event) => event.detail)).toEqual([
      expect.objectContaining({ 'changed-tag-keys': ['app'], version: 1, tags: { app: 'api' } }),
      expect.objectContaining({
        'changed-tag-keys': ['dr', 'tier'],
        version: 2,
        tags: { app: 'api', dr: 'true', tier: 'gold' },
      }),
      expect.objectContaining({ 'changed-tag-keys': ['app', 'tier'], version: 3, tags: { dr: 'true' } }),
    ]);
  });

  it('It should send one event per resource of a CreateTags, and name an AMI as an image', async () => {
    const first = await snapshot();
    const second = await snapshot([]);
    const InstanceId = ec2.fake.createInstance('us-east-1', [
      ec2.fake.createVolume('us-east-1', { sizeGiB: 8 }),
    ]);
    const { ImageId = '' } = await east().send(new CreateImageCommand({ InstanceId, Name: 'tagged-ami' }));
    await ec2.fake.settle();
    await east().send(
      new CreateTagsCommand({ Resources: [first, second, ImageId], Tags: [{ Key: 'dr', Value: 'true' }] }),
    );
    await ec2.fake.settle();
    const changes = tagChanges();
    expect(changes.map((event) => [event.resources, event.detail['resource-type']])).toEqual([
      [[`arn:aws:ec2:us-east-1:000000000000:snapshot/${first}`], 'snapshot'],
      [[`arn:aws:ec2:us-east-1:000000000000:snapshot/${second}`], 'snapshot'],
      [[`arn:aws:ec2:us-east-1:000000000000:image/${ImageId}`], 'image'],
    ]);
    expect(shape(changes[2])).toEqual(shape(ec2Event('tag-change-image')));
    const { Images = [] } = await east().send(new DescribeImagesCommand({ ImageIds: [ImageId] }));
    expect(Images[0]?.Tags).toEqual([{ Key: 'dr', Value: 'true' }]);
    expect(changes[2]?.detail.tags).toEqual({ dr: 'true' });
  });

  it('It should send no event for a refused CreateTags', async () => {
    const id = await snapshot();
    await expect(
      east().send(new CreateTagsCommand({ Resources: [id], Tags: [{ Key: 'aws:owner', Value: 'x' }] })),
    ).rejects.toMatchObject({ name: 'InvalidParameterValue' });
    await ec2.fake.settle();
    expect(tagChanges()).toEqual([]);
  });
});
