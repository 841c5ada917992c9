import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EC2Client } from '@aws-sdk/client-ec2';
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { fromTemporaryCredentials } from '@aws-sdk/credential-providers';

/** Where a request must go: a Region, and for cross-account destinations the role to assume there. */
export interface AwsTarget {
  region: string;
  roleArn?: string | undefined;
  /** The `sts:ExternalId` the role's trust policy requires (used only with roleArn). */
  externalId?: string | undefined;
}

/** Where a destination's requests go: its Region, and the role (with its external id) to assume there. */
export const destinationTarget = (destination: {
  region: string;
  roleArn?: string | undefined;
  externalId?: string | undefined;
}): AwsTarget => ({
  region: destination.region,
  ...(destination.roleArn ? { roleArn: destination.roleArn } : {}),
  ...(destination.roleArn && destination.externalId ? { externalId: destination.externalId } : {}),
});

export type S3Target = AwsTarget;

/**
 * How a client retries by itself: `true` the SDK's standard attempts; `false` never (for calls that are not
 * idempotent: CopySnapshot has no client token, its caller looks for the result of a lost answer before it
 * tries again); `'patient'` PATIENT_MAX_ATTEMPTS (reads that a whole pass waits on: reconcile's listings,
 * which a throttled prefix would otherwise end).
 */
export type Retries = boolean | 'patient';

export interface ClientOptions {
  retries?: Retries;
}

/**
 * Attempts of a `'patient'` client: the SDK's standard retry strategy with this many attempts instead of its
 * default 3 (`maxAttempts`, https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html).
 * Its backoff is exponential with full jitter, from 1 s for a throttling error (SlowDown,
 * RequestLimitExceeded) and capped at 20 s per wait, so the 9 retries of a listing S3 keeps throttling wait at
 * most 1+2+4+8+16+4×20 = 111 s (about 55 s on average), inside reconcile's pass reserve (PASS_RESERVE_MS).
 * These attempts hold only while the client's retry quota lasts: standard mode's retry quota (same page;
 * in the SDK in use 500 tokens, a throttled retry takes 5, a transient one 14, a success gives some back)
 * belongs to the strategy of one client, and a patient client is cached per target, so all of a pass's
 * listings of that target (and the later invocations of a warm function) share it: after about 100
 * throttled retries without successes between, a listing is tried once and recorded as a failed listing, which the walk comes back to
 * (src/reconcile/reconcile.ts). The SDK's strategy takes no quota size (its options are the attempts, the
 * base delay and the backoff), so the patient client keeps the standard quota rather than a hand-made one.
 * test/unit/aws/clients.test.ts pins the quota and the longest wait against the SDK in use.
 */
export const PATIENT_MAX_ATTEMPTS = 10;

/** The SDK's own attempts for a retrying client (standard mode's default, feature-retry-behavior.html). */
export const STANDARD_MAX_ATTEMPTS = 3;

/** The one way the domain gets an S3 client; injectable so tests and the sandbox can swap the wiring. */
export type S3ClientFactory = (target: S3Target, options?: ClientOptions) => S3Client;

/** The one way the domain gets an EC2 client (see Retries for `retries`). */
export type Ec2ClientFactory = (target: AwsTarget, options?: ClientOptions) => EC2Client;

export interface AwsClientOptions {
  /** A local endpoint (the sandbox). In AWS leave it unset; `AWS_ENDPOINT_URL_S3` etc. are honoured too. */
  endpoint?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /**
   * How each new client retries with this many attempts (the sandbox moves the waits onto a virtual
   * clock); else the SDK's standard strategy. Told the attempts, so a patient client stays patient there.
   */
  retryStrategy?: (maxAttempts: number) => NonNullable<S3ClientConfig['retryStrategy']>;
  /**
   * Wraps every new client, e.g. with the tracer's `captureAWSv3Client`; told the client's target (Region,
   * role, external id), so a recorder can say who made each call (the sandbox's call recorder).
   */
  instrument?: <T>(client: T, target: AwsTarget) => T;
  /**
   * Plugins for the STS client that assumes a target's role (its AssumeRole calls are made inside the
   * credential provider, out of `instrument`'s reach): the sandbox records them.
   */
  assumeRolePlugins?: (target: AwsTarget) => StsPlugins;
  /**
   * Sockets per client, above the SDK's 50. Only for one process standing in for many Lambda invocations
   * (the large-object benchmark runs 8 of them, 64 part copies, in one process); in AWS every invocation
   * has its own clients and at most `copy.partConcurrency` requests in flight.
   */
  maxSockets?: number;
}

/** Plugins of the STS client inside `fromTemporaryCredentials` (its own option's type). */
export type StsPlugins = NonNullable<Parameters<typeof fromTemporaryCredentials>[0]['clientPlugins']>;

const ROLE_SESSION_NAME = 'ferry-replication';

interface BaseConfig {
  region: string;
  credentials?: NonNullable<S3ClientConfig['credentials']>;
  endpoint?: string;
  retryStrategy?: NonNullable<S3ClientConfig['retryStrategy']>;
  maxAttempts?: number;
  requestHandler?: { httpAgent: { maxSockets: number }; httpsAgent: { maxSockets: number } };
}

/**
 * Creates clients lazily and keeps one per Region, role (and external id) and retry mode, so warm
 * invocations reuse them. Every AWS client Ferry makes comes from here (S3 and EC2 below, Step Functions in
 * step-functions.ts), so each one gets the same credentials, endpoint, retries and `instrument` (the tracer).
 */
export function clientFactory<Client>(build: (config: BaseConfig) => Client, options: AwsClientOptions) {
  const cache = new Map<string, Client>();
  return (target: AwsTarget, { retries = true }: ClientOptions = {}): Client => {
    const cacheKey = `${target.region}|${target.roleArn ?? ''}|${target.externalId ?? ''}|${retries}`;
    let client = cache.get(cacheKey);
    if (!client) {
      const credentials = target.roleArn
        ? fromTemporaryCredentials({
            params: {
              RoleArn: target.roleArn,
              RoleSessionName: ROLE_SESSION_NAME,
              ...(target.externalId ? { ExternalId: target.externalId } : {}),
            },
            // STS is asked where the other clients go (the sandbox serves AssumeRole too), with the
            // caller's own credentials when given; in AWS both are unset (the Lambda role, STS's endpoint).
            clientConfig: {
              region: target.region,
              ...(options.endpoint ? { endpoint: options.endpoint } : {}),
              ...(options.credentials ? { credentials: options.credentials } : {}),
            },
            ...(options.assumeRolePlugins ? { clientPlugins: options.assumeRolePlugins(target) } : {}),
          })
        : options.credentials;
      client = build({
        region: target.region,
        ...(credentials ? { credentials } : {}),
        ...(options.endpoint ? { endpoint: options.endpoint } : {}),
        ...(options.maxSockets
          ? {
              requestHandler: {
                httpAgent: { maxSockets: options.maxSockets },
                httpsAgent: { maxSockets: options.maxSockets },
              },
            }
          : {}),
        ...retryConfigOf(retries, options.retryStrategy),
      });
      client = options.instrument ? options.instrument(client, target) : client;
      cache.set(cacheKey, client);
    }
    return client;
  };
}

/**
 * A client's retry settings. `maxAttempts` alone keeps the SDK's standard strategy (backoff, retryable errors,
 * retry quota) with that many attempts; a given `retryStrategy` takes precedence over `maxAttempts`
 * (the README of the `@smithy/util-retry` package, "MaxAttempts and RetryStrategy"), so it is told the
 * attempts itself.
 */
export function retryConfigOf(
  retries: Retries,
  retryStrategy: AwsClientOptions['retryStrategy'],
): Pick<BaseConfig, 'maxAttempts' | 'retryStrategy'> {
  if (!retries) return { maxAttempts: 1 };
  const attempts = retries === 'patient' ? PATIENT_MAX_ATTEMPTS : STANDARD_MAX_ATTEMPTS;
  if (retryStrategy) return { retryStrategy: retryStrategy(attempts) };
  return retries === 'patient' ? { maxAttempts: attempts } : {};
}

export function createS3ClientFactory(options: AwsClientOptions = {}): S3ClientFactory {
  // Path-style addressing for a local endpoint, whose host is an IP address.
  return clientFactory((config) => new S3Client({ ...config, forcePathStyle: !!config.endpoint }), options);
}

export function createEc2ClientFactory(options: AwsClientOptions = {}): Ec2ClientFactory {
  return clientFactory((config) => new EC2Client(config), options);
}

/** DynamoDB in a Region (the copy-waiters table lives in the deployment's home Region). */
export type DynamoDbClientFactory = (target: AwsTarget) => DynamoDBClient;

export function createDynamoDbClientFactory(options: AwsClientOptions = {}): DynamoDbClientFactory {
  return clientFactory((config) => new DynamoDBClient(config), options);
}

/** SQS in a Region (the dead-letter queue the backlog monitor reads lives in the home Region). */
export type SqsClientFactory = (target: AwsTarget) => SQSClient;

export function createSqsClientFactory(options: AwsClientOptions = {}): SqsClientFactory {
  return clientFactory((config) => new SQSClient(config), options);
}
