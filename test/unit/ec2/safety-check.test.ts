import { describe, expect, it } from 'vitest';
import { SAFETY_CHECK_BOUNDS, safetyCheckSeconds } from '#ec2/copy-machine/safety-check';
import {
  adaptiveSafety,
  lateProgress,
  type ProgressModel,
  simulateEventDriven,
  steadyProgress,
} from '../../../bench/poll-simulation.ts';

const { minSeconds, maxSeconds } = SAFETY_CHECK_BOUNDS;
const silent: ProgressModel = () => 0;

/** 200 durations spread evenly on a log scale from 1 minute to 72 hours (the copy deadline). */
const DURATIONS = Array.from({ length: 200 }, (_, i) => Math.round(60 * 4320 ** (i / 199)));

const run = (duration: number, lost: boolean, progress: ProgressModel) =>
  simulateEventDriven(duration, { eventLatencySeconds: 30, safety: adaptiveSafety, lost, progress });

describe('the safety check of a copy waited for by event', () => {
  it('waits the 5 min floor while nothing is known, then twice as long as the copy has run', () => {
    expect(safetyCheckSeconds({ elapsedSeconds: 0, progress: 0 })).toBe(minSeconds);
    expect(safetyCheckSeconds({ elapsedSeconds: 120, progress: 0 })).toBe(minSeconds);
    expect(safetyCheckSeconds({ elapsedSeconds: 600, progress: 0 })).toBe(1200);
    expect(safetyCheckSeconds({ elapsedSeconds: 2 * 3600, progress: 0 })).toBe(4 * 3600);
  });

  it('keeps the 6 h ceiling however long the copy ran', () => {
    expect(safetyCheckSeconds({ elapsedSeconds: 30 * 3600, progress: 0 })).toBe(maxSeconds);
    expect(safetyCheckSeconds({ elapsedSeconds: 30 * 3600, progress: 1 })).toBe(maxSeconds);
  });

  it('comes 10 % of the copy after the latest end its floored progress allows, when that is sooner', () => {
    // 58 % after 600 s: a steady copy ends by 600 × 100 / 58 = 1,034 s, 434 s from now; 10 % of it is 103 s.
    expect(safetyCheckSeconds({ elapsedSeconds: 600, progress: 58 })).toBe(
      Math.ceil(6e4 / 58 - 600 + 6e3 / 58),
    );
    // 29 % after 300 s: the latest end (1,034 s, and 103 s) is further than twice the run: 600 s.
    expect(safetyCheckSeconds({ elapsedSeconds: 300, progress: 29 })).toBe(600);
    // Still pending at 100 %: the margin alone, 10 % of the time so far (at least the floor).
    expect(safetyCheckSeconds({ elapsedSeconds: 10 * 3600, progress: 100 })).toBe(3600);
  });

  it('never waits past the copy deadline, so CheckCopy enforces it on time', () => {
    expect(safetyCheckSeconds({ elapsedSeconds: 20 * 3600, progress: 0, secondsToDeadline: 90 })).toBe(90);
    expect(safetyCheckSeconds({ elapsedSeconds: 20 * 3600, progress: 0, secondsToDeadline: -5 })).toBe(1);
  });

  it('always gives TimeoutSecondsPath a positive integer', () => {
    for (const elapsedSeconds of [0, 0.4, 59.5, 301.2, 7777.7, 1e6]) {
      for (const progress of [0, 1, 37, 99, 100]) {
        const seconds = safetyCheckSeconds({ elapsedSeconds, progress });
        expect(Number.isInteger(seconds) && seconds >= 1, `${elapsedSeconds}s at ${progress}%`).toBe(true);
      }
    }
  });
});

describe('the safety check simulated over copies of 1 minute to 72 hours', () => {
  for (const [name, model] of [
    ['steady progress', steadyProgress],
    ['progress after 10 % of the copy', lateProgress(0.1)],
    ['progress after 50 % of the copy', lateProgress(0.5)],
    ['no progress reported at all', silent],
  ] as const) {
    it(`${name}: a lost event costs at most twice the copy's duration (or the 5 min floor)`, () => {
      for (const duration of DURATIONS) {
        const lost = run(duration, true, model);
        expect(lost.lagSeconds, `${duration}s copy`).toBeLessThanOrEqual(Math.max(minSeconds, 2 * duration));
        expect(lost.historyEvents, `${duration}s copy`).toBeLessThan(1000);
      }
    });
  }

  it('steady progress: a lost event is noticed within about 10 % of the copy (or the floor), its 6 h ceiling aside', () => {
    for (const duration of DURATIONS) {
      const { lagSeconds } = run(duration, true, steadyProgress);
      // 10 % of the latest end the floored percentage allows, itself up to a few % past the true end.
      expect(lagSeconds, `${duration}s copy`).toBeLessThanOrEqual(
        Math.min(maxSeconds, Math.max(minSeconds, 0.135 * duration)),
      );
    }
  });

  it('a copy shorter than the floor whose event arrives meets no safety check: 7 transitions', () => {
    for (const duration of DURATIONS.filter((seconds) => seconds + 30 <= minSeconds)) {
      expect(run(duration, false, steadyProgress).transitions, `${duration}s copy`).toBe(7);
    }
  });

  it('a copy whose event arrives meets few safety checks: about one per tripling from 5 min, one per 6 h', () => {
    for (const duration of DURATIONS) {
      const { checks, transitions } = run(duration, false, steadyProgress);
      const triplings = Math.max(
        0,
        Math.ceil(Math.log(Math.min(duration, maxSeconds) / minSeconds) / Math.log(3)),
      );
      expect(checks - 1, `${duration}s copy`).toBeLessThanOrEqual(triplings + duration / maxSeconds + 1);
      if (duration <= 48 * 3600) expect(transitions, `${duration}s copy`).toBeLessThanOrEqual(46);
    }
  });
});
