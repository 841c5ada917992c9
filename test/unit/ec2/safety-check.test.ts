import { describe, expect, it } from 'vitest';
import { FIRST_CHECK_SECONDS, SAFETY_CHECK_BOUNDS, safetyCheckSeconds } from '#ec2/copy-machine/safety-check';
import {
  adaptiveSafety,
  lateProgress,
  type ProgressModel,
  simulateEventDriven,
  steadyProgress,
} from '../../../bench/poll-simulation.ts';

const { minSeconds, maxSeconds } = SAFETY_CHECK_BOUNDS;
const silent: ProgressModel = () => 0;
const HOUR = 3600;

/** 200 durations spread evenly on a log scale from 1 minute to 72 hours (the copy deadline). */
const DURATIONS = Array.from({ length: 200 }, (_, i) => Math.round(60 * 4320 ** (i / 199)));

const run = (duration: number, lost: boolean, progress: ProgressModel) =>
  simulateEventDriven(duration, { eventLatencySeconds: 30, safety: adaptiveSafety, lost, progress });

describe('the safety check of a copy waited for by event', () => {
  it('first looks 6 h after the copy started, whatever it reports', () => {
    expect(safetyCheckSeconds({ elapsedSeconds: 0, progress: 0 })).toBe(FIRST_CHECK_SECONDS);
    expect(safetyCheckSeconds({ elapsedSeconds: 120, progress: 40 })).toBe(FIRST_CHECK_SECONDS - 120);
    expect(safetyCheckSeconds({ elapsedSeconds: 5 * HOUR, progress: 99 })).toBe(HOUR);
  });

  it('then waits twice as long as the copy has run while EC2 reports nothing, up to the 12 h ceiling', () => {
    expect(safetyCheckSeconds({ elapsedSeconds: 6 * HOUR, progress: 0 })).toBe(12 * HOUR);
    expect(safetyCheckSeconds({ elapsedSeconds: 30 * HOUR, progress: 0 })).toBe(maxSeconds);
    expect(safetyCheckSeconds({ elapsedSeconds: 30 * HOUR, progress: 1 })).toBe(maxSeconds);
  });

  it('then comes 10 % of the copy after the latest end its floored progress allows', () => {
    // 60 % after 6 h: a steady copy ends by 6 × 100 / 60 = 10 h, 4 h from now; 10 % of it is 1 h.
    expect(safetyCheckSeconds({ elapsedSeconds: 6 * HOUR, progress: 60 })).toBe(5 * HOUR);
    // 25 % after 6 h: the end by 24 h, and 2.4 h, is further than the ceiling.
    expect(safetyCheckSeconds({ elapsedSeconds: 6 * HOUR, progress: 25 })).toBe(maxSeconds);
    // Still pending at 100 %: the margin alone, 10 % of the time so far.
    expect(safetyCheckSeconds({ elapsedSeconds: 10 * HOUR, progress: 100 })).toBe(HOUR);
    // Near its end a short margin is still at least the floor.
    expect(safetyCheckSeconds({ elapsedSeconds: 6 * HOUR + 60, progress: 100 })).toBeGreaterThanOrEqual(
      minSeconds,
    );
  });

  it('never waits past the copy deadline, so CheckCopy enforces it on time', () => {
    expect(safetyCheckSeconds({ elapsedSeconds: 20 * HOUR, progress: 0, secondsToDeadline: 90 })).toBe(90);
    expect(safetyCheckSeconds({ elapsedSeconds: 20 * HOUR, progress: 0, secondsToDeadline: -5 })).toBe(1);
    expect(safetyCheckSeconds({ elapsedSeconds: 0, progress: 0, secondsToDeadline: 600 })).toBe(600);
  });

  it('always gives TimeoutSecondsPath a positive integer', () => {
    for (const elapsedSeconds of [0, 0.4, 59.5, 301.2, 7777.7, 21_599.6, 1e6]) {
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
    it(`${name}: a lost event costs hours, not the copy: at most 6 h, or the 12 h ceiling, history bounded`, () => {
      for (const duration of DURATIONS) {
        const lost = run(duration, true, model);
        // The first check at 6 h; past it, a report wrong enough (progress shown late) waits up to the ceiling.
        expect(lost.lagSeconds, `${duration}s copy`).toBeLessThanOrEqual(
          duration < FIRST_CHECK_SECONDS ? FIRST_CHECK_SECONDS : maxSeconds,
        );
        expect(lost.historyEvents, `${duration}s copy`).toBeLessThan(1000);
      }
    });
  }

  it('steady progress: a lost event of a copy past the first check is noticed within about 10 % of the copy', () => {
    for (const duration of DURATIONS.filter((seconds) => seconds > FIRST_CHECK_SECONDS)) {
      const { lagSeconds } = run(duration, true, steadyProgress);
      // 10 % of the latest end the floored percentage allows. That end is up to 1/p past the true one, p the
      // percentage at the check that sets the last wait: at least 25 for a copy past the first check, so ≤ 4 %.
      expect(lagSeconds, `${duration}s copy`).toBeLessThanOrEqual(Math.max(minSeconds, 0.15 * duration));
    }
  });

  it('a copy whose event arrives within 6 h meets no safety check: 7 transitions', () => {
    for (const duration of DURATIONS.filter((seconds) => seconds + 30 < FIRST_CHECK_SECONDS)) {
      expect(run(duration, false, steadyProgress).transitions, `${duration}s copy`).toBe(7);
    }
  });

  it('a steady copy whose event arrives meets at most 10 transitions up to 12 h, 19 up to 48 h', () => {
    for (const duration of DURATIONS) {
      const { transitions } = run(duration, false, steadyProgress);
      if (duration <= 12 * HOUR) expect(transitions, `${duration}s copy`).toBeLessThanOrEqual(10);
      else if (duration <= 48 * HOUR) expect(transitions, `${duration}s copy`).toBeLessThanOrEqual(19);
    }
  });
});
