import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { TagChangeEventSchema, taggedResourcesOf } from '#ec2/tag-follow/event';
import { ObjectTagsChangedEventSchema } from '#objects/event';
import { taggedSourceOf } from '#objects/tag-sync';

const fixture = (file: string) => JSON.parse(readFileSync(`test/events/${file}`, 'utf8'));
const issuesOf = (result: { success: boolean; error?: { issues: { path: PropertyKey[] }[] } }) =>
  (result.error?.issues ?? []).map((issue) => issue.path.join('.'));

describe('Tag-change events as AWS sends them', () => {
  it('It should read S3 "Object Tags Added" and "Object Tags Deleted": the decoded key, the ETag, the version', () => {
    const added = ObjectTagsChangedEventSchema.parse(fixture('s3/object-tags-added.json'));
    expect(taggedSourceOf(added)).toEqual({
      bucket: 'acme-prod',
      key: 'invoices/2026/march.pdf',
      region: 'us-east-1',
      account: '111122223333',
      etag: 'd41d8cd98f00b204e9800998ecf8427e',
      versionId: '3HL4kqtJlcpXroDTDmJ-rmSpXd3dIbrHY',
      eventTime: '2026-11-21T18:52:40Z',
    });
    expect(ObjectTagsChangedEventSchema.safeParse(fixture('s3/object-tags-deleted.json')).success).toBe(true);
  });

  it('It should refuse an S3 tag event without an ETag, with a wildcard ETag, or of another detail-type, naming the field', () => {
    const event = fixture('s3/object-tags-added.json');
    const { etag: _, ...withoutEtag } = event.detail.object;
    expect(
      issuesOf(
        ObjectTagsChangedEventSchema.safeParse({
          ...event,
          detail: { ...event.detail, object: withoutEtag },
        }),
      ),
    ).toEqual(['detail.object.etag']);
    expect(
      issuesOf(
        ObjectTagsChangedEventSchema.safeParse({
          ...event,
          detail: { ...event.detail, object: { ...event.detail.object, etag: '*' } },
        }),
      ),
    ).toEqual(['detail.object.etag']);
    expect(
      issuesOf(ObjectTagsChangedEventSchema.safeParse({ ...event, 'detail-type': 'Object Created' })),
    ).toEqual(['detail-type']);
  });

  it('It should read EC2 "Tag Change on Resource" of a snapshot and an AMI, and refuse other resources', () => {
    expect(taggedResourcesOf(TagChangeEventSchema.parse(fixture('ec2/tag-change-snapshot.json')))).toEqual([
      { kind: 'snapshot', id: 'snap-0a1b2c3d4e5f60718', region: 'us-east-1' },
    ]);
    const image = taggedResourcesOf(TagChangeEventSchema.parse(fixture('ec2/tag-change-image.json')));
    expect(image[0]?.kind).toBe('image');
    const event = fixture('ec2/tag-change-snapshot.json');
    expect(
      issuesOf(
        TagChangeEventSchema.safeParse({
          ...event,
          resources: ['arn:aws:ec2:us-east-1:111122223333:volume/vol-0a1b2c3d4e5f60718'],
        }),
      ),
    ).toEqual(['resources']);
    expect(
      issuesOf(TagChangeEventSchema.safeParse({ ...event, detail: { ...event.detail, service: 'rds' } })),
    ).toEqual(['detail.service']);
  });
});
