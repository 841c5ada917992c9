import { Readable } from 'node:stream';
import { CreateTagsCommand, EC2Client } from '@aws-sdk/client-ec2';
import {
  CreateMultipartUploadCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { describe, expect, it, vi } from 'vitest';
import type { AwsTarget } from '#foundation/aws-clients';
import { CallRecorder, UnattributedCallError } from '#local/call-recorder';

/** An HTTP handler that answers every request with this status and body, counting what it was sent. */
function answering(status: number, body = '', headers: Record<string, string> = {}) {
  const sent: string[] = [];
  return {
    sent,
    handler: {
      handle: async (request: { method: string; path: string }) => {
        sent.push(`${request.method} ${request.path}`);
        return { response: { statusCode: status, headers, body: Readable.from([Buffer.from(body)]) } };
      },
    },
  };
}

const CREDENTIALS = { accessKeyId: 'AKID', secretAccessKey: 'secret' };

function s3(recorder: CallRecorder, target: AwsTarget, status = 200, body = '', headers = {}) {
  const http = answering(status, body, headers);
  const client = new S3Client({
    region: target.region,
    credentials: CREDENTIALS,
    requestHandler: http.handler as never,
    maxAttempts: 1,
  });
  return { client: recorder.instrument(client, target), sent: http.sent };
}

describe('CallRecorder', () => {
  it('records a call as the running function’s: operation, Region, the authorizing fields, the outcome', async () => {
    const recorder = new CallRecorder();
    const { client } = s3(recorder, { region: 'us-west-2' }, 200, '', { etag: '"e"' });
    await recorder.run('objectCreated', () =>
      client.send(
        new PutObjectCommand({
          Bucket: 'dr',
          Key: 'k',
          Body: 'the body is never kept',
          Metadata: { big: 'x'.repeat(100) },
          Tagging: 'a=1',
          ACL: 'bucket-owner-full-control',
        }),
      ),
    );
    expect(recorder.calls).toEqual([
      {
        function: 'objectCreated',
        principal: { function: 'objectCreated' },
        service: 's3',
        operation: 'PutObject',
        region: 'us-west-2',
        input: { Bucket: 'dr', Key: 'k', Tagging: 'a=1', ACL: 'bucket-owner-full-control' },
        outcome: { status: 200 },
      },
    ]);
  });

  it('records a failed call with its status and error, and calls made with a role as the role’s', async () => {
    const recorder = new CallRecorder();
    const role = 'arn:aws:iam::222233334444:role/w';
    const { client } = s3(recorder, { region: 'eu-west-1', roleArn: role }, 404);
    await expect(
      recorder.run('objectDeleted', () => client.send(new HeadObjectCommand({ Bucket: 'p', Key: 'gone' }))),
    ).rejects.toMatchObject({ name: 'NotFound' });
    expect(recorder.calls[0]).toMatchObject({
      function: 'objectDeleted',
      principal: { role, via: 'objectDeleted' },
      outcome: { status: 404, error: 'NotFound' },
    });
  });

  it('refuses a call made outside any function, before it is sent', async () => {
    const recorder = new CallRecorder();
    const { client, sent } = s3(recorder, { region: 'us-east-1' });
    await expect(client.send(new HeadObjectCommand({ Bucket: 'b', Key: 'k' }))).rejects.toThrow(
      UnattributedCallError,
    );
    expect(sent).toEqual([]);
    expect(recorder.unattributed).toEqual(['s3:HeadObject']);
    expect(() =>
      recorder.recordInProcess({
        service: 'states',
        operation: 'StartExecution',
        region: 'us-east-1',
        input: {},
        outcome: {},
      }),
    ).toThrow(UnattributedCallError);
  });

  it('keeps interleaved invocations apart', async () => {
    const recorder = new CallRecorder();
    const { client } = s3(recorder, { region: 'us-east-1' });
    // objectCreated starts first but sends only after reconcile's call is made: the two are interleaved by
    // construction, not by timers (which a loaded host reorders).
    let releaseA = () => {};
    const aMaySend = new Promise<void>((resolve) => {
      releaseA = resolve;
    });
    const a = recorder.run('objectCreated', async () => {
      await aMaySend;
      await client.send(new HeadObjectCommand({ Bucket: 'b', Key: 'a' }));
    });
    const b = recorder.run('reconcile', async () => {
      await client.send(new HeadObjectCommand({ Bucket: 'b', Key: 'b' }));
      releaseA();
    });
    await Promise.all([a, b]);
    expect(recorder.calls.map((call) => [call.function, call.input.Key])).toEqual([
      ['reconcile', 'b'],
      ['objectCreated', 'a'],
    ]);
  });

  it('gives the later calls of a multipart upload the encryption it was created with, and its source’s', async () => {
    const s3Object = vi.fn(() => ({ region: 'us-east-1', sse: 'aws:kms', kmsKeyId: 'src-key' }));
    const recorder = new CallRecorder({ s3Object });
    const created = s3(
      recorder,
      { region: 'us-east-1' },
      200,
      '<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key><UploadId>u-1</UploadId></InitiateMultipartUploadResult>',
    );
    const part = s3(
      recorder,
      { region: 'us-east-1' },
      200,
      '<CopyPartResult><ETag>"p"</ETag></CopyPartResult>',
    );
    await recorder.run('objectCopyStep', async () => {
      await created.client.send(
        new CreateMultipartUploadCommand({
          Bucket: 'b',
          Key: 'k',
          ServerSideEncryption: 'aws:kms',
          SSEKMSKeyId: 'alias/dr',
        }),
      );
      await part.client.send(
        new UploadPartCopyCommand({
          Bucket: 'b',
          Key: 'k',
          UploadId: 'u-1',
          PartNumber: 1,
          CopySource: 's/k',
        }),
      );
    });
    expect(recorder.calls[0]?.output).toEqual({ UploadId: 'u-1' });
    expect(s3Object).toHaveBeenCalledWith('s', 'k', undefined);
    expect(recorder.calls[1]?.copySource).toEqual({
      region: 'us-east-1',
      sse: 'aws:kms',
      kmsKeyId: 'src-key',
    });
    expect(recorder.calls[1]?.upload).toEqual({ sse: 'aws:kms', kmsKeyId: 'alias/dr' });
  });

  it('notes the tags each EC2 resource a call names had when the call started', async () => {
    const ec2Resource = vi.fn((_region: string, id: string) =>
      id === 'snap-1' ? { tags: { 'ferry:source-id': 'snap-0' } } : undefined,
    );
    const recorder = new CallRecorder({ ec2Resource });
    const http = answering(200, '<CreateTagsResponse><return>true</return></CreateTagsResponse>');
    const client = recorder.instrument(
      new EC2Client({ region: 'us-west-2', credentials: CREDENTIALS, requestHandler: http.handler as never }),
      { region: 'us-west-2' },
    );
    await recorder.run('ec2CopyStep', () =>
      client.send(
        new CreateTagsCommand({ Resources: ['snap-1', 'snap-2'], Tags: [{ Key: 'a', Value: 'b' }] }),
      ),
    );
    expect(ec2Resource.mock.calls).toEqual([
      ['us-west-2', 'snap-1'],
      ['us-west-2', 'snap-2'],
    ]);
    expect(recorder.calls[0]).toMatchObject({
      service: 'ec2',
      operation: 'CreateTags',
      resources: { 'snap-1': { region: 'us-west-2', tags: { 'ferry:source-id': 'snap-0' } } },
      outcome: { status: 200 },
    });
  });
});
