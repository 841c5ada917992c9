import { runSimulation } from '@cloud-copilot/iam-simulate';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Cfn } from '#deploy/iam/cfn';
import { isReadAction } from '#deploy/iam/lint';
import { iamPolicies } from '#deploy/iam/policies';
import { FUNCTION_NAMES, type FunctionName, type PolicyStatement } from '#deploy/iam/types';
import { LIMITS, policyChars, RolePolicySizeError, resolveForSize } from '#deploy/limits';
import {
  clusterKeys,
  type FittedRole,
  fitRolePolicy,
  PRECISION_LADDER,
  PREFIXES_PER_BUCKET,
  subOf,
} from '#deploy/policy-fit';
import { iamContextOf, roleIdOf, templateParts } from '#deploy/template-parts';
import type { FerryConfig } from '#rules/config';
import { validateConfig } from '#rules/load';
import { thousandRulesConfig } from '#test/support/thousand-rules';

/**
 * deploy/policy-fit.ts: whatever it merges, widens or spreads over managed policies, the fitted role must
 * allow every request the generated statements allowed (checked with a real IAM evaluator,
 * @cloud-copilot/iam-simulate), keep within each IAM limit, and never write beyond the rules' buckets.
 */

const ACCOUNT = '111122223333';
/** Concrete values for the intrinsics, so the policies become what IAM would hold in one deployment. */
const PSEUDO = {
  'AWS::Partition': 'aws',
  'AWS::AccountId': ACCOUNT,
  'AWS::Region': 'us-east-1',
  'AWS::URLSuffix': 'amazonaws.com',
};
const concrete = <T>(value: T): T =>
  resolveForSize(value, PSEUDO, `arn:aws:sqs:us-east-1:${ACCOUNT}:ferry-ci-dead-letters`) as T;

/** A value the IAM pattern matches: wildcards filled in, policy variables `${*}` back to their character. */
const sample = (pattern: string): string =>
  pattern.replace(
    /\$\{([*?$])\}|\*|\?/g,
    (match, literal?: string) => literal ?? (match === '*' ? 'sample' : 'q'),
  );

/** A request context that meets `condition` (the generated statement's), so its request is allowed. */
function contextFor(condition: PolicyStatement['Condition']): Record<string, string | string[]> {
  const context: Record<string, string | string[]> = {};
  for (const [operator, keys] of Object.entries(concrete(condition ?? {}))) {
    for (const [key, value] of Object.entries(keys)) {
      const first = String(Array.isArray(value) ? value[0] : value);
      if (operator === 'Null') {
        if (first === 'false') context[key] = 'present';
      } else if (operator.startsWith('ForAnyValue:')) context[key] = [sample(first)];
      else context[key] = operator.includes('Like') ? sample(first) : first;
    }
  }
  return context;
}

interface Request {
  action: string;
  resource: string;
  context: Record<string, string | string[]>;
}

/** Every (action, resource) a statement list allows, each with a context its condition accepts. */
function requestsOf(statements: readonly PolicyStatement[]): Request[] {
  return statements.flatMap((statement) => {
    const resources = statement.Resource === '*' ? ['*'] : concrete(statement.Resource).map(String);
    return statement.Action.flatMap((action) =>
      resources.map((resource) => ({
        action,
        resource: resource === '*' ? '*' : sample(resource),
        context: contextFor(statement.Condition),
      })),
    );
  });
}

const documentsOf = (fitted: FittedRole) => [fitted.inline, ...fitted.managed];

/**
 * Whether the identity policies allow the request; `undefined` when the resource is not of a type the
 * action takes (a statement may list `DeleteSnapshot` and `DeregisterImage` on snapshots and images: only
 * the matching pairs are requests).
 */
async function identityAllows(documents: readonly unknown[], request: Request): Promise<boolean | undefined> {
  const result = await runSimulation(
    {
      request: {
        principal: `arn:aws:iam::${ACCOUNT}:role/ferry-ci-role`,
        action: request.action,
        resource: { resource: request.resource, accountId: ACCOUNT },
        contextVariables: request.context,
      },
      identityPolicies: documents.map((policy, index) => ({ name: `p${index}`, policy: concrete(policy) })),
      serviceControlPolicies: [],
      resourceControlPolicies: [],
    },
    {},
  );
  if (result.resultType === 'error') {
    if (result.errors.message === 'no.resource.types') return undefined;
    throw new Error(`${JSON.stringify(request)}: ${JSON.stringify(result.errors)}`);
  }
  // The identity policies' own verdict: a KMS request also needs the key policy, which is not under test.
  const analyses = result.resultType === 'single' ? [result.result] : result.results;
  return (
    analyses.length > 0 &&
    analyses.every((analysis) => analysis.analysis.identityAnalysis?.result === 'Allowed')
  );
}

/** Requests the fitted role (its documents) denies though the generated statements allowed them. */
async function lost(statements: readonly PolicyStatement[], documents: readonly unknown[], limit = Infinity) {
  const requests = requestsOf(statements);
  const step = Math.max(1, Math.floor(requests.length / limit));
  const picked = requests.filter((_, index) => index % step === 0);
  const denied: Request[] = [];
  let checked = 0;
  for (const request of picked) {
    const before = await identityAllows([{ Version: '2012-10-17', Statement: statements }], request);
    if (before === undefined) continue;
    // The sample must be allowed by what it came from, or the check proves nothing.
    expect(before, JSON.stringify(request)).toBe(true);
    checked += 1;
    if (!(await identityAllows(documents, request))) denied.push(request);
  }
  return { checked, denied };
}

function expectWithinLimits(fitted: FittedRole, limits = { inline: 10_240, managed: 6_144, count: 10 }) {
  expect(policyChars(fitted.inline)).toBe(fitted.sizes.inline);
  expect(fitted.sizes.inline).toBeLessThanOrEqual(limits.inline);
  expect(fitted.managed.length).toBeLessThanOrEqual(limits.count);
  fitted.managed.forEach((document, index) => {
    expect(policyChars(document)).toBe(fitted.sizes.managed[index]);
    expect(policyChars(document)).toBeLessThanOrEqual(limits.managed);
  });
  const sids = documentsOf(fitted).flatMap((document) =>
    document.Statement.map((statement) => statement.Sid),
  );
  expect(new Set(sids).size).toBe(sids.length);
  for (const sid of sids) expect(sid).toMatch(/^[A-Za-z0-9]+$/);
}

const s3 = (bucket: string, key?: string): Cfn => ({
  'Fn::Join': [
    '',
    ['arn:', { Ref: 'AWS::Partition' }, `:s3:::${bucket}${key === undefined ? '' : `/${key}`}`],
  ],
});

/** The buckets of the S3 ARNs a statement list writes to, by action. */
function writtenBuckets(statements: readonly PolicyStatement[]): Map<string, Set<string>> {
  const buckets = new Map<string, Set<string>>();
  for (const statement of statements) {
    if (statement.Resource === '*') continue;
    for (const action of statement.Action.filter((a) => a.startsWith('s3:') && !isReadAction(a))) {
      for (const resource of concrete(statement.Resource).map(String)) {
        const bucket = /^arn:aws:s3:::([^/]+)/.exec(resource)?.[1];
        if (bucket) buckets.set(action, new Set([...(buckets.get(action) ?? []), bucket]));
      }
    }
  }
  return buckets;
}

describe('fitRolePolicy: exact merges', () => {
  it('It should give statements with the same actions one resource list, and the same resources one action list', () => {
    const statements: PolicyStatement[] = [
      { Sid: 'FnRead', Effect: 'Allow', Action: ['s3:GetObject'], Resource: [s3('a', 'x/*')] },
      { Sid: 'FnRead2', Effect: 'Allow', Action: ['s3:GetObject'], Resource: [s3('b', 'y/*')] },
      {
        Sid: 'FnWrite',
        Effect: 'Allow',
        Action: ['s3:PutObject'],
        Resource: [s3('b', 'y/*'), s3('a', 'x/*')],
      },
      { Sid: 'FnInner', Effect: 'Allow', Action: ['s3:PutObject'], Resource: [s3('a', 'x/deeper/*')] },
    ];
    const fitted = fitRolePolicy('FnRole', statements, { sidPrefix: 'Fn' });
    expect(fitted.step).toBe('exact');
    expect(fitted.managed).toEqual([]);
    expect(fitted.inline.Statement).toEqual([
      {
        Sid: 'FnReadWriteInner',
        Effect: 'Allow',
        Action: ['s3:GetObject', 's3:PutObject'],
        Resource: [
          { 'Fn::Sub': `arn:\${AWS::Partition}:s3:::a/x/*` },
          { 'Fn::Sub': `arn:\${AWS::Partition}:s3:::b/y/*` },
        ],
      },
    ]);
  });

  it('It should join conditions that differ in one list of alternatives, and keep other conditions apart', () => {
    const list = (prefix: string, bucket = 'src'): PolicyStatement => ({
      Sid: 'FnListSourceKeys',
      Effect: 'Allow',
      Action: ['s3:ListBucket'],
      Resource: [s3(bucket)],
      Condition: { StringLike: { 's3:prefix': [`${prefix}*`] } },
    });
    const marked: PolicyStatement = {
      Sid: 'FnRemove',
      Effect: 'Allow',
      Action: ['ec2:DeleteSnapshot'],
      Resource: ['arn:aws:ec2:us-west-2::snapshot/*'],
      Condition: { Null: { 'aws:ResourceTag/ferry:source-id': 'false' } },
    };
    const fitted = fitRolePolicy('FnRole', [list('a/'), list('b/'), list('c/', 'other'), marked], {
      sidPrefix: 'Fn',
    });
    expect(fitted.step).toBe('exact');
    expect(fitted.inline.Statement.map((statement) => statement.Condition)).toEqual([
      { StringLike: { 's3:prefix': ['a/*', 'b/*'] } },
      { StringLike: { 's3:prefix': ['c/*'] } },
      marked.Condition,
    ]);
  });

  it('It should write `${` of a literal key as `${!` in the Fn::Sub, so the policy variable survives', () => {
    const key = `cost\${*}/*`;
    expect(subOf(s3('b', key))).toEqual({ 'Fn::Sub': `arn:\${AWS::Partition}:s3:::b/cost\${!*}/*` });
    expect(concrete(subOf(s3('b', key)))).toBe(`arn:aws:s3:::b/${key}`);
  });
});

describe('fitRolePolicy: the precision ladder', () => {
  /** One bucket, many rule prefixes with suffixes: only the ladder's trades make it fit small limits. */
  const prefixes = Array.from({ length: 40 }, (_, index) => `team-${String(index).padStart(3, '0')}/`);
  const statements: PolicyStatement[] = [
    {
      Sid: 'FnReadSourceObjects',
      Effect: 'Allow',
      Action: ['s3:GetObject', 's3:GetObjectTagging'],
      Resource: prefixes.map((prefix) => s3('src', `${prefix}*.json`)),
    },
    {
      Sid: 'FnWriteReplicas',
      Effect: 'Allow',
      Action: ['s3:PutObject'],
      Resource: prefixes.map((prefix) => s3('dst', `mirror/${prefix}*.json`)),
    },
    ...prefixes.map(
      (prefix, index): PolicyStatement => ({
        Sid: `FnListSourceKeys${index === 0 ? '' : index + 1}`,
        Effect: 'Allow',
        Action: ['s3:ListBucket'],
        Resource: [s3(index % 2 === 0 ? 'src' : 'src2')],
        Condition: { StringLike: { 's3:prefix': [`${prefix}*`] } },
      }),
    ),
  ];
  const sizeAt = (limits: { inlineChars: number; managedChars: number; managedPolicies: number }) =>
    fitRolePolicy('FnRole', statements, { sidPrefix: 'Fn', limits });

  it('It should stop at the first step that fits, each step smaller than the one before', () => {
    // The total size of each step's policy, measured by fitting with room enough for everything.
    const steps = PRECISION_LADDER.map((step) => {
      for (let inline = 500; inline < 200_000; inline = Math.ceil(inline * 1.1)) {
        try {
          const fitted = sizeAt({ inlineChars: inline, managedChars: 500, managedPolicies: 0 });
          if (fitted.step === step) return { step, inline };
          if (PRECISION_LADDER.indexOf(fitted.step) < PRECISION_LADDER.indexOf(step))
            return { step, inline: 0 };
        } catch (error) {
          expect(error).toBeInstanceOf(RolePolicySizeError);
        }
      }
      return { step, inline: 0 };
    });
    // Descending from the widest: the smallest inline limit each step fits in grows with its precision.
    const found = steps.filter(({ inline }) => inline > 0);
    expect(found.map(({ step }) => step)).toEqual(
      [...PRECISION_LADDER]
        .reverse()
        .filter((step) => found.some((f) => f.step === step))
        .reverse(),
    );
    expect(found.length).toBeGreaterThanOrEqual(3);
    for (let index = 1; index < found.length; index += 1) {
      expect(found[index]?.inline ?? 0).toBeLessThan(found[index - 1]?.inline ?? 0);
    }
  });

  it('It should keep every request of the generated statements allowed at every step', async () => {
    for (const inline of [100_000, 6_000, 3_000, 1_500, 800]) {
      let fitted: FittedRole;
      try {
        fitted = sizeAt({ inlineChars: inline, managedChars: 700, managedPolicies: 3 });
      } catch (error) {
        expect(error).toBeInstanceOf(RolePolicySizeError);
        continue;
      }
      expectWithinLimits(fitted, { inline, managed: 700, count: 3 });
      const { checked, denied } = await lost(statements, documentsOf(fitted));
      expect(checked).toBeGreaterThan(100);
      expect(denied, `${fitted.step} at ${inline}`).toEqual([]);
    }
  });

  it('It should cluster the keys of a bucket by their longest shared prefixes first, never into the empty prefix', () => {
    const keys = [
      'zeta/*',
      'team-0002/*',
      'logs/a/*',
      'mirror/team-0001/*',
      'team-0001/*',
      'logs/b/*',
      'mirror/team-0002/*',
      'team-0003/*',
    ];
    const four = clusterKeys(keys, PREFIXES_PER_BUCKET);
    expect(keys.map(four)).toEqual([
      'zeta/*',
      'team-000*',
      'logs/*',
      'mirror/team-000*',
      'team-000*',
      'logs/*',
      'mirror/team-000*',
      'team-000*',
    ]);
    // Down to one: what shares no first character stays apart.
    expect(new Set(keys.map(clusterKeys(keys, 1)))).toEqual(
      new Set(['zeta/*', 'team-000*', 'logs/*', 'mirror/team-000*']),
    );
    const shared = ['team-0001/*', 'team-0002/*.json', 'team-0100/*'];
    expect(new Set(shared.map(clusterKeys(shared, 1)))).toEqual(new Set(['team-0*']));
  });

  it('It should widen at most to the whole bucket, never past it', () => {
    // The smallest inline policy anything fits in: only the widest step gets there.
    let fitted: FittedRole | undefined;
    for (let inline = 300; !fitted && inline < 20_000; inline += 20) {
      try {
        fitted = sizeAt({ inlineChars: inline, managedChars: 500, managedPolicies: 0 });
      } catch (error) {
        expect(error).toBeInstanceOf(RolePolicySizeError);
      }
    }
    if (!fitted) throw new Error('nothing fits');
    expect(fitted.step).toBe('whole-buckets');
    const resources = JSON.stringify(
      concrete(fitted.inline.Statement.map((statement) => statement.Resource)),
    );
    expect(resources).toContain('arn:aws:s3:::src/*');
    expect(resources).toContain('arn:aws:s3:::dst/*');
    expect(resources).not.toMatch(/s3:::[^"/]*\*/);
    expect(writtenBuckets(fitted.inline.Statement)).toEqual(writtenBuckets(statements));
  });

  it('It should split one statement too large for a managed policy into parts, and spread them', () => {
    const roles = Array.from({ length: 60 }, (_, index) => `arn:aws:iam::222233334444:role/writer-${index}`);
    const big: PolicyStatement[] = [
      { Sid: 'FnAssumeDestinationRoles', Effect: 'Allow', Action: ['sts:AssumeRole'], Resource: roles },
    ];
    const fitted = fitRolePolicy('FnRole', big, {
      limits: { inlineChars: 800, managedChars: 800, managedPolicies: 5 },
    });
    expect(fitted.step).toBe('exact');
    expect(fitted.managed.length).toBeGreaterThan(0);
    const sids = documentsOf(fitted).flatMap((document) =>
      document.Statement.map((statement) => statement.Sid),
    );
    expect(sids).toContain('FnAssumeDestinationRolesPart2');
    expectWithinLimits(fitted, { inline: 800, managed: 800, count: 5 });
    const resources = documentsOf(fitted).flatMap((document) =>
      document.Statement.flatMap((s) => s.Resource),
    );
    expect(resources.sort()).toEqual([...roles].sort());
  });

  it('It should refuse with RolePolicySizeError, giving the limit and the figure, when nothing fits', () => {
    const many: PolicyStatement[] = [
      {
        Sid: 'FnWrite',
        Effect: 'Allow',
        Action: ['s3:PutObject'],
        Resource: Array.from({ length: 50 }, (_, index) => s3(`bucket-${index}`, 'a/*')),
      },
    ];
    const attempt = () =>
      fitRolePolicy('ObjectCreatedRole', many, {
        limits: { inlineChars: 500, managedChars: 500, managedPolicies: 2 },
      });
    expect(attempt).toThrow(RolePolicySizeError);
    expect(attempt).toThrow(/ObjectCreatedRole: .*[\d,]+ characters, more than 1,500/);
  });
});

/** Small random configurations, each valid: object rules over a few buckets, with every IAM-relevant option. */
const objectRule = fc.record({
  source: fc.integer({ min: 0, max: 3 }),
  prefix: fc.constantFrom('', 'logs/', 'logs/app/', 'data/', 'a*b/', 'team-1/', 'team-2/'),
  suffix: fc.option(fc.constantFrom('.json', '.gz'), { nil: undefined }),
  destination: fc.integer({ min: 0, max: 3 }),
  keyPrefix: fc.option(fc.constantFrom('mirror/', 'm/'), { nil: undefined }),
  kms: fc.option(fc.constantFrom('alias/dr', 'alias/other'), { nil: undefined }),
  deletes: fc.boolean(),
  account: fc.boolean(),
});

type DrawnRule = typeof objectRule extends fc.Arbitrary<infer T> ? T : never;

function configOf(rules: DrawnRule[]) {
  return {
    rules: [
      ...rules.map((rule, index) => ({
        name: `rule-${index}`,
        objects: {
          bucket: `src-${rule.source}`,
          prefix: `${index}-${rule.prefix}`,
          ...(rule.suffix ? { suffix: rule.suffix } : {}),
        },
        to: [
          {
            bucket: `dst-${rule.destination}`,
            region: 'us-west-2',
            ...(rule.keyPrefix ? { keyPrefix: `${rule.keyPrefix}${index}/` } : {}),
            ...(rule.kms ? { encryption: { sse: 'aws:kms', kmsKeyId: rule.kms } } : {}),
            ...(rule.account ? { account: '222233334444' } : {}),
            replicateDeletes: rule.deletes,
          },
        ],
      })),
      {
        name: 'ebs',
        snapshots: { regions: ['us-east-1'], tags: { backup: 'dr' } },
        to: [{ region: 'us-west-2', kmsKeyId: 'alias/dr-ebs', retain: { count: 3 } }],
      },
      {
        name: 'amis',
        images: { regions: ['us-east-1', 'us-east-2'] },
        to: [{ region: 'us-west-2', retain: { days: 7 } }],
      },
    ],
  };
}

/** Each function's statements as functionRoles builds them, and the fitted role it packaged. */
function rolesOf(raw: unknown) {
  const result = validateConfig(raw);
  if (!result.ok) return undefined;
  const resources = templateParts(result.config, { service: 'ferry', stage: 'ci', region: 'us-east-1' })
    .resources.Resources as Record<string, { Type: string; Properties: Record<string, unknown> }>;
  return { config: result.config, resources };
}

/** What iamPolicies generates for each function, with the context functionRoles gives it, plus its logs. */
function unfitted(config: FerryConfig): Record<FunctionName, PolicyStatement[]> {
  const deployment = { service: 'ferry', stage: 'ci', region: 'us-east-1' };
  const policies = iamPolicies(config, iamContextOf(deployment));
  return policies;
}

/** The inline and managed policy documents of a function's role in the template parts. */
function packagedDocuments(
  resources: Record<string, { Type: string; Properties: Record<string, unknown> }>,
  fn: FunctionName,
): unknown[] {
  const role = resources[roleIdOf(fn)];
  return [
    ...((role?.Properties.Policies ?? []) as { PolicyDocument: unknown }[]).map(
      (policy) => policy.PolicyDocument,
    ),
    ...((role?.Properties.ManagedPolicyArns ?? []) as { Ref: string }[]).map(
      ({ Ref }) => resources[Ref]?.Properties.PolicyDocument,
    ),
  ];
}

describe('fitRolePolicy on generated roles (property)', () => {
  it('It should allow every request the generated statements allowed, within every limit, for any rules', async () => {
    let runs = 0;
    const steps = new Set<string>();
    await fc.assert(
      fc.asyncProperty(
        fc.array(objectRule, { minLength: 1, maxLength: 8 }),
        fc.constantFrom(400, 600, 900, 2_000, 10_240),
        async (rules, inline) => {
          const roles = rolesOf(configOf(rules));
          fc.pre(roles !== undefined);
          if (!roles) return;
          runs += 1;
          const generated = unfitted(roles.config);
          for (const fn of FUNCTION_NAMES) {
            const statements = generated[fn];
            // The packaged role (default limits) allows all of it…
            expect((await lost(statements, packagedDocuments(roles.resources, fn), 80)).denied, fn).toEqual(
              [],
            );
            // …and so does a fit under the drawn, smaller limits, which takes the ladder's steps.
            let fitted: FittedRole;
            try {
              fitted = fitRolePolicy(roleIdOf(fn), statements, {
                limits: { inlineChars: inline, managedChars: 700, managedPolicies: 4 },
              });
            } catch (error) {
              expect(error).toBeInstanceOf(RolePolicySizeError);
              continue;
            }
            steps.add(fitted.step);
            expectWithinLimits(fitted, { inline, managed: 700, count: 4 });
            expect((await lost(statements, documentsOf(fitted), 80)).denied, `${fn} ${fitted.step}`).toEqual(
              [],
            );
            const written = writtenBuckets(documentsOf(fitted).flatMap((document) => document.Statement));
            for (const [action, buckets] of written) {
              const allowed = writtenBuckets(statements).get(action);
              expect(
                [...buckets].filter((bucket) => !allowed?.has(bucket)),
                `${fn} ${action}`,
              ).toEqual([]);
            }
          }
        },
      ),
      { numRuns: 20, seed: 13, endOnFailure: true },
    );
    expect(runs).toBeGreaterThan(8);
    // The drawn limits took the fit past exact merges, so the trades were checked too.
    expect(steps.size).toBeGreaterThanOrEqual(3);
  }, 120_000);
});

describe('the generated 1,000-rule configuration (test/support/thousand-rules.ts)', () => {
  const parts = rolesOf(thousandRulesConfig());

  it('It should be valid: 1,000 rules, objects over 200+ buckets, snapshots and AMIs', () => {
    expect(parts).toBeDefined();
    const rules = parts?.config.rules ?? [];
    expect(rules).toHaveLength(1_000);
    const buckets = new Set(rules.flatMap((rule) => ('objects' in rule ? [rule.objects.bucket] : [])));
    expect(buckets.size).toBeGreaterThanOrEqual(200);
    expect(rules.some((rule) => 'snapshots' in rule)).toBe(true);
    expect(rules.some((rule) => 'images' in rule)).toBe(true);
  });

  it('It should fit every role within IAM limits, allowing a sample of what the unfitted statements allowed', async () => {
    if (!parts) throw new Error('the 1,000-rule configuration is not valid');
    const generated = unfitted(parts.config);
    // objectCreatedBatch is deployed only with queue delivery, which this configuration does not choose.
    expect(generated.objectCreatedBatch).toEqual([]);
    for (const fn of FUNCTION_NAMES.filter((name) => name !== 'objectCreatedBatch')) {
      const [inline, ...managed] = packagedDocuments(parts.resources, fn);
      expect(policyChars(inline), fn).toBeLessThanOrEqual(LIMITS.roleInlinePolicyChars);
      expect(managed.length, fn).toBeLessThanOrEqual(LIMITS.managedPoliciesPerRole);
      for (const document of managed)
        expect(policyChars(document), fn).toBeLessThanOrEqual(LIMITS.managedPolicyChars);
      // No rule of this configuration sets rpo or names inventories: the RPO monitor and the inventory batch
      // function are generated nothing to lose.
      if (fn === 'rpoMonitor' || fn === 'inventoryBatch') {
        expect(generated[fn]).toEqual([]);
        continue;
      }
      const { checked, denied } = await lost(generated[fn], [inline, ...managed], 150);
      expect(checked, fn).toBeGreaterThan(0);
      expect(denied, fn).toEqual([]);
    }
  }, 120_000);
});
