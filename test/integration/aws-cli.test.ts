import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SANDBOX_CREDENTIALS, type Sandbox, startSandbox } from '#local/sandbox';
import { configFrom } from '#test/support/fixtures';

const awsCli = spawnSync('aws', ['--version'], { encoding: 'utf8' });
const hasAwsCli = awsCli.status === 0;
if (!hasAwsCli) {
  console.warn(
    'The AWS CLI is not installed (Debian package awscli): the AWS CLI sandbox test does not run.',
  );
}

describe.runIf(hasAwsCli)('the sandbox driven by the AWS CLI', () => {
  let sandbox: Sandbox;
  beforeAll(async () => {
    sandbox = await startSandbox({
      config: configFrom(`
rules:
  - name: cli
    objects: { bucket: cli-source, prefix: in/ }
    to: [ { bucket: cli-dr, region: us-west-2, keyPrefix: out/ } ]
`),
      port: 0,
    });
  });
  afterAll(() => sandbox.stop());

  // Asynchronous: the sandbox answers from this very process, so a blocking call would deadlock.
  const aws = async (region: string, ...args: string[]) =>
    (
      await promisify(execFile)('aws', ['--endpoint-url', sandbox.endpoint, '--region', region, ...args], {
        encoding: 'utf8',
        env: {
          ...process.env,
          AWS_ACCESS_KEY_ID: SANDBOX_CREDENTIALS.accessKeyId,
          AWS_SECRET_ACCESS_KEY: SANDBOX_CREDENTIALS.secretAccessKey,
          AWS_CONFIG_FILE: '/dev/null',
          AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
        },
      })
    ).stdout;

  it(`It should replicate objects that ${awsCli.stdout.trim().split(' ')[0] ?? 'aws'} uploads, small and multipart`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ferry-cli-'));
    const small = join(dir, 'note.txt');
    writeFileSync(small, 'from the AWS CLI');
    const large = join(dir, 'large.bin');
    const bytes = Buffer.alloc(12 * 1024 * 1024, 7); // above the CLI's 8 MB multipart threshold
    writeFileSync(large, bytes);

    await aws('us-east-1', 's3', 'cp', '--only-show-errors', small, 's3://cli-source/in/a note+1.txt');
    await aws('us-east-1', 's3', 'cp', '--only-show-errors', large, 's3://cli-source/in/large.bin');
    await sandbox.settle();

    const listing = await aws('us-west-2', 's3', 'ls', 's3://cli-dr/out/');
    expect(listing).toContain('a note+1.txt');
    const replica = await sandbox
      .s3('us-west-2')
      .send(new GetObjectCommand({ Bucket: 'cli-dr', Key: 'out/large.bin' }));
    expect(Buffer.from((await replica.Body?.transformToByteArray()) ?? []).equals(bytes)).toBe(true);
  });
});
