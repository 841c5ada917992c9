import { RE2JS } from 're2js';

/**
 * Description and name patterns run on text that anyone who can create a snapshot or an AMI controls, so
 * they are matched with RE2 semantics (re2js): linear time in the text, whatever the pattern. A backtracking
 * engine (RegExp) takes seconds on `(a+)+$` and a few dozen characters. RE2 has no backreferences and no
 * lookaround; a pattern that uses them is refused at validation with RE2's reason (`patternProblem`).
 */

// Rules' patterns are validated to compile; each is compiled once per process, not once per event.
const compiled = new Map<string, RE2JS>();

function compile(pattern: string): RE2JS {
  let regex = compiled.get(pattern);
  if (regex === undefined) {
    regex = RE2JS.compile(pattern);
    compiled.set(pattern, regex);
  }
  return regex;
}

/** Why RE2 cannot compile a pattern (`invalid or unsupported Perl syntax: (?=`), or undefined when it can. */
export function patternProblem(pattern: string): string | undefined {
  try {
    compile(pattern);
    return undefined;
  } catch (error) {
    return (error as Error).message.replace(/^error parsing regexp: /, '');
  }
}

/** Whether a rule's regular expression (unanchored, as written in replication.yml) matches the text. */
export function patternMatches(pattern: string, text: string): boolean {
  return compile(pattern).matcher(text).find();
}
