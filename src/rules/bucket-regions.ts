import type { RuleGraphIssue } from './loop-check.ts';
import type { ObjectRule } from './schema.ts';

/**
 * A bucket lives in one Region (https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingBucket.html), and
 * Ferry sends each request for it there: S3 refuses one signed for another Region. So every rule that names
 * a bucket must name the same Region for it: as a source (`objects.region`) and as a destination (`region`).
 * A source without `objects.region` is in the home Region, which the rules do not know (it is where the stack
 * deploys): only a source that leaves it unset while another rule names one is refused, since one of them
 * must then be wrong or both mean the home Region and should say so alike. The event patterns also rely on
 * this: a bucket in one Region's patterns only, so an event matches one pattern of a handler.
 * Rules that failed validation are passed as `undefined` so indexes stay those of the file.
 */
export function checkBucketRegions(rules: readonly (ObjectRule | undefined)[]): RuleGraphIssue[] {
  const issues: RuleGraphIssue[] = [];
  /** The first place each bucket's Region was given (or, for a source, left to the home Region). */
  const first = new Map<string, { region: string | undefined; where: string }>();
  const see = (bucket: string, region: string | undefined, path: (string | number)[], where: string) => {
    const earlier = first.get(bucket);
    if (!earlier) {
      first.set(bucket, { region, where });
      return;
    }
    if (earlier.region === region) return;
    const named = (value: string | undefined) => value ?? 'the home Region (no objects.region)';
    issues.push({
      path,
      message:
        `bucket ${bucket} is in ${named(region)} here but in ${named(earlier.region)} at ${earlier.where}: ` +
        'a bucket has one Region, so name the same one everywhere',
    });
  };
  rules.forEach((rule, index) => {
    if (!rule) return;
    see(
      rule.objects.bucket,
      rule.objects.region,
      ['rules', index, 'objects', 'region'],
      `rules[${index}].objects`,
    );
  });
  rules.forEach((rule, index) => {
    rule?.to.forEach((destination, position) => {
      const earlier = first.get(destination.bucket);
      // A destination always names its Region; a source that leaves it to the home Region may be right.
      if (earlier && earlier.region === undefined) return;
      see(
        destination.bucket,
        destination.region,
        ['rules', index, 'to', position, 'region'],
        `rules[${index}].to[${position}]`,
      );
    });
  });
  return issues;
}
