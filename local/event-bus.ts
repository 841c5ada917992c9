import type { EventPattern } from '#rules/event-patterns';
import { matchesPattern } from './event-pattern.ts';

/** A Lambda function subscribed to the bus, as an EventBridge rule with its target. */
export interface BusTarget {
  name: string;
  patterns: EventPattern[];
  invoke(event: unknown): Promise<unknown>;
}

export interface Delivery {
  target: string;
  event: unknown;
  attempt: number;
  result?: unknown;
  error?: Error;
}

export interface EventBusOptions {
  targets: BusTarget[];
  /** Lambda's asynchronous invocation retries a failed event twice before it goes to the dead letters. */
  retries?: number;
  retryDelayMs?: number;
  onDelivery?: (delivery: Delivery) => void;
  /** Draws for `setDropRate` (seeded in the sandbox, so the same events are lost from run to run). */
  random?: () => number;
}

/**
 * The sandbox's EventBridge + asynchronous Lambda invocation: every event is matched against each target's
 * patterns and delivered to the real handler; failures are retried, then kept as dead letters.
 */
export class EventBus {
  readonly deadLetters: Delivery[] = [];
  readonly published: unknown[] = [];
  /**
   * Events lost while the bus was paused, or drawn by the drop rate (for tests of catching up: they reach
   * no target).
   */
  readonly dropped: unknown[] = [];
  private paused = false;
  private dropRate = 0;
  private readonly pending = new Set<Promise<void>>();
  private readonly retries: number;
  private readonly retryDelayMs: number;

  constructor(private readonly options: EventBusOptions) {
    this.retries = options.retries ?? 2;
    this.retryDelayMs = options.retryDelayMs ?? 20;
  }

  /** Loses every event published from now on until `resume()`, as if EventBridge never delivered them. */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
  }

  /**
   * Loses this share (0–1) of the events that some target's patterns match, drawn per event: EventBridge
   * delivery is at least once in principle, but S3 and EC2 events do get lost (the reconcile pass is for
   * them). Events no target matches are not drawn, so the draws, and `dropped`, only concern deliveries.
   */
  setDropRate(rate: number): void {
    if (!(rate >= 0 && rate <= 1)) throw new RangeError(`drop rate must be between 0 and 1, not ${rate}`);
    this.dropRate = rate;
  }

  /** Publishes an event; delivery is asynchronous, as in AWS. */
  put(event: unknown): void {
    if (this.paused) {
      this.dropped.push(event);
      return;
    }
    const targets = this.options.targets.filter((target) =>
      target.patterns.some((pattern) => matchesPattern(event, pattern)),
    );
    if (targets.length > 0 && this.dropRate > 0 && (this.options.random ?? Math.random)() < this.dropRate) {
      this.dropped.push(event);
      return;
    }
    this.published.push(event);
    for (const target of targets) {
      const delivery = this.deliver(target, event);
      this.pending.add(delivery);
      void delivery.finally(() => this.pending.delete(delivery));
    }
  }

  /**
   * An asynchronous Lambda invocation of one target (what `lambda:Invoke` with `InvocationType: Event` does):
   * accepted at once, handled with the same retries, a dead letter if it still fails. False: no such target.
   */
  invokeAsync(targetName: string, event: unknown): boolean {
    const target = this.options.targets.find((candidate) => candidate.name === targetName);
    if (!target) return false;
    const delivery = this.deliver(target, event);
    this.pending.add(delivery);
    void delivery.finally(() => this.pending.delete(delivery));
    return true;
  }

  get pendingDeliveries(): number {
    return this.pending.size;
  }

  /** Resolves once every delivery, including those of events published meanwhile, has settled. */
  async drain(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  private async deliver(target: BusTarget, event: unknown): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        const result = await target.invoke(structuredClone(event));
        this.options.onDelivery?.({ target: target.name, event, attempt, result });
        return;
      } catch (error) {
        const delivery = { target: target.name, event, attempt, error: error as Error };
        this.options.onDelivery?.(delivery);
        if (attempt > this.retries) {
          this.deadLetters.push(delivery);
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, this.retryDelayMs * attempt));
      }
    }
  }
}
