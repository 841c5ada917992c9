import { HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { DETAIL_TYPE } from '#rpo/threshold';
import { type Check, type DemoPartResult, resultOf } from './demo-checks.ts';
import { type RpoBusEvent, rpoEventsOf } from './rpo-events.ts';
import type { Sandbox } from './sandbox.ts';

/**
 * The RPO scene of the demo, written for rules invoices-rpo and media-rpo of `local/sandbox.replication.yml`
 * (both `rpo: 1m`): one object each, with the real backlog monitor running at every minute of the virtual
 * clock. The invoice is copied at once and meets its RPO; the media file's destination bucket answers
 * SlowDown for a while (the sandbox's faults, aimed at that bucket), so its copy goes to the object-copy
 * machine, whose backoff outlasts the minute. The scene then prints the RPO events from the bus and checks
 * that exactly the late item got one "Missed Threshold" and one "Completed After Threshold", with one id.
 */

const SOURCE = 'ferry-demo-source';
const RPO_SECONDS = 60;
const ON_TIME = { rule: 'invoices-rpo', key: 'invoices/2026-11.pdf', bucket: 'ferry-demo-dr' };
const LATE = { rule: 'media-rpo', key: 'media/teaser.mp4', bucket: 'ferry-demo-media' };
/**
 * SlowDown answers to the late copy's CopyObject requests: three SDK attempts on the fast path, then three
 * for each attempt of the machine's copy step, eight of which fail. Its Retry waits 5 s doubling with full
 * jitter (statemachines/object-copy.asl.yaml), on average 2.5 × (2⁸ − 1) ≈ 640 s over eight retries: far past
 * the minute. All of them are used by that one copy, so none is left to hit a later one.
 */
export const DEMO_SLOWDOWNS = 3 + 3 * 8;

export interface RpoDemoResult extends DemoPartResult {
  /** The RPO events this scene saw on the bus, in order. */
  events: RpoBusEvent[];
}

const itemOf = (key: string) => `s3://${SOURCE}/${key}`;
const eventsFor = (events: readonly RpoBusEvent[], key: string) =>
  events.filter((event) => event.detail.item.split('?')[0] === itemOf(key));

export async function runRpoDemo(sandbox: Sandbox, print: (line: string) => void): Promise<RpoDemoResult> {
  const seenBefore = rpoEventsOf(sandbox.bus.published).length;
  const overBefore = sandbox.rpoMetrics.over.get(LATE.rule) ?? 0;
  const withinBefore = sandbox.rpoMetrics.within.get(ON_TIME.rule) ?? 0;
  const source = sandbox.s3(sandbox.bucketRegions[SOURCE] ?? 'us-east-1');
  const put = async (key: string, note: string) => {
    print(`  put     s3://${SOURCE}/${key}${note}`);
    await source.send(new PutObjectCommand({ Bucket: SOURCE, Key: key, Body: `${key}\n` }));
    await sandbox.settle();
  };

  print(
    `RPO: rules ${ON_TIME.rule} and ${LATE.rule} promise ${RPO_SECONDS} s; the backlog monitor runs at each virtual minute`,
  );
  const stop = sandbox.rpoMonitor.start();
  try {
    await put(ON_TIME.key, `   (${ON_TIME.rule}: copied at once)`);
    print(
      `  throttle s3://${LATE.bucket}: its next ${DEMO_SLOWDOWNS} CopyObject requests answer 503 SlowDown`,
    );
    sandbox.faults.scriptFor(
      LATE.bucket,
      'CopyObject',
      ...Array<'slowdown'>(DEMO_SLOWDOWNS).fill('slowdown'),
    );
    await put(LATE.key, `   (${LATE.rule}: its destination throttled past the RPO)`);
  } finally {
    stop();
  }

  const events = rpoEventsOf(sandbox.bus.published).slice(seenBefore);
  for (const event of events) print(describeEvent(event));
  const checks = [
    onTimeCheck(
      eventsFor(events, ON_TIME.key),
      (sandbox.rpoMetrics.within.get(ON_TIME.rule) ?? 0) - withinBefore,
    ),
    lateCheck(eventsFor(events, LATE.key), (sandbox.rpoMetrics.over.get(LATE.rule) ?? 0) - overBefore),
    await replicaCheck(sandbox, LATE),
    {
      ok: events.length === eventsFor(events, LATE.key).length,
      label: 'RPO events',
      detail: `${events.length} on the bus, all about ${itemOf(LATE.key)}`,
    },
  ];
  return { ...resultOf(checks), events };
}

function describeEvent({ 'detail-type': type, detail }: RpoBusEvent): string {
  const age =
    detail.latencySeconds === undefined ? `age ${detail.ageSeconds} s` : `latency ${detail.latencySeconds} s`;
  const cause = detail.cause ? `, cause ${detail.cause}` : '';
  return `  event   "${type}" [${detail.rule}] ${detail.item} → ${detail.destination}: ${age} (RPO ${detail.rpo})${cause}, id ${detail.id}`;
}

function onTimeCheck(events: readonly RpoBusEvent[], within: number): Check {
  const ok = events.length === 0 && within === 1;
  return {
    ok,
    label: `RPO met [${ON_TIME.rule}]`,
    detail: ok
      ? `${itemOf(ON_TIME.key)} within ${RPO_SECONDS} s (ItemsWithinRpo 1), no event`
      : `${events.length} events, ItemsWithinRpo ${within}`,
  };
}

function lateCheck(events: readonly RpoBusEvent[], over: number): Check {
  const [missed, completed] = events;
  const problems = [
    events.map((event) => event['detail-type']).join() ===
    [DETAIL_TYPE.missed, DETAIL_TYPE['completed-after']].join()
      ? ''
      : `events ${events.map((event) => `"${event['detail-type']}"`).join(', ') || 'none'}`,
    missed && missed.detail.id === completed?.detail.id ? '' : 'the two events name different items',
    missed?.detail.cause === 'SlowDown' ? '' : `cause ${missed?.detail.cause}`,
    (missed?.detail.ageSeconds ?? 0) >= RPO_SECONDS ? '' : `missed at ${missed?.detail.ageSeconds} s`,
    (completed?.detail.latencySeconds ?? 0) > RPO_SECONDS ? '' : 'completed within the RPO',
    over === 1 ? '' : `ItemsOverRpo ${over}`,
  ].filter(Boolean);
  return {
    ok: problems.length === 0,
    label: `RPO missed [${LATE.rule}]`,
    detail:
      problems.length === 0
        ? `${itemOf(LATE.key)}: "Missed Threshold" at ${missed?.detail.ageSeconds} s (SlowDown), ` +
          `"Completed After Threshold" at ${completed?.detail.latencySeconds} s, one id (ItemsOverRpo 1)`
        : problems.join(', '),
  };
}

/** Late, but there: the throttled copy was finally made. */
async function replicaCheck(sandbox: Sandbox, late: typeof LATE): Promise<Check> {
  const label = `s3://${late.bucket}/${late.key}`;
  const region = sandbox.bucketRegions[late.bucket] ?? 'us-east-1';
  try {
    await sandbox.s3(region).send(new HeadObjectCommand({ Bucket: late.bucket, Key: late.key }));
    return { ok: true, label, detail: 'copied once the throttling ended' };
  } catch (error) {
    return { ok: false, label, detail: `missing (${(error as Error).name})` };
  }
}
