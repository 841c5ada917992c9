/** Every error of reconcile and backfill, named by what went wrong in the request. */

export class UnknownRuleError extends Error {
  constructor(
    readonly rule: string,
    readonly known: readonly string[],
  ) {
    super(
      `no rule is named "${rule}"; the rules are: ${known.map((name) => `"${name}"`).join(', ') || '(none)'}`,
    );
    this.name = 'UnknownRuleError';
  }
}

export class InvalidResumeTokenError extends Error {
  constructor(token: string) {
    super(`resume token "${token}" is not one a reconcile pass returned`);
    this.name = 'InvalidResumeTokenError';
  }
}

/** What a listing lists: `what` names it; `bucket`, the bucket of an S3 listing. */
export interface ListingTarget {
  what: string;
  bucket?: string;
}

/** A listing reconcile relies on (sources or replicas) that failed for good; `target` says which. */
export class ListingFailedError extends Error {
  readonly what: string;
  readonly bucket: string | undefined;
  constructor(target: ListingTarget, cause: unknown) {
    const { what } = target;
    super(`listing of ${what} failed: ${(cause as Error)?.message ?? String(cause)}`, { cause });
    this.name = 'ListingFailedError';
    this.what = what;
    this.bucket = target.bucket;
  }
}
