/** What each part of the demo verified by reading the replicas and copies back. */
export interface Check {
  ok: boolean;
  label: string;
  detail: string;
}

export interface DemoPartResult {
  checks: Check[];
  ok: boolean;
}

export const resultOf = (checks: Check[]): DemoPartResult => ({
  checks,
  ok: checks.every((check) => check.ok),
});

export function printChecks(checks: readonly Check[], print: (line: string) => void): void {
  for (const check of checks) print(`  ${check.ok ? '✔' : '✘'} ${check.label}: ${check.detail}`);
}

/** How a demo part prints, and controls what the pipeline's own lines (deliveries, executions) show. */
export interface Narrator {
  print(line?: string): void;
  /** Hold the pipeline's lines back until `release`, which prints `first` before them. */
  hold(): void;
  release(first?: readonly string[]): void;
  /** Only failures are shown while muted. */
  mute(muted: boolean): void;
  /** Show each step of the copies of this source volume. */
  trace(volumeId: string): void;
}

/** Same keys with the same values (tags, metadata). */
export const sameRecord = (a: Readonly<Record<string, unknown>>, b: Readonly<Record<string, unknown>>) =>
  Object.keys(a).length === Object.keys(b).length && Object.entries(b).every(([k, v]) => a[k] === v);

/** The sum of counts kept by kind: retries by state, faults injected by kind, failures by cause. */
export const total = (counts: ReadonlyMap<unknown, number>): number =>
  [...counts.values()].reduce((a, b) => a + b, 0);
