import { describe, expect, it } from 'vitest';
import { COPY_DEADLINE_HOURS } from '#ec2/copy-machine/progress';
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
/** The same with the hourly sweep up, its first run `phase` seconds after the copy started. */
const swept = (duration: number, progress: ProgressModel, phase: number) =>
  simulateEventDriven(duration, {
    eventLatencySeconds: 30,
    safety: adaptiveSafety,
    lost: true,
    progress,
    sweep: { periodSeconds: HOUR, phaseSeconds: phase },
  });
const DEADLINE = COPY_DEADLINE_HOURS * HOUR;

describe('the safety check of a copy waited for by event', () => {
  it('first looks 6 h after the copy started, whatever it reports', () => {
    expect(safetyCheckSeconds({ elapsedSeconds: 0, progress: 0 })).toBe(FIRST_CHECK_SECONDS);
    expect(safetyCheckSeconds({ elapsedSeconds: 120, progress: 40 })).toBe(FIRST_CHECK_SECONDS - 120);
    expect(safetyCheckSeconds({ elapsedSeconds: 5 * HOUR, progress: 99 })).toBe(HOUR);
  });

  it('then waits twice as long as the copy has run while EC2 reports nothing, up to its deadline', () => {
    expect(safetyCheckSeconds({ elapsedSeconds: 6 * HOUR, progress: 0, secondsToDeadline: 66 * HOUR })).toBe(
      12 * HOUR,
    );
    expect(safetyCheckSeconds({ elapsedSeconds: 30 * HOUR, progress: 0, secondsToDeadline: 42 * HOUR })).toBe(
      42 * HOUR,
    );
    // Without a deadline (none in practice: progress.ts always gives one), the adaptive poll's 12 h ceiling.
    expect(safetyCheckSeconds({ elapsedSeconds: 30 * HOUR, progress: 0 })).toBe(maxSeconds);
  });

  it('then comes 10 % of the copy after the latest end its floored progress allows, however far', () => {
    const deadline = (elapsed: number) => ({
      elapsedSeconds: elapsed,
      secondsToDeadline: DEADLINE - elapsed,
    });
    // 60 % after 6 h: a steady copy ends by 6 × 100 / 60 = 10 h, 4 h from now; 10 % of it is 1 h.
    expect(safetyCheckSeconds({ ...deadline(6 * HOUR), progress: 60 })).toBe(5 * HOUR);
    // 25 % after 6 h: the end by 24 h, 18 h from now, and 2.4 h: no ceiling below the deadline any more.
    expect(safetyCheckSeconds({ ...deadline(6 * HOUR), progress: 25 })).toBe(20.4 * HOUR);
    // 12 % after 6 h (a 48 h copy): the end by 50 h, and 5 h: past the copy's end, so its event comes first.
    expect(safetyCheckSeconds({ ...deadline(6 * HOUR), progress: 12 })).toBe(49 * HOUR);
    // Still pending at 100 %: the margin alone, 10 % of the time so far.
    expect(safetyCheckSeconds({ ...deadline(10 * HOUR), progress: 100 })).toBe(HOUR);
    // Near its end a short margin is still at least the floor.
    expect(safetyCheckSeconds({ ...deadline(6 * HOUR + 60), progress: 100 })).toBeGreaterThanOrEqual(
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
    it(`${name}, the sweep up: a lost event costs at most the hour to the next sweep`, () => {
      for (const duration of DURATIONS)
        for (const phase of [0, 0.5 * HOUR, HOUR - 1]) {
          const lost = swept(duration, model, phase);
          expect(lost.lagSeconds, `${duration}s copy`).toBeLessThanOrEqual(HOUR);
          expect(lost.historyEvents, `${duration}s copy`).toBeLessThan(1000);
        }
    });

    it(`${name}, the sweep down: a lost event costs at most 6 h, or hours before the deadline, history bounded`, () => {
      for (const duration of DURATIONS) {
        const lost = run(duration, true, model);
        // The first check at 6 h; past it, the checks are the backstop: noticed by the copy's deadline.
        if (duration < FIRST_CHECK_SECONDS)
          expect(lost.lagSeconds, `${duration}s copy`).toBeLessThanOrEqual(FIRST_CHECK_SECONDS);
        expect(duration + lost.lagSeconds, `${duration}s copy`).toBeLessThanOrEqual(DEADLINE);
        expect(lost.historyEvents, `${duration}s copy`).toBeLessThan(1000);
      }
    });
  }

  it('steady progress, the sweep down: a lost event of a copy past the first check is noticed within a quarter of the copy', () => {
    for (const duration of DURATIONS.filter((seconds) => seconds > FIRST_CHECK_SECONDS)) {
      const { lagSeconds } = run(duration, true, steadyProgress);
      // 10 % of the latest end the floored percentage allows. That end is up to 1/p past the true one, p the
      // percentage at the 6 h check: at least 8 for a copy of up to 72 h, so at most 12.5 % late, and 10 %
      // of that end: under 25 % of the copy.
      expect(lagSeconds, `${duration}s copy`).toBeLessThanOrEqual(Math.max(minSeconds, 0.25 * duration));
    }
  });

  it('a copy whose event arrives within 6 h meets no safety check: 7 transitions', () => {
    for (const duration of DURATIONS.filter((seconds) => seconds + 30 < FIRST_CHECK_SECONDS)) {
      expect(run(duration, false, steadyProgress).transitions, `${duration}s copy`).toBe(7);
    }
  });

  it('a steady copy whose event arrives meets at most 1 safety check up to 72 h: 10 transitions', () => {
    for (const duration of DURATIONS) {
      const { checks, transitions } = run(duration, false, steadyProgress);
      // `checks` counts the waits: the one the event ends, and one per safety check before it.
      expect(checks - 1, `${duration}s copy`).toBeLessThanOrEqual(1);
      expect(transitions, `${duration}s copy`).toBeLessThanOrEqual(10);
    }
  });

  it('a steady 20 h or 48 h copy whose event is lost, the sweep up, stays within 10 transitions', () => {
    for (const duration of [20 * HOUR, 48 * HOUR])
      for (const phase of [0, 0.5 * HOUR, HOUR - 1])
        expect(swept(duration, steadyProgress, phase).transitions, `${duration}s copy`).toBeLessThanOrEqual(
          10,
        );
  });
});
