import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { matchesPattern } from '#local/event-pattern';
import { ec2TagChangeEventPatterns, objectTagChangeEventPatterns } from '#rules/event-patterns';
import { configFrom } from '#test/support/fixtures';

const event = (file: string) => JSON.parse(readFileSync(`test/events/${file}`, 'utf8'));
const anyMatch = (value: unknown, patterns: readonly object[]) =>
  patterns.some((pattern) => matchesPattern(value, pattern as never));

const CONFIG = configFrom(`
rules:
  - name: invoices
    objects: { bucket: acme-prod, prefix: invoices/ }
    to: [ { bucket: acme-dr, region: us-west-2 } ]
  - name: set-only
    objects: { bucket: acme-logs }
    to: [ { bucket: acme-logs-dr, region: us-west-2, tags: { copy: false, set: { dr: "yes" } } } ]
  - name: ebs
    snapshots: { regions: [us-east-1] }
    to: [ { region: us-west-2 } ]
  - name: amis-no-tags
    images: { regions: [eu-west-1] }
    to: [ { region: us-west-2, copyTags: false } ]
`);

describe('Tag-change event patterns generated from the rules', () => {
  it('It should deliver S3 "Object Tags Added" and "Object Tags Deleted" of the rules’ key spaces, only where a destination copies tags', () => {
    const patterns = objectTagChangeEventPatterns(CONFIG);
    expect(patterns).toEqual([
      {
        source: ['aws.s3'],
        'detail-type': ['Object Tags Added', 'Object Tags Deleted'],
        detail: { bucket: { name: ['acme-prod'] }, object: { key: [{ prefix: 'invoices/' }] } },
      },
    ]);
    const added = event('s3/object-tags-added.json');
    const deleted = event('s3/object-tags-deleted.json');
    expect(anyMatch(added, patterns)).toBe(true);
    expect(
      anyMatch({ ...deleted, detail: { ...deleted.detail, bucket: { name: 'acme-prod' } } }, patterns),
    ).toBe(deleted.detail.object.key.startsWith('invoices/'));
    // acme-logs writes its `set` only: its tag changes are not subscribed.
    expect(anyMatch({ ...added, detail: { ...added.detail, bucket: { name: 'acme-logs' } } }, patterns)).toBe(
      false,
    );
    expect(anyMatch({ ...added, 'detail-type': 'Object Created' }, patterns)).toBe(false);
  });

  it('It should deliver EC2 "Tag Change on Resource" of the resource types and source Regions of rules with copyTags', () => {
    const patterns = ec2TagChangeEventPatterns(CONFIG);
    expect(patterns).toEqual([
      {
        source: ['aws.tag'],
        'detail-type': ['Tag Change on Resource'],
        region: ['us-east-1'],
        detail: { service: ['ec2'], 'resource-type': ['snapshot'] },
      },
    ]);
    expect(anyMatch(event('ec2/tag-change-snapshot.json'), patterns)).toBe(true);
    // The AMI rule does not copy tags: image tag changes are not subscribed.
    expect(anyMatch(event('ec2/tag-change-image.json'), patterns)).toBe(false);
    expect(ec2TagChangeEventPatterns(CONFIG, { region: 'eu-west-1' })).toEqual([]);
    expect(
      ec2TagChangeEventPatterns(
        configFrom(
          'rules:\n  - name: o\n    objects: { bucket: bbb-src }\n    to: [ { bucket: ccc-dst, region: us-west-2 } ]\n',
        ),
      ),
    ).toEqual([]);
  });
});
