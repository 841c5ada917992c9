import { describe, expect, it } from 'vitest';
import { imageRulesOf, kindOf, objectRulesOf, snapshotRulesOf } from '#rules/config';
import { validateConfig } from '#rules/load';
import {
  DEFAULT_IMAGE_DESCRIPTION,
  DEFAULT_IMAGE_NAME,
  DEFAULT_SNAPSHOT_DESCRIPTION,
} from '#rules/templates';

const KEY_ARN = 'arn:aws:kms:us-west-2:222233334444:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const ROLE = 'arn:aws:iam::222233334444:role/ferry-writer';

const snapshotRule = (snapshots: Record<string, unknown> = {}, ...to: Record<string, unknown>[]) => ({
  name: 'ebs-to-dr',
  snapshots: { regions: ['us-east-1'], ...snapshots },
  to: to.length > 0 ? to : [{ region: 'us-west-2' }],
});
const imageRule = (images: Record<string, unknown> = {}, ...to: Record<string, unknown>[]) => ({
  name: 'ami-to-dr',
  images: { regions: ['us-east-1'], ...images },
  to: to.length > 0 ? to : [{ region: 'us-west-2' }],
});
const objectRule = {
  name: 'invoices',
  objects: { bucket: 'acme-prod' },
  to: [{ bucket: 'acme-dr', region: 'us-west-2' }],
};

const issuesOf = (...rules: unknown[]) => {
  const result = validateConfig({ rules });
  if (result.ok) throw new Error('expected the configuration to be invalid');
  return result.issues;
};
const configOf = (...rules: unknown[]) => {
  const result = validateConfig({ rules });
  if (!result.ok) throw new Error(result.issues.map((i) => `${i.path}: ${i.message}`).join('\n'));
  return result.config;
};

describe('snapshot and image rules', () => {
  it('It should fill the documented defaults of minimal snapshot and image rules', () => {
    const config = configOf(snapshotRule(), imageRule());
    expect(snapshotRulesOf(config)[0]?.to[0]).toEqual({
      region: 'us-west-2',
      copyTags: true,
      tags: {},
      description: DEFAULT_SNAPSHOT_DESCRIPTION,
      archive: false,
    });
    expect(imageRulesOf(config)[0]?.to[0]).toEqual({
      region: 'us-west-2',
      copyTags: true,
      tags: {},
      name: DEFAULT_IMAGE_NAME,
      description: DEFAULT_IMAGE_DESCRIPTION,
    });
  });

  it('It should accept every documented field', () => {
    const config = configOf(
      snapshotRule(
        {
          regions: ['us-east-1', 'eu-west-1'],
          tags: { backup: 'dr' },
          volumeIds: ['vol-0123456789abcdef0', 'vol-01234567'],
          minVolumeSize: 1,
          maxVolumeSize: 1,
          encrypted: true,
          description: '^nightly',
        },
        {
          region: 'us-west-2',
          account: '222233334444',
          roleArn: ROLE,
          externalId: 'acme-ferry-7f3a9c',
          kmsKeyId: KEY_ARN,
          copyTags: false,
          tags: { 'copied-by': 'ferry' },
          description: '{description} ({volumeId}, {rule}, {date})',
          completionDurationMinutes: 2880,
          retain: { count: 7 },
          archive: true,
        },
      ),
      imageRule(
        { tags: { dr: 'true' }, name: '^web-', encrypted: false },
        {
          region: 'us-west-2',
          kmsKeyId: 'alias/dr-ami',
          name: 'dr {name} [{sourceId}]',
          retain: { days: 3650 },
        },
      ),
    );
    expect(snapshotRulesOf(config)[0]?.to[0]?.retain).toEqual({ count: 7 });
    expect(imageRulesOf(config)[0]?.to[0]?.retain).toEqual({ days: 3650 });
  });

  it.each([
    [
      'no source Region',
      snapshotRule({ regions: [] }),
      'rules[0].snapshots.regions',
      /at least one source Region/,
    ],
    [
      'a repeated source Region',
      snapshotRule({ regions: ['us-east-1', 'eu-west-1', 'us-east-1'] }),
      'rules[0].snapshots.regions[2]',
      /"us-east-1" is already listed at \[0\]/,
    ],
    [
      'a bad source Region',
      snapshotRule({ regions: ['us-east'] }),
      'rules[0].snapshots.regions[0]',
      /AWS Region/,
    ],
    [
      'a bad volume id',
      snapshotRule({ volumeIds: ['vol-0123'] }),
      'rules[0].snapshots.volumeIds[0]',
      /EBS volume id \(vol- and 8 or 17 hex digits\)/,
    ],
    [
      'an empty volume list',
      snapshotRule({ volumeIds: [] }),
      'rules[0].snapshots.volumeIds',
      /at least one volume id/,
    ],
    [
      'a repeated volume id',
      snapshotRule({ volumeIds: ['vol-01234567', 'vol-01234567'] }),
      'rules[0].snapshots.volumeIds[1]',
      /already listed/,
    ],
    [
      'a zero minVolumeSize',
      snapshotRule({ minVolumeSize: 0 }),
      'rules[0].snapshots.minVolumeSize',
      /at least 1 GiB/,
    ],
    [
      'a fractional maxVolumeSize',
      snapshotRule({ maxVolumeSize: 1.5 }),
      'rules[0].snapshots.maxVolumeSize',
      /whole number of GiB/,
    ],
    [
      'a volume size beyond EBS',
      snapshotRule({ maxVolumeSize: 70_000 }),
      'rules[0].snapshots.maxVolumeSize',
      /at most 65536 GiB/,
    ],
    [
      'minVolumeSize above maxVolumeSize',
      snapshotRule({ minVolumeSize: 100, maxVolumeSize: 10 }),
      'rules[0].snapshots.maxVolumeSize',
      /must not be smaller than minVolumeSize/,
    ],
    [
      'a non-boolean encrypted',
      snapshotRule({ encrypted: 'yes' }),
      'rules[0].snapshots.encrypted',
      /boolean/,
    ],
    [
      'a description pattern that does not compile',
      snapshotRule({ description: 'nightly(' }),
      'rules[0].snapshots.description',
      /regular expression for the snapshot description, but it does not compile: .*nightly\(/,
    ],
    [
      'an AMI name pattern that does not compile',
      imageRule({ name: '[web' }),
      'rules[0].images.name',
      /regular expression for the AMI name, but it does not compile/,
    ],
    [
      'an aws: tag filter',
      snapshotRule({ tags: { 'AWS:backup': 'x' } }),
      'rules[0].snapshots.tags.AWS:backup',
      /reserved by AWS/,
    ],
    [
      'more than 50 tags',
      snapshotRule({ tags: Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, 'v'])) }),
      'rules[0].snapshots.tags',
      /at most 50 tags \(the EC2 tag limit\)/,
    ],
    [
      'a tag value over 255 characters (the EC2 limit)',
      imageRule({ tags: { dr: 'x'.repeat(256) } }),
      'rules[0].images.tags.dr',
      /at most 255 characters \(the EC2 limit\)/,
    ],
    [
      'a tag key over 127 characters (the EC2 limit)',
      imageRule({ tags: { ['k'.repeat(128)]: 'v' } }),
      `rules[0].images.tags.${'k'.repeat(128)}`,
      /1–127 characters \(the EC2 limit\)/,
    ],
    [
      'an unknown key in the source',
      snapshotRule({ volumeSize: 8 }),
      'rules[0].snapshots',
      /unknown key "volumeSize"/,
    ],
    [
      'an unknown key in a destination',
      snapshotRule({}, { region: 'us-west-2', kmsKey: 'alias/x' }),
      'rules[0].to[0]',
      /unknown key "kmsKey"/,
    ],
    [
      'completionDurationMinutes on an image destination',
      imageRule({}, { region: 'us-west-2', completionDurationMinutes: 60 }),
      'rules[0].to[0]',
      /unknown key "completionDurationMinutes"/,
    ],
    [
      'archive on an image destination',
      imageRule({}, { region: 'us-west-2', archive: true }),
      'rules[0].to[0]',
      /unknown key "archive"/,
    ],
    ['a bad destination Region', snapshotRule({}, { region: 'west' }), 'rules[0].to[0].region', /AWS Region/],
    ['no destination', { ...snapshotRule(), to: [] }, 'rules[0].to', /at least one destination/],
    [
      'a malformed KMS key',
      snapshotRule({}, { region: 'us-west-2', kmsKeyId: 'dr-ebs' }),
      'rules[0].to[0].kmsKeyId',
      /expected a KMS key id, a key ARN \(arn:aws:kms:REGION:ACCOUNT:key\/ID\), alias\/NAME/,
    ],
    [
      'a key ARN of another Region',
      snapshotRule({}, { region: 'us-west-2', kmsKeyId: KEY_ARN.replace('us-west-2', 'eu-west-1') }),
      'rules[0].to[0].kmsKeyId',
      /the key is in eu-west-1, but the copy is made in us-west-2/,
    ],
    [
      'an alias ARN of another Region',
      imageRule({}, { region: 'us-west-2', kmsKeyId: 'arn:aws:kms:eu-west-1:222233334444:alias/dr' }),
      'rules[0].to[0].kmsKeyId',
      /the key is in eu-west-1/,
    ],
    [
      'a roleArn without an account',
      snapshotRule({ encrypted: false }, { region: 'us-west-2', roleArn: ROLE }),
      'rules[0].to[0].account',
      /required when roleArn is set/,
    ],
    [
      'an account without a roleArn',
      snapshotRule({ encrypted: false }, { region: 'us-west-2', account: '222233334444' }),
      'rules[0].to[0].roleArn',
      /required when account is set: an EC2 copy belongs to the account that makes it/,
    ],
    [
      'a role in another account',
      imageRule({ encrypted: false }, { region: 'us-west-2', account: '999988887777', roleArn: ROLE }),
      'rules[0].to[0].roleArn',
      /the role belongs to account 222233334444, not to the destination account 999988887777/,
    ],
    [
      'an aws: tag on the copies',
      snapshotRule({}, { region: 'us-west-2', tags: { 'aws:x': '1' } }),
      'rules[0].to[0].tags.aws:x',
      /reserved by AWS/,
    ],
    [
      'a ferry: tag on the copies',
      imageRule({}, { region: 'us-west-2', tags: { 'Ferry:source-id': '1' } }),
      'rules[0].to[0].tags.Ferry:source-id',
      /reserved for the markers Ferry puts on its copies/,
    ],
    [
      'a non-boolean copyTags',
      snapshotRule({}, { region: 'us-west-2', copyTags: 'yes' }),
      'rules[0].to[0].copyTags',
      /boolean/,
    ],
    [
      'a completion duration below 15 minutes',
      snapshotRule({}, { region: 'us-west-2', completionDurationMinutes: 0 }),
      'rules[0].to[0].completionDurationMinutes',
      /15–2880 minutes in steps of 15/,
    ],
    [
      'a completion duration off the 15-minute steps',
      snapshotRule({}, { region: 'us-west-2', completionDurationMinutes: 50 }),
      'rules[0].to[0].completionDurationMinutes',
      /in steps of 15/,
    ],
    [
      'a completion duration over 48 hours',
      snapshotRule({}, { region: 'us-west-2', completionDurationMinutes: 2895 }),
      'rules[0].to[0].completionDurationMinutes',
      /15–2880 minutes/,
    ],
    [
      'a retention with both count and days',
      snapshotRule({}, { region: 'us-west-2', retain: { count: 7, days: 30 } }),
      'rules[0].to[0].retain',
      /exactly one of count \(copies kept per source volume\) or days/,
    ],
    [
      'an empty retention',
      imageRule({}, { region: 'us-west-2', retain: {} }),
      'rules[0].to[0].retain',
      /exactly one of count \(copies kept per source AMI name\) or days/,
    ],
    [
      'a retention count of 0',
      snapshotRule({}, { region: 'us-west-2', retain: { count: 0 } }),
      'rules[0].to[0].retain.count',
      /1–1000 copies/,
    ],
    [
      'a retention count over 1000',
      snapshotRule({}, { region: 'us-west-2', retain: { count: 1001 } }),
      'rules[0].to[0].retain.count',
      /1–1000 copies/,
    ],
    [
      'a retention over 3650 days',
      imageRule({}, { region: 'us-west-2', retain: { days: 3651 } }),
      'rules[0].to[0].retain.days',
      /1–3650 days/,
    ],
    [
      'an unknown key in a retention',
      snapshotRule({}, { region: 'us-west-2', retain: { weeks: 2 } }),
      'rules[0].to[0].retain',
      /unknown key "weeks"/,
    ],
    [
      'an unknown placeholder in a snapshot description',
      snapshotRule({}, { region: 'us-west-2', description: 'copy of {name}' }),
      'rules[0].to[0].description',
      /unknown placeholder \{name\}; expected one of \{sourceId\}, \{sourceRegion\}, \{rule\}, \{date\}, \{description\}, \{volumeId\}/,
    ],
    [
      'an unknown placeholder in an image description',
      imageRule({}, { region: 'us-west-2', description: 'from {volumeId}' }),
      'rules[0].to[0].description',
      /unknown placeholder \{volumeId\}/,
    ],
    [
      'an unclosed placeholder',
      snapshotRule({}, { region: 'us-west-2', description: 'copy of {sourceId' }),
      'rules[0].to[0].description',
      /"\{" at position 8 is not closed/,
    ],
    [
      'an AMI name template with characters EC2 refuses',
      imageRule({}, { region: 'us-west-2', name: '{name}:{sourceId}' }),
      'rules[0].to[0].name',
      /":" cannot be in an AMI name/,
    ],
    [
      'an AMI name template that names every copy alike',
      imageRule({}, { region: 'us-west-2', name: 'dr-copy' }),
      'rules[0].to[0].name',
      /must contain \{sourceId\} or \{name\}/,
    ],
    [
      'an AMI name template too long with the rule name',
      {
        ...imageRule({}, { region: 'us-west-2', name: `${'x'.repeat(100)}{rule}{sourceId}` }),
        name: 'a-long-rule-name',
      },
      'rules[0].to[0].name',
      /can render 137 characters/,
    ],
  ])('It should reject %s and name its path', (_, rule, path, message) => {
    expect(issuesOf(rule)).toContainEqual({ path, message: expect.stringMatching(message) });
  });
});

describe('encryption and placement of EC2 copies', () => {
  it('It should require a key on every destination of a rule that copies encrypted snapshots', () => {
    const issues = issuesOf(
      snapshotRule(
        { encrypted: true },
        { region: 'us-west-2' },
        { region: 'eu-west-1', kmsKeyId: 'alias/dr' },
      ),
    );
    expect(issues).toEqual([
      {
        path: 'rules[0].to[0].kmsKeyId',
        message: expect.stringMatching(
          /^required because this rule copies encrypted snapshots \(snapshots.encrypted: true\): a copy in us-west-2 needs a key there/,
        ),
      },
    ]);
    expect(issuesOf(imageRule({ encrypted: true }))).toContainEqual({
      path: 'rules[0].to[0].kmsKeyId',
      message: expect.stringContaining('copies encrypted AMIs (images.encrypted: true)'),
    });
  });

  it('It should require a key for a cross-account copy, and say why, unless only unencrypted sources are copied', () => {
    const crossAccount = {
      region: 'us-west-2',
      account: '222233334444',
      roleArn: ROLE,
      externalId: 'acme-ferry-7f3a9c',
    };
    expect(issuesOf(snapshotRule({}, crossAccount))).toEqual([
      {
        path: 'rules[0].to[0].kmsKeyId',
        message: expect.stringMatching(
          /^required for a copy into account 222233334444 unless the rule sets snapshots.encrypted: false: an encrypted snapshot can be shared with another account only under a customer-managed key/,
        ),
      },
    ]);
    expect(issuesOf(imageRule({}, crossAccount))).toContainEqual({
      path: 'rules[0].to[0].kmsKeyId',
      message: expect.stringContaining('unless the rule sets images.encrypted: false'),
    });
    expect(configOf(snapshotRule({ encrypted: false }, crossAccount)).rules).toHaveLength(1);
    expect(configOf(imageRule({}, { ...crossAccount, kmsKeyId: KEY_ARN })).rules).toHaveLength(1);
  });

  it('It should refuse a copy into its own source Region and account unless it re-encrypts it', () => {
    const issues = issuesOf(snapshotRule({ regions: ['us-east-1', 'us-west-2'] }, { region: 'us-west-2' }));
    expect(issues).toEqual([
      {
        path: 'rules[0].to[0]',
        message: expect.stringMatching(
          /^the copy would duplicate the source: us-west-2 is a source Region of this rule and no other account is set; set kmsKeyId/,
        ),
      },
    ]);
    expect(issuesOf(imageRule({}, { region: 'us-east-1' }))).toContainEqual({
      path: 'rules[0].to[0]',
      message: expect.stringContaining('the copy would duplicate the source'),
    });
    // Re-encrypting, or copying into another account, changes something.
    expect(configOf(snapshotRule({}, { region: 'us-east-1', kmsKeyId: 'alias/rekey' })).rules).toHaveLength(
      1,
    );
    expect(
      configOf(
        snapshotRule(
          { encrypted: false },
          { region: 'us-east-1', account: '222233334444', roleArn: ROLE, externalId: 'acme-ferry-7f3a9c' },
        ),
      ).rules,
    ).toHaveLength(1);
  });

  it("It should refuse an AMI copy in its source's Region named exactly like its source", () => {
    expect(issuesOf(imageRule({}, { region: 'us-east-1', kmsKeyId: 'alias/rekey', name: '{name}' }))).toEqual(
      [
        {
          path: 'rules[0].to[0].name',
          message: expect.stringContaining("would give the copy its source's name in us-east-1"),
        },
      ],
    );
    expect(configOf(imageRule({}, { region: 'us-west-2', name: '{name}' })).rules).toHaveLength(1);
  });
});

describe('rules of every kind in one file', () => {
  it('It should require exactly one of objects, snapshots or images, naming the rule', () => {
    const { objects: _objects, ...noKind } = objectRule;
    expect(issuesOf(objectRule, noKind)).toEqual([
      {
        path: 'rules[1]',
        message: 'expected exactly one of objects, snapshots or images (what the rule copies); it has none',
      },
    ]);
    expect(issuesOf({ ...snapshotRule(), images: { regions: ['us-east-1'] } })).toEqual([
      {
        path: 'rules[0]',
        message:
          'expected exactly one of objects, snapshots or images (what the rule copies); it has snapshots and images',
      },
    ]);
    expect(issuesOf('ebs-to-dr')).toEqual([
      {
        path: 'rules[0]',
        message: 'expected a rule: a mapping with name, one of objects, snapshots or images, and to',
      },
    ]);
  });

  it('It should reject a rule name used by a rule of another kind', () => {
    expect(issuesOf(snapshotRule(), { ...imageRule(), name: 'ebs-to-dr' })).toEqual([
      { path: 'rules[1].name', message: '"ebs-to-dr" is already the name of rules[0]' },
    ]);
  });

  it('It should report errors of every kind of rule in one pass, at their file indexes', () => {
    const issues = issuesOf(
      snapshotRule({ regions: [] }),
      { ...objectRule, to: [{ bucket: 'acme-dr', region: 'nowhere' }] },
      imageRule({}, { region: 'us-west-2', name: 'same' }),
    );
    expect(issues.map((issue) => issue.path)).toEqual([
      'rules[0].snapshots.regions',
      'rules[1].to[0].region',
      'rules[2].to[0].name',
    ]);
  });

  it('It should keep each kind apart, in file order, and run the loop check on object rules only', () => {
    const config = configOf(snapshotRule(), objectRule, imageRule(), {
      ...objectRule,
      name: 'media',
      objects: { bucket: 'acme-media' },
      // Its own replica bucket: two whole-bucket rules into acme-dr would share replicas.
      to: [{ bucket: 'acme-media-dr', region: 'us-west-2' }],
    });
    expect(config.rules.map(kindOf)).toEqual(['snapshots', 'objects', 'images', 'objects']);
    expect(objectRulesOf(config).map((rule) => rule.name)).toEqual(['invoices', 'media']);
    expect(snapshotRulesOf(config).map((rule) => rule.name)).toEqual(['ebs-to-dr']);
    expect(imageRulesOf(config).map((rule) => rule.name)).toEqual(['ami-to-dr']);
    // An object loop is still found, at the object rule's own index.
    expect(
      issuesOf(snapshotRule(), { ...objectRule, to: [{ bucket: 'acme-prod', region: 'us-east-1' }] }),
    ).toEqual([
      { path: 'rules[1].to[0]', message: expect.stringContaining('destination equals its source') },
    ]);
  });
});

describe('EC2 destinations of one rule', () => {
  it('It should refuse two destinations in the same Region and account', () => {
    const issues = issuesOf(
      snapshotRule({}, { region: 'us-west-2' }, { region: 'us-west-2', tags: { again: 'yes' } }),
    );
    expect(issues).toEqual([
      expect.objectContaining({
        path: 'rules[0].to[1]',
        message: expect.stringContaining('to[0] already copies to us-west-2'),
      }),
    ]);
  });
});
