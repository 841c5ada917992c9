import { describe, expect, it } from 'vitest';
import {
  earliestSlotSeconds,
  estimatedSecondsLeft,
  QUEUE_BOUNDS,
  queueFloorSeconds,
  queueWaitSeconds,
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
});
