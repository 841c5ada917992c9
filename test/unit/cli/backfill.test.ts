import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateSnapshotCommand } from '@aws-sdk/client-ec2';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Sandbox, sandboxDeployment, startSandbox } from '#local/sandbox';
import { configFrom } from '#test/support/fixtures';
import { runTsx, runTsxAsync } from '#test/support/run-tsx';
import { backfillCommand, SANDBOX_RULES_FILE } from '../../../cli/backfill.ts';
import { SANDBOX_STAGE, statusCommand } from '../../../cli/operate.ts';

/** `ferry backfill` in-process against the sandbox endpoint, as a user would run it with --endpoint. */

const YAML = `
copy: { multipartThreshold: 5242880 }
rules:
  - name: docs
    objects: { bucket: bf-source, prefix: docs/ }
    to:
      - { bucket: bf-dr, region: us-west-2 }
  - name: ebs-to-dr
    snapshots: { regions: [us-east-1], tags: { backup: dr } }
    to:
      - region: us-west-2
`;
const dir = mkdtempSync(join(tmpdir(), 'ferry-backfill-'));
const CONFIG_FILE = join(dir, 'replication.yml');
writeFileSync(CONFIG_FILE, YAML);

let sandbox: Sandbox;
beforeAll(async () => {
  sandbox = await startSandbox({ config: configFrom(YAML), port: 0 });
});
afterAll(() => sandbox.stop());

describe('ferry backfill', () => {
  it('copies what lost its events, and reports copies it cannot start (no state machine) as failed with the cause', async () => {
    sandbox.bus.pause();
    try {
      const s3 = sandbox.s3('us-east-1');
      await s3.send(new PutObjectCommand({ Bucket: 'bf-source', Key: 'docs/small.txt', Body: 'small' }));
      await s3.send(
        new PutObjectCommand({
          Bucket: 'bf-source',
          Key: 'docs/large.bin',
          Body: Buffer.alloc(6 * 1024 * 1024, 1),
        }),
      );
      const volumeId = sandbox.ec2.createVolume('us-east-1', { sizeGiB: 1 });
      await sandbox.ec2Client('us-east-1').send(
        new CreateSnapshotCommand({
          VolumeId: volumeId,
          TagSpecifications: [{ ResourceType: 'snapshot', Tags: [{ Key: 'backup', Value: 'dr' }] }],
        }),
      );
      await sandbox.settle();
    } finally {
      sandbox.bus.resume();
    }

    const result = await backfillCommand({ configFile: CONFIG_FILE, endpoint: sandbox.endpoint, env: {} });
    const text = result.lines.join('\n');
    expect(result.exitCode).toBe(1);
    expect(text).toContain('rule docs (objects): scanned 2, missing 2, stale 0, sent 1, skipped 0, failed 1');
    expect(text).toContain(
      '✘ s3://bf-source/docs/large.bin → s3://bf-dr/docs/large.bin: Error: FERRY_OBJECT_COPY_STATE_MACHINE_ARN is not set',
    );
    expect(text).toContain(
      'rule ebs-to-dr (snapshots): scanned 1, missing 1, stale 0, sent 0, skipped 0, failed 1',
    );
    expect(text).toContain('FERRY_SNAPSHOT_COPY_STATE_MACHINE_ARN is not set');
    expect(text).toContain('Done: the pass reached the end of every rule.');
    const replica = await sandbox
      .s3('us-west-2')
      .send(new GetObjectCommand({ Bucket: 'bf-dr', Key: 'docs/small.txt' }));
    expect(await replica.Body?.transformToString()).toBe('small');
  });

  it('prints a resume token when limited, and the next pass goes on from it', async () => {
    const first = await backfillCommand({
      configFile: CONFIG_FILE,
      endpoint: sandbox.endpoint,
      rule: 'docs',
      limit: 1,
      env: {},
    });
    const resume = /--resume (\S+)/.exec(first.lines.join('\n'))?.[1];
    expect(first.lines[0]).toBe(
      'rule docs (objects): scanned 1, missing 1, stale 0, sent 0, skipped 0, failed 1',
    );
    expect(resume).toBeDefined();
    const second = await backfillCommand({
      configFile: CONFIG_FILE,
      endpoint: sandbox.endpoint,
      rule: 'docs',
      limit: 1,
      resume,
      env: {},
    });
    // docs/large.bin (still not copied) came first; docs/small.txt is up to date.
    expect(second.lines[0]).toBe(
      'rule docs (objects): scanned 1, missing 0, stale 0, sent 0, skipped 0, failed 0',
    );
  });

  it('rejects an unknown rule naming the rules, and a bad limit, from the real command line', () => {
    const unknown = runTsx('cli/ferry.ts', ['backfill', '--config', CONFIG_FILE, '--rule', 'nope']);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain('no rule is named "nope"; the rules are: "docs", "ebs-to-dr"');
    const limit = runTsx('cli/ferry.ts', ['backfill', '--limit', 'lots']);
    expect(limit.status).toBe(2);
    expect(limit.stderr).toContain('--limit expects a positive whole number, got "lots"');
  });
});

describe('ferry backfill and status pointed at the sandbox without its rules or its stage', () => {
  it('backfill names the bucket it looked for, every bucket of the rules, and the sandbox’s rules', async () => {
    const other = join(dir, 'other.yml');
    writeFileSync(
      other,
      `rules:
  - name: invoices
    objects: { bucket: acme-prod, prefix: invoices/ }
    to: [ { bucket: acme-dr, region: us-west-2 } ]
  - name: media
    objects: { bucket: acme-media }
    to: [ { bucket: acme-media-dr, region: us-west-2 } ]
`,
    );
    const result = await backfillCommand({ configFile: other, endpoint: sandbox.endpoint, env: {} });
    expect(result.exitCode).toBe(1);
    expect(result.lines.slice(0, 3)).toEqual([
      `✘ backfill: the bucket acme-prod does not exist at ${sandbox.endpoint} (us-east-1)`,
      `  The rules of ${other} read from acme-prod (rule invoices), acme-media (rule media).`,
      `  The sandbox (npm start) serves the buckets of ${SANDBOX_RULES_FILE}: add --config ${SANDBOX_RULES_FILE}`,
    ]);
    // Then the report: each rule's listing named (the pass went on past the first missing bucket).
    expect(result.lines.filter((line) => line.startsWith('  ✘ listing of '))).toEqual([
      expect.stringMatching(/^ {2}✘ listing of s3:\/\/acme-prod\/invoices\/ in us-east-1: NoSuchBucket/),
      expect.stringMatching(/^ {2}✘ listing of s3:\/\/acme-media\/ in us-east-1: NoSuchBucket/),
    ]);
    expect(existsSync(SANDBOX_RULES_FILE)).toBe(true);
  });

  it('backfill --endpoint without --config says so from the real command line, without a bare S3 error', async () => {
    // Not spawnSync: the sandbox answering the child runs in this process.
    const run = await runTsxAsync('cli/ferry.ts', ['backfill', '--endpoint', sandbox.endpoint]);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(`does not exist at ${sandbox.endpoint} (us-east-1)`);
    expect(run.stderr).toContain('The rules of replication.yml read from ');
    expect(run.stderr).toContain(`add --config ${SANDBOX_RULES_FILE}`);
  });

  it('status names the machines and the queue it looked for and the sandbox’s stage, then works with it', async () => {
    const since = new Date(Date.now() - 3_600_000);
    const options = { region: 'us-east-1', endpoint: sandbox.endpoint, since, sinceText: '1h' };
    const dev = await statusCommand({ ...options, stage: 'dev' });
    expect(dev.exitCode).toBe(1);
    expect(dev.lines).toContain(
      'No state machines named ferry-dev-…: the sandbox (npm start) is stage "sandbox": add --stage sandbox',
    );
    expect(dev.lines.at(-1)).toBe(
      `✘ status: no dead-letter queue named ferry-dev-dead-letters in us-east-1 at ${sandbox.endpoint}: ` +
        'the sandbox (npm start) is stage "sandbox": add --stage sandbox',
    );
    expect(SANDBOX_STAGE).toBe(sandboxDeployment().stage);
    const sandboxStage = await statusCommand({ ...options, stage: SANDBOX_STAGE });
    expect(sandboxStage.exitCode, sandboxStage.lines.join('\n')).toBe(0);
    expect(sandboxStage.lines.at(-1)).toContain('Dead letters: 0 waiting in ferry-sandbox-dead-letters');
  });
});
