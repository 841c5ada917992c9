/**
 * The IAM and CloudFormation limits a packaged template must keep, checked before AWS would refuse it
 * (issue 13, "Limits checked at package time"), and how big a policy is once CloudFormation resolves it.
 *
 * IAM: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html ("IAM and AWS STS
 * character limits", "IAM object quotas"): the inline policies of one role hold at most 10,240 characters
 * in all, a customer-managed policy at most 6,144, white space not counted; 10 managed policies per role
 * by default (a quota increase allows up to 20: https://repost.aws/knowledge-center/iam-increase-policy-size).
 * CloudFormation: https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html
 * ("Understand CloudFormation quotas"): 500 resources, 200 outputs and 200 parameters per template, a
 * template body of at most 1 MB in an S3 object (serverless deploy uploads the template to its bucket).
 * CloudWatch: a dashboard body holds 0 to 500 widgets ("Dashboard Body Structure and Syntax",
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/CloudWatch-Dashboard-Body-Structure.html), a
 * graph at most 500 metrics and expressions (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/using-metric-math.html).
 */

export const LIMITS = {
  /** Characters of all inline policies of one role, white space excluded. */
  roleInlinePolicyChars: 10_240,
  /** Characters of one customer-managed policy, white space excluded. */
  managedPolicyChars: 6_144,
  /** Managed policies attached to one role: the default quota (adjustable up to 20). */
  managedPoliciesPerRole: 10,
  resourcesPerTemplate: 500,
  outputsPerTemplate: 200,
  parametersPerTemplate: 200,
  /**
   * Template body in an S3 object: "1 MB". Counted as 1,000,000 bytes, the smaller reading of a megabyte,
   * so a template between 10^6 and 2^20 bytes fails here rather than perhaps at AWS.
   */
  templateBodyBytes: 1_000_000,
  /** Widgets of one CloudWatch dashboard body. */
  dashboardWidgets: 500,
  /** Metrics and expressions of one graph widget. */
  widgetMetrics: 500,
} as const;

// ---------------------------------------------------------------------------------------------------------
// Named errors: each gives the limit, the figure, and what to change.

/** A packaged template that AWS would refuse: the base of the errors below. */
export class LimitExceededError extends Error {
  constructor(
    /** Which template: `main`, `forwarder-eu-west-1`, … */
    readonly template: string,
    readonly limit: number,
    readonly figure: number,
    message: string,
  ) {
    super(`${template}: ${message}`);
    this.name = 'LimitExceededError';
  }
}

/** A role's policies need more characters than its inline policy and managed policies can hold. */
export class RolePolicySizeError extends LimitExceededError {
  constructor(
    template: string,
    readonly role: string,
    limit: number,
    figure: number,
    detail: string,
  ) {
    super(
      template,
      limit,
      figure,
      `${role}: ${detail}: ${figure.toLocaleString('en-US')} characters, more than ${limit.toLocaleString('en-US')}` +
        ' (IAM counts policies without white space). Give the role fewer rules (split them over two stages),' +
        ' fewer distinct buckets or key prefixes, or fewer KMS keys and Regions.',
    );
    this.name = 'RolePolicySizeError';
  }
}

/** More managed policies attached to one role than the account's quota allows. */
export class ManagedPoliciesPerRoleError extends LimitExceededError {
  constructor(
    template: string,
    readonly role: string,
    limit: number,
    figure: number,
  ) {
    super(
      template,
      limit,
      figure,
      `${role} has ${figure} managed policies attached, more than ${limit} (IAM's managed policies per role).` +
        ' Ask for a higher "Managed policies per role" quota (at most 20), or give the role fewer rules.',
    );
    this.name = 'ManagedPoliciesPerRoleError';
  }
}

/** More resources than one CloudFormation stack may declare. */
export class TemplateResourceCountError extends LimitExceededError {
  constructor(template: string, limit: number, figure: number) {
    super(
      template,
      limit,
      figure,
      `${figure} resources, more than CloudFormation's ${limit} per template. Merge rules that watch the same` +
        ' buckets, or split the rules over two stages.',
    );
    this.name = 'TemplateResourceCountError';
  }
}

/** A template body larger than CloudFormation accepts from S3. */
export class TemplateBodySizeError extends LimitExceededError {
  constructor(template: string, limit: number, figure: number) {
    super(
      template,
      limit,
      figure,
      `the template body is ${figure.toLocaleString('en-US')} bytes, more than the ${limit.toLocaleString('en-US')}` +
        ' CloudFormation accepts from S3. Split the rules over two stages.',
    );
    this.name = 'TemplateBodySizeError';
  }
}

/** More outputs or parameters than one template may declare. */
export class TemplateSectionCountError extends LimitExceededError {
  constructor(
    template: string,
    readonly section: 'Outputs' | 'Parameters',
    limit: number,
    figure: number,
  ) {
    super(
      template,
      limit,
      figure,
      `${figure} ${section.toLowerCase()}, more than CloudFormation's ${limit} per template. Remove ${section.toLowerCase()}` +
        ' the deployment does not read.',
    );
    this.name = 'TemplateSectionCountError';
  }
}

/** A dashboard with more widgets, or a widget with more metrics, than CloudWatch accepts. */
export class DashboardSizeError extends LimitExceededError {
  constructor(
    template: string,
    readonly dashboard: string,
    readonly what: 'widgets' | 'metrics in one widget',
    limit: number,
    figure: number,
  ) {
    super(
      template,
      limit,
      figure,
      `${dashboard} has ${figure} ${what}, more than CloudWatch's ${limit}. Give fewer rules an RPO of their own` +
        ' widgets (deploy/rpo-dashboard.ts), or split the rules over two stages.',
    );
    this.name = 'DashboardSizeError';
  }
}

// ---------------------------------------------------------------------------------------------------------
// Sizes of policies whose values CloudFormation resolves at deploy time

/**
 * What each pseudo parameter may become, the longest it can be, so that a policy measured here is never
 * smaller than the one IAM receives: the `aws-us-gov` partition; a 12-digit account; a Region name longer
 * than any today (the longest, such as `ap-southeast-7`, have 14 characters); the `amazonaws.com.cn` suffix.
 */
export const PSEUDO_PARAMETER_ESTIMATES: Readonly<Record<string, string>> = {
  'AWS::Partition': 'aws-us-gov',
  'AWS::AccountId': '123456789012',
  'AWS::Region': 'xx-xxxxxxxxxxxxx-99',
  'AWS::URLSuffix': 'amazonaws.com.cn',
  'AWS::StackName': 'x'.repeat(128),
  'AWS::StackId': `arn:aws-us-gov:cloudformation:xx-xxxxxxxxxxxxx-99:123456789012:stack/${'x'.repeat(128)}/${'x'.repeat(36)}`,
};

/**
 * Any other resolved value (a `Ref` or `Fn::GetAtt` of a resource, an import): 256 characters, longer than
 * the ARNs Ferry's policies name (a queue ARN with its 80-character name has about 130).
 */
export const RESOURCE_VALUE_ESTIMATE = 'x'.repeat(256);

const intrinsicKeys = new Set([
  'Ref',
  'Fn::GetAtt',
  'Fn::Sub',
  'Fn::Join',
  'Fn::Select',
  'Fn::Split',
  'Fn::ImportValue',
  'Fn::If',
  'Fn::FindInMap',
  'Fn::Base64',
]);

const isIntrinsic = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' &&
  value !== null &&
  !Array.isArray(value) &&
  Object.keys(value).length === 1 &&
  intrinsicKeys.has(Object.keys(value)[0] ?? '');

/** `${AWS::Region}`, `${Queue.Arn}` (not `${!Literal}`) in an `Fn::Sub` template. */
const SUB_VARIABLE = /\$\{(?!!)([^}]*)\}/g;

/**
 * The longest string an intrinsic (or a plain value) may resolve to, as in PSEUDO_PARAMETER_ESTIMATES; tests
 * pass concrete values instead (`{ 'AWS::Partition': 'aws', … }`) to resolve a policy for an evaluator.
 */
export function estimateString(
  value: unknown,
  pseudo: Readonly<Record<string, string>> = PSEUDO_PARAMETER_ESTIMATES,
  other: string = RESOURCE_VALUE_ESTIMATE,
): string {
  const again = (item: unknown) => estimateString(item, pseudo, other);
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (!isIntrinsic(value)) return other;
  const [key, argument] = Object.entries(value)[0] ?? [];
  switch (key) {
    case 'Ref':
      return pseudo[String(argument)] ?? other;
    case 'Fn::Sub': {
      const [template, variables] = Array.isArray(argument)
        ? [String(argument[0]), (argument[1] ?? {}) as Record<string, unknown>]
        : [String(argument), {}];
      return template
        .replace(SUB_VARIABLE, (_, name: string) =>
          name in variables ? again(variables[name]) : (pseudo[name] ?? other),
        )
        .replaceAll('${!', '${');
    }
    case 'Fn::Join': {
      const [separator, list] = argument as [string, unknown];
      return Array.isArray(list) ? list.map(again).join(separator) : other;
    }
    case 'Fn::Select': {
      // One element of a split is never longer than what was split.
      const [, list] = argument as [unknown, unknown];
      if (isIntrinsic(list) && 'Fn::Split' in list) {
        const [, source] = list['Fn::Split'] as [string, unknown];
        return again(source);
      }
      if (Array.isArray(list)) {
        return list.map(again).reduce((a, b) => (b.length > a.length ? b : a), '');
      }
      return other;
    }
    default:
      return other;
  }
}

/** The value with every intrinsic replaced by the longest string it may resolve to (or by `pseudo`'s). */
export function resolveForSize(
  value: unknown,
  pseudo: Readonly<Record<string, string>> = PSEUDO_PARAMETER_ESTIMATES,
  other: string = RESOURCE_VALUE_ESTIMATE,
): unknown {
  if (isIntrinsic(value)) return estimateString(value, pseudo, other);
  if (Array.isArray(value)) return value.map((item) => resolveForSize(item, pseudo, other));
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, resolveForSize(item, pseudo, other)]),
    );
  }
  return value;
}

/**
 * Characters IAM counts for a policy document (or any part of one): its JSON, resolved as above, without
 * white space between tokens (white space inside strings is counted, as it is part of the value).
 */
export const policyChars = (document: unknown): number => JSON.stringify(resolveForSize(document)).length;

// ---------------------------------------------------------------------------------------------------------
// Checking a packaged template

/** The key of a role's `Metadata` that records how deploy/policy-fit.ts fitted its policy (step, sizes). */
export const POLICY_FIT_METADATA = 'FerryPolicyFit';

type TemplateResource = {
  Type?: string;
  Properties?: Record<string, unknown>;
  Metadata?: Record<string, unknown>;
};

export interface CfnTemplate {
  Resources?: Record<string, TemplateResource>;
  Outputs?: Record<string, unknown>;
  Parameters?: Record<string, unknown>;
}

export interface RoleSize {
  role: string;
  /** Characters of all its inline policies together. */
  inline: number;
  /** Characters of each managed policy of the template attached to it. */
  managed: number[];
  /** Managed policies attached, including AWS-managed ones named by ARN. */
  attached: number;
  /** The step of the precision ladder its policy was fitted at, when Ferry generated it. */
  fit?: string;
}

export interface TemplateReport {
  template: string;
  resources: number;
  bytes: number;
  roles: RoleSize[];
}

const refOf = (value: unknown): string | undefined =>
  typeof value === 'object' && value !== null && 'Ref' in value && typeof value.Ref === 'string'
    ? value.Ref
    : undefined;

const listOf = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);

/** Each role's policy sizes, from the template as CloudFormation receives it. */
export function roleSizes(template: CfnTemplate): RoleSize[] {
  const resources = template.Resources ?? {};
  const managed = new Map<string, number>();
  const attachedByPolicy = new Map<string, string[]>();
  // Inline policies declared as their own resources (AWS::IAM::Policy, AWS::IAM::RolePolicy) count toward
  // the role's 10,240 characters as much as its `Policies`.
  const separateInline = new Map<string, number>();
  for (const resource of Object.values(resources)) {
    const roles =
      resource.Type === 'AWS::IAM::Policy'
        ? listOf(resource.Properties?.Roles).flatMap((role) => refOf(role) ?? [])
        : resource.Type === 'AWS::IAM::RolePolicy'
          ? [refOf(resource.Properties?.RoleName) ?? []].flat()
          : [];
    for (const role of roles) {
      separateInline.set(
        role,
        (separateInline.get(role) ?? 0) + policyChars(resource.Properties?.PolicyDocument),
      );
    }
  }
  for (const [id, resource] of Object.entries(resources)) {
    if (resource.Type !== 'AWS::IAM::ManagedPolicy') continue;
    managed.set(id, policyChars(resource.Properties?.PolicyDocument));
    attachedByPolicy.set(
      id,
      listOf(resource.Properties?.Roles).flatMap((role) => refOf(role) ?? []),
    );
  }
  return Object.entries(resources)
    .filter(([, resource]) => resource.Type === 'AWS::IAM::Role')
    .map(([role, resource]): RoleSize => {
      const inline = listOf(resource.Properties?.Policies).reduce<number>(
        (sum, policy) => sum + policyChars((policy as { PolicyDocument?: unknown }).PolicyDocument),
        separateInline.get(role) ?? 0,
      );
      const arns = listOf(resource.Properties?.ManagedPolicyArns);
      const own = [
        ...arns.flatMap((arn) => refOf(arn) ?? []),
        ...[...attachedByPolicy].filter(([, roles]) => roles.includes(role)).map(([policy]) => policy),
      ].filter((policy) => managed.has(policy));
      const unique = [...new Set(own)];
      const fit = (resource.Metadata?.[POLICY_FIT_METADATA] as { step?: unknown } | undefined)?.step;
      return {
        role,
        ...(typeof fit === 'string' ? { fit } : {}),
        inline,
        managed: unique.map((policy) => managed.get(policy) ?? 0),
        attached: arns.length + unique.filter((policy) => !arns.some((arn) => refOf(arn) === policy)).length,
      };
    });
}

/**
 * Every limit the template breaks, as named errors, and the figures for the package-time report. `body`
 * is the template's text as uploaded (its size in bytes is what CloudFormation measures).
 */
export function checkTemplate(
  name: string,
  template: CfnTemplate,
  body: string,
  limits: typeof LIMITS = LIMITS,
): { report: TemplateReport; errors: LimitExceededError[] } {
  const errors: LimitExceededError[] = [];
  const resources = Object.keys(template.Resources ?? {}).length;
  const bytes = Buffer.byteLength(body, 'utf8');
  const roles = roleSizes(template);
  if (resources > limits.resourcesPerTemplate) {
    errors.push(new TemplateResourceCountError(name, limits.resourcesPerTemplate, resources));
  }
  if (bytes > limits.templateBodyBytes)
    errors.push(new TemplateBodySizeError(name, limits.templateBodyBytes, bytes));
  for (const section of ['Outputs', 'Parameters'] as const) {
    const count = Object.keys(template[section] ?? {}).length;
    const limit = section === 'Outputs' ? limits.outputsPerTemplate : limits.parametersPerTemplate;
    if (count > limit) errors.push(new TemplateSectionCountError(name, section, limit, count));
  }
  errors.push(...dashboardErrors(name, template, limits));
  for (const role of roles) {
    if (role.inline > limits.roleInlinePolicyChars) {
      errors.push(
        new RolePolicySizeError(
          name,
          role.role,
          limits.roleInlinePolicyChars,
          role.inline,
          'its inline policies',
        ),
      );
    }
    role.managed.forEach((chars, index) => {
      if (chars > limits.managedPolicyChars) {
        errors.push(
          new RolePolicySizeError(
            name,
            role.role,
            limits.managedPolicyChars,
            chars,
            `its managed policy ${index + 1}`,
          ),
        );
      }
    });
    if (role.attached > limits.managedPoliciesPerRole) {
      errors.push(
        new ManagedPoliciesPerRoleError(name, role.role, limits.managedPoliciesPerRole, role.attached),
      );
    }
  }
  return { report: { template: name, resources, bytes, roles }, errors };
}

/** The widgets of a dashboard body: its JSON, plain or the template of an `Fn::Sub`. */
const dashboardWidgets = (body: unknown): { properties?: { metrics?: unknown[] } }[] => {
  const text = estimateString(body);
  try {
    const parsed = JSON.parse(text) as { widgets?: unknown };
    return Array.isArray(parsed.widgets) ? parsed.widgets : [];
  } catch {
    // Not JSON: not a size this module measures (CloudFormation refuses the body itself).
    return [];
  }
};

function dashboardErrors(name: string, template: CfnTemplate, limits: typeof LIMITS): LimitExceededError[] {
  return Object.entries(template.Resources ?? {})
    .filter(([, resource]) => resource.Type === 'AWS::CloudWatch::Dashboard')
    .flatMap(([id, resource]) => {
      const widgets = dashboardWidgets(resource.Properties?.DashboardBody);
      const most = Math.max(0, ...widgets.map((widget) => widget.properties?.metrics?.length ?? 0));
      return [
        ...(widgets.length > limits.dashboardWidgets
          ? [new DashboardSizeError(name, id, 'widgets', limits.dashboardWidgets, widgets.length)]
          : []),
        ...(most > limits.widgetMetrics
          ? [new DashboardSizeError(name, id, 'metrics in one widget', limits.widgetMetrics, most)]
          : []),
      ];
    });
}

/** The package-time report: one line per template, one per role. */
export function formatReport(reports: readonly TemplateReport[], limits: typeof LIMITS = LIMITS): string {
  const lines: string[] = [];
  for (const report of reports) {
    lines.push(
      `${report.template}: ${report.resources}/${limits.resourcesPerTemplate} resources, ` +
        `${report.bytes.toLocaleString('en-US')}/${limits.templateBodyBytes.toLocaleString('en-US')} bytes`,
    );
    for (const role of report.roles) {
      const managed =
        role.managed.length > 0
          ? `, managed ${role.managed.length}/${limits.managedPoliciesPerRole} (${role.managed.map((chars) => chars.toLocaleString('en-US')).join(', ')} of ${limits.managedPolicyChars.toLocaleString('en-US')})`
          : '';
      const fit = role.fit ? ` [fitted: ${role.fit}]` : '';
      lines.push(
        `  ${role.role}${fit}: inline ${role.inline.toLocaleString('en-US')}/${limits.roleInlinePolicyChars.toLocaleString('en-US')} chars${managed}`,
      );
    }
  }
  return lines.join('\n');
}
