// zod's core by its own subpath, not as `z.core`: a nested namespace read through `z` keeps all of zod's
// core in every bundle (its locales and JSON Schema code, 325 kB), which esbuild cannot shake.
import { type $ZodErrorMap, $ZodObject } from 'zod/v4/core';
import { closest } from './closest.ts';

/**
 * Every object of the rules schema is strict, so a typo in a key is an error; these make that error say
 * which key was meant, at any depth: `rules[0].to[0]: unknown key "keyprefix" (keys are case-sensitive);
 * did you mean `keyPrefix`?`.
 */

/** What is said of keys a mapping may not have, given the keys it may have and does not. */
export function unknownKeysMessage(keys: readonly string[], known: readonly string[]): string {
  const named = keys.map((key) => `"${key}"`).join(', ');
  const suggestions = keys.flatMap((key) => {
    const meant = closest(key, known);
    return meant === undefined ? [] : [{ key, meant }];
  });
  const message = `unknown key${keys.length === 1 ? '' : 's'} ${named} (keys are case-sensitive)`;
  if (suggestions.length === 0) return message;
  if (keys.length === 1) return `${message}; did you mean \`${suggestions[0]?.meant}\`?`;
  return `${message}; did you mean ${suggestions.map(({ key, meant }) => `\`${meant}\` for "${key}"`).join(', ')}?`;
}

const keysOf = (input: unknown): string[] =>
  typeof input === 'object' && input !== null && !Array.isArray(input) ? Object.keys(input) : [];

/**
 * A zod error map (given to `safeParse` as `error`) for the unknown keys of a strict object: zod's issue
 * carries the object schema that refused them (`inst`), so the keys it knows are its shape's, less those the
 * input already has (a key written twice, once wrong, should not be suggested again). Other issues keep
 * their messages.
 */
export const explainUnknownKeys: $ZodErrorMap = (issue) => {
  if (issue.code !== 'unrecognized_keys' || !(issue.inst instanceof $ZodObject)) return undefined;
  const present = new Set(keysOf(issue.input));
  const known = Object.keys(issue.inst._zod.def.shape).filter((key) => !present.has(key));
  return unknownKeysMessage(issue.keys, known);
};
