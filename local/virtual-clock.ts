/**
 * The sandbox's time. Waits and retry backoff do not sleep: they move this clock forward, so a six-hour
 * retry schedule runs in moments while every duration it reports is the one AWS would have taken.
 */
export class VirtualClock {
  private offsetMs = 0;

  constructor(private readonly realNow: () => number = Date.now) {}

  now = (): number => this.realNow() + this.offsetMs;

  advance(ms: number): void {
    if (ms > 0) this.offsetMs += ms;
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
