import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SANDBOX_CREDENTIALS, type Sandbox, startSandbox } from '#local/sandbox';
import { PLAIN_S3_CONFIG } from '#test/support/s3-answers';

const hasAwsCli = spawnSync('aws', ['--version'], { encoding: 'utf8' }).status === 0;
if (!hasAwsCli) {
  console.warn('The AWS CLI is not installed (Debian package awscli): the sandbox S3 CLI tests do not run.');
}

/** The sandbox S3's rules as a user meets them with the AWS CLI (the listing bugs of issue 12 among them). */
describe.runIf(hasAwsCli)('the sandbox S3 driven by the AWS CLI', () => {
  let sandbox: Sandbox;
  beforeAll(async () => {
    sandbox = await startSandbox({ config: PLAIN_S3_CONFIG, port: 0 });
    for (const Key of [
      'reports/r.txt',
      'mirror/docs/a.txt',
      'mirror/docs/b.txt',
      'top.txt',
      'b/1',
      'b/2',
      'c/1',
    ])
      await sandbox.s3('us-west-2').send(new PutObjectCommand({ Bucket: 's3-west', Key, Body: Key }));
  });
  afterAll(() => sandbox.stop());

  // Asynchronous: the sandbox answers from this very process, so a blocking call would deadlock.
  const aws = async (region: string, ...args: string[]) => {
    try {
      const { stdout } = await promisify(execFile)(
        'aws',
        ['--endpoint-url', sandbox.endpoint, '--region', region, ...args],
        {
          encoding: 'utf8',
          env: {
            ...process.env,
            AWS_ACCESS_KEY_ID: SANDBOX_CREDENTIALS.accessKeyId,
            AWS_SECRET_ACCESS_KEY: SANDBOX_CREDENTIALS.secretAccessKey,
            AWS_CONFIG_FILE: '/dev/null',
            AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
          },
        },
      );
      return { ok: true, out: stdout };
    } catch (error) {
      return { ok: false, out: String((error as { stderr?: string }).stderr ?? error) };
    }
  };

  it('It should show every prefix in `aws s3 ls`, also one whose objects sit two levels down', async () => {
    const { out } = await aws('us-west-2', 's3', 'ls', 's3://s3-west/');
    const prefixes = out.match(/PRE \S+/g);
    expect(prefixes).toEqual(['PRE b/', 'PRE c/', 'PRE mirror/', 'PRE reports/']);
    expect(out).toContain('top.txt');
  });

  it('It should never repeat a prefix with `--page-size 1`', async () => {
    const { out } = await aws('us-west-2', 's3', 'ls', '--page-size', '1', 's3://s3-west/');
    expect(out.match(/PRE \S+/g)).toEqual(['PRE b/', 'PRE c/', 'PRE mirror/', 'PRE reports/']);
  });

  it('It should count prefixes against --max-keys in list-objects-v2', async () => {
    const { out } = await aws(
      'us-west-2',
      's3api',
      'list-objects-v2',
      '--bucket',
      's3-west',
      '--delimiter',
      '/',
      '--max-keys',
      '3',
      '--no-paginate',
    );
    const page = JSON.parse(out) as { KeyCount: number; CommonPrefixes: unknown[]; IsTruncated: boolean };
    expect(page.KeyCount).toBe(3);
    expect(page.CommonPrefixes).toHaveLength(3);
    expect(page.IsTruncated).toBe(true);
  });

  it('It should answer get-bucket-location with the Region of the bucket', async () => {
    const { out } = await aws('us-east-1', 's3api', 'get-bucket-location', '--bucket', 's3-west');
    expect(JSON.parse(out)).toEqual({ LocationConstraint: 'us-west-2' });
  });

  it('It should refuse a key of 1,025 bytes and 2 KB of metadata as S3 does', async () => {
    const long = await aws(
      'us-east-1',
      's3api',
      'put-object',
      '--bucket',
      's3-plain',
      '--key',
      'k'.repeat(1025),
    );
    expect(long).toMatchObject({ ok: false });
    expect(long.out).toContain('KeyTooLongError');
    const metadata = await aws(
      'us-east-1',
      's3api',
      'put-object',
      '--bucket',
      's3-plain',
      '--key',
      'meta',
      '--metadata',
      `big=${'x'.repeat(2046)}`,
    );
    expect(metadata).toMatchObject({ ok: false });
    expect(metadata.out).toContain('MetadataTooLarge');
  });
});
