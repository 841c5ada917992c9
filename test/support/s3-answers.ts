import { type S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { afterAll, beforeAll } from 'vitest';
import { type Sandbox, startSandbox } from '#local/sandbox';
import { configFrom } from './fixtures.ts';

/** What the SDK raised for a refused S3 request: the status and error code S3 answered. */
export async function refusal(
  request: Promise<unknown>,
): Promise<{ status: number | undefined; code: string }> {
  try {
    await request;
  } catch (error) {
    if (error instanceof S3ServiceException) {
      return { status: error.$metadata.httpStatusCode, code: error.name };
    }
    throw error;
  }
  throw new Error('expected S3 to refuse the request, and it answered it');
}

/**
 * A sandbox whose buckets no rule copies from (the rule's prefix is never written), so a test of the S3
 * model sees only its own writes: `s3-plain` in us-east-1 and `s3-west` in us-west-2.
 */
export const PLAIN_S3_CONFIG = configFrom(`
rules:
  - name: untouched
    objects: { bucket: s3-plain, prefix: never-written/ }
    to: [{ bucket: s3-west, region: us-west-2 }]
`);

/**
 * Starts a sandbox on PLAIN_S3_CONFIG for the file's tests (stopped after them), then runs `seed`.
 * Returns the sandbox and a client in us-east-1, where `s3-plain` lives.
 */
export function usePlainS3Sandbox(seed?: (s3: S3Client) => Promise<void>) {
  let sandbox: Sandbox | undefined;
  const current = () => {
    if (!sandbox) throw new Error('the sandbox is not started yet: call it inside a test or hook');
    return sandbox;
  };
  beforeAll(async () => {
    sandbox = await startSandbox({ config: PLAIN_S3_CONFIG, port: 0 });
    await seed?.(sandbox.s3('us-east-1'));
  });
  afterAll(() => sandbox?.stop());
  return { sandbox: current, s3: () => current().s3('us-east-1') };
}
