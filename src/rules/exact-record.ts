import { z } from 'zod';

/**
 * A map of strings that keeps every key exactly as written: `z.record` for maps read from YAML, JSON or
 * an event. zod's own record builds its output by assignment (`out[key] = value`), and assigning `__proto__`
 * sets the object's prototype instead of adding a key, so a tag filter `{ __proto__: y }` validated and then
 * required nothing. S3 and EC2 both accept `__proto__` (and `constructor`, `toString`…) as tag keys, so the
 * key is kept rather than refused: the output is built with Object.fromEntries, which defines own properties,
 * and readers look keys up as own properties (see tags.ts).
 *
 * Issues are reported at the entry's key, like z.record's: a refused key with the key schema's message, a
 * refused value with the value schema's issues.
 */
export function exactRecord<Value extends z.ZodType<string, unknown>>(
  keySchema: z.ZodType<string, string>,
  valueSchema: Value,
) {
  return z.unknown().transform((input, ctx): Record<string, z.output<Value>> => {
    if (typeof input !== 'object' || input === null || Array.isArray(input)) {
      ctx.addIssue({
        code: 'invalid_type',
        expected: 'record',
        input,
        message: `expected a mapping of keys to values, received ${Array.isArray(input) ? 'a list' : input === null ? 'null' : typeof input}`,
      });
      return z.NEVER;
    }
    const entries: [string, z.output<Value>][] = [];
    for (const [key, value] of Object.entries(input)) {
      const parsedKey = keySchema.safeParse(key);
      if (!parsedKey.success) {
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: parsedKey.error.issues.map((issue) => issue.message).join('; '),
        });
      }
      const parsedValue = valueSchema.safeParse(value);
      if (parsedValue.success) entries.push([key, parsedValue.data]);
      else
        for (const issue of parsedValue.error.issues)
          ctx.addIssue({ code: 'custom', path: [key, ...issue.path], message: issue.message });
    }
    return Object.fromEntries(entries);
  });
}
