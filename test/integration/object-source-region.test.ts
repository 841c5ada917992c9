import { GetObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Delivery } from '#local/event-bus';
import { type Sandbox, startSandbox } from '#local/sandbox';
import { configFrom } from '#test/support/fixtures';

/**
 * A source bucket outside the home Region (us-east-1): its events carry its Region (as a forwarder delivers
 * them, unchanged), and Ferry must read it there, since S3 (and the sandbox) refuses a request signed for
 * another Region than the bucket's.
 */
const CONFIG = configFrom(`
rules:
  - name: from-ireland
    objects: { bucket: rg-source-eu, region: eu-west-1, prefix: docs/ }
    to:
      - { bucket: rg-dr, region: us-west-2 }
`);

let sandbox: Sandbox;
const deliveries: Delivery[] = [];

beforeAll(async () => {
  sandbox = await startSandbox({ config: CONFIG, port: 0, onDelivery: (d) => deliveries.push(d) });
});
afterAll(async () => {
  await sandbox.stop();
});

describe('an object source in another Region than the home one', () => {
  it('creates the source bucket in its own Region and refuses requests signed for the home Region', async () => {
    expect(sandbox.bucketRegions['rg-source-eu']).toBe('eu-west-1');
    await expect(
      sandbox.s3('us-east-1').send(new HeadObjectCommand({ Bucket: 'rg-source-eu', Key: 'docs/none' })),
    ).rejects.toThrow();
  });

  it('replicates a new object, its event carrying the source Region', async () => {
    await sandbox
      .s3('eu-west-1')
      .send(new PutObjectCommand({ Bucket: 'rg-source-eu', Key: 'docs/a.txt', Body: 'from eu' }));
    await sandbox.settle();
    const created = deliveries.filter((d) => d.target === 'object-created');
    expect(created.map((d) => (d.event as { region: string }).region)).toEqual(['eu-west-1']);
    expect(created.every((d) => d.error === undefined)).toBe(true);
    const replica = await sandbox
      .s3('us-west-2')
      .send(new GetObjectCommand({ Bucket: 'rg-dr', Key: 'docs/a.txt' }));
    expect(await replica.Body?.transformToString()).toBe('from eu');
  });
});
