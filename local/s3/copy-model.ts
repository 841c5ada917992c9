/**
 * Benchmarks: how long S3 would take to copy bytes server-side (CopyObject, UploadPartCopy). Two limits, as
 * in S3: each copy request moves its bytes at most at `requestBytesPerSecond`, and all the copies between
 * one source bucket and one destination bucket share `pairBytesPerSecond`. Requests between a pair share
 * that rate equally (processor sharing), each still capped at the per-request rate, so more parts in flight
 * help only until the pair's rate is used up. AWS publishes request-rate limits (3,500 PUT/COPY per second
 * per partitioned prefix), not byte rates: both rates are the benchmark's assumptions, stated there.
 * The answers' lateness (local work that outlasted the modelled time) is kept, so a benchmark can show the
 * model, not the sandbox, set the pace.
 */

export interface CopyModelOptions {
  /** Per copy request (unlimited when unset or 0). */
  requestBytesPerSecond?: number;
  /** Per source and destination bucket pair, shared by its requests (unlimited when unset or 0). */
  pairBytesPerSecond?: number;
}

export interface CopyModelStats {
  requests: number;
  /** Sum over requests of the modelled copy time. */
  modelledSeconds: number;
  /** Requests answered more than 50 ms after their modelled end, because the local work took longer. */
  lateRequests: number;
  /** Sum of how late every request was (0 for those on time). */
  lateSeconds: number;
}

interface Transfer {
  remaining: number;
  finish: (endedAt: number) => void;
}

const LATE_MS = 50;

export class CopyModel {
  private readonly pairs = new Map<string, { active: Set<Transfer>; at: number; timer?: NodeJS.Timeout }>();
  private totals: CopyModelStats = { requests: 0, modelledSeconds: 0, lateRequests: 0, lateSeconds: 0 };

  constructor(private readonly options: CopyModelOptions) {}

  get limited(): boolean {
    return Boolean(this.options.requestBytesPerSecond || this.options.pairBytesPerSecond);
  }

  /** Resolves with the time (performance.now()) at which the modelled copy of `bytes` ends. */
  transfer(sourceBucket: string, destinationBucket: string, bytes: number): Promise<number> {
    if (!this.limited || bytes <= 0) return Promise.resolve(performance.now());
    const key = `${sourceBucket}\n${destinationBucket}`;
    let pair = this.pairs.get(key);
    if (!pair) {
      pair = { active: new Set(), at: performance.now() };
      this.pairs.set(key, pair);
    }
    const current = pair;
    return new Promise<number>((resolve) => {
      this.advance(current);
      current.active.add({
        remaining: bytes,
        finish: (endedAt) => resolve(endedAt),
      });
      this.schedule(current);
    });
  }

  /** Records one answer: `modelledEnd` from transfer(), `startedAt` when the request began. */
  answered(startedAt: number, modelledEnd: number): void {
    const late = Math.max(0, performance.now() - modelledEnd);
    this.totals.requests += 1;
    this.totals.modelledSeconds += (modelledEnd - startedAt) / 1000;
    this.totals.lateSeconds += late / 1000;
    if (late > LATE_MS) this.totals.lateRequests += 1;
  }

  stats(): CopyModelStats {
    return { ...this.totals };
  }

  reset(): void {
    this.totals = { requests: 0, modelledSeconds: 0, lateRequests: 0, lateSeconds: 0 };
  }

  /** Bytes per second each of `n` requests gets. */
  private rateOf(n: number): number {
    const { requestBytesPerSecond: perRequest = 0, pairBytesPerSecond: perPair = 0 } = this.options;
    const shared = perPair ? perPair / n : Number.POSITIVE_INFINITY;
    return Math.min(perRequest || Number.POSITIVE_INFINITY, shared);
  }

  /** Moves every active transfer on by the time since the pair was last looked at; ends the finished. */
  private advance(pair: { active: Set<Transfer>; at: number }): void {
    const now = performance.now();
    const moved = (this.rateOf(pair.active.size) * (now - pair.at)) / 1000;
    pair.at = now;
    for (const transfer of pair.active) {
      transfer.remaining -= moved;
      // Within a byte: floating point, and a timer that fires a little early.
      if (transfer.remaining <= 1) {
        pair.active.delete(transfer);
        transfer.finish(now);
      }
    }
  }

  private schedule(pair: { active: Set<Transfer>; at: number; timer?: NodeJS.Timeout }): void {
    clearTimeout(pair.timer);
    if (pair.active.size === 0) return;
    const least = Math.min(...[...pair.active].map((transfer) => transfer.remaining));
    const ms = (least / this.rateOf(pair.active.size)) * 1000;
    pair.timer = setTimeout(
      () => {
        this.advance(pair);
        this.schedule(pair);
      },
      Math.max(0, ms),
    );
  }
}
