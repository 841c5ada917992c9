import { z } from 'zod';

/**
 * The one duration syntax of `replication.yml`: a whole number and a unit, `s`, `m`, `h` or `d`
 * ("90s", "15m", "1h", "2d"). A rule's `rpo` keeps the text as written (the compiled rules and the copy jobs
 * carry the rule and parse it again, so the schema must accept its own output); code that needs the length
 * asks `durationMs`.
 */

const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const DURATION = /^([1-9]\d{0,6})(s|m|h|d)$/;

/**
 * An RPO shorter than a minute could never be judged: EventBridge scheduled rules run at most once a minute
 * (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-scheduled-rule-pattern.html), and so does the
 * backlog monitor that reports items still pending at their deadline. A year is the longest a Standard
 * workflow runs (https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html), so no copy can
 * be pending longer.
 */
export const MIN_RPO_MS = 60_000;
export const MAX_RPO_MS = 365 * UNIT_MS.d;

/** A duration Ferry cannot read, or one outside what the setting allows. */
export class InvalidDurationError extends Error {
  constructor(
    readonly text: string,
    reason: string,
  ) {
    super(`"${text}" is not a duration Ferry accepts: ${reason}`);
    this.name = 'InvalidDurationError';
  }
}

/** "15m" → 900000. Throws InvalidDurationError for anything else. */
export function durationMs(text: string, bounds: { minMs?: number; maxMs?: number } = {}): number {
  const match = DURATION.exec(text.trim());
  if (!match)
    throw new InvalidDurationError(
      text,
      'expected a whole number and a unit: s, m, h or d (e.g. 15m, 1h, 2d)',
    );
  const [, amount, unit] = match;
  const ms = Number(amount) * UNIT_MS[unit as keyof typeof UNIT_MS];
  if (bounds.minMs !== undefined && ms < bounds.minMs)
    throw new InvalidDurationError(text, `expected at least ${formatDuration(bounds.minMs)}`);
  if (bounds.maxMs !== undefined && ms > bounds.maxMs)
    throw new InvalidDurationError(text, `expected at most ${formatDuration(bounds.maxMs)}`);
  return ms;
}

/** 900000 → "15m"; the largest unit that divides the length, so it reads back to the same length. */
export function formatDuration(ms: number): string {
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    if (ms >= UNIT_MS[unit] && ms % UNIT_MS[unit] === 0) return `${ms / UNIT_MS[unit]}${unit}`;
  }
  return `${Math.round(ms / 1000)}s`;
}

/** A human reading of an age: "17m04s", "2h05m", "3d04h", "12s". */
export function describeAge(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  const pad = (n: number) => String(n).padStart(2, '0');
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m${pad(seconds % 60)}s`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)}h${pad(Math.floor((seconds % 3600) / 60))}m`;
  return `${Math.floor(seconds / 86_400)}d${pad(Math.floor((seconds % 86_400) / 3600))}h`;
}

/** `rpo:` of a rule: a duration from 1m to 365d, kept as written. */
export const rpoSchema = z.string().superRefine((text, ctx) => {
  try {
    durationMs(text, { minMs: MIN_RPO_MS, maxMs: MAX_RPO_MS });
  } catch (error) {
    if (!(error instanceof InvalidDurationError)) throw error;
    ctx.addIssue({ code: 'custom', message: error.message });
  }
});

/** The RPO of a rule that sets one, in ms; undefined when it sets none. */
export const rpoMsOf = (rule: { rpo?: string | undefined }): number | undefined =>
  rule.rpo === undefined ? undefined : durationMs(rule.rpo);
