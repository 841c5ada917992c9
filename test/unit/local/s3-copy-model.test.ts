import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CopyModel } from '#local/s3/copy-model';

/** The benchmark's model of S3's copy rates, on fake timers: when each modelled copy ends. */
describe('sandbox S3 copy model', () => {
  beforeEach(() => vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] }));
  afterEach(() => vi.useRealTimers());

  /** Starts transfers and returns, for each, the virtual ms at which it ended (undefined while running). */
  function track(model: CopyModel, transfers: { from: string; to: string; bytes: number }[]) {
    const ended: (number | undefined)[] = transfers.map(() => undefined);
    const t0 = performance.now();
    transfers.forEach(({ from, to, bytes }, index) => {
      void model.transfer(from, to, bytes).then((at) => {
        ended[index] = Math.round(at - t0);
      });
    });
    return ended;
  }

  it('caps each request at the per-request rate when the pair has room', async () => {
    const model = new CopyModel({ requestBytesPerSecond: 1000, pairBytesPerSecond: 10_000 });
    const ended = track(model, [
      { from: 'a', to: 'b', bytes: 1000 },
      { from: 'a', to: 'b', bytes: 2000 },
    ]);
    await vi.advanceTimersByTimeAsync(999);
    expect(ended).toEqual([undefined, undefined]);
    await vi.advanceTimersByTimeAsync(1001);
    expect(ended).toEqual([1000, 2000]);
  });

  it('shares the pair rate among requests in flight, so more parts stop helping once it is used up', async () => {
    const model = new CopyModel({ requestBytesPerSecond: 1000, pairBytesPerSecond: 1000 });
    // Two of 1,000 bytes share 1,000 B/s: both end at 2 s, not 1 s; alone, one ends at 1 s.
    const ended = track(model, [
      { from: 'a', to: 'b', bytes: 1000 },
      { from: 'a', to: 'b', bytes: 1000 },
    ]);
    await vi.advanceTimersByTimeAsync(1500);
    expect(ended).toEqual([undefined, undefined]);
    await vi.advanceTimersByTimeAsync(500);
    expect(ended).toEqual([2000, 2000]);
  });

  it('gives the remaining requests the rate a finished one leaves', async () => {
    const model = new CopyModel({ pairBytesPerSecond: 1000 });
    // 500 B and 1,500 B at 500 B/s each: the first ends at 1 s; the second has 1,000 B left, alone at 1,000 B/s.
    const ended = track(model, [
      { from: 'a', to: 'b', bytes: 500 },
      { from: 'a', to: 'b', bytes: 1500 },
    ]);
    await vi.advanceTimersByTimeAsync(2100);
    expect(ended).toEqual([1000, 2000]);
  });

  it('keeps bucket pairs apart: another pair does not slow this one', async () => {
    const model = new CopyModel({ pairBytesPerSecond: 1000 });
    const ended = track(model, [
      { from: 'a', to: 'b', bytes: 1000 },
      { from: 'a', to: 'c', bytes: 1000 },
    ]);
    await vi.advanceTimersByTimeAsync(1100);
    expect(ended).toEqual([1000, 1000]);
  });

  it('counts an answer that came after its modelled end as late', async () => {
    const model = new CopyModel({ requestBytesPerSecond: 1000 });
    const startedAt = performance.now();
    const end = model.transfer('a', 'b', 100);
    await vi.advanceTimersByTimeAsync(100);
    const modelledEnd = await end;
    await vi.advanceTimersByTimeAsync(400);
    model.answered(startedAt, modelledEnd);
    expect(model.stats()).toEqual({ requests: 1, modelledSeconds: 0.1, lateRequests: 1, lateSeconds: 0.4 });
  });
});
