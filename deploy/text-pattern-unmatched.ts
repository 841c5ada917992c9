// What src/rules/text-pattern.ts is in the bundles of the functions that never match a description or name
// pattern (the object functions and the EC2 copy step: deploy/esbuild-plugins.cjs names them). Those patterns
// belong to snapshot and AMI rules, and only the snapshot and AMI routers match with them (snapshotCreated,
// imageAvailable, reconcile), so the RE2 engine (re2js, 150 kB of each bundle) stays in those three only.
//
// What this costs in validation, and why it is safe: a function built with this module still validates its
// whole rules file at init with the same schema, and refuses a corrupt one with InvalidConfigError, except
// that it does not compile the snapshot and AMI rules' patterns, which it never runs. They were compiled by
// RE2 when `npm run package` built the file (compileRules validates with the real module), and the three
// functions that run them compile them again at init, so a pattern edited into the packaged file by hand
// still fails the init of every function that would match with it, with its path.
import type * as realTextPattern from '#rules/text-pattern';

/** A router asked to match a pattern in a function bundled without RE2: a packaging error, never a miss. */
export class PatternEngineNotBundledError extends Error {
  constructor(pattern: string) {
    super(
      `this function was bundled without the RE2 engine (deploy/esbuild-plugins.cjs), yet matched the pattern ${JSON.stringify(pattern)}: take its entry off the list of functions that match no pattern`,
    );
    this.name = 'PatternEngineNotBundledError';
  }
}

/** Compiled by the package step and by the functions that match with it; not in this bundle. */
export const patternProblem: typeof realTextPattern.patternProblem = () => undefined;

export const patternMatches: typeof realTextPattern.patternMatches = (pattern) => {
  throw new PatternEngineNotBundledError(pattern);
};
