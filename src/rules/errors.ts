import type { EventPattern } from './event-patterns.ts';

/** Every error of the rules: a configuration that cannot be loaded, a template, a pattern too large. */

/** One thing wrong with a configuration, located by its path (`rules[1].to[0].storageClass`). */
export interface ConfigIssue {
  path: string;
  message: string;
}

/**
 * Validating rules, and loading them as the deployed functions do: from JSON that `npm run package` compiled
 * from replication.yml. Nothing here reads YAML, so a function's bundle carries no YAML parser (115 kB, and
 * about 17 ms of a cold init to parse the file). The YAML side is `load.ts`.
 */

export class InvalidConfigError extends Error {
  constructor(
    readonly source: string,
    readonly issues: ConfigIssue[],
  ) {
    super(
      `${source} is not a valid Ferry configuration:\n${issues.map((i) => `  ${i.path}: ${i.message}`).join('\n')}`,
    );
    this.name = 'InvalidConfigError';
  }
}

export class TemplateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TemplateError';
  }
}

export class EventPatternTooLargeError extends Error {
  override name = 'EventPatternTooLargeError';
  constructor(
    readonly size: number,
    readonly limit: number,
    readonly pattern: EventPattern,
  ) {
    super(
      `an event pattern of ${size} characters cannot be split below EventBridge's limit of ${limit}: ${JSON.stringify(pattern).slice(0, 200)}…`,
    );
  }
}
