import { describe, expect, it } from 'vitest';
import { sandboxRpoMonitor } from '#local/rpo-monitor';
import { VirtualClock } from '#local/virtual-clock';
import { judgedWindow, MONITOR_WINDOW_MS } from '#rpo/threshold';

const HOUR = Date.UTC(2026, 11, 4, 22, 0, 0);
const MINUTE = MONITOR_WINDOW_MS;

/** Lets the woken passes (promise callbacks, the recording pass) run. */
const turns = async (count = 20) => {
  for (let i = 0; i < count; i += 1) await new Promise((resolve) => setImmediate(resolve));
};

/** The RPO monitor's scheduled passes on a clock that moves only when told; each pass records what it judged. */
function monitorOn(start: number) {
  const clock = new VirtualClock(() => start);
  const judged: number[] = [];
  const monitor = sandboxRpoMonitor({
    clock,
    run: async (at) => {
      const window = judgedWindow(at ?? clock.now());
      judged.push(window.start);
      return { window, missed: 0, pending: 0, deadLetters: 0, unroutable: {}, ended: 0 };
    },
  });
  return { clock, judged, stop: monitor.start() };
}

describe('the sandbox scheduled passes (the RPO monitor every minute)', () => {
  it('judges every window a jump of the clock passes, even one that starts just after nothing ran', async () => {
    // 22:00:00.050: the sweep has just ended the last waits, nothing runs. Then a copy starts and waits
    // five minutes (a retry's backoff): the runner jumps to its wake-up.
    const { clock, judged, stop } = monitorOn(HOUR + 50);
    await turns();
    const waited = clock.until(HOUR + 5 * MINUTE + 50).then(() => 'woken');
    let result: string | undefined;
    void waited.then((value) => {
      result = value;
    });
    while (result === undefined) {
      expect(clock.wakeNext()).toBe(true);
      await turns();
    }
    stop();
    // Each window from 22:00 to 22:05 judged once, in order, as the every-minute schedule would.
    expect(judged).toEqual([0, 1, 2, 3, 4].map((minute) => HOUR + minute * MINUTE));
  });

  it('a window the clock was moved past at once (an SDK retry advance) is judged as its own', async () => {
    const { clock, judged, stop } = monitorOn(HOUR + 30_000);
    await turns();
    clock.advance(3 * MINUTE);
    await turns();
    stop();
    expect(judged).toEqual([HOUR, HOUR + MINUTE, HOUR + 2 * MINUTE]);
  });

  it('a schedule alone never makes the clock jump', async () => {
    const { clock, judged, stop } = monitorOn(HOUR + 50);
    await turns();
    expect(clock.sleepers).toBe(0);
    expect(clock.wakeNext()).toBe(false);
    await turns();
    stop();
    expect(clock.now()).toBe(HOUR + 50);
    expect(judged).toEqual([]);
  });
});
