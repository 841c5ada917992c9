import { describe, expect, it } from 'vitest';
import { createPowertools } from '#foundation/observability/powertools';
import type { CopyJob } from '#objects/copy-machine/contract';
import type { CopyStepDeps } from '#objects/copy-machine/copy-steps';
import type { SourceObject } from '#objects/event';
import { createObjectCopyStepHandler } from '#objects/handlers/object-copy-step';
import { planCopies } from '#objects/router';
import type { RpoEventKind } from '#rpo/threshold';
import { objectRulesOf } from '#rules/config';
import { configFrom, lambdaContext, recordingLog, recordingMetrics } from '#test/support/fixtures';

/**
 * The object-copy machine judges an item against its RPO knowing when its execution started: the backlog
 * monitor lists RUNNING executions, so an execution started after the pass that judged the item's deadline
 * (reconcile sending a large object long after its event was lost) was never seen pending, and the step that
 * ends it must send the missed event itself.
 */
const config = configFrom(`
rules:
  - name: big
    rpo: 1m
    objects: { bucket: acme-prod, prefix: media/ }
    to: [{ bucket: acme-dr, region: us-west-2 }]
`);
const EVENT_TIME = '2026-11-21T18:00:00Z';
const source: SourceObject = {
  versionId: undefined,
  bucket: 'acme-prod',
  key: 'media/film.mov',
  region: 'us-east-1',
  account: '111122223333',
  size: 700 * 1024 * 1024,
  etag: 'aaaabbbbccccddddeeeeffff00001111-3',
  sequencer: '0055AED6DCD90281E5',
  eventTime: EVENT_TIME,
};
const [plan] = planCopies(objectRulesOf(config), source);
if (!plan) throw new Error('the test rule must match the test object');
const job: CopyJob = { mode: 'multipart', plan, source, reason: 'large' };
const minutesAfterEvent = (minutes: number) =>
  new Date(Date.parse(EVENT_TIME) + minutes * 60_000).toISOString();

async function recordFailure(
  startedAt: string | undefined,
  options: { failedAt?: string; job?: CopyJob } = {},
) {
  const sent: RpoEventKind[] = [];
  const deps: CopyStepDeps = {
    s3: () => {
      throw new Error('record-failure makes no S3 request');
    },
    log: recordingLog(),
    metrics: recordingMetrics(),
    // An hour after the source: its 1-minute deadline's monitor pass is long past.
    now: () => Date.parse(options.failedAt ?? minutesAfterEvent(60)),
    rpo: {
      log: recordingLog(),
      events: { put: async (kind: RpoEventKind) => void sent.push(kind) },
      metrics: { verified() {}, missed() {}, backlog() {}, eventFailed() {} },
    },
  } as unknown as CopyStepDeps;
  const invoke = createObjectCopyStepHandler(createPowertools(), deps);
  const input = {
    action: 'record-failure',
    job: options.job ?? job,
    error: { Error: 'AccessDenied', Cause: 'denied' },
    ...(startedAt ? { startedAt } : {}),
  };
  await invoke(input as never, lambdaContext);
  return sent;
}

describe('the object-copy machine and the RPO monitor', () => {
  it('It should send the missed event at the failure of an execution started after the deadline was judged', async () => {
    expect(await recordFailure(minutesAfterEvent(50))).toEqual(['missed']);
  });

  it('It should leave it to the monitor when the execution was running at the deadline', async () => {
    expect(await recordFailure(minutesAfterEvent(0.5))).toEqual([]);
  });

  it('It should send nothing at a failure before the deadline: the pass at the deadline judges it, and a retry may land in time', async () => {
    // Failed 45 s after the event, 15 s before the 1-minute deadline: on the old code, missed at once.
    expect(await recordFailure(minutesAfterEvent(0.5), { failedAt: minutesAfterEvent(0.75) })).toEqual([]);
  });

  it('It should leave the failure of a later attempt alone: the pass or the own failure of the first attempt sent the event', async () => {
    expect(await recordFailure(minutesAfterEvent(50), { job: { ...job, attempt: 2 } })).toEqual([]);
  });

  it('It should judge as before an execution whose definition passes no start', async () => {
    expect(await recordFailure(undefined)).toEqual([]);
  });
});
