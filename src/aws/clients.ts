import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { fromTemporaryCredentials } from '@aws-sdk/credential-providers';

/** Where a request must go: a Region, and for cross-account destinations the role to assume there. */
export interface S3Target {
  region: string;
  roleArn?: string | undefined;
}

/** The one way the domain gets an S3 client; injectable so tests and the sandbox can swap the wiring. */
export type S3ClientFactory = (target: S3Target) => S3Client;

export interface AwsClientOptions {
  /** A local endpoint (the sandbox). In AWS leave it unset; `AWS_ENDPOINT_URL_S3` is honoured as well. */
  endpoint?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** How each new client retries (the sandbox moves the waits onto a virtual clock); else the SDK default. */
  retryStrategy?: () => NonNullable<S3ClientConfig['retryStrategy']>;
  /** Wraps every new client, e.g. with the tracer's `captureAWSv3Client`. */
  instrument?: <T>(client: T) => T;
}

const ROLE_SESSION_NAME = 'ferry-replication';

/** Creates clients lazily and keeps one per Region and role, so warm invocations reuse connections. */
export function createS3ClientFactory(options: AwsClientOptions = {}): S3ClientFactory {
  const cache = new Map<string, S3Client>();
  return (target) => {
    const cacheKey = `${target.region}|${target.roleArn ?? ''}`;
    let client = cache.get(cacheKey);
    if (!client) {
      const credentials = target.roleArn
        ? fromTemporaryCredentials({
            params: { RoleArn: target.roleArn, RoleSessionName: ROLE_SESSION_NAME },
            clientConfig: { region: target.region },
          })
        : options.credentials;
      client = new S3Client({
        region: target.region,
        ...(credentials ? { credentials } : {}),
        ...(options.endpoint ? { endpoint: options.endpoint, forcePathStyle: true } : {}),
        ...(options.retryStrategy ? { retryStrategy: options.retryStrategy() } : {}),
      });
      client = options.instrument ? options.instrument(client) : client;
      cache.set(cacheKey, client);
    }
    return client;
  };
}
