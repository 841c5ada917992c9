import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SANDBOX_CREDENTIALS } from '#foundation/sandbox-credentials';
import { DEFAULT_REGISTER_IMAGE_SECONDS } from '#local/ec2/fake-ec2';
import { type StandaloneEc2, startStandaloneEc2 } from '#local/ec2/standalone';
import { type Sandbox, startSandbox } from '#local/sandbox';
import { configFrom } from '#test/support/fixtures';

/** Every AWS CLI installed (v1 from pip first on PATH, v2 from Debian), once per version. */
const clis = ['aws', '/usr/bin/aws']
  .map((command) => ({ command, version: spawnSync(command, ['--version'], { encoding: 'utf8' }) }))
  .filter(({ version }) => version.status === 0)
  .map(({ command, version }) => ({
    command,
    version: `${version.stdout}${version.stderr}`.trim().split(' ')[0] ?? '',
  }))
  .filter((cli, index, all) => all.findIndex((other) => other.version === cli.version) === index);
if (clis.length === 0) {
  console.warn('The AWS CLI is not installed (Debian package awscli): the fake EC2 CLI test does not run.');
}

// The CLI's own settings stay out: no profile, no CA bundle (the fake speaks plain HTTP).
const cliEnv = {
  ...Object.fromEntries(
    Object.entries(process.env).filter(
      ([name]) => !['AWS_CA_BUNDLE', 'AWS_PROFILE', 'AWS_SESSION_TOKEN'].includes(name),
    ),
  ),
  AWS_ACCESS_KEY_ID: SANDBOX_CREDENTIALS.accessKeyId,
  AWS_SECRET_ACCESS_KEY: SANDBOX_CREDENTIALS.secretAccessKey,
  AWS_CONFIG_FILE: '/dev/null',
  AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
};

describe.runIf(clis.length > 0)('the fake EC2 driven by the AWS CLI', () => {
  let ec2: StandaloneEc2;
  beforeEach(async () => {
    ec2 = await startStandaloneEc2();
  });
  afterEach(() => ec2.close());

  // Asynchronous: the fake answers from this very process, so a blocking call would deadlock.
  const awsWith =
    (command: string) =>
    async (region: string, ...args: string[]) => {
      const { stdout } = await promisify(execFile)(
        command,
        ['ec2', ...args, '--endpoint-url', ec2.endpoint, '--region', region, '--output', 'json'],
        { encoding: 'utf8', env: cliEnv },
      );
      return stdout.trim() ? JSON.parse(stdout) : {};
    };

  it.each(clis)(
    'It should answer $version: snapshots, tags, copies and images',
    async ({ command }) => {
      const aws = awsWith(command);
      const volume = ec2.fake.createVolume('us-east-1', { sizeGiB: 8 });
      const created = await aws(
        'us-east-1',
        'create-snapshot',
        '--volume-id',
        volume,
        '--description',
        'from the CLI',
        '--tag-specifications',
        'ResourceType=snapshot,Tags=[{Key=team,Value=dr}]',
      );
      expect(created).toMatchObject({
        State: 'pending',
        VolumeId: volume,
        Tags: [{ Key: 'team', Value: 'dr' }],
      });
      await ec2.fake.settle();

      const described = await aws(
        'us-east-1',
        'describe-snapshots',
        '--owner-ids',
        'self',
        '--filters',
        'Name=tag:team,Values=dr',
      );
      expect(described.Snapshots).toEqual([
        expect.objectContaining({
          SnapshotId: created.SnapshotId,
          State: 'completed',
          Progress: '100%',
          VolumeSize: 8,
        }),
      ]);

      await aws(
        'us-east-1',
        'create-tags',
        '--resources',
        created.SnapshotId,
        '--tags',
        'Key=owner,Value=cli',
      );
      expect(ec2.fake.snapshot('us-east-1', created.SnapshotId)?.tags.get('owner')).toBe('cli');

      const copied = await aws(
        'us-west-2',
        'copy-snapshot',
        '--source-region',
        'us-east-1',
        '--source-snapshot-id',
        created.SnapshotId,
      );
      expect(ec2.fake.snapshot('us-west-2', copied.SnapshotId)).toMatchObject({
        state: 'pending',
        copy: { sourceSnapshotId: created.SnapshotId },
      });

      const instance = ec2.fake.createInstance('us-east-1', [volume]);
      const image = await aws('us-east-1', 'create-image', '--instance-id', instance, '--name', 'cli-image');
      await ec2.fake.settle();
      const images = await aws(
        'us-east-1',
        'describe-images',
        '--owners',
        'self',
        '--filters',
        'Name=name,Values=cli-*',
      );
      expect(images.Images).toEqual([
        expect.objectContaining({
          ImageId: image.ImageId,
          State: 'available',
          Name: 'cli-image',
          BlockDeviceMappings: [
            expect.objectContaining({
              DeviceName: '/dev/xvda',
              Ebs: expect.objectContaining({ VolumeSize: 8 }),
            }),
          ],
        }),
      ]);

      // CLI v2 2.9.19 has no `register-image --tag-specifications`: register, then tag the pending image.
      const registered = await aws(
        'us-east-1',
        'register-image',
        '--name',
        'cli-registered',
        '--root-device-name',
        '/dev/xvda',
        '--block-device-mappings',
        `DeviceName=/dev/xvda,Ebs={SnapshotId=${created.SnapshotId}}`,
      );
      await aws('us-east-1', 'create-tags', '--resources', registered.ImageId, '--tags', 'Key=dr,Value=true');
      expect(ec2.fake.image('us-east-1', registered.ImageId)).toMatchObject({ state: 'pending' });
      ec2.clock.advance(DEFAULT_REGISTER_IMAGE_SECONDS * 1000);
      const tagged = await aws('us-east-1', 'describe-images', '--image-ids', registered.ImageId);
      expect(tagged.Images).toEqual([
        expect.objectContaining({ State: 'available', Tags: [{ Key: 'dr', Value: 'true' }] }),
      ]);
      // The AMI was tagged before it became available: its event fired with the tag in place.
      expect(
        ec2.fake.events
          .filter((event) => event.detail.ImageId === registered.ImageId)
          .map((e) => e.detail.State),
      ).toEqual(['available']);

      // EC2's tag limits, as the CLI shows them.
      await expect(
        aws(
          'us-east-1',
          'create-tags',
          '--resources',
          created.SnapshotId,
          '--tags',
          `Key=${'k'.repeat(128)},Value=x`,
        ),
      ).rejects.toMatchObject({
        stderr: expect.stringContaining(
          'An error occurred (InvalidParameterValue) when calling the CreateTags operation',
        ),
      });
      const fifty = Array.from({ length: 50 }, (_, i) => `Key=k${i},Value=v`);
      await expect(
        aws('us-east-1', 'create-tags', '--resources', created.SnapshotId, '--tags', ...fifty),
      ).rejects.toMatchObject({
        stderr: expect.stringContaining(
          'An error occurred (TagLimitExceeded) when calling the CreateTags operation',
        ),
      });

      // A snapshot a registered image uses cannot be deleted.
      await expect(
        aws('us-east-1', 'delete-snapshot', '--snapshot-id', created.SnapshotId),
      ).rejects.toMatchObject({
        stderr: expect.stringContaining('InvalidSnapshot.InUse'),
      });
      // The source of a pending copy (1 TiB: over half an hour at 500 MiB/s) deleted: the copy fails.
      const large = await aws(
        'us-east-1',
        'create-snapshot',
        '--volume-id',
        ec2.fake.createVolume('us-east-1', { sizeGiB: 1024 }),
      );
      await ec2.fake.settle();
      const pendingCopy = await aws(
        'us-west-2',
        'copy-snapshot',
        '--source-region',
        'us-east-1',
        '--source-snapshot-id',
        large.SnapshotId,
      );
      await aws('us-east-1', 'delete-snapshot', '--snapshot-id', large.SnapshotId);
      const failedCopy = await aws(
        'us-west-2',
        'describe-snapshots',
        '--snapshot-ids',
        pendingCopy.SnapshotId,
      );
      expect(failedCopy.Snapshots).toEqual([
        expect.objectContaining({
          State: 'error',
          StateMessage: `The source snapshot ${large.SnapshotId} was deleted before the copy completed`,
        }),
      ]);

      await expect(
        aws('us-east-1', 'delete-snapshot', '--snapshot-id', 'snap-0123456789abcdef0'),
      ).rejects.toMatchObject({
        stderr: expect.stringContaining(
          "An error occurred (InvalidSnapshot.NotFound) when calling the DeleteSnapshot operation: The snapshot 'snap-0123456789abcdef0' does not exist.",
        ),
      });
    },
    120_000,
  ); // each CLI call starts Python: seconds, not milliseconds
});

describe.runIf(clis.length > 0)('an AMI registered and then tagged with the AWS CLI, on the sandbox', () => {
  let sandbox: Sandbox;
  beforeAll(async () => {
    sandbox = await startSandbox({
      config: configFrom(`
rules:
  - name: ami-to-dr
    images: { regions: [us-east-1], tags: { dr: "true" } }
    to: [ { region: us-west-2, copyTags: true } ]
`),
      port: 0,
    });
  });
  afterAll(() => sandbox.stop());

  it.each(clis)(
    'It should replicate it with $version: register-image, then create-tags while it is pending',
    async ({ command }) => {
      const aws = async (region: string, ...args: string[]) => {
        const { stdout } = await promisify(execFile)(
          command,
          ['ec2', ...args, '--endpoint-url', sandbox.endpoint, '--region', region, '--output', 'json'],
          { encoding: 'utf8', env: cliEnv },
        );
        return stdout.trim() ? JSON.parse(stdout) : {};
      };
      const volume = await aws(
        'us-east-1',
        'create-volume',
        '--availability-zone',
        'us-east-1a',
        '--size',
        '8',
      );
      const snapshot = await aws('us-east-1', 'create-snapshot', '--volume-id', volume.VolumeId);
      await sandbox.settle();
      const name = `web-${command.replace(/\W/g, '')}`;
      const { ImageId } = await aws(
        'us-east-1',
        'register-image',
        '--name',
        name,
        '--root-device-name',
        '/dev/xvda',
        '--block-device-mappings',
        `DeviceName=/dev/xvda,Ebs={SnapshotId=${snapshot.SnapshotId}}`,
      );
      await aws('us-east-1', 'create-tags', '--resources', ImageId, '--tags', 'Key=dr,Value=true');
      sandbox.clock.advance(DEFAULT_REGISTER_IMAGE_SECONDS * 1000);
      sandbox.ec2.refresh();
      await sandbox.settle();

      const copies = await aws(
        'us-west-2',
        'describe-images',
        '--owners',
        'self',
        '--filters',
        `Name=tag:ferry:source-id,Values=${ImageId}`,
      );
      expect(copies.Images).toEqual([
        expect.objectContaining({
          State: 'available',
          Tags: expect.arrayContaining([{ Key: 'dr', Value: 'true' }]),
        }),
      ]);
    },
    120_000,
  );
});
