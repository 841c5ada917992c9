import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { s3Event } from '#test/support/fixtures';
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
      lines: [expect.stringContaining('2 rules, 2 destinations, valid')],
    });
  });

  it('It should list every error with its path and exit non-zero, from the real command line', () => {
    const run = spawnSync('npx', ['tsx', 'cli/ferry.ts', 'validate', BROKEN], { encoding: 'utf8' });
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

describe('Lambda init', () => {
  it('It should fail the init of a handler entry with every path of an invalid configuration', () => {
    const run = spawnSync('npx', ['tsx', 'test/support/import-entry.ts', 'functions/object-created.ts'], {
      encoding: 'utf8',
      env: { ...process.env, FERRY_CONFIG: BROKEN },
    });
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain('InvalidConfigError');
    expect(run.stderr).toContain('rules[0].to[0].storageClass');
  });

  it('It should load a valid configuration at init and export the handler', () => {
    const out = execFileSync('npx', ['tsx', 'test/support/import-entry.ts', 'functions/object-deleted.ts'], {
      encoding: 'utf8',
      env: { ...process.env, FERRY_CONFIG: GOOD },
    });
    expect(out.trim()).toBe('function');
  });
});
