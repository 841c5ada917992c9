/**
 * Which requests fail, and how: each request draws a fault at the configured rates, unless a script for its
 * operation says what the next ones get. Shared by the sandbox's S3 and EC2; each says which fault kinds
 * it has and where a kind applies.
 */
export class FaultSchedule<Kind extends string, Operation extends string> {
  private rates: Partial<Record<Kind, number>> = {};
  private readonly scripts = new Map<Operation, Kind[]>();
  readonly injected = new Map<Kind, number>();

  constructor(
    private readonly kinds: readonly Kind[],
    private readonly random: () => number = Math.random,
    /** Whether a fault of this kind can happen to this operation (a drawn one that cannot is no fault). */
    private readonly applies: (kind: Kind, operation: Operation) => boolean = () => true,
  ) {}

  /** Each request fails with these probabilities (0–1, summed at most 1). */
  setRates(rates: Partial<Record<Kind, number>>): void {
    const total = Object.values<number | undefined>(rates).reduce(
      (sum: number, rate) => sum + (rate ?? 0),
      0,
    );
    if (total > 1) throw new RangeError(`fault rates add up to ${total}, more than 1`);
    this.rates = { ...rates };
  }

  /** The next requests of `operation` fail with these faults, in order (before any rate applies). */
  script(operation: Operation, ...faults: Kind[]): void {
    const misplaced = faults.find((fault) => !this.applies(fault, operation));
    if (misplaced) throw new RangeError(`the fault "${misplaced}" cannot happen to ${operation}`);
    this.scripts.set(operation, [...(this.scripts.get(operation) ?? []), ...faults]);
  }

  clear(): void {
    this.rates = {};
    this.scripts.clear();
  }

  /** The fault for this request, if any. */
  next(operation: Operation): Kind | undefined {
    const fault = this.scripts.get(operation)?.shift() ?? this.drawn(operation);
    if (fault) this.injected.set(fault, (this.injected.get(fault) ?? 0) + 1);
    return fault;
  }

  private drawn(operation: Operation): Kind | undefined {
    let draw = this.random();
    for (const kind of this.kinds) {
      const rate = this.rates[kind] ?? 0;
      if (draw < rate) return this.applies(kind, operation) ? kind : undefined;
      draw -= rate;
    }
    return undefined;
  }
}

/** `name=rate,…` → rates, every name and number checked. */
export function parseFaultRates<Kind extends string>(
  text: string,
  kinds: readonly Kind[],
  what: string,
): Partial<Record<Kind, number>> {
  const rates: Partial<Record<Kind, number>> = {};
  for (const pair of text.split(',').filter(Boolean)) {
    const [name = '', value = ''] = pair.split('=');
    if (!(kinds as readonly string[]).includes(name)) {
      throw new Error(`unknown ${what} fault "${name}": expected one of ${kinds.join(', ')}`);
    }
    const rate = Number(value);
    if (!(rate >= 0 && rate <= 1))
      throw new Error(`fault rate of ${name} must be between 0 and 1, not "${value}"`);
    rates[name as Kind] = rate;
  }
  return rates;
}
