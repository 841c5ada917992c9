/** An event the handler's schema rejects; the message names each bad field, e.g. `detail.object.size`. */
export class MalformedEventError extends Error {
  constructor(
    readonly issues: { path: string; message: string }[],
    options?: ErrorOptions,
  ) {
    super(`malformed event: ${issues.map((issue) => `${issue.path}: ${issue.message}`).join('; ')}`, options);
    this.name = 'MalformedEventError';
  }
}

type StandardIssue = { message: string; path?: readonly (PropertyKey | { key: PropertyKey })[] };

/** Powertools' ParseError carries the schema issues as its cause; this turns them into a readable error. */
export function toMalformedEventError(error: unknown): MalformedEventError | undefined {
  if (!(error instanceof Error) || error.name !== 'ParseError' || !Array.isArray(error.cause))
    return undefined;
  const issues = (error.cause as StandardIssue[]).map((issue) => ({
    path:
      (issue.path ?? []).map((part) => String(typeof part === 'object' ? part.key : part)).join('.') ||
      '(event)',
    message: issue.message,
  }));
  return new MalformedEventError(issues, { cause: error });
}
