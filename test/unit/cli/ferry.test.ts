import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ec2Event } from '#test/support/ec2-events';
import { compiledRulesOf, s3Event } from '#test/support/fixtures';
import { runTsx } from '#test/support/run-tsx';
import { planCommand, validateCommand } from '../../../cli/commands.ts';

const dir = mkdtempSync(join(tmpdir(), 'ferry-cli-'));
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

const GOOD = file(
  'good.yml',
  `rules:
  - name: invoices
    objects: { bucket: acme-prod, prefix: invoices/ }
    to:
      - { bucket: acme-dr, region: us-west-2, keyPrefix: mirror/, storageClass: STANDARD_IA, replicateDeletes: true }
  - name: tagged
    objects: { bucket: acme-prod, tags: { dr: "true" } }
    to: [ { bucket: acme-tagged, region: eu-west-1 } ]
`,
);
const BROKEN = file(
  'broken.yml',
  `rules:
  - name: a
    objects: { bucket: acme-prod }
    to:
      - { bucket: acme-dr, region: us-west-2, storageClass: COLD }
  - name: b
    objects: { bucket: acme-prod }
    to:
      - { bucket: acme-prod, region: us-east-1 }
  - name: c
    objects: { bucket: acme-other }
    to:
      - { bucket: acme-dr, region: nowhere }
`,
);

describe('ferry validate', () => {
  it('It should accept a valid file', () => {
    expect(validateCommand(GOOD)).toEqual({
      exitCode: 0,
      lines: [expect.stringContaining('2 rules (2 objects, 0 snapshots, 0 images), 2 destinations, valid')],
    });
  });

  it('It should list every error with its path and exit non-zero, from the real command line', () => {
    const run = runTsx('cli/ferry.ts', ['validate', BROKEN]);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('3 errors');
    expect(run.stderr).toContain('rules[0].to[0].storageClass: expected one of STANDARD');
    expect(run.stderr).toContain('rules[2].to[0].region: expected an AWS Region');
    expect(run.stderr).toContain('rules[1].to[0]: destination equals its source');
  });
});

describe('ferry plan', () => {
  const created = file('created.json', JSON.stringify(s3Event('object-created')));

  it('It should print the copy plans of an event without calling AWS, and say which rules need tags', () => {
    const result = planCommand({ eventFile: created, configFile: GOOD });
    expect(result.exitCode).toBe(0);
    expect(result.lines.join('\n')).toContain(
      'copy → s3://acme-dr/mirror/2026/q3 report ü+1.pdf (us-west-2, STANDARD_IA) [rule invoices]',
    );
    expect(result.lines.join('\n')).toContain('Rules "tagged" filter on tags');
    const withTags = planCommand({ eventFile: created, configFile: GOOD, tags: { dr: 'true' } });
    expect(withTags.lines.join('\n')).toContain('s3://acme-tagged/invoices/2026/q3 report ü+1.pdf');
  });

  it('It should plan deletes, and reject a malformed event naming the field', () => {
    const deleted = file('deleted.json', JSON.stringify(s3Event('object-deleted')));
    expect(planCommand({ eventFile: deleted, configFile: GOOD }).lines.join('\n')).toContain(
      'delete s3://acme-dr/mirror/2026/march.pdf',
    );
    const event = s3Event('object-created');
    delete event.detail.object.etag;
    const bad = planCommand({ eventFile: file('bad.json', JSON.stringify(event)), configFile: GOOD });
    expect(bad.exitCode).toBe(1);
    expect(bad.lines).toContainEqual(expect.stringContaining('detail.object.etag'));
  });
});

const EC2 = file(
  'ec2.yml',
  `rules:
  - name: invoices
    objects: { bucket: acme-prod, prefix: invoices/ }
    to: [ { bucket: acme-dr, region: us-west-2 } ]
  - name: ebs-to-dr
    snapshots: { regions: [us-east-1], tags: { backup: dr }, minVolumeSize: 50, description: "^nightly" }
    to:
      - { region: us-west-2, kmsKeyId: alias/dr-ebs, retain: { count: 7 }, completionDurationMinutes: 60, archive: true }
      - region: eu-west-1
        account: "222233334444"
        roleArn: arn:aws:iam::222233334444:role/ferry-writer
        externalId: acme-ferry-7f3a9c
        kmsKeyId: alias/partner
  - name: every-snapshot
    snapshots: { regions: [us-east-1] }
    to: [ { region: ap-southeast-2 } ]
  - name: ami-to-dr
    images: { regions: [us-west-2], name: "^web-" }
    to: [ { region: us-east-1, name: "dr {name} {sourceId}", retain: { days: 30 } } ]
`,
);

describe('ferry validate with snapshot and image rules', () => {
  it('It should count the rules of every kind', () => {
    expect(validateCommand(EC2)).toEqual({
      exitCode: 0,
      lines: [expect.stringContaining('4 rules (1 objects, 2 snapshots, 1 images), 5 destinations, valid')],
    });
  });

  it('It should name the path of each EC2 rule error', () => {
    const broken = file(
      'ec2-broken.yml',
      `rules:
  - name: ebs
    snapshots: { regions: [us-east-1], encrypted: true }
    to: [ { region: us-west-2, completionDurationMinutes: 20 } ]
  - name: nothing
    to: [ { region: us-west-2 } ]
`,
    );
    expect(validateCommand(broken)).toEqual({
      exitCode: 1,
      lines: [
        `✘ ${broken}: 3 errors`,
        expect.stringMatching(
          /^ {2}rules\[0\]\.to\[0\]\.completionDurationMinutes: expected 15–2880 minutes/,
        ),
        expect.stringMatching(
          /^ {2}rules\[0\]\.to\[0\]\.kmsKeyId: required because this rule copies encrypted/,
        ),
        '  rules[1]: expected exactly one of objects, snapshots or images (what the rule copies); it has none',
      ],
    });
  });
});

describe('ferry plan with EC2 events', () => {
  const created = file('snapshot-created.json', JSON.stringify(ec2Event('snapshot-created')));

  it('It should list the rules that need facts the event lacks, and plan the others', () => {
    const result = planCommand({ eventFile: created, configFile: EC2 });
    expect(result).toEqual({
      exitCode: 0,
      lines: [
        'EBS Snapshot Notification: createSnapshot succeeded in us-east-1',
        '  snap-0a1b2c3d4e5f60718 (us-east-1, volume vol-0f1e2d3c4b5a69788)',
        '    Rules "ebs-to-dr" (tags, volume size, description) filter on facts the event does not carry: ' +
          'the handler reads them with DescribeSnapshots. Pass --tags k=v,…, --volume-size GiB, --description TEXT ' +
          'to plan them; they are left out below.',
        '    copy → ap-southeast-2 [rule every-snapshot]',
      ],
    });
  });

  it('It should route on the facts given on the real command line', () => {
    const run = runTsx('cli/ferry.ts', [
      'plan',
      '--event',
      created,
      '--config',
      EC2,
      '--tags',
      'backup=dr',
      '--volume-size',
      '100',
      '--description',
      'nightly db',
    ]);
    expect(run.status).toBe(0);
    expect(run.stdout).toContain(
      'copy → us-west-2 (key alias/dr-ebs, within 60 min, keep 7 per volume, then archived) [rule ebs-to-dr]',
    );
    expect(run.stdout).toContain(
      'copy → eu-west-1 (key alias/partner, account 222233334444 via arn:aws:iam::222233334444:role/ferry-writer) [rule ebs-to-dr]',
    );
    expect(run.stdout).not.toContain('filter on facts');

    const small = planCommand({
      eventFile: created,
      configFile: EC2,
      tags: { backup: 'dr' },
      facts: { volumeSizeGiB: 8, description: 'nightly db' },
    });
    expect(small.lines.join('\n')).not.toContain('rule ebs-to-dr');
  });

  it('It should plan every snapshot of a multi-volume set, and skip copies with the reason', () => {
    const multi = file('multi.json', JSON.stringify(ec2Event('multi-volume-snapshots')));
    const lines = planCommand({ eventFile: multi, configFile: EC2 }).lines;
    expect(lines.filter((line) => line.includes('[rule every-snapshot]'))).toHaveLength(2);
    const copied = file('copied.json', JSON.stringify(ec2Event('snapshot-copied')));
    expect(planCommand({ eventFile: copied, configFile: EC2 }).lines).toEqual([
      'EBS Snapshot Notification: copySnapshot succeeded in us-west-2',
      "  skip snap-0e5f60718293a4b5c (us-west-2): copySnapshot events are Ferry's own or another copy",
    ]);
  });

  it('It should plan an available AMI with the name its copy would get, and skip other states', () => {
    const available = file('image-available.json', JSON.stringify(ec2Event('image-available')));
    const withoutName = planCommand({ eventFile: available, configFile: EC2 });
    expect(withoutName.lines).toContainEqual(expect.stringContaining('Rules "ami-to-dr" (name)'));
    expect(withoutName.lines).toContainEqual('  No rule that can be planned without those facts matches.');
    const named = planCommand({ eventFile: available, configFile: EC2, facts: { name: 'web-2026-11-21' } });
    expect(named.lines).toContainEqual(
      '  copy → us-east-1 as "dr web-2026-11-21 ami-0b1c2d3e4f5a60718" (keep 30 days) [rule ami-to-dr]',
    );
    const failed = file('image-failed.json', JSON.stringify(ec2Event('image-failed')));
    expect(planCommand({ eventFile: failed, configFile: EC2 }).lines).toContainEqual(
      expect.stringMatching(/^ {2}skip ami-0c2d3e4f5a6071829: state failed: /),
    );
  });

  it('It should reject a malformed EC2 event naming each bad field, and a bad fact option', () => {
    const event = ec2Event('snapshot-created');
    delete event.detail.snapshot_id;
    delete event.detail.result;
    const bad = planCommand({ eventFile: file('bad-snapshot.json', JSON.stringify(event)), configFile: EC2 });
    expect(bad.exitCode).toBe(1);
    expect(bad.lines).toContainEqual(expect.stringContaining('detail.snapshot_id'));
    expect(bad.lines).toContainEqual(expect.stringContaining('detail.result'));

    const image = ec2Event('image-available');
    image.detail.ImageId = 'ami-xyz';
    const badImage = planCommand({
      eventFile: file('bad-image.json', JSON.stringify(image)),
      configFile: EC2,
    });
    expect(badImage.lines).toContainEqual(
      '  detail.ImageId: expected an AMI id (ami- and 8 or 17 hex digits)',
    );

    const run = runTsx('cli/ferry.ts', ['plan', '--event', created, '--encrypted', 'maybe']);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('--encrypted expects true or false, got "maybe"');
  });
});

describe('Lambda init', () => {
  it('It should fail the init of a handler entry with every path of an invalid configuration', () => {
    const run = runTsx('test/support/import-entry.ts', ['functions/object-created.ts'], {
      ...process.env,
      FERRY_CONFIG: compiledRulesOf(BROKEN),
    });
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain('InvalidConfigError');
    expect(run.stderr).toContain('rules[0].to[0].storageClass');
  });

  it('It should load a valid configuration at init and export the handler', () => {
    const run = runTsx('test/support/import-entry.ts', ['functions/object-deleted.ts'], {
      ...process.env,
      FERRY_CONFIG: compiledRulesOf(GOOD),
    });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout.trim()).toBe('function');
  });
});
