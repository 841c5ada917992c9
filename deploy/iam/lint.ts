/** Checks on any IAM policy, generated or written by hand: no write action on `*`. */

/** Describe*, Get* and List* actions only read; everything else (Put, Copy, Create, Delete, …) writes. */
export const isReadAction = (action: string): boolean =>
  /^[a-z0-9-]+:(Describe|Get|List)[A-Za-z0-9]/.test(action);

/** Any statement, ours or written by hand: `Action` and `Resource` may be a string or a list. */
export interface AnyStatement {
  Sid?: string;
  Action: string | readonly string[];
  Resource?: unknown;
}

const asList = <T>(value: T | readonly T[]): readonly T[] =>
  Array.isArray(value) ? (value as readonly T[]) : [value as T];

/**
 * Writes IAM can only grant on `*`: the Service Authorization Reference lists no resource type for them.
 * SendTaskSuccess ends the task a token names, and a token names no resource
 * (https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsstepfunctions.html); the
 * generated statement bounds it by Region (deploy/iam/copy-wait-statements.ts).
 */
export const WILDCARD_ONLY_WRITES: ReadonlySet<string> = new Set(['states:SendTaskSuccess']);

const onWildcard = (resource: unknown): boolean =>
  resource !== undefined && asList(resource).some((item) => item === '*');

/**
 * Every write action granted on `*`, as `function Sid: action`; empty when the policies keep the rule that
 * only reads (and the writes that have no resource, `WILDCARD_ONLY_WRITES`) may name every resource.
 */
export function writeActionsOnWildcard(
  policies: Readonly<Record<string, readonly AnyStatement[] | undefined>> | readonly AnyStatement[],
): string[] {
  const entries: [string, readonly AnyStatement[]][] = Array.isArray(policies)
    ? [['', policies as readonly AnyStatement[]]]
    : Object.entries(policies as Readonly<Record<string, readonly AnyStatement[] | undefined>>).map(
        ([fn, statements]) => [fn, statements ?? []],
      );
  return entries.flatMap(([fn, statements]) =>
    statements
      .filter((statement) => onWildcard(statement.Resource))
      .flatMap((statement) =>
        asList(statement.Action)
          .filter((action) => !isReadAction(action) && !WILDCARD_ONLY_WRITES.has(action))
          .map((action) => `${fn ? `${fn} ` : ''}${statement.Sid ?? '(no Sid)'}: ${action}`),
      ),
  );
}
