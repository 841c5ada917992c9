/**
 * The IAM proof's evaluator: each IamRequest a recorded call needs (deploy/iam-proof/request.ts) is checked
 * against the policies the package deploys (deploy/iam-proof/policies.ts) by a real IAM policy evaluator,
 * and the result is two lists: **missing** (requests IAM would deny, a production failure; the goal is none)
 * and **surplus** (actions of a statement that no request needed).
 *
 * Evaluator: @cloud-copilot/iam-simulate. Compared with
 * - `pbac` ("AWS IAM Policy inspired and (mostly) compatible"): evaluates statements, but knows no actions,
 *   resource types or condition keys of AWS services, so a typo in an action or an ARN of the wrong resource
 *   type would silently match or not; no cross-account logic, no explanation of decisions;
 * - IAM's own SimulatePrincipalPolicy / SimulateCustomPolicy (@aws-sdk/client-iam): AWS's evaluator, but it
 *   needs credentials and a network round trip per request, so it cannot run in `npm test` offline;
 * - writing a matcher here: it would be our reading of the evaluation logic checking our policies;
 * iam-simulate implements AWS's policy evaluation logic (identity and resource policies, same- and
 * cross-account, every condition operator, `Null`, `ForAnyValue`, policy variables) with the Service
 * Authorization Reference's data: it refuses unknown actions and resource ARNs that the action does not
 * take, ignores context keys that do not apply to the action, and explains which statement allowed or why
 * none did. It runs offline, about 0.4 ms a request. Its AGPL licence is acceptable for a dev dependency
 * that is never bundled into the functions.
 * Evaluation logic: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
 *
 * What is evaluated: for a function, its role's identity policies (same account: enough on their own). For
 * sts:AssumeRole of a destination role, also that role's trust policy as the resource policy, cross-account,
 * so both sides must allow it (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html).
 * For a destination role, its identity policies. Resource policies Ferry does not deploy (a source bucket's
 * policy that lets a partner's role read, a key policy) are the owner's part and are not evaluated: every
 * other request is evaluated in the principal's own account, KMS keys with the default key policy.
 */
import { runSimulation, type Simulation } from '@cloud-copilot/iam-simulate';
import type { FunctionName } from '../iam/types.ts';
import type { DeployedRole, PolicyDocument } from './policies.ts';
import type { IamRequest } from './request.ts';

/** The roles requests are evaluated against: each function's, and each destination role by ARN. */
export interface ProofRoles {
  /** The functions the package deploys for the rules (objectCreatedBatch only with queue delivery). */
  functions: Partial<Record<FunctionName, DeployedRole>>;
  /** Destination roles (deploy/cross-account-role.yml as each partner deploys it), by the rules' roleArn. */
  destinations: Record<string, DeployedRole>;
  /** State machines with a role of their own (deploy/inventory-machine.ts), by name (`inventory-reconcile`). */
  machines?: Record<string, DeployedRole>;
}

export interface MissingPermission {
  request: IamRequest;
  /** Who was evaluated: `objectCreated`, or `ferry-writer via objectCopyStep`. */
  principal: string;
  decision: 'ImplicitlyDenied' | 'ExplicitlyDenied' | 'Invalid';
  why: string;
}

export interface SurplusAction {
  /** `objectCreated`, or the destination role's ARN. */
  principal: string;
  policy: string;
  sid: string;
  action: string;
}

export interface ProofReport {
  /** Distinct requests evaluated. */
  evaluated: number;
  missing: MissingPermission[];
  surplus: SurplusAction[];
  /** Statements of which no action was used (each of their actions is also in `surplus`). */
  unusedStatements: Omit<SurplusAction, 'action'>[];
  /** Each action an allowed request used, by principal (a function, or a destination role's ARN). */
  used: { principal: string; action: string }[];
}

const principalKeyOf = (principal: IamRequest['principal']): string =>
  'function' in principal
    ? principal.function
    : 'stateMachine' in principal
      ? `stateMachine:${principal.stateMachine}`
      : principal.role;

const principalLabel = (principal: IamRequest['principal'], roles: ProofRoles): string =>
  'function' in principal || 'stateMachine' in principal
    ? principalKeyOf(principal)
    : `${roles.destinations[principal.role]?.name ?? principal.role} via ${principal.via}`;

/** The deployed role a request is made with, and the session name IAM sees. */
function roleOf(
  principal: IamRequest['principal'],
  roles: ProofRoles,
): { role: DeployedRole | undefined; session: string } {
  if ('function' in principal)
    return { role: roles.functions[principal.function], session: principal.function };
  // Step Functions assumes a machine's role for its calls; the session name is its own.
  if ('stateMachine' in principal)
    return { role: roles.machines?.[principal.stateMachine], session: 'states' };
  return { role: roles.destinations[principal.role], session: `ferry-${principal.via}` };
}

/** The ARN IAM sees for a Lambda function's calls: a session of its role. */
const sessionArnOf = (role: DeployedRole, session: string): string =>
  role.arn.replace(
    /^arn:([^:]+):iam::(\d+):role\/(?:.*\/)?([^/]+)$/,
    `arn:$1:sts::$2:assumed-role/$3/${session}`,
  );

const statementsOf = (document: PolicyDocument) => document.Statement ?? [];
const listOf = (value: string | string[] | undefined): string[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];

/**
 * A KMS key is usable only when its key policy allows it; the default key policy delegates to IAM, so that
 * the caller's identity policy decides (https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html).
 * Key policies belong to the keys' owners, not to Ferry's package: the proof assumes this default.
 */
const defaultKeyPolicy = (account: string): PolicyDocument => ({
  Version: '2012-10-17',
  Statement: [
    {
      Sid: 'Enable IAM User Permissions',
      Effect: 'Allow',
      Principal: { AWS: `arn:aws:iam::${account}:root` },
      Action: 'kms:*',
      Resource: '*',
    },
  ],
});

/**
 * KMS's encryption-context keys (`kms:EncryptionContext:aws:s3:arn`) are variable keys written with `:`
 * (`kms:EncryptionContext:${EncryptionContextKey}` in the Service Authorization Reference's data). The
 * simulator resolves variable keys only where the variable follows a `/` (`aws:ResourceTag/${TagKey}`), and
 * ignores the others as keys that do not apply: a policy condition on the encryption context would then
 * never match. Both sides are renamed alike to a stand-in `/` key, a global one the simulator takes for
 * every action, so that it tests the condition with its own operators; nothing else of the request uses it.
 */
const ENCRYPTION_CONTEXT = /^kms:encryptioncontext:(.+)$/i;
const STAND_IN = 'aws:RequestTag/ferry-proof-kms-encryption-context:';
const standInKey = (key: string): string => {
  const variable = ENCRYPTION_CONTEXT.exec(key)?.[1];
  return variable === undefined ? key : `${STAND_IN}${variable}`;
};
const withStandInKeys = <T>(entries: Record<string, T>): Record<string, T> =>
  Object.fromEntries(Object.entries(entries).map(([key, value]) => [standInKey(key), value]));
const standInPolicy = (document: PolicyDocument): PolicyDocument => ({
  ...document,
  Statement: statementsOf(document).map((statement) =>
    statement.Condition
      ? {
          ...statement,
          Condition: Object.fromEntries(
            Object.entries(statement.Condition).map(([operator, keys]) => [operator, withStandInKeys(keys)]),
          ),
        }
      : statement,
  ),
});

/** Evaluates one request; the Sids (by policy) that allowed it, or why it was denied. */
async function evaluateOne(
  request: IamRequest,
  roles: ProofRoles,
): Promise<
  { allowedBy: { policy: string; sid: string }[] } | { denied: Omit<MissingPermission, 'request'> }
> {
  const principal = principalLabel(request.principal, roles);
  const { role, session } = roleOf(request.principal, roles);
  if (!role) {
    return {
      denied: {
        principal,
        decision: 'Invalid',
        why: `no role ${principalKeyOf(request.principal)} in the package or the destination roles`,
      },
    };
  }
  const assumed = request.action === 'sts:AssumeRole' ? roles.destinations[request.resource] : undefined;
  const resourceAccount = assumed?.account ?? role.account;
  const simulation: Simulation = {
    request: {
      principal: sessionArnOf(role, session),
      action: request.action,
      resource: { resource: request.resource, accountId: resourceAccount },
      contextVariables: {
        'aws:PrincipalArn': role.arn,
        'aws:PrincipalAccount': role.account,
        ...withStandInKeys(request.context),
      },
    },
    identityPolicies: role.policies.map((policy) => ({
      name: policy.name,
      policy: standInPolicy(policy.document),
    })),
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    ...(assumed
      ? { resourcePolicy: assumed.trustPolicy }
      : request.action.startsWith('kms:')
        ? { resourcePolicy: defaultKeyPolicy(resourceAccount) }
        : {}),
  };
  const result = await runSimulation(simulation, {});
  if (result.resultType === 'error') {
    return { denied: { principal, decision: 'Invalid', why: result.errors.message } };
  }
  const single = result.resultType === 'single' ? result.result : result.results[0];
  const analysis = single?.analysis;
  if (result.overallResult === 'Allowed') {
    return {
      allowedBy: (analysis?.identityAnalysis?.allowStatements ?? []).map((statement) => ({
        policy: statement.policyId,
        sid: statement.statement.sid() ?? `#${statement.statement.index()}`,
      })),
    };
  }
  return {
    denied: { principal, decision: result.overallResult, why: whyDenied(analysis, Boolean(assumed)) },
  };
}

type Analysis = NonNullable<
  Extract<Awaited<ReturnType<typeof runSimulation>>, { resultType: 'single' }>['result']['analysis']
>;

/** The statements that name the action, and what of each did not match: resource, or which condition. */
function whyDenied(analysis: Analysis | undefined, trust: boolean): string {
  if (!analysis) return 'no analysis';
  const reasons: string[] = [];
  const identity = analysis.identityAnalysis;
  if (identity && identity.result !== 'Allowed') {
    const near = identity.unmatchedStatements.filter((statement) => statement.actionMatch);
    if (near.length === 0) reasons.push('no statement of the role names this action');
    for (const statement of near) {
      const sid = statement.statement.sid() ?? `#${statement.statement.index()}`;
      if (!statement.resourceMatch) reasons.push(`${sid}: the resource matches none of its resources`);
      else {
        const failed = (statement.explain.conditions ?? []).filter((condition) => !condition.matches);
        const text = failed.map(
          (condition) =>
            `${condition.operator} ${condition.conditionKeyValue}${condition.failedBecauseMissing ? ' (absent from the request)' : ''}`,
        );
        reasons.push(`${sid}: condition ${text.join(', ') || 'not met'}`);
      }
    }
  }
  if (
    trust &&
    analysis.resourceAnalysis &&
    !['Allowed', 'AllowedForAccount'].includes(analysis.resourceAnalysis.result)
  ) {
    reasons.push(`the destination role's trust policy: ${analysis.resourceAnalysis.result}`);
  }
  return reasons.join('; ') || analysis.result;
}

/** A stable key for one request: the same authorization recorded many times is evaluated once. */
const requestKey = (request: IamRequest): string =>
  JSON.stringify([
    request.principal,
    request.action,
    request.resource,
    Object.entries(request.context).sort(),
  ]);

/** Evaluates every request against the roles; surplus counts only the principals that made requests. */
export async function proveRequests(
  requests: readonly IamRequest[],
  roles: ProofRoles,
  options: { surplusOf?: 'all' | 'active' } = {},
): Promise<ProofReport> {
  const distinct = new Map<string, IamRequest>();
  for (const request of requests) distinct.set(requestKey(request), request);
  const used = new Set<string>();
  const missing: MissingPermission[] = [];
  for (const request of distinct.values()) {
    const outcome = await evaluateOne(request, roles);
    if ('denied' in outcome) missing.push({ request, ...outcome.denied });
    else {
      const who = principalKeyOf(request.principal);
      for (const { policy, sid } of outcome.allowedBy)
        used.add(JSON.stringify([who, policy, sid, request.action]));
    }
  }

  const principals: [string, DeployedRole][] = [
    ...Object.entries(roles.functions),
    ...Object.entries(roles.destinations),
    ...Object.entries(roles.machines ?? {}).map(([name, role]): [string, DeployedRole] => [
      `stateMachine:${name}`,
      role,
    ]),
  ];
  const active = new Set([...distinct.values()].map((request) => principalKeyOf(request.principal)));
  const surplus: SurplusAction[] = [];
  const unusedStatements: ProofReport['unusedStatements'] = [];
  for (const [who, role] of principals) {
    if (options.surplusOf !== 'all' && !active.has(who)) continue;
    for (const policy of role.policies) {
      statementsOf(policy.document).forEach((statement, index) => {
        const sid = statement.Sid ?? `#${index + 1}`;
        const unused = listOf(statement.Action).filter(
          (action) => !used.has(JSON.stringify([who, policy.name, sid, action])),
        );
        for (const action of unused) surplus.push({ principal: who, policy: policy.name, sid, action });
        if (unused.length > 0 && unused.length === listOf(statement.Action).length)
          unusedStatements.push({ principal: who, policy: policy.name, sid });
      });
    }
  }
  const usedActions = new Map<string, { principal: string; action: string }>();
  for (const key of used) {
    const [principal = '', , , action = ''] = JSON.parse(key) as string[];
    usedActions.set(`${principal} ${action}`, { principal, action });
  }
  return { evaluated: distinct.size, missing, surplus, unusedStatements, used: [...usedActions.values()] };
}

/** One line per missing permission: function, call, action, resource, why denied. */
export function formatMissing(missing: readonly MissingPermission[]): string {
  return missing
    .map(
      ({ request, principal, decision, why }) =>
        `${principal}: ${request.call} needs ${request.action} on ${request.resource}` +
        `${Object.keys(request.context).length > 0 ? ` with ${JSON.stringify(request.context)}` : ''}: ${decision} (${why})`,
    )
    .join('\n');
}

/** Surplus grouped by principal: `objectCreated ObjectCreatedWriteReplicas: s3:PutObjectTagging`. */
export function formatSurplus(surplus: readonly SurplusAction[]): string {
  return surplus.map(({ principal, sid, action }) => `${principal} ${sid}: ${action}`).join('\n');
}
