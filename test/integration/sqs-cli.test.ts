import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SANDBOX_CREDENTIALS, type Sandbox, startSandbox } from '#local/sandbox';
import { SANDBOX_QUEUE_NAME } from '#local/sqs-dlq';
import { configFrom } from '#test/support/fixtures';

/**
 * Every AWS CLI installed, once per version: v1 from pip first on PATH (it speaks SQS's JSON protocol), and
 * Debian's v2 2.9.19 (`awscli`), which speaks the query protocol.
 */
const clis = ['aws', '/usr/bin/aws']
  .map((command) => ({ command, version: spawnSync(command, ['--version'], { encoding: 'utf8' }) }))
  .filter(({ version }) => version.status === 0)
  .map(({ command, version }) => ({
    command,
    version: `${version.stdout}${version.stderr}`.trim().split(' ')[0] ?? '',
  }))
  .filter((cli, index, all) => all.findIndex((other) => other.version === cli.version) === index);
if (clis.length === 0) {
  console.warn(
    'The AWS CLI is not installed (Debian package awscli): the sandbox SQS CLI test does not run.',
  );
}

describe.runIf(clis.length > 0)('the sandbox dead-letter queue driven by the AWS CLI', () => {
  let sandbox: Sandbox;
  beforeAll(async () => {
    sandbox = await startSandbox({
      config: configFrom(`
rules:
  - name: cli
    objects: { bucket: sqs-cli-source }
    to: [ { bucket: sqs-cli-dr, region: us-west-2 } ]
`),
      port: 0,
    });
  });
  afterAll(() => sandbox.stop());

  // Asynchronous: the sandbox answers from this very process, so a blocking call would deadlock.
  const awsWith =
    (command: string) =>
    async (...args: string[]) => {
      const { stdout } = await promisify(execFile)(
        command,
        ['sqs', ...args, '--endpoint-url', sandbox.endpoint, '--region', 'us-east-1', '--output', 'json'],
        {
          encoding: 'utf8',
          env: {
            ...Object.fromEntries(
              Object.entries(process.env).filter(
                ([name]) => !['AWS_CA_BUNDLE', 'AWS_PROFILE', 'AWS_SESSION_TOKEN'].includes(name),
              ),
            ),
            AWS_ACCESS_KEY_ID: SANDBOX_CREDENTIALS.accessKeyId,
            AWS_SECRET_ACCESS_KEY: SANDBOX_CREDENTIALS.secretAccessKey,
            AWS_CONFIG_FILE: '/dev/null',
            AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
          },
        },
      );
      return stdout.trim() ? JSON.parse(stdout) : {};
    };

  it.each(clis)(
    'It should serve $version: get-queue-url, get-queue-attributes, send-message, receive-message, delete-message',
    async ({ command }) => {
      const aws = awsWith(command);
      const { QueueUrl } = await aws('get-queue-url', '--queue-name', SANDBOX_QUEUE_NAME);
      expect(QueueUrl).toMatch(new RegExp(`/000000000000/${SANDBOX_QUEUE_NAME}$`));

      const before = await aws('get-queue-attributes', '--queue-url', QueueUrl, '--attribute-names', 'All');
      expect(before.Attributes).toMatchObject({ ApproximateNumberOfMessages: '0' });

      const sent = await aws(
        'send-message',
        '--queue-url',
        QueueUrl,
        '--message-body',
        '{"detail-type":"Object Created","detail":{"key":"a & <b>"}}',
        '--message-attributes',
        'ERROR_CODE={DataType=String,StringValue=SDK.Throttled}',
      );
      expect(sent).toMatchObject({ MessageId: expect.any(String), MD5OfMessageBody: expect.any(String) });

      const { Messages = [] } = await aws(
        'receive-message',
        '--queue-url',
        QueueUrl,
        '--max-number-of-messages',
        '10',
        '--message-attribute-names',
        'All',
      );
      expect(Messages).toEqual([
        expect.objectContaining({
          MessageId: sent.MessageId,
          Body: '{"detail-type":"Object Created","detail":{"key":"a & <b>"}}',
          MessageAttributes: { ERROR_CODE: { DataType: 'String', StringValue: 'SDK.Throttled' } },
        }),
      ]);
      await aws('delete-message', '--queue-url', QueueUrl, '--receipt-handle', Messages[0]?.ReceiptHandle);
      const after = await aws('get-queue-attributes', '--queue-url', QueueUrl, '--attribute-names', 'All');
      expect(after.Attributes).toMatchObject({
        ApproximateNumberOfMessages: '0',
        ApproximateNumberOfMessagesNotVisible: '0',
      });

      await expect(aws('get-queue-url', '--queue-name', 'no-such-queue')).rejects.toMatchObject({
        stderr: expect.stringMatching(/QueueDoesNotExist|NonExistentQueue/),
      });
    },
    120_000,
  ); // each CLI call starts Python: seconds, not milliseconds
});
