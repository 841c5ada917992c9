import { describe, expect, it } from 'vitest';
import {
  earliestSlotSeconds,
  estimatedSecondsLeft,
  QUEUE_BOUNDS,
  queueFloorSeconds,
  queueWaitSeconds,
  slotTimeoutSeconds,
} from '#ec2/copy-machine/copy-queue';

const NOW = Date.parse('2026-11-22T12:00:00Z');
const minutesAgo = (minutes: number) => NOW - minutes * 60_000;

describe('copy queue', () => {
  describe('estimatedSecondsLeft', () => {
    it('reads the time left from the progress, taking the middle of the floored percentage', () => {
      // 49.5 % of the copy took 10 min: 50.5 % more takes about 10.2 min.
      expect(estimatedSecondsLeft({ createdAt: minutesAgo(10), progress: 49 }, NOW)).toBeCloseTo(
        (600 * 50.5) / 49.5,
      );
    });

    it('has no estimate while EC2 reports nothing, and none left at 100 %', () => {
      expect(estimatedSecondsLeft({ createdAt: minutesAgo(10), progress: 0 }, NOW)).toBeUndefined();
      expect(estimatedSecondsLeft({ createdAt: minutesAgo(10), progress: 100 }, NOW)).toBe(0);
    });
  });

  it('aims at the copy in flight that ends first, ignoring those without an estimate', () => {
    const inFlight = [
      { createdAt: minutesAgo(1), progress: 0 },
      { createdAt: minutesAgo(30), progress: 90 },
      { createdAt: minutesAgo(5), progress: 50 },
    ];
    expect(earliestSlotSeconds(inFlight, NOW)).toBeCloseTo((1800 * 9.5) / 90.5);
    expect(earliestSlotSeconds([{ createdAt: minutesAgo(1), progress: 0 }], NOW)).toBeUndefined();
    expect(earliestSlotSeconds([], NOW)).toBeUndefined();
  });

  describe('queueWaitSeconds', () => {
    const inFlight = [{ createdAt: minutesAgo(6), progress: 60 }];
    const slot = (360 * 39.5) / 60.5;

    it('waits for the earliest slot plus at most 10 % of it (at least 10 s) of jitter', () => {
      const lowest = queueWaitSeconds({ reason: 'limit', attempts: 0, now: NOW, inFlight }, () => 0);
      const highest = queueWaitSeconds({ reason: 'limit', attempts: 0, now: NOW, inFlight }, () => 0.999);
      expect(lowest).toBe(Math.ceil(slot));
      expect(highest).toBe(Math.ceil(slot + 0.999 * Math.max(10, 0.1 * slot)));
    });

    it('looks again after a minute when no copy in flight reports progress', () => {
      const wait = queueWaitSeconds(
        { reason: 'limit', attempts: 0, now: NOW, inFlight: [{ createdAt: NOW, progress: 0 }] },
        () => 0,
      );
      expect(wait).toBe(60);
    });

    it('never sleeps past the cap, however far the slot', () => {
      const slow = [{ createdAt: minutesAgo(600), progress: 1 }];
      expect(queueWaitSeconds({ reason: 'limit', attempts: 0, now: NOW, inFlight: slow })).toBe(
        QUEUE_BOUNDS.maxSeconds,
      );
    });

    it('backs off briefly with full jitter when throttled, doubling from 5 s', () => {
      const waits = (attempts: number) =>
        [0, 0.5, 0.999].map((r) => queueWaitSeconds({ reason: 'throttled', attempts, now: NOW }, () => r));
      expect(waits(0)).toEqual([5, 5, 5]);
      expect(waits(2)).toEqual([5, 10, 20]);
      // Capped at 5 s × 2^6.
      expect(waits(10)).toEqual([5, 160, 320]);
    });

    it('raises its floor with the attempts, so a copy that keeps being refused slows down', () => {
      const soon = [{ createdAt: minutesAgo(60), progress: 100 }];
      const early = queueWaitSeconds({ reason: 'limit', attempts: 0, now: NOW, inFlight: soon }, () => 0);
      const late = queueWaitSeconds({ reason: 'limit', attempts: 120, now: NOW, inFlight: soon }, () => 0);
      expect(early).toBe(QUEUE_BOUNDS.minSeconds);
      expect(late).toBe(Math.ceil(queueFloorSeconds(120)));
      expect(late).toBeGreaterThan(400);
      expect(queueFloorSeconds(10_000)).toBe(QUEUE_BOUNDS.maxSeconds);
    });
  });

  describe('slotTimeoutSeconds (AwaitSlot: woken by a copy ending, this its safety timeout)', () => {
    // A burst: 20 copies started together 5 min ago, 37 % done (each ≈ 800 s in all, ≈ 500 s left), their
    // progress a little apart so their ends are too.
    const wave = Array.from({ length: 20 }, (_, i) => ({ createdAt: minutesAgo(5), progress: 37 + (i % 3) }));
    const ends = wave.map((copy) => estimatedSecondsLeft(copy, NOW) ?? 0).sort((a, b) => a - b);
    // The mean copy time of those in flight: elapsed plus left.
    const copySeconds = ends.reduce((sum, left) => sum + 300 + left, 0) / ends.length;
    const timeout = (ahead: number, random = 0) =>
      slotTimeoutSeconds({ attempts: 0, now: NOW, inFlight: wave, ahead }, () => random);

    it('It should time the head of the queue out after the earliest end, so the wake-up comes first', () => {
      const earliest = ends[0] ?? 0;
      // The old timeout was that estimate itself (plus at most 10 % jitter): now a margin of 30 s to 2 min follows it.
      expect(timeout(0)).toBe(Math.ceil(earliest + Math.max(30, 0.1 * earliest)));
      expect(timeout(0, 0.999)).toBeLessThanOrEqual(Math.ceil(earliest + 2 * 120));
    });

    it('It should spread the waiters by their turn: the (ahead mod n)-th end, one copy time per n waiters ahead', () => {
      const turn = (ahead: number) => (ends[ahead % 20] ?? 0) + Math.floor(ahead / 20) * copySeconds;
      for (const ahead of [5, 20, 25, 45, 61]) {
        const margin = Math.min(120, Math.max(30, 0.1 * turn(ahead)));
        expect(timeout(ahead)).toBeGreaterThanOrEqual(Math.floor(turn(ahead) + margin));
        expect(timeout(ahead)).toBeLessThanOrEqual(Math.ceil(turn(ahead) + margin) + 1);
      }
      // 80 waiters (4 waves) no longer share one timeout, as they did when it was the slot estimate.
      const old = new Set(
        Array.from({ length: 80 }, () =>
          queueWaitSeconds({ reason: 'limit', attempts: 0, now: NOW, inFlight: wave }, () => 0),
        ),
      );
      expect(old.size).toBe(1);
      const timeouts = Array.from({ length: 80 }, (_, ahead) => timeout(ahead));
      expect(timeouts).toEqual([...timeouts].sort((a, b) => a - b));
      expect((timeouts[79] ?? 0) - (timeouts[0] ?? 0)).toBeGreaterThan(3 * copySeconds);
    });

    it('It should cap what a lost wake-up costs, however far back the copy waits', () => {
      expect(timeout(1000, 0.999)).toBe(QUEUE_BOUNDS.slotTimeoutMaxSeconds);
      expect(QUEUE_BOUNDS.slotTimeoutMaxSeconds).toBe(3600);
    });

    it('It should look again after a minute and its margin when no copy in flight reports progress', () => {
      const fresh = [{ createdAt: NOW, progress: 0 }];
      expect(slotTimeoutSeconds({ attempts: 0, now: NOW, inFlight: fresh, ahead: 40 }, () => 0)).toBe(90);
      expect(slotTimeoutSeconds({ attempts: 0, now: NOW, inFlight: [], ahead: 0 }, () => 0)).toBe(90);
    });

    it('It should keep the floor that protects the history after many refusals', () => {
      const soon = [{ createdAt: minutesAgo(60), progress: 100 }];
      expect(slotTimeoutSeconds({ attempts: 120, now: NOW, inFlight: soon, ahead: 0 }, () => 0)).toBe(
        Math.ceil(queueFloorSeconds(120)),
      );
    });
  });
});
