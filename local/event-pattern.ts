import { type EventPattern, OR, type PatternValue } from '#rules/event-patterns';

/** Names EventBridge reserves for matchers: an object using one is a matcher, never an alternative. */
const MATCHER_NAMES = new Set([
  'prefix',
  'suffix',
  'exists',
  'numeric',
  'anything-but',
  'cidr',
  'equals-ignore-case',
  'wildcard',
]);

/**
 * EventBridge content filtering for the patterns Ferry generates: value lists, prefix, suffix and exists
 * matchers, nested fields, and `$or`. A field's list matches when any entry matches (arrays in events: any
 * element). Fields at one level must all match; `$or` at a level matches when one of its alternatives
 * matches that same level. As in AWS's matcher (aws/event-ruler, which EventBridge's patterns follow),
 * `$or` means alternatives only as an array of two or more objects that are not matchers; otherwise it is
 * an ordinary field name.
 * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html
 */
export function matchesPattern(event: unknown, pattern: EventPattern): boolean {
  return Object.entries(pattern).every(([field, expected]) => {
    if (field === OR && isAlternatives(expected))
      return expected.some((alternative) => matchesPattern(event, alternative));
    const value = isRecord(event) ? event[field] : undefined;
    if (Array.isArray(expected)) return matchesValues(value, expected as PatternValue[]);
    return isRecord(value) && matchesPattern(value, expected);
  });
}

function isAlternatives(expected: unknown): expected is EventPattern[] {
  return (
    Array.isArray(expected) &&
    expected.length >= 2 &&
    expected.every(
      (alternative) =>
        isRecord(alternative) && !Object.keys(alternative).some((key) => MATCHER_NAMES.has(key)),
    )
  );
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
