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

/**
 * One record of an SQS batch whose body is not the event its schema expects (not JSON, or a bad field):
 * it fails alone, named by its message id, and the rest of the batch goes on.
 */
export class MalformedRecordError extends Error {
  constructor(
    readonly messageId: string,
    readonly issues: { path: string; message: string }[],
  ) {
    super(
      `malformed record ${messageId}: ${issues.map((issue) => `${issue.path}: ${issue.message}`).join('; ')}`,
    );
    this.name = 'MalformedRecordError';
  }
}

type StandardIssue = { message: string; path?: readonly (PropertyKey | { key: PropertyKey })[] };

/** Schema issues (zod's, or a ParseError's cause) as field paths and messages. */
export const issuesOf = (issues: readonly StandardIssue[]): { path: string; message: string }[] =>
  issues.map((issue) => ({
    path:
      (issue.path ?? []).map((part) => String(typeof part === 'object' ? part.key : part)).join('.') ||
      '(event)',
    message: issue.message,
  }));

/** Powertools' ParseError carries the schema issues as its cause; this turns them into a readable error. */
export function toMalformedEventError(error: unknown): MalformedEventError | undefined {
  if (!(error instanceof Error) || error.name !== 'ParseError' || !Array.isArray(error.cause))
    return undefined;
  return new MalformedEventError(issuesOf(error.cause as StandardIssue[]), { cause: error });
}
