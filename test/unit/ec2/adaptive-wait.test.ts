import { describe, expect, it } from 'vitest';
import { nextWaitSeconds, progressPercent, WAIT_BOUNDS } from '#ec2/copy-machine/adaptive-wait';
import {
  adaptiveSchedule,
  EVENTS_PER_CHECK,
  FIXED_EVENTS,
  lateProgress,
  type ProgressModel,
  simulatePolling,
  steadyProgress,
} from '../../../bench/poll-simulation.ts';

const simulate = (duration: number, model: ProgressModel) =>
  simulatePolling(duration, adaptiveSchedule, model);
const slowStart = lateProgress;
const steady = steadyProgress;
const silent: ProgressModel = () => 0;

/** 400 durations spread evenly on a log scale from 1 minute to 48 hours, both ends included. */
const DURATIONS = Array.from({ length: 400 }, (_, i) => Math.round(60 * 2880 ** (i / 399)));

describe('adaptive wait, simulated over copy durations from 1 minute to 48 hours', () => {
  for (const [name, model] of [
    ['steady progress', steady],
    ['progress that starts after 5 % of the copy', slowStart(0.05)],
    ['progress that starts after 10 % of the copy', slowStart(0.1)],
  ] as const) {
    it(`${name}: at most 40 transitions, history far below 25,000 events, lag within max(60 s, 10 %)`, () => {
      const worst = { transitions: 0, events: 0, lagShare: 0 };
      for (const duration of DURATIONS) {
        const run = simulate(duration, model);
        expect(run.transitions, `${duration}s copy`).toBeLessThanOrEqual(40);
        expect(run.historyEvents, `${duration}s copy`).toBeLessThan(25_000 / 50);
        expect(run.lagSeconds, `${duration}s copy`).toBeLessThanOrEqual(Math.max(60, 0.1 * duration));
        worst.transitions = Math.max(worst.transitions, run.transitions);
        worst.events = Math.max(worst.events, run.historyEvents);
        worst.lagShare = Math.max(worst.lagShare, run.lagSeconds / duration);
      }
      // The bounds are not met by accident of a few durations: the worst case has margin to spare.
      expect(worst.transitions).toBeLessThanOrEqual(37);
    });
  }

  it('a copy that never reports progress is still checked at least every maxSeconds and stays within 40 transitions', () => {
    for (const duration of DURATIONS) {
      const run = simulate(duration, silent);
      expect(run.transitions).toBeLessThanOrEqual(40);
      expect(run.lagSeconds).toBeLessThanOrEqual(WAIT_BOUNDS.maxSeconds);
    }
  });

  it('a fixed 60 s poll would break the history limit on a 48 h copy; the adaptive wait uses a fraction of a percent of it', () => {
    const fixedChecks = Math.ceil((48 * 3600) / 60);
    expect(FIXED_EVENTS + EVENTS_PER_CHECK * fixedChecks).toBeGreaterThan(25_000);
    expect(simulate(48 * 3600, steady).historyEvents).toBeLessThan(200);
  });
});

describe('nextWaitSeconds', () => {
  it('is bounded below and above, and whole seconds', () => {
    for (const elapsedSeconds of [0, 1, 59, 3600, 86_400, 10 ** 7]) {
      for (const progress of [0, 1, 50, 99, 100]) {
        const wait = nextWaitSeconds({ elapsedSeconds, progress });
        expect(wait).toBeGreaterThanOrEqual(WAIT_BOUNDS.minSeconds);
        expect(wait).toBeLessThanOrEqual(WAIT_BOUNDS.maxSeconds);
        expect(Number.isInteger(wait)).toBe(true);
      }
    }
  });

  it('aims towards the earliest end a steady copy could have, closer as progress grows', () => {
    // 50 % after 600 s: at least 600 × 100 / 51 = 1176.5 s in total; three quarters of the 576.5 s left.
    expect(nextWaitSeconds({ elapsedSeconds: 600, progress: 50 })).toBe(433);
    // 2 % after 600 s: at least 20,000 s in total, but so little progress says little: a tenth of it.
    expect(nextWaitSeconds({ elapsedSeconds: 600, progress: 2 })).toBe(1940);
  });

  it('grows with the elapsed time while nothing is reported', () => {
    expect(nextWaitSeconds({ elapsedSeconds: 0, progress: 0 })).toBe(WAIT_BOUNDS.minSeconds);
    expect(nextWaitSeconds({ elapsedSeconds: 1000, progress: 0 })).toBe(4000);
  });

  it('never waits past the deadline', () => {
    expect(nextWaitSeconds({ elapsedSeconds: 1000, progress: 0, secondsToDeadline: 90 })).toBe(90);
    expect(nextWaitSeconds({ elapsedSeconds: 1000, progress: 0, secondsToDeadline: -5 })).toBe(1);
  });
});

describe('progressPercent', () => {
  it('reads the percentage EC2 reports', () => {
    expect(progressPercent('42%')).toBe(42);
    expect(progressPercent('100%')).toBe(100);
    expect(progressPercent('')).toBe(0);
    expect(progressPercent(undefined)).toBe(0);
  });
});
