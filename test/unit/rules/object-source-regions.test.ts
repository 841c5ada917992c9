import { describe, expect, it } from 'vitest';
import { forwarderRegions, forwarderTemplate } from '#deploy/forwarders';
import { checkConfig } from '#rules/config';
import {
  forwardedObjectEventPatterns,
  objectEventPatterns,
  objectTagChangeEventPatterns,
} from '#rules/event-patterns';
import { configFrom } from '#test/support/fixtures';

const CONFIG = configFrom(`
rules:
  - name: home
    objects: { bucket: rg-home, prefix: a/ }
    to: [{ bucket: rg-dr, region: us-west-2 }]
  - name: ireland
    objects: { bucket: rg-eu, region: eu-west-1, prefix: b/ }
    to: [{ bucket: rg-dr, region: us-west-2, keyPrefix: eu/, replicateDeletes: true }]
  - name: ebs
    snapshots: { regions: [eu-west-1, ap-southeast-2] }
    to: [{ region: us-west-2 }]
`);

describe('object sources in other Regions', () => {
  it('matches home buckets without a region field and each other Region’s buckets with its own', () => {
    const { objectCreated, objectDeleted } = objectEventPatterns(CONFIG);
    expect(objectCreated).toEqual([
      {
        source: ['aws.s3'],
        'detail-type': ['Object Created'],
        detail: { bucket: { name: ['rg-home'] }, object: { key: [{ prefix: 'a/' }] } },
      },
      {
        source: ['aws.s3'],
        'detail-type': ['Object Created'],
        region: ['eu-west-1'],
        detail: { bucket: { name: ['rg-eu'] }, object: { key: [{ prefix: 'b/' }] } },
      },
    ]);
    expect(objectDeleted.map((pattern) => pattern.region)).toEqual([['eu-west-1']]);
  });

  it('forwards exactly the home patterns of that Region’s buckets, in one stack per Region with EC2', () => {
    // us-west-2 too: the snapshot copies made there send their completion events there.
    expect(forwarderRegions(CONFIG, 'us-east-1')).toEqual(['ap-southeast-2', 'eu-west-1', 'us-west-2']);
    const home = objectEventPatterns(CONFIG);
    const forwarded = forwardedObjectEventPatterns(CONFIG, 'eu-west-1');
    expect(forwarded).toEqual(
      [...home.objectCreated, ...home.objectDeleted, ...objectTagChangeEventPatterns(CONFIG)].filter(
        (p) => p.region !== undefined,
      ),
    );
    expect(forwardedObjectEventPatterns(CONFIG, 'ap-southeast-2')).toEqual([]);
    const template = forwarderTemplate(
      CONFIG,
      { service: 'ferry', stage: 't', region: 'us-east-1' },
      'eu-west-1',
    );
    const patterns = Object.values(template.Resources)
      .filter((resource) => resource.Type === 'AWS::Events::Rule')
      .map((rule) => (rule.Properties as { EventPattern: { source: string[] } }).EventPattern);
    expect(patterns.filter((pattern) => pattern.source[0] === 'aws.s3')).toEqual(forwarded);
    expect(patterns.some((pattern) => pattern.source[0] === 'aws.ec2')).toBe(true);
  });

  it('refuses a bucket given two Regions', () => {
    const { issues } = checkConfig({
      rules: [
        {
          name: 'one',
          objects: { bucket: 'rg-x', region: 'eu-west-1' },
          to: [{ bucket: 'rg-y', region: 'us-west-2' }],
        },
        {
          name: 'two',
          objects: { bucket: 'rg-x', prefix: 'p/' },
          to: [{ bucket: 'rg-z', region: 'us-west-2' }],
        },
        {
          name: 'three',
          objects: { bucket: 'rg-w', region: 'eu-west-1' },
          to: [{ bucket: 'rg-x', region: 'us-west-1', keyPrefix: 'w/' }],
        },
      ],
    });
    expect(issues.map((issue) => issue.path.join('.'))).toEqual(
      expect.arrayContaining(['rules.1.objects.region', 'rules.2.to.0.region']),
    );
  });

  it('refuses a source Region that is not one', () => {
    const { issues } = checkConfig({
      rules: [
        {
          name: 'bad',
          objects: { bucket: 'rg-x', region: 'ireland' },
          to: [{ bucket: 'rg-y', region: 'us-west-2' }],
        },
      ],
    });
    expect(issues.map((issue) => issue.path.join('.'))).toEqual(['rules.0.objects.region']);
  });
});
