/** Tags as a plain map, the way routers compare them. */
export type Tags = Readonly<Record<string, string>>;

/** Every required tag is present with exactly its value; other tags do not matter. No requirement matches all. */
export function tagsMatch(required: Tags | undefined, tags: Tags): boolean {
  return Object.entries(required ?? {}).every(([key, value]) => tags[key] === value);
}
