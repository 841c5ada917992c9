import { beforeEach, describe, expect, it, vi } from 'vitest';

// The client factory's only way to another account: capture what it asks STS for.
const { fromTemporaryCredentials } = vi.hoisted(() => ({
  fromTemporaryCredentials: vi.fn((_options: unknown) => async () => ({
    accessKeyId: 'ASIA',
    secretAccessKey: 'secret',
  })),
}));
vi.mock('@aws-sdk/credential-providers', () => ({ fromTemporaryCredentials }));

const {
  createEc2ClientFactory,
  createS3ClientFactory,
  destinationTarget,
  PATIENT_MAX_ATTEMPTS,
  retryConfigOf,
  STANDARD_MAX_ATTEMPTS,
} = await import('#foundation/aws-clients');

const ROLE = 'arn:aws:iam::222233334444:role/ferry-writer';
const { ListObjectsV2Command } = await import('@aws-sdk/client-s3');

describe('AWS client factories', () => {
  beforeEach(() => fromTemporaryCredentials.mockClear());

  it('It should assume a destination role with its external id', () => {
    createS3ClientFactory()({ region: 'eu-west-1', roleArn: ROLE, externalId: 'acme-ferry-7f3a9c' });
    expect(fromTemporaryCredentials).toHaveBeenCalledExactlyOnceWith({
      params: { RoleArn: ROLE, RoleSessionName: 'ferry-replication', ExternalId: 'acme-ferry-7f3a9c' },
      clientConfig: { region: 'eu-west-1' },
    });
  });

  it('It should send no ExternalId for a role configured without one', () => {
    createEc2ClientFactory()({ region: 'us-west-2', roleArn: ROLE });
    expect(fromTemporaryCredentials).toHaveBeenCalledExactlyOnceWith({
      params: { RoleArn: ROLE, RoleSessionName: 'ferry-replication' },
      clientConfig: { region: 'us-west-2' },
    });
  });

  it('It should keep one client per external id, and reuse it', () => {
    const s3 = createS3ClientFactory();
    const first = s3({ region: 'eu-west-1', roleArn: ROLE, externalId: 'one-id' });
    expect(s3({ region: 'eu-west-1', roleArn: ROLE, externalId: 'one-id' })).toBe(first);
    expect(s3({ region: 'eu-west-1', roleArn: ROLE, externalId: 'another-id' })).not.toBe(first);
    expect(fromTemporaryCredentials).toHaveBeenCalledTimes(2);
  });

  it('It should ask STS where the other clients go, with the caller’s credentials and STS plugins', () => {
    const credentials = { accessKeyId: 'AKID', secretAccessKey: 'secret' };
    const plugin = { applyToStack: () => undefined };
    const assumeRolePlugins = vi.fn(() => [plugin]);
    const target = { region: 'eu-west-1', roleArn: ROLE, externalId: 'acme-ferry-7f3a9c' };
    createS3ClientFactory({ endpoint: 'http://127.0.0.1:4566', credentials, assumeRolePlugins })(target);
    expect(fromTemporaryCredentials).toHaveBeenCalledExactlyOnceWith({
      params: { RoleArn: ROLE, RoleSessionName: 'ferry-replication', ExternalId: 'acme-ferry-7f3a9c' },
      clientConfig: { region: 'eu-west-1', endpoint: 'http://127.0.0.1:4566', credentials },
      clientPlugins: [plugin],
    });
    expect(assumeRolePlugins).toHaveBeenCalledWith(target);
  });

  it('It should tell the instrument each new client’s target', () => {
    const instrument = vi.fn((client: unknown, _target: unknown) => client);
    const ec2 = createEc2ClientFactory({ instrument: instrument as <T>(client: T, target: unknown) => T });
    const client = ec2({ region: 'us-west-2', roleArn: ROLE });
    expect(ec2({ region: 'us-west-2', roleArn: ROLE })).toBe(client);
    expect(instrument).toHaveBeenCalledExactlyOnceWith(client, { region: 'us-west-2', roleArn: ROLE });
  });

  it('It should assume nothing for a destination in Ferry’s own account', () => {
    createS3ClientFactory()({ region: 'us-west-2' });
    expect(fromTemporaryCredentials).not.toHaveBeenCalled();
  });

  it.each([
    [{ region: 'us-west-2', bucket: 'acme-dr' }, { region: 'us-west-2' }],
    [
      { region: 'eu-west-1', roleArn: ROLE },
      { region: 'eu-west-1', roleArn: ROLE },
    ],
    [
      { region: 'eu-west-1', roleArn: ROLE, externalId: 'acme-ferry-7f3a9c' },
      { region: 'eu-west-1', roleArn: ROLE, externalId: 'acme-ferry-7f3a9c' },
    ],
  ])('It should take the target of destination %j', (destination, target) => {
    expect(destinationTarget(destination)).toStrictEqual(target);
  });

  it('It should give a patient client the standard strategy with 10 attempts, and keep it apart', async () => {
    const s3 = createS3ClientFactory();
    const patient = s3({ region: 'us-east-1' }, { retries: 'patient' });
    const standard = s3({ region: 'us-east-1' });
    expect(patient).not.toBe(standard);
    expect(s3({ region: 'us-east-1' }, { retries: 'patient' })).toBe(patient);
    expect(PATIENT_MAX_ATTEMPTS).toBe(10);
    expect(await patient.config.maxAttempts()).toBe(PATIENT_MAX_ATTEMPTS);
    expect(await standard.config.maxAttempts()).toBe(STANDARD_MAX_ATTEMPTS);
    const ec2 = createEc2ClientFactory()({ region: 'us-east-1' }, { retries: 'patient' });
    expect(await ec2.config.maxAttempts()).toBe(PATIENT_MAX_ATTEMPTS);
  });

  it('It should give a patient client 10 attempts only while its retry quota lasts (shared by all its calls)', async () => {
    // The SDK's own strategy; only the HTTP exchange is faked (S3 answering SlowDown, a throttling error).
    const attempts: number[] = [];
    const requestHandler = {
      handle: async () => {
        attempts[attempts.length - 1] = (attempts.at(-1) ?? 0) + 1;
        return {
          response: {
            statusCode: 503,
            headers: { 'content-type': 'application/xml' },
            body: Buffer.from(
              '<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>',
            ),
          },
        };
      },
    };
    const s3 = createS3ClientFactory({
      credentials: { accessKeyId: 'AKIA', secretAccessKey: 'secret' },
      instrument: <T>(client: T): T => {
        Object.assign((client as { config: object }).config, { requestHandler });
        return client;
      },
    });
    const patient = s3({ region: 'us-east-1' }, { retries: 'patient' });
    const waited: number[] = [];
    vi.useFakeTimers();
    try {
      for (let listing = 0; listing < 13; listing++) {
        attempts.push(0);
        const started = Date.now();
        const sent = patient.send(new ListObjectsV2Command({ Bucket: 'acme-prod' })).catch((error) => error);
        await vi.runAllTimersAsync();
        expect(await sent).toMatchObject({ name: 'SlowDown' });
        waited.push(Date.now() - started);
      }
    } finally {
      vi.useRealTimers();
    }
    // 500 tokens, 5 a throttled retry: 11 listings of 9 retries each, then the quota is spent.
    expect(attempts).toEqual([...Array.from({ length: 11 }, () => PATIENT_MAX_ATTEMPTS), 2, 1]);
    // Each listing's 9 waits: at most 1+2+4+8+16+4×20 s (full jitter under those caps).
    for (const wait of waited.slice(0, 11)) expect(wait).toBeLessThanOrEqual(111_000);
    expect(Math.min(...waited.slice(0, 11))).toBeGreaterThan(0);
    expect(waited.at(-1)).toBe(0);
  });

  it('It should tell a given retry strategy the attempts wanted (the sandbox’s virtual-clock strategy)', () => {
    const strategy = vi.fn((_attempts: number) => ({}) as never);
    expect(retryConfigOf('patient', strategy)).toEqual({ retryStrategy: {} });
    expect(retryConfigOf(true, strategy)).toEqual({ retryStrategy: {} });
    expect(strategy.mock.calls).toEqual([[PATIENT_MAX_ATTEMPTS], [STANDARD_MAX_ATTEMPTS]]);
    expect(retryConfigOf(false, strategy)).toEqual({ maxAttempts: 1 });
    expect(strategy).toHaveBeenCalledTimes(2);
    expect(retryConfigOf('patient', undefined)).toEqual({ maxAttempts: PATIENT_MAX_ATTEMPTS });
    expect(retryConfigOf(true, undefined)).toEqual({});
  });
});
