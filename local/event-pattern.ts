import type { EventPattern, PatternValue } from '#rules/event-patterns';

/**
 * EventBridge content filtering for the patterns Ferry generates: value lists, prefix, suffix and exists
 * matchers, nested fields. A field's list matches when any entry matches (arrays in events: any element).
 */
export function matchesPattern(event: unknown, pattern: EventPattern): boolean {
  return Object.entries(pattern).every(([field, expected]) => {
    const value = isRecord(event) ? event[field] : undefined;
    if (Array.isArray(expected)) return matchesValues(value, expected);
    return isRecord(value) && matchesPattern(value, expected);
  });
}

function matchesValues(value: unknown, expected: PatternValue[]): boolean {
  const values = Array.isArray(value) ? value : [value];
  return expected.some((matcher) => {
    if (isRecord(matcher)) {
      if ('exists' in matcher) return matcher.exists === (value !== undefined);
      if (value === undefined) return false;
      if ('prefix' in matcher)
        return values.some((v) => typeof v === 'string' && v.startsWith(matcher.prefix));
      if ('suffix' in matcher) return values.some((v) => typeof v === 'string' && v.endsWith(matcher.suffix));
      return false;
    }
    return values.some((v) => v === matcher);
  });
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
