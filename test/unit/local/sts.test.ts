import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { fromTemporaryCredentials } from '@aws-sdk/credential-providers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SandboxSts } from '#local/sts';

const ROLE = 'arn:aws:iam::222233334444:role/ferry-writer';
let sts: SandboxSts;
let server: http.Server;
let endpoint: string;

beforeAll(async () => {
  sts = new SandboxSts();
  server = http.createServer((req, res) => void sts.handle(req, res, new URL(req.url ?? '/', 'http://x')));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const assume = (params: { RoleArn: string; ExternalId?: string; RoleSessionName?: string }) =>
  fromTemporaryCredentials({
    params: { RoleSessionName: 'ferry-replication', ...params },
    clientConfig: {
      region: 'eu-west-1',
      endpoint,
      credentials: { accessKeyId: 'AKID', secretAccessKey: 's' },
    },
  })();

describe('the sandbox STS', () => {
  it('answers AssumeRole with temporary credentials the SDK reads, and remembers whose they are', async () => {
    const credentials = await assume({ RoleArn: ROLE, ExternalId: 'acme-ferry-7f3a9c' });
    expect(credentials.accessKeyId).toMatch(/^ASIA[0-9A-F]{16}$/);
    expect(credentials.sessionToken).toBeTruthy();
    expect(credentials.expiration?.getTime()).toBeGreaterThan(Date.now() + 3000 * 1000);
    expect(sts.roleOf(credentials.accessKeyId)).toEqual({
      roleArn: ROLE,
      sessionName: 'ferry-replication',
      externalId: 'acme-ferry-7f3a9c',
      assumedRoleArn: 'arn:aws:sts::222233334444:assumed-role/ferry-writer/ferry-replication',
    });
  });

  it.each([
    [{ RoleArn: 'arn:aws:iam::2222:role/x' }, /not a role ARN/],
    [{ RoleArn: ROLE, ExternalId: 'x' }, /ExternalId/],
    [{ RoleArn: ROLE, RoleSessionName: 'has space' }, /RoleSessionName/],
  ])('refuses %j with a ValidationError', async (params, message) => {
    await expect(assume(params)).rejects.toMatchObject({
      name: 'ValidationError',
      message: expect.stringMatching(message),
    });
  });
});
