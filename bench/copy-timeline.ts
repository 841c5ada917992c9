// The timeline of one Ferry copy (bench/ferry-copy.ts --timeline), summed up: where the time between the
// first S3 request and the last answer goes, beyond the S3 requests themselves (`objects --timeline`).

export interface TimelineEntry {
  kind: 's3' | 'step';
  name: string;
  /** ms from the copier's start */
  start: number;
  end: number;
  /** The step invocation (a request's, or the step's own number). */
  step?: number;
}

const ms = (value: number) => `${value.toFixed(1)} ms`;

/** The time `entries` cover together (overlaps counted once). */
function covered(entries: readonly TimelineEntry[]): number {
  let total = 0;
  let until = Number.NEGATIVE_INFINITY;
  for (const { start, end } of [...entries].sort((a, b) => a.start - b.start)) {
    if (end <= until) continue;
    total += end - Math.max(start, until);
    until = end;
  }
  return total;
}

/** One line per step invocation (its S3 requests, and the time in it outside them), then the gaps. */
export function summarizeTimeline(entries: readonly TimelineEntry[]): string[] {
  const requests = entries.filter((entry) => entry.kind === 's3');
  const steps = entries.filter((entry) => entry.kind === 'step' && entry.name !== 'execution');
  const lines: string[] = [];
  const first = Math.min(...requests.map((r) => r.start));
  const last = Math.max(...requests.map((r) => r.end));
  lines.push(`S3 span ${ms(last - first)} (first request at ${ms(first)} after the copier's start)`);
  let previousEnd: number | undefined;
  for (const step of steps) {
    const inside = requests.filter((r) => r.step === step.step);
    const byName = new Map<string, TimelineEntry[]>();
    for (const request of inside) byName.set(request.name, [...(byName.get(request.name) ?? []), request]);
    const detail = [...byName]
      .map(([name, list]) => {
        const at = (values: number[]) =>
          `${ms(Math.min(...values) - step.start)}–${ms(Math.max(...values) - step.start)}`;
        return `${name} ×${list.length} sent ${at(list.map((r) => r.start))}, answered ${at(list.map((r) => r.end))}`;
      })
      .join(', ');
    const gap =
      previousEnd === undefined || step.start < previousEnd ? '' : ` (gap ${ms(step.start - previousEnd)})`;
    lines.push(
      `  ${step.name.padEnd(11)} ${ms(step.start)}–${ms(step.end)}${gap}: outside S3 ${ms(step.end - step.start - covered(inside))}; ${detail}`,
    );
    previousEnd = Math.max(previousEnd ?? 0, step.end);
  }
  const batches = steps.filter((step) => step.name === 'copy-parts');
  if (batches.length > 0) {
    const starts = batches.map((b) => b.start);
    lines.push(`  batches started within ${ms(Math.max(...starts) - Math.min(...starts))}`);
  }
  const outsideSteps = requests.filter((r) => r.step === undefined);
  const firstStep = Math.min(...steps.map((s) => s.start));
  lines.push(
    `  before the first step (the event's HEAD ${ms(covered(outsideSteps))}, then the interpreter's start): ${ms(firstStep - first)}; S3 requests cover ${ms(covered(requests))} of the span, steps ${ms(covered(steps))}`,
  );
  return lines;
}
