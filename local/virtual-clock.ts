/**
 * The sandbox's time. Waits and retry backoff do not sleep in real time: a waiting execution asks for a
 * wake-up on this clock, and when every execution is waiting (nothing else is under way) the clock jumps to
 * the earliest wake-up. So a six-hour retry schedule or a 48 h copy runs in moments, while every duration —
 * and every overlap between concurrent copies — is the one AWS would have seen.
 */
export class VirtualClock {
  private offsetMs = 0;
  private readonly timers: { at: number; wake: () => void; passive?: boolean }[] = [];
  /** Called when a wake-up is requested: the owner decides whether everything is waiting. */
  onSleep?: () => void;

  constructor(private readonly realNow: () => number = Date.now) {}

  now = (): number => this.realNow() + this.offsetMs;

  /** Moves time forward (e.g. an SDK retry delay) and wakes what has become due. */
  advance(ms: number): void {
    if (ms > 0) this.offsetMs += ms;
    this.wakeDue();
  }

  /**
   * Resolves once the clock reaches `at`: at once if it has, else when the clock is moved there. A
   * `passive` wake-up (a scheduled pass) is not a sleeper: it never makes the clock jump by itself, but a
   * jump to a later wake-up stops at it first, so nothing scheduled is passed over.
   */
  until(at: number, options: { passive?: boolean } = {}): Promise<void> {
    if (at <= this.now()) return Promise.resolve();
    return new Promise((wake) => {
      this.timers.push({ at, wake, ...(options.passive ? { passive: true } : {}) });
      if (!options.passive) this.onSleep?.();
    });
  }

  /**
   * As `until`, but the wake-up can be withdrawn (a task token's timeout once the token came): a withdrawn
   * wake-up neither resolves nor keeps the clock from being idle.
   */
  cancellableUntil(at: number): { done: Promise<void>; cancel: () => void } {
    if (at <= this.now()) return { done: Promise.resolve(), cancel: () => {} };
    let timer: { at: number; wake: () => void } | undefined;
    const done = new Promise<void>((wake) => {
      timer = { at, wake };
      this.timers.push(timer);
      this.onSleep?.();
    });
    return {
      done,
      cancel: () => {
        const index = timer ? this.timers.indexOf(timer) : -1;
        if (index >= 0) this.timers.splice(index, 1);
      },
    };
  }

  /** The wake-ups that are waited on (passive ones are not). */
  get sleepers(): number {
    return this.timers.filter((timer) => !timer.passive).length;
  }

  /**
   * Jumps to the earliest wake-up, passive ones included, and wakes everything due then. False when
   * nothing is waiting.
   */
  wakeNext(): boolean {
    if (this.sleepers === 0) return false;
    const earliest = Math.min(...this.timers.map((timer) => timer.at));
    this.advance(earliest - this.now());
    return true;
  }

  private wakeDue(): void {
    const now = this.now();
    for (let i = this.timers.length - 1; i >= 0; i -= 1) {
      const timer = this.timers[i];
      if (timer && timer.at <= now) {
        this.timers.splice(i, 1);
        timer.wake();
      }
    }
  }

  /** How far the clock has run ahead of real time. */
  get skippedMs(): number {
    return this.offsetMs;
  }
}

/** A small deterministic generator (mulberry32), so jittered schedules repeat from run to run. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
