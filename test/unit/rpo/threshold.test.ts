import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  deadlineOf,
  eventDetail,
  fallsIn,
  judgedWindow,
  MONITOR_WINDOW_MS,
  missedAtFailure,
  verdictAt,
  windowOf,
} from '#rpo/threshold';

const MIN = 60_000;
const item = {
  rule: 'r',
  kind: 'object' as const,
  item: 's3://a/k',
  destination: 's3://b/k',
  sourceTime: 1_000_000,
  rpoMs: 15 * MIN,
};

describe('monitor windows', () => {
  it('It should give every deadline to exactly one pass, whatever minute the passes run at', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 10 ** 12 }),
        fc.integer({ min: 0, max: 59_999 }),
        (deadline, lateness) => {
          // Passes run once per window, each some time after the window's end (never a full window late).
          const first = windowOf(deadline).end;
          const runs = [-2, -1, 0, 1, 2].map((n) => first + n * MONITOR_WINDOW_MS + lateness);
          const judging = runs.filter((at) => fallsIn(deadline, judgedWindow(at)));
          expect(judging).toHaveLength(1);
        },
      ),
    );
  });
});

describe('verdicts at verification', () => {
  it('It should owe nothing within the RPO, the RPO itself included', () => {
    expect(verdictAt(item, deadlineOf(item), { monitored: false })).toEqual({
      latencyMs: 15 * MIN,
      withinRpo: true,
      events: [],
    });
  });

  it('It should send both events from the fast path, which no monitor sees', () => {
    expect(verdictAt(item, deadlineOf(item) + 1, { monitored: false }).events).toEqual([
      'missed',
      'completed-after',
    ]);
  });

  it('It should leave the missed event to the monitor once the pass judging the deadline has had its chance', () => {
    const deadline = deadlineOf(item);
    const closes = windowOf(deadline).end;
    // Verified before that pass (or during its window of grace): the step sends it itself.
    expect(verdictAt(item, closes - 1, { monitored: true }).events).toEqual(['missed', 'completed-after']);
    expect(verdictAt(item, closes + MONITOR_WINDOW_MS - 1, { monitored: true }).events).toEqual([
      'missed',
      'completed-after',
    ]);
    expect(verdictAt(item, closes + MONITOR_WINDOW_MS, { monitored: true }).events).toEqual([
      'completed-after',
    ]);
  });
});

describe('items the monitor never saw pending at their deadline', () => {
  it('It should owe the missed event from an execution started after the pass judging the deadline', () => {
    const closes = windowOf(deadlineOf(item)).end;
    const late = closes + 10 * MONITOR_WINDOW_MS;
    // Started (by reconcile, its event lost) long after that pass: no pass saw it pending at its deadline.
    expect(verdictAt(item, late, { monitored: true, monitoredSince: closes + 1 }).events).toEqual([
      'missed',
      'completed-after',
    ]);
    expect(missedAtFailure(item, { monitored: true, monitoredSince: closes + 1 })).toBe(true);
    // Running by the time that pass ran: the pass sent it.
    expect(verdictAt(item, late, { monitored: true, monitoredSince: closes }).events).toEqual([
      'completed-after',
    ]);
  });
});

describe('failures for good', () => {
  it('It should leave a machine failure to the pass judging the deadline, which may find a retry within the RPO', () => {
    const closes = windowOf(deadlineOf(item)).end;
    // Failed long before the deadline, in an execution that pass lists: the failing step sends nothing
    // (another attempt may still verify it in time; src/rpo/ended.ts judges it at the deadline).
    expect(missedAtFailure(item, { monitored: true, monitoredSince: item.sourceTime })).toBe(false);
    expect(missedAtFailure(item, { monitored: true })).toBe(false);
    expect(missedAtFailure(item, { monitored: true, monitoredSince: closes })).toBe(false);
    // Started after that pass: no pass will judge it, the failing step sends it.
    expect(missedAtFailure(item, { monitored: true, monitoredSince: closes + 1 })).toBe(true);
    // The fast path's permanent failure: no monitor lists it.
    expect(missedAtFailure(item, { monitored: false })).toBe(true);
  });
});

describe('event details', () => {
  it('It should name the rule, the item, the destination, the age and the cause, with an id shared by its events', () => {
    const missed = eventDetail('missed', item, item.sourceTime + 16 * MIN, 'SlowDown');
    const completed = eventDetail('completed-after', item, item.sourceTime + 20 * MIN);
    expect(missed).toMatchObject({
      rule: 'r',
      item: 's3://a/k',
      destination: 's3://b/k',
      rpo: '15m',
      rpoSeconds: 900,
      ageSeconds: 960,
      cause: 'SlowDown',
    });
    expect(missed.latencySeconds).toBeUndefined();
    expect(completed.latencySeconds).toBe(1200);
    expect(completed.id).toBe(missed.id);
    expect(eventDetail('missed', { ...item, destination: 's3://c/k' }, 0).id).not.toBe(missed.id);
  });
});
