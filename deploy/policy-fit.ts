import { type Cfn, join } from './iam/cfn.ts';
import type { Condition, PolicyStatement } from './iam/types.ts';
import { LIMITS, policyChars, RolePolicySizeError } from './limits.ts';

/**
 * Fitting one role's statements into what IAM accepts (issue 13, "Limits checked at package time"): an
 * inline policy of at most 10,240 characters plus up to 10 customer-managed policies of 6,144 each
 * (deploy/limits.ts has the sources). Pure: statements in, policy documents out.
 *
 * First the statements are merged without changing what they allow (`exact`); if the role still does not
 * fit, S3 key ARNs are traded for fewer, wider ones, one documented step at a time (PRECISION_LADDER),
 * stopping at the first step that fits. No step ever grants more than a whole bucket the rules already
 * name (`bucket/*`), and no step touches KMS, EC2, STS or Step Functions resources.
 */

/** The steps tried in turn, each keeping the trades of the steps before it. */
export const PRECISION_LADDER = [
  /** Merges only: statements with the same actions and condition share one resource list; the same
   *  resources and condition share one action list; conditions that differ in one OR-list are joined;
   *  an ARN that a wider ARN of the same statement covers is dropped. Allows exactly what it allowed. */
  'exact',
  /** `bucket/prefix*suffix` → `bucket/prefix*`: keys under the rule's prefix, whatever their ending. */
  'any-suffix',
  /** The key ARNs of one bucket in one statement → at most PREFIXES_PER_BUCKET prefix wildcards
   *  (`team-00*`, `mirror/team-0*`), merging first the keys that share the longest prefix, never into an
   *  empty prefix. */
  'common-prefixes',
  /** The same, down to one prefix wildcard per bucket where the keys share any prefix at all. */
  'common-prefix',
  /** Every key ARN → its whole bucket (`bucket/*`): the widest step, still only the rules' buckets. */
  'whole-buckets',
] as const;
export type PrecisionStep = (typeof PRECISION_LADDER)[number];

export interface PolicyDocument {
  Version: '2012-10-17';
  Statement: PolicyStatement[];
}

export interface FittedRole {
  /** The step of PRECISION_LADDER that made it fit. */
  step: PrecisionStep;
  inline: PolicyDocument;
  /** Customer-managed policies to attach, in order. */
  managed: PolicyDocument[];
  /** Characters as IAM counts them (intrinsics estimated: deploy/limits.ts). */
  sizes: { inline: number; managed: number[] };
}

export interface FitLimits {
  inlineChars: number;
  managedChars: number;
  managedPolicies: number;
}

const DEFAULT_FIT_LIMITS: FitLimits = {
  inlineChars: LIMITS.roleInlinePolicyChars,
  managedChars: LIMITS.managedPolicyChars,
  managedPolicies: LIMITS.managedPoliciesPerRole,
};

const keyOf = (value: unknown): string => JSON.stringify(value);

// ---------------------------------------------------------------------------------------------------------
// S3 ARNs, which may be `Fn::Join`s of a partition `Ref` and text

/** The parts of a value: its `Fn::Join ''` list flattened, adjacent strings joined. */
function partsOf(value: Cfn): Cfn[] {
  if (typeof value === 'string') return [value];
  if ('Fn::Join' in value && value['Fn::Join'][0] === '') return value['Fn::Join'][1].flatMap(partsOf);
  return [value];
}

/** `arn:P:s3:::bucket` or `arn:P:s3:::bucket/key`, with `head` = everything up to the bucket. */
interface S3Arn {
  head: Cfn[];
  bucket: string;
  key?: string;
}

const S3_TAIL = /^(.*:s3:::)([^/]+)(?:\/(.*))?$/s;

export function parseS3Arn(value: Cfn): S3Arn | undefined {
  const parts = join(...partsOf(value));
  const flat = partsOf(parts);
  const last = flat.at(-1);
  if (typeof last !== 'string') return undefined;
  const match = S3_TAIL.exec(last);
  if (!match) return undefined;
  const [, service = '', bucket = '', key] = match;
  const head = [...flat.slice(0, -1), service];
  if (!flat.slice(0, -1).every((part) => typeof part !== 'string' || !part.includes('/'))) return undefined;
  return { head, bucket, ...(key === undefined ? {} : { key }) };
}

const s3ArnOf = ({ head, bucket, key }: S3Arn): Cfn =>
  join(...head, bucket, ...(key === undefined ? [] : ['/', key]));

/** The key pattern's text before its first wildcard (`*`, `?`) or policy variable (`${…}`). */
const literalPrefix = (key: string): string => {
  const end = key.search(/[*?$]/);
  return end < 0 ? key : key.slice(0, end);
};

/** Whether `wide` (a literal prefix then `*`) allows every key `narrow` allows. */
const keyCovers = (wide: string, narrow: string): boolean => {
  const prefix = wide.slice(0, -1);
  return wide.endsWith('*') && literalPrefix(wide) === prefix && narrow.startsWith(prefix);
};

/** How many prefix wildcards the `common-prefixes` step leaves in one bucket of one statement. */
export const PREFIXES_PER_BUCKET = 4;

const commonPrefix = (a: string, b: string): string => {
  let length = 0;
  while (length < a.length && length < b.length && a[length] === b[length]) length += 1;
  return a.slice(0, length);
};

/**
 * The keys' literal prefixes clustered into at most `max` prefixes: sorted, so keys sharing a prefix are
 * neighbours, then the two neighbours with the longest common prefix merged into it, again and again; a
 * merge into the empty prefix is never made (that would be the whole bucket, the next step's trade).
 * Returns each key's new pattern: its cluster's prefix and `*`, or the key itself if it was merged with none.
 */
export function clusterKeys(keys: readonly string[], max: number): (key: string) => string {
  const clusters = [...new Set(keys.map(literalPrefix))]
    .sort()
    .map((prefix) => ({ prefix, members: [prefix] }));
  while (clusters.length > max) {
    let best = -1;
    let bestLength = 0;
    for (let index = 0; index + 1 < clusters.length; index += 1) {
      const length = commonPrefix(clusters[index]?.prefix ?? '', clusters[index + 1]?.prefix ?? '').length;
      if (length > bestLength) {
        best = index;
        bestLength = length;
      }
    }
    const [left, right] = [clusters[best], clusters[best + 1]];
    if (best < 0 || !left || !right) break;
    clusters.splice(best, 2, {
      prefix: left.prefix.slice(0, bestLength),
      members: [...left.members, ...right.members],
    });
  }
  const merged = new Map<string, string>();
  for (const { prefix, members } of clusters) {
    if (members.length > 1) for (const member of members) merged.set(member, `${prefix}*`);
  }
  return (key) => merged.get(literalPrefix(key)) ?? key;
}

/** A statement's resources with every S3 key ARN another of them covers removed (or repeats). */
function withoutCovered(resources: readonly Cfn[]): Cfn[] {
  const parsed = resources.map((resource) => ({ resource, arn: parseS3Arn(resource) }));
  // Only the wide ones (a literal prefix, then `*`) can cover others: compared within their bucket.
  const wide = new Map<string, string[]>();
  for (const { arn } of parsed) {
    if (arn?.key === undefined || !keyCovers(arn.key, arn.key)) continue;
    const bucket = keyOf([arn.head, arn.bucket]);
    wide.set(bucket, [...(wide.get(bucket) ?? []), arn.key]);
  }
  return parsed
    .filter(({ arn }) => {
      if (arn?.key === undefined) return true;
      const key = arn.key;
      const covering = wide.get(keyOf([arn.head, arn.bucket])) ?? [];
      return !covering.some((other) => other !== key && keyCovers(other, key));
    })
    .map(({ resource }) => resource);
}

// ---------------------------------------------------------------------------------------------------------
// Merging: allows exactly what the statements allowed

/** Operators whose value list means "any of these", so two statements differing only there are one. */
const OR_OPERATORS = new Set([
  'StringEquals',
  'StringLike',
  'ArnEquals',
  'ArnLike',
  'ForAnyValue:StringEquals',
  'ForAnyValue:StringLike',
]);

const asArray = <T>(value: T | T[]): T[] => (Array.isArray(value) ? value : [value]);

const uniqueValues = <T>(values: readonly T[]): T[] => {
  const seen = new Map<string, T>();
  for (const value of values) if (!seen.has(keyOf(value))) seen.set(keyOf(value), value);
  return [...seen.values()];
};

const resourceSetKey = (resources: PolicyStatement['Resource']): string =>
  resources === '*' ? '*' : keyOf(resources.map(keyOf).sort());

interface Working {
  sids: string[];
  actions: string[];
  resources: '*' | Cfn[];
  condition?: Condition;
}

/** Groups by `signature`, folds each group of two or more with `fold`; the order of first members stays. */
function mergeBy(
  statements: Working[],
  signature: (statement: Working) => string | undefined,
  fold: (into: Working, from: Working) => void,
): { statements: Working[]; changed: boolean } {
  const groups = new Map<string, Working>();
  const out: Working[] = [];
  let changed = false;
  for (const statement of statements) {
    const key = signature(statement);
    const into = key === undefined ? undefined : groups.get(key);
    if (into) {
      fold(into, statement);
      changed = true;
    } else {
      const copy = { ...statement, sids: [...statement.sids] };
      if (key !== undefined) groups.set(key, copy);
      out.push(copy);
    }
  }
  return { statements: out, changed };
}

const addSids = (into: Working, from: Working) => {
  for (const sid of from.sids) if (!into.sids.includes(sid)) into.sids.push(sid);
};

/** Every exact merge, repeated until none applies. */
function mergeExactly(input: Working[]): Working[] {
  let statements = input;
  for (let round = 0; round < 20; round += 1) {
    let changed = false;
    // Same actions and condition: one resource list.
    const byActions = mergeBy(
      statements,
      (s) =>
        keyOf({ actions: [...s.actions].sort(), condition: s.condition ?? null, all: s.resources === '*' }),
      (into, from) => {
        if (into.resources !== '*' && from.resources !== '*') {
          into.resources = uniqueValues([...into.resources, ...from.resources]);
        }
        addSids(into, from);
      },
    );
    statements = byActions.statements;
    changed ||= byActions.changed;
    // Same resources and condition: one action list.
    const byResources = mergeBy(
      statements,
      (s) => keyOf({ resources: resourceSetKey(s.resources), condition: s.condition ?? null }),
      (into, from) => {
        into.actions = [...new Set([...into.actions, ...from.actions])].sort();
        addSids(into, from);
      },
    );
    statements = byResources.statements;
    changed ||= byResources.changed;
    // Same actions and resources, conditions that differ only in one OR-list: the lists joined.
    const holes = new Set<string>();
    for (const s of statements) {
      for (const [operator, keys] of Object.entries(s.condition ?? {})) {
        if (OR_OPERATORS.has(operator))
          for (const key of Object.keys(keys)) holes.add(keyOf([operator, key]));
      }
    }
    for (const hole of [...holes].sort()) {
      const [operator, key] = JSON.parse(hole) as [string, string];
      const byCondition = mergeBy(
        statements,
        (s) => {
          if (!s.condition?.[operator] || !(key in s.condition[operator])) return undefined;
          const rest = structuredClone(s.condition);
          delete rest[operator]?.[key];
          return keyOf({ actions: [...s.actions].sort(), resources: resourceSetKey(s.resources), rest });
        },
        (into, from) => {
          const values = uniqueValues([
            ...asArray(into.condition?.[operator]?.[key] ?? []),
            ...asArray(from.condition?.[operator]?.[key] ?? []),
          ]);
          into.condition = {
            ...into.condition,
            [operator]: { ...into.condition?.[operator], [key]: values },
          };
          addSids(into, from);
        },
      );
      statements = byCondition.statements;
      changed ||= byCondition.changed;
    }
    statements = statements.map((s) =>
      s.resources === '*' ? s : { ...s, resources: withoutCovered(s.resources) },
    );
    if (!changed) break;
  }
  return statements;
}

// ---------------------------------------------------------------------------------------------------------
// The trades of precision

/** Rewrites every S3 key ARN of the statement through `rewrite(bucket, keys)`. */
function rewriteKeys(statement: Working, rewrite: (keys: string[]) => (key: string) => string): Working {
  if (statement.resources === '*') return statement;
  const byBucket = new Map<string, string[]>();
  const parsed = statement.resources.map((resource) => parseS3Arn(resource));
  for (const arn of parsed) {
    if (arn?.key === undefined) continue;
    const bucketKey = keyOf([arn.head, arn.bucket]);
    byBucket.set(bucketKey, [...(byBucket.get(bucketKey) ?? []), arn.key]);
  }
  const resources = statement.resources.map((resource, index) => {
    const arn = parsed[index];
    if (arn?.key === undefined) return resource;
    const keys = byBucket.get(keyOf([arn.head, arn.bucket])) ?? [];
    return s3ArnOf({ ...arn, key: rewrite(keys)(arn.key) });
  });
  return { ...statement, resources: uniqueValues(resources) };
}

/** The statements with the trades of `step` and every step before it. */
function trade(statements: Working[], step: PrecisionStep): Working[] {
  const at = PRECISION_LADDER.indexOf(step);
  let out = statements;
  if (at >= PRECISION_LADDER.indexOf('any-suffix')) {
    out = out.map((s) => rewriteKeys(s, () => (key) => `${literalPrefix(key)}*`));
  }
  if (at >= PRECISION_LADDER.indexOf('common-prefixes')) {
    const max = at >= PRECISION_LADDER.indexOf('common-prefix') ? 1 : PREFIXES_PER_BUCKET;
    out = out.map((s) => rewriteKeys(s, (keys) => clusterKeys(keys, max)));
  }
  if (at >= PRECISION_LADDER.indexOf('whole-buckets')) {
    out = out.map((s) => rewriteKeys(s, () => () => '*'));
  }
  return mergeExactly(out);
}

// ---------------------------------------------------------------------------------------------------------
// Packing into documents

const DOCUMENT_OVERHEAD = policyChars({ Version: '2012-10-17', Statement: [] });

/** A statement's characters in a document, with the comma that separates it from the next. */
const statementChars = (statement: PolicyStatement): number => policyChars(statement) + 1;

/**
 * Sids are alphanumeric and unique in a policy: a merged statement is named by the statements it merged
 * (numbers StatementList added to repeats dropped, the function's name said once), then repeats numbered.
 */
function named(statements: readonly Working[], prefix: string): PolicyStatement[] {
  const used = new Map<string, number>();
  const taken = new Set<string>();
  return statements.map((statement) => {
    const strip = (sid: string) => (prefix !== '' && sid.startsWith(prefix) ? sid.slice(prefix.length) : sid);
    // `ListSourceKeys`, `ListSourceKeys2`, …: a family of repeats is named once (`GrantCopyKeysToEc2`
    // alone keeps its digit).
    const family = (sid: string) => sid.replace(/\d+$/, '');
    const repeated = (sid: string) =>
      statement.sids.filter((other) => family(other) === family(sid)).length > 1;
    const bases = [...new Set(statement.sids.map((sid) => strip(repeated(sid) ? family(sid) : sid)))];
    const first = statement.sids[0] ?? '';
    const lead = prefix !== '' && first.startsWith(prefix) ? prefix : '';
    const base = `${lead}${bases.join('')}` || 'Statement';
    // A number that makes it unique, also against names that end in a number themselves (`X` twice and
    // `X2`); `Part` is kept for the parts splitToFit makes.
    let count = used.get(base) ?? 0;
    let sid = base;
    while (taken.has(sid)) {
      count += 1;
      sid = `${base}${count + 1}`;
    }
    used.set(base, count);
    taken.add(sid);
    return {
      Sid: sid,
      Effect: 'Allow' as const,
      Action: [...statement.actions],
      Resource: statement.resources === '*' ? ('*' as const) : [...statement.resources],
      ...(statement.condition ? { Condition: statement.condition } : {}),
    };
  });
}

/** A statement split by resources into parts that each fit `capacity` (Sids `…Part2`, `…Part3`). */
function splitToFit(statement: PolicyStatement, capacity: number): PolicyStatement[] | undefined {
  if (statementChars(statement) <= capacity) return [statement];
  if (statement.Resource === '*' || statement.Resource.length < 2) return undefined;
  const parts: PolicyStatement[] = [];
  let current: Cfn[] = [];
  const make = (resources: Cfn[], index: number): PolicyStatement => ({
    ...statement,
    Sid: index === 0 ? statement.Sid : `${statement.Sid}Part${index + 1}`,
    Resource: resources,
  });
  // Sizes added up rather than measured again for each resource (a statement may have thousands): a
  // part's size is that of its empty statement (with a `Part` Sid) plus each resource and its comma.
  const empty = statementChars(make([], 99));
  let chars = empty;
  for (const resource of statement.Resource) {
    const more = policyChars(resource) + 1;
    if (current.length > 0 && chars + more > capacity) {
      parts.push(make(current, parts.length));
      current = [];
      chars = empty;
    }
    current.push(resource);
    chars += more;
  }
  parts.push(make(current, parts.length));
  return parts.every((part) => statementChars(part) <= capacity) ? parts : undefined;
}

/**
 * First-fit decreasing: the largest statements first, into the inline policy, then into managed policies
 * as needed; undefined when more than `limits.managedPolicies` would be needed.
 */
function pack(statements: PolicyStatement[], limits: FitLimits): PolicyStatement[][] | undefined {
  const managedCapacity = limits.managedChars - DOCUMENT_OVERHEAD;
  const pieces: PolicyStatement[] = [];
  for (const statement of statements) {
    const parts = splitToFit(statement, managedCapacity);
    if (!parts) return undefined;
    pieces.push(...parts);
  }
  const order = new Map(pieces.map((piece, index) => [piece, index]));
  const bins: { free: number; statements: PolicyStatement[] }[] = [
    { free: limits.inlineChars - DOCUMENT_OVERHEAD, statements: [] },
  ];
  for (const piece of [...pieces].sort((a, b) => statementChars(b) - statementChars(a))) {
    const chars = statementChars(piece);
    let bin = bins.find((candidate) => candidate.free >= chars);
    if (!bin) {
      if (bins.length > limits.managedPolicies) return undefined;
      bin = { free: managedCapacity, statements: [] };
      bins.push(bin);
    }
    bin.statements.push(piece);
    bin.free -= chars;
  }
  if (bins.length > limits.managedPolicies + 1) return undefined;
  return bins.map((bin) => bin.statements.sort((a, b) => (order.get(a) ?? 0) - (order.get(b) ?? 0)));
}

/**
 * `Fn::Join ['', ['arn:', {Ref: AWS::Partition}, ':s3:::b/k']]` as `Fn::Sub 'arn:${AWS::Partition}:s3:::b/k'`:
 * the same value in a third of the template's bytes (CloudFormation limits the body to 1 MB). Text that
 * holds `${` (the policy variables of literalInArn) is written `${!`, which Fn::Sub renders as `${`.
 */
export function subOf(value: Cfn): Cfn {
  if (typeof value === 'string' || !('Fn::Join' in value) || value['Fn::Join'][0] !== '') return value;
  const parts = partsOf(value);
  if (!parts.every((part) => typeof part === 'string' || ('Ref' in part && typeof part.Ref === 'string'))) {
    return value;
  }
  return {
    'Fn::Sub': parts
      .map((part) =>
        typeof part === 'string' ? part.replaceAll('${', '${!') : `\${${(part as { Ref: string }).Ref}}`,
      )
      .join(''),
  };
}

const documentOf = (statements: PolicyStatement[]): PolicyDocument => ({
  Version: '2012-10-17',
  Statement: statements.map((statement) =>
    statement.Resource === '*' ? statement : { ...statement, Resource: statement.Resource.map(subOf) },
  ),
});

/**
 * The role's statements as an inline policy and managed policies that IAM accepts, at the first step of
 * PRECISION_LADDER that fits; RolePolicySizeError when even `whole-buckets` does not.
 *
 * @param role the role's logical id, for the error
 * @param sidPrefix the prefix its Sids share (`ObjectCreated`), said once in a merged statement's Sid
 */
export function fitRolePolicy(
  role: string,
  statements: readonly PolicyStatement[],
  options: { sidPrefix?: string; limits?: Partial<FitLimits>; template?: string } = {},
): FittedRole {
  const limits = { ...DEFAULT_FIT_LIMITS, ...options.limits };
  const prefix = options.sidPrefix ?? '';
  const working: Working[] = statements.map((s) => ({
    sids: [s.Sid],
    actions: [...s.Action],
    resources: s.Resource === '*' ? '*' : [...s.Resource],
    ...(s.Condition ? { condition: s.Condition } : {}),
  }));
  let smallest = Number.POSITIVE_INFINITY;
  for (const step of PRECISION_LADDER) {
    const fitted = named(trade(working, step), prefix);
    const bins = pack(fitted, limits);
    if (bins) {
      const [inline = [], ...managed] = bins;
      return {
        step,
        inline: documentOf(inline),
        managed: managed.map(documentOf),
        sizes: {
          inline: policyChars(documentOf(inline)),
          managed: managed.map((bin) => policyChars(documentOf(bin))),
        },
      };
    }
    smallest = Math.min(smallest, policyChars(documentOf(fitted)));
  }
  const capacity = limits.inlineChars + limits.managedPolicies * limits.managedChars;
  throw new RolePolicySizeError(
    options.template ?? 'main',
    role,
    capacity,
    smallest,
    `its policies, even with every key ARN widened to its bucket, would not fit one inline policy and ${limits.managedPolicies} managed policies`,
  );
}
