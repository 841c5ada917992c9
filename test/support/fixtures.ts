import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { S3ServiceException } from '@aws-sdk/client-s3';
import { vi } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { createPowertools } from '#foundation/observability/powertools';
import type { ReplicationMetrics } from '#foundation/observability/replication-metrics';
import type { ObjectReplicationDeps } from '#objects/replicate';
import { type FerryConfig, objectRulesOf } from '#rules/config';
import { parseConfig } from '#rules/load';

type EventName =
  | 'object-created'
  | 'object-created-versioned'
  | 'object-deleted'
  | 'object-tags-added'
  | 'object-tags-deleted';

/** The loose shape tests edit (and break) before handing an event to a handler. */
export interface S3FixtureEvent {
  [field: string]: unknown;
  'detail-type': string;
  detail: {
    [field: string]: unknown;
    bucket: { name: string };
    object: { [field: string]: unknown; key: string };
  };
}

/** A fresh copy of a real-shaped event fixture, safe to mutate in one test. */
export function s3Event(name: EventName): S3FixtureEvent {
  return structuredClone(
    JSON.parse(readFileSync(new URL(`../events/s3/${name}.json`, import.meta.url), 'utf8')),
  );
}

export const configFrom = (yaml: string): FerryConfig => parseConfig(yaml, 'test.yml');

/** Every metric as a spy. */
export const recordingMetrics = (): ReplicationMetrics => ({
  copied: vi.fn(),
  failed: vi.fn(),
  skipped: vi.fn(),
  deleted: vi.fn(),
  tagsSynced: vi.fn(),
  resourceCopied: vi.fn(),
  pruned: vi.fn(),
  heldByLock: vi.fn(),
  queued: vi.fn(),
});

export const recordingLog = () => ({ debug: vi.fn(), info: vi.fn(), warn: vi.fn(), error: vi.fn() });

/** Metrics and logs as spies, so tests can assert what the handler reported. */
export function recordingDeps(config: FerryConfig, s3: ObjectReplicationDeps['s3']) {
  const metrics = recordingMetrics();
  const log = recordingLog();
  const deps: ObjectReplicationDeps = {
    rules: objectRulesOf(config),
    s3,
    log,
    metrics,
    now: () => Date.parse('2026-11-21T18:43:50Z'),
    multipartThreshold: config.copy.multipartThreshold,
  };
  return { deps, metrics, log, tools: createPowertools() };
}

export const lambdaContext = {
  callbackWaitsForEmptyEventLoop: false,
  functionName: 'ferry-test',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:111122223333:function:ferry-test',
  memoryLimitInMB: '256',
  awsRequestId: 'test-request',
  logGroupName: '/aws/lambda/ferry-test',
  logStreamName: 'test',
  getRemainingTimeInMillis: () => 30_000,
  done: () => undefined,
  fail: () => undefined,
  succeed: () => undefined,
};

/** An error as the SDK throws it for an S3 answer with this code and status. */
export const s3Error = (name: string, status: number) =>
  new S3ServiceException({
    name,
    $fault: status >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode: status },
    message: `${name} happened`,
  });

/**
 * A rules file as the deployed functions read it (`FERRY_CONFIG`): the YAML document as JSON, written beside
 * it, valid or not (a function's init validates it). `npm run package` does the same after validating.
 */
export function compiledRulesOf(yamlPath: string): string {
  const path = join(tmpdir(), `ferry-rules-${basename(yamlPath)}-${process.pid}.json`);
  writeFileSync(path, JSON.stringify(parseYaml(readFileSync(yamlPath, 'utf8'))));
  return path;
}

/**
 * Multipart settings for tests with objects of a few MiB: fixed 5 MiB parts (S3's smallest), 2 in flight
 * per invocation, batches of at most 8 MiB, so a 12 MiB object already takes several parts and batches.
 */
export const SMALL_MULTIPART_SETTINGS = {
  partSize: 5 * 1024 * 1024,
  minPartSize: 5 * 1024 * 1024,
  partsInFlight: 2,
  partConcurrency: 2,
  maxBatchBytes: 8 * 1024 * 1024,
};
