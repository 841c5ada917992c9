import { S3EventNotificationEventBridgeSchema } from '@aws-lambda-powertools/parser/schemas/s3';
import {
  DeleteObjectTaggingCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  PutObjectTaggingCommand,
} from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import { s3Event } from '#test/support/fixtures';
import { refusal, usePlainS3Sandbox } from '#test/support/s3-answers';

/**
 * PutObjectTagging and DeleteObjectTagging emit "Object Tags Added" / "Object Tags Deleted" to EventBridge
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/EventBridge.html), shaped as S3's
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/ev-events.html): the object's encoded key, ETag and,
 * in a versioned bucket, the version whose tags changed; no size, sequencer or reason.
 */
const { s3, sandbox } = usePlainS3Sandbox();
const west = () => sandbox().s3('us-west-2');
beforeAll(async () => {
  await west().send(
    new PutBucketVersioningCommand({ Bucket: 's3-west', VersioningConfiguration: { Status: 'Enabled' } }),
  );
});

type Published = { 'detail-type': string; region: string; detail: { object: Record<string, unknown> } };
const tagEventsFor = async (key: string) => {
  await sandbox().settle();
  return (sandbox().bus.published as Published[]).filter(
    (event) => event['detail-type'].startsWith('Object Tags') && event.detail.object.key === key,
  );
};
const TagSet = [{ Key: 'team', Value: 'dr' }];

describe('sandbox S3: tag-change events', () => {
  it('It should emit "Object Tags Added" on PutObjectTagging and "Object Tags Deleted" on DeleteObjectTagging, with the shape of the fixtures', async () => {
    const written = await west().send(new PutObjectCommand({ Bucket: 's3-west', Key: 'tagged', Body: 'x' }));
    await west().send(new PutObjectTaggingCommand({ Bucket: 's3-west', Key: 'tagged', Tagging: { TagSet } }));
    await west().send(new DeleteObjectTaggingCommand({ Bucket: 's3-west', Key: 'tagged' }));
    const events = await tagEventsFor('tagged');
    expect(events.map((event) => event['detail-type'])).toEqual(['Object Tags Added', 'Object Tags Deleted']);
    for (const [event, fixture] of [
      [events[0], s3Event('object-tags-added')],
      [events[1], s3Event('object-tags-deleted')],
    ] as const) {
      expect(event).toMatchObject({
        source: 'aws.s3',
        region: 'us-west-2',
        resources: ['arn:aws:s3:::s3-west'],
      });
      // The same fields as S3's own events, in the envelope, the detail and its object.
      expect(Object.keys(event ?? {}).sort()).toEqual(Object.keys(fixture).sort());
      expect(Object.keys(event?.detail ?? {}).sort()).toEqual(Object.keys(fixture.detail).sort());
      expect(Object.keys(event?.detail.object ?? {}).sort()).toEqual(
        Object.keys(fixture.detail.object).sort(),
      );
      expect(event?.detail.object).toEqual({
        key: 'tagged',
        etag: written.ETag?.replaceAll('"', ''),
        'version-id': written.VersionId,
      });
      expect(S3EventNotificationEventBridgeSchema.safeParse(event).success).toBe(true);
      expect(S3EventNotificationEventBridgeSchema.safeParse(fixture).success).toBe(true);
    }
  });

  it('It should name the version whose tags changed, and send no version id for an unversioned bucket', async () => {
    const first = await west().send(
      new PutObjectCommand({ Bucket: 's3-west', Key: 'two versions', Body: 'one' }),
    );
    await west().send(new PutObjectCommand({ Bucket: 's3-west', Key: 'two versions', Body: 'two' }));
    await west().send(
      new PutObjectTaggingCommand({
        Bucket: 's3-west',
        Key: 'two versions',
        VersionId: first.VersionId,
        Tagging: { TagSet },
      }),
    );
    const [versioned] = await tagEventsFor('two+versions');
    expect(versioned?.detail.object['version-id']).toBe(first.VersionId);

    await s3().send(new PutObjectCommand({ Bucket: 's3-plain', Key: 'plain', Body: 'x' }));
    await s3().send(new PutObjectTaggingCommand({ Bucket: 's3-plain', Key: 'plain', Tagging: { TagSet } }));
    await s3().send(new DeleteObjectTaggingCommand({ Bucket: 's3-plain', Key: 'plain' }));
    const plain = await tagEventsFor('plain');
    expect(plain.map((event) => event['detail-type'])).toEqual(['Object Tags Added', 'Object Tags Deleted']);
    expect(
      plain.every((event) => event.region === 'us-east-1' && !('version-id' in event.detail.object)),
    ).toBe(true);
  });

  it('It should emit nothing for a tagging request S3 refuses', async () => {
    await s3().send(new PutObjectCommand({ Bucket: 's3-plain', Key: 'refused', Body: 'x' }));
    const tooMany = Array.from({ length: 11 }, (_, i) => ({ Key: `k${i}`, Value: 'v' }));
    expect(
      await refusal(
        s3().send(
          new PutObjectTaggingCommand({ Bucket: 's3-plain', Key: 'refused', Tagging: { TagSet: tooMany } }),
        ),
      ),
    ).toEqual({ status: 400, code: 'BadRequest' });
    expect(
      await refusal(s3().send(new DeleteObjectTaggingCommand({ Bucket: 's3-plain', Key: 'missing' }))),
    ).toEqual({ status: 404, code: 'NoSuchKey' });
    expect(await tagEventsFor('refused')).toEqual([]);
    expect(await tagEventsFor('missing')).toEqual([]);
  });
});
