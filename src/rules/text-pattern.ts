// Rules' patterns are validated to compile; each is compiled once per process, not once per event.
const compiled = new Map<string, RegExp>();

/** Whether a rule's regular expression (unanchored, as written in replication.yml) matches the text. */
export function patternMatches(pattern: string, text: string): boolean {
  let regex = compiled.get(pattern);
  if (regex === undefined) {
    regex = new RegExp(pattern);
    compiled.set(pattern, regex);
  }
  return regex.test(text);
}
