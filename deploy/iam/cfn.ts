/** CloudFormation values in IAM policies: a plain string or an intrinsic resolved at deploy time, and the helpers that build and compare them. */

/** A CloudFormation intrinsic function, where the value is only known at deploy time. */
export type CfnIntrinsic =
  | { Ref: string }
  | { 'Fn::GetAtt': [string, string] | string }
  | { 'Fn::Sub': string | [string, Record<string, Cfn>] }
  | { 'Fn::Join': [string, Cfn[]] }
  | { 'Fn::ImportValue': Cfn }
  | { 'Fn::Select': [number, { 'Fn::Split': [string, Cfn] }] };

/** A plain string, or a CloudFormation intrinsic that resolves to one. */
export type Cfn = string | CfnIntrinsic;

/** Concatenates parts: a plain string when every part is one, else one `Fn::Join`. */
export function join(...parts: Cfn[]): Cfn {
  const merged: Cfn[] = [];
  for (const part of parts) {
    const last = merged.at(-1);
    if (typeof part === 'string' && typeof last === 'string') merged[merged.length - 1] = last + part;
    else if (part !== '') merged.push(part);
  }
  if (merged.length === 0) return '';
  if (merged.length === 1 && typeof merged[0] === 'string') return merged[0];
  return { 'Fn::Join': ['', merged] };
}

export const keyOf = (value: unknown): string => JSON.stringify(value);

/** Values without repeats, in first-seen order (intrinsics compared by their JSON). */
export function unique<T>(values: Iterable<T>): T[] {
  const seen = new Map<string, T>();
  for (const value of values) if (!seen.has(keyOf(value))) seen.set(keyOf(value), value);
  return [...seen.values()];
}
/**
 * Text matched literally in an IAM resource: `*`, `?` and `$` are written as the policy variables `${*}`,
 * `${?}` and `${$}` (policy version 2012-10-17), so a key prefix cannot widen what it grants.
 */
export const literalInArn = (text: string): string => text.replace(/[$*?]/g, (char) => `\${${char}}`);
