import { GetObjectCommand, PutObjectCommand, type PutObjectCommandInput } from '@aws-sdk/client-s3';
import type { Sandbox } from '#local/sandbox';

/**
 * Writes source objects with their events lost (the bus paused: S3 publishes into nothing), each with
 * `extra` request fields (an encryption, say).
 */
export async function putLost(
  sandbox: Sandbox,
  bucket: string,
  objects: Record<string, string>,
  extra: Omit<PutObjectCommandInput, 'Bucket' | 'Key' | 'Body'> = {},
) {
  sandbox.bus.pause();
  try {
    for (const [key, body] of Object.entries(objects))
      await sandbox
        .s3('us-east-1')
        .send(new PutObjectCommand({ ...extra, Bucket: bucket, Key: key, Body: body }));
  } finally {
    sandbox.bus.resume();
  }
}

/** An object's body as text, or undefined when there is none. */
export async function bodyOf(sandbox: Sandbox, region: string, bucket: string, key: string) {
  try {
    const object = await sandbox.s3(region).send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return await object.Body?.transformToString();
  } catch {
    return undefined;
  }
}
