import { describe, expect, it } from 'vitest';
import { matchesPattern } from '#local/event-pattern';
import {
  copyCompletionEventPatterns,
  forwardedEventPatterns,
  imageEventPatterns,
  objectEventPatterns,
  snapshotEventPatterns,
} from '#rules/event-patterns';
import { ec2Event } from '#test/support/ec2-events';
import { configFrom } from '#test/support/fixtures';

const config = configFrom(`
rules:
  - name: invoices
    objects: { bucket: acme-prod, prefix: invoices/ }
    to: [ { bucket: acme-dr, region: us-west-2 } ]
  - name: ebs-east
    snapshots: { regions: [us-east-1, eu-west-1] }
    to: [ { region: us-west-2 } ]
  - name: ebs-more
    snapshots: { regions: [us-east-1, ap-southeast-2], tags: { backup: dr } }
    to: [ { region: eu-central-1 } ]
  - name: amis
    images: { regions: [us-west-2] }
    to: [ { region: us-east-1 } ]
`);
const snapshots = snapshotEventPatterns(config);
const images = imageEventPatterns(config);
const anyMatch = (event: unknown, patterns: ReturnType<typeof snapshotEventPatterns>) =>
  patterns.some((pattern) => matchesPattern(event, pattern));

describe('EventBridge patterns for snapshot and image rules', () => {
  it('It should subscribe successful snapshot creations, single and multi-volume, in the source Regions only', () => {
    const region = ['ap-southeast-2', 'eu-west-1', 'us-east-1'];
    expect(snapshots).toEqual([
      {
        source: ['aws.ec2'],
        region,
        $or: [
          {
            'detail-type': ['EBS Snapshot Notification'],
            detail: { event: ['createSnapshot'], result: ['succeeded'] },
          },
          {
            'detail-type': ['EBS Multi-Volume Snapshots Completion Status'],
            detail: { event: ['createSnapshots'], result: ['succeeded'] },
          },
        ],
      },
    ]);
  });

  it('It should subscribe AMIs that became available in the image rules’ Regions', () => {
    expect(images).toEqual([
      {
        source: ['aws.ec2'],
        'detail-type': ['EC2 AMI State Change'],
        region: ['us-west-2'],
        detail: { State: ['available'] },
      },
    ]);
  });

  it('It should generate no EC2 pattern without EC2 rules, and no object pattern for EC2 rules', () => {
    const objectsOnly = configFrom(`
rules:
  - name: invoices
    objects: { bucket: acme-prod }
    to: [ { bucket: acme-dr, region: us-west-2 } ]
`);
    expect(snapshotEventPatterns(objectsOnly)).toEqual([]);
    expect(imageEventPatterns(objectsOnly)).toEqual([]);
    expect(objectEventPatterns(config).objectCreated).toHaveLength(1);
  });

  it('It should match the fixture creations and not copies, failures or other Regions', () => {
    expect(anyMatch(ec2Event('snapshot-created'), snapshots)).toBe(true);
    expect(anyMatch(ec2Event('multi-volume-snapshots'), snapshots)).toBe(true);
    expect(anyMatch(ec2Event('snapshot-copied'), snapshots)).toBe(false);
    expect(anyMatch(ec2Event('snapshot-copy-failed'), snapshots)).toBe(false);

    const failed = ec2Event('snapshot-created');
    failed.detail.result = 'failed';
    expect(anyMatch(failed, snapshots)).toBe(false);
    const elsewhere = ec2Event('multi-volume-snapshots');
    elsewhere.region = 'sa-east-1';
    expect(anyMatch(elsewhere, snapshots)).toBe(false);
    // A copy arriving in a source Region is still not a creation.
    const copiedHere = ec2Event('snapshot-copied');
    copiedHere.region = 'us-east-1';
    expect(anyMatch(copiedHere, snapshots)).toBe(false);

    expect(anyMatch(ec2Event('image-available'), images)).toBe(true);
    expect(anyMatch(ec2Event('image-failed'), images)).toBe(false);
    const imageElsewhere = ec2Event('image-available');
    imageElsewhere.region = 'us-east-1';
    expect(anyMatch(imageElsewhere, images)).toBe(false);
    expect(anyMatch(ec2Event('image-available'), snapshots)).toBe(false);
    expect(anyMatch(ec2Event('snapshot-created'), images)).toBe(false);
  });

  it('It should keep each detail type with its own event name when merging them', () => {
    // A single-volume notification naming the multi-volume event matched neither pattern before the merge.
    const crossed = ec2Event('snapshot-created');
    crossed.detail.event = 'createSnapshots';
    expect(anyMatch(crossed, snapshots)).toBe(false);
  });

  it('It should forward from a Region, in one rule, exactly the events the home rules want from there', () => {
    const east = forwardedEventPatterns(config, 'us-east-1');
    expect(east).toHaveLength(1);
    expect(east[0]?.region).toEqual(['us-east-1']);
    const created = ec2Event('snapshot-created');
    created.region = 'us-east-1';
    expect(anyMatch(created, east)).toBe(true);
    expect(anyMatch(created, forwardedEventPatterns(config, 'us-west-2'))).toBe(false);
    // us-west-2 is a source of AMIs only, and where ebs-east's snapshots are copied: one rule, the new AMIs
    // and the results of those copies (ec2CopyCompleted's), no snapshot creation.
    const west = forwardedEventPatterns(config, 'us-west-2');
    expect(west).toHaveLength(1);
    const copied = ec2Event('snapshot-copied');
    copied.region = 'us-west-2';
    expect(anyMatch(copied, west)).toBe(true);
    expect(anyMatch(copied, copyCompletionEventPatterns(config))).toBe(true);
    expect(anyMatch(ec2Event('image-available'), west)).toBe(anyMatch(ec2Event('image-available'), images));
    expect(forwardedEventPatterns(config, 'sa-east-1')).toEqual([]);
    // Merging both kinds: every event any home pattern wants from us-east-1 is forwarded.
    const both = configFrom(`
rules:
  - name: ebs
    snapshots: { regions: [us-east-1] }
    to: [ { region: us-west-2 } ]
  - name: amis
    images: { regions: [us-east-1] }
    to: [ { region: us-west-2 } ]
`);
    const forwarded = forwardedEventPatterns(both, 'us-east-1');
    expect(forwarded).toHaveLength(1);
    const image = ec2Event('image-available');
    image.region = 'us-east-1';
    for (const event of [created, image, ec2Event('multi-volume-snapshots')]) {
      event.region = 'us-east-1';
      const home = [...snapshotEventPatterns(both), ...imageEventPatterns(both)];
      expect(anyMatch(event, forwarded)).toBe(anyMatch(event, home));
      expect(anyMatch(event, forwarded)).toBe(true);
    }
  });
});
