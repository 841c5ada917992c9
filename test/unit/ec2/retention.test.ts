import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { copiesToPrune, type RetainedCopy } from '#ec2/retention';

const DAY = 86_400_000;
const now = Date.parse('2026-11-22T12:00:00Z');
const copy = (id: string, daysAgo: number, finished = true): RetainedCopy => ({
  id,
  createdAt: now - daysAgo * DAY,
  finished,
});

describe('copiesToPrune', () => {
  it('count: keeps the newest N finished copies, the new one included', () => {
    const copies = [copy('new', 0), copy('a', 1), copy('b', 2), copy('c', 3), copy('d', 4)];
    expect(copiesToPrune(copies, { count: 3 }, { now, keep: 'new' })).toEqual(['c', 'd']);
  });

  it('count: pending copies belong to running executions and are neither counted nor pruned', () => {
    const copies = [copy('new', 0), copy('running', 0.5, false), copy('a', 1), copy('b', 2)];
    expect(copiesToPrune(copies, { count: 2 }, { now, keep: 'new' })).toEqual(['b']);
  });

  it('days: prunes finished copies older than the window, never the new one', () => {
    const copies = [copy('new', 40), copy('a', 10), copy('b', 31), copy('c', 29)];
    expect(copiesToPrune(copies, { days: 30 }, { now, keep: 'new' }).sort()).toEqual(['b']);
  });

  it('never prunes the copy it keeps, nor more than the copies beyond the count (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ age: fc.integer({ min: 0, max: 100 }), finished: fc.boolean() }), {
          maxLength: 30,
        }),
        fc.integer({ min: 1, max: 10 }),
        (ages, count) => {
          const copies = [copy('keep', 0), ...ages.map((a, i) => copy(`c${i}`, a.age, a.finished))];
          const pruned = copiesToPrune(copies, { count }, { now, keep: 'keep' });
          expect(pruned).not.toContain('keep');
          const finished = copies.filter((c) => c.finished).length;
          expect(pruned.length).toBe(Math.max(0, finished - count));
          for (const id of pruned) expect(copies.find((c) => c.id === id)?.finished).toBe(true);
        },
      ),
    );
  });
});
