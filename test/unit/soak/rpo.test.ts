import { describe, expect, it } from 'vitest';
import type { Sandbox } from '#local/sandbox';
import { objectCreatedEventOf } from '#reconcile/objects';
import { ec2RpoItem, objectRpoItem } from '#rpo/items';
import { DETAIL_TYPE, EVENT_SOURCE, itemIdOf } from '#rpo/threshold';
import { objectRulesOf, snapshotRulesOf } from '#rules/config';
import { validateConfig } from '#rules/load';
import { rpoCompliance } from '#soak/rpo';

/**
 * The soak's RPO invariant on hand-made final states: a missed event must come exactly for the items not
 * verified within their RPO, whatever happened to their earlier attempts.
 */

const checked = validateConfig({
  rules: [
    { name: 'ebs-dr', snapshots: { regions: ['us-east-1'] }, rpo: '5m', to: [{ region: 'us-west-2' }] },
  ],
});
if (!checked.ok) throw new Error('the test configuration is invalid');
const config = checked.config;
const rule = snapshotRulesOf(config)[0];
const SOURCE_TIME = Date.parse('2026-12-03T10:00:00Z');
const RPO_MS = 5 * 60_000;

const jobOf = (id: string) => ({
  kind: 'snapshot',
  rule: 'ebs-dr',
  rpo: '5m',
  destinationIndex: 0,
  destination: rule?.to[0],
  source: { id, region: 'us-east-1', account: '111122223333', encrypted: false, description: '', tags: {} },
  eventTime: new Date(SOURCE_TIME).toISOString(),
});
const idOf = (source: string) => {
  const item = ec2RpoItem(jobOf(source) as Parameters<typeof ec2RpoItem>[0]);
  if (!item) throw new Error('no RPO item');
  return itemIdOf(item);
};

interface State {
  /** Item source id → verified within (true) or over (false) its RPO; absent: never verified. */
  verified?: Record<string, boolean>;
  /** Source ids with a FAILED snapshot-copy execution. */
  failed?: string[];
  missed?: string[];
  completed?: string[];
}

function sandboxOf(state: State): Sandbox {
  const event = (type: string, source: string) => ({
    source: EVENT_SOURCE,
    'detail-type': type,
    detail: { id: idOf(source), rule: 'ebs-dr' },
  });
  const verdicts = new Map(
    Object.entries(state.verified ?? {}).map(([source, withinRpo]) => [
      idOf(source),
      [{ rule: 'ebs-dr', latencyMs: withinRpo ? RPO_MS / 2 : RPO_MS * 2, withinRpo }],
    ]),
  );
  const executions = new Map(
    (state.failed ?? []).map((source) => [
      source,
      { name: source, stateMachine: 'snapshot-copy', status: 'FAILED', input: jobOf(source) },
    ]),
  );
  // One pass judged the window the deadline falls in.
  const windowStart = Math.floor((SOURCE_TIME + RPO_MS) / 60_000) * 60_000;
  return {
    bus: {
      dropped: [],
      published: [
        ...(state.missed ?? []).map((source) => event(DETAIL_TYPE.missed, source)),
        ...(state.completed ?? []).map((source) => event(DETAIL_TYPE['completed-after'], source)),
      ],
    },
    stepFunctions: { executions },
    rpoMetrics: { verdicts },
    rpoMonitor: { passes: [{ window: { start: windowStart, end: windowStart + 60_000 } }] },
  } as unknown as Sandbox;
}

const figuresOf = (state: State) => {
  const [figures] = rpoCompliance(sandboxOf(state), config);
  if (!figures) throw new Error('no figures for ebs-dr');
  return figures;
};

describe('the soak RPO invariant (soak/rpo.ts)', () => {
  it('It should hold when the items over their RPO have their event pair and the others none', () => {
    const figures = figuresOf({
      verified: { 'snap-within': true, 'snap-over': false, 'snap-retried': true },
      failed: ['snap-retried', 'snap-lost'],
      missed: ['snap-over', 'snap-lost'],
      completed: ['snap-over'],
    });
    expect(figures.violations).toEqual([]);
    expect(figures).toMatchObject({
      within: 2,
      over: 1,
      missedEvents: 2,
      missedUnverified: 1,
      retriedWithin: 1,
    });
  });

  it('It should count a missed event for an item retried within its RPO as a violation', () => {
    const figures = figuresOf({
      verified: { 'snap-retried': true },
      failed: ['snap-retried'],
      missed: ['snap-retried'],
    });
    expect(figures.violations).toEqual([`${idOf('snap-retried')}: within its RPO, yet a missed event`]);
  });

  it('It should count an item failed for good past its judged deadline without a missed event as a violation', () => {
    const figures = figuresOf({ failed: ['snap-lost'] });
    expect(figures.violations).toEqual([
      `${idOf('snap-lost')}: failed for good past its deadline without a missed event`,
    ]);
  });

  it('It should count a missed event for an item neither verified nor failed as a violation', () => {
    const figures = figuresOf({ missed: ['snap-ghost'] });
    expect(figures.violations).toEqual([
      `${idOf('snap-ghost')}: a missed event for an item neither verified nor failed`,
    ]);
  });

  it('It should count an item over its RPO without its events as a violation', () => {
    const figures = figuresOf({ verified: { 'snap-over': false } });
    expect(figures.violations).toEqual([
      `${idOf('snap-over')}: over its RPO without a missed event`,
      `${idOf('snap-over')}: over its RPO without a completion event`,
    ]);
  });
});

describe('the soak RPO figures of an object rule (soak/rpo.ts)', () => {
  const objects = validateConfig({
    rules: [
      {
        name: 'versioned',
        objects: { bucket: 'source-bucket' },
        rpo: '1h',
        to: [{ bucket: 'dr-bucket', region: 'us-west-2', keyPrefix: 'v/' }],
      },
    ],
  });
  if (!objects.ok) throw new Error(`the object test configuration is invalid: ${JSON.stringify(objects)}`);
  const objectRule = objectRulesOf(objects.config)[0];
  if (!objectRule?.to[0]) throw new Error('no object rule');
  const plan = { rule: objectRule, destination: objectRule.to[0] };
  const where = { account: '111122223333', region: 'us-east-1' };
  const eventOf = (key: string) =>
    objectCreatedEventOf(
      { bucket: 'source-bucket', key, size: 1, etag: '"e"', lastModified: new Date(SOURCE_TIME) },
      where,
      0,
    );
  // As reconcile sends the copy of an object it listed: the item names no version.
  const idOfKey = (key: string) => {
    const source = { bucket: 'source-bucket', key, eventTime: new Date(SOURCE_TIME).toISOString(), size: 1 };
    const item = objectRpoItem({ ...plan, destinationKey: `v/${key}` }, source);
    if (!item) throw new Error('no RPO item');
    return itemIdOf(item);
  };

  it('It should tell the items over their RPO whose Object Created event was lost from the others', () => {
    const over = ['lost.txt', 'came.txt'];
    const sandbox = {
      bus: {
        dropped: [eventOf('lost.txt'), eventOf('within.txt')],
        published: over.flatMap((key) =>
          [DETAIL_TYPE.missed, DETAIL_TYPE['completed-after']].map((type) => ({
            source: EVENT_SOURCE,
            'detail-type': type,
            detail: { id: idOfKey(key), rule: 'versioned' },
          })),
        ),
      },
      stepFunctions: { executions: new Map() },
      rpoMetrics: {
        verdicts: new Map<string, { rule: string; latencyMs: number; withinRpo: boolean }[]>([
          ...over.map(
            (key) =>
              [idOfKey(key), [{ rule: 'versioned', latencyMs: 2 * 3_600_000, withinRpo: false }]] as [
                string,
                { rule: string; latencyMs: number; withinRpo: boolean }[],
              ],
          ),
          [idOfKey('within.txt'), [{ rule: 'versioned', latencyMs: 1000, withinRpo: true }]],
        ]),
      },
      rpoMonitor: { passes: [] },
    } as unknown as Sandbox;
    const [figures] = rpoCompliance(sandbox, objects.config);
    expect(figures?.violations).toEqual([]);
    expect(figures).toMatchObject({ within: 1, over: 2, overAfterLostEvent: 1 });
  });
});
