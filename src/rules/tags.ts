/** Tags as a plain map, the way routers compare them. */
export type Tags = Readonly<Record<string, string>>;

/**
 * Every required tag is present with exactly its value; other tags do not matter. No requirement matches all.
 * Keys are looked up as own properties: a tag named `constructor` or `toString` is a tag like any other, never
 * something inherited from Object.prototype, and `__proto__` is kept as a key by exactRecord and
 * Object.fromEntries, which build these maps.
 */
export function tagsMatch(required: Tags | undefined, tags: Tags): boolean {
  return Object.entries(required ?? {}).every(
    ([key, value]) => Object.hasOwn(tags, key) && tags[key] === value,
  );
}
