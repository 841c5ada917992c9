import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import type { FerryConfig } from '#rules/config';
import { type CrossAccountParameters, crossAccountParameters } from '../cross-account-parameters.ts';
import type { FunctionName } from '../iam/types.ts';
import { INVENTORY_MACHINE, INVENTORY_MACHINE_ROLE_ID } from '../inventory-machine.ts';
import { type Deployment, deployedFunctionsOf, roleIdOf, templateParts } from '../template-parts.ts';
import { CfnResolver, pseudoParameters, type ResourceValues } from './cfn-resolve.ts';

/**
 * The policies the IAM proof evaluates, as CloudFormation would deploy them: each role's inline policies
 * (`Policies`), the customer-managed policies attached to it (`ManagedPolicyArns`, or a policy's `Roles`),
 * and its trust policy, with every intrinsic resolved for one account, partition and Region. Generic over
 * the template: whether the package keeps a role's statements inline or splits them into
 * `AWS::IAM::ManagedPolicy` resources, the same roles come out.
 */

/** The sandbox's deployment: what `requestsOf` names state machines and log groups after. */
export const PROOF_DEPLOYMENT: Deployment = { service: 'ferry', stage: 'sandbox', region: 'us-east-1' };
export const PROOF_ACCOUNT = '000000000000';
export const PROOF_PARTITION = 'aws';

export interface PolicyStatement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: string | string[];
  NotResource?: string | string[];
  Principal?: unknown;
  Condition?: Record<string, Record<string, string | string[] | boolean>>;
}

export interface PolicyDocument {
  Version: string;
  Statement: PolicyStatement[];
}

/** One role as deployed: its ARN, every identity policy that applies to it, and who may assume it. */
export interface DeployedRole {
  logicalId: string;
  arn: string;
  name: string;
  account: string;
  /** Inline policies by `PolicyName`, managed policies by their ARN. */
  policies: { name: string; document: PolicyDocument }[];
  trustPolicy: PolicyDocument;
}

export class UnknownManagedPolicyError extends Error {
  constructor(
    readonly role: string,
    readonly policyArn: string,
  ) {
    super(
      `${role} attaches ${policyArn}, which is not a policy of the template: the proof cannot evaluate it`,
    );
    this.name = 'UnknownManagedPolicyError';
  }
}

export class TemplateParametersError extends Error {
  constructor(readonly parameters: readonly string[]) {
    super(`the template's parameters do not match those given: ${parameters.join(', ')}`);
    this.name = 'TemplateParametersError';
  }
}

export interface Template {
  Parameters?: Record<string, { Type?: string; Default?: unknown }>;
  Conditions?: Record<string, unknown>;
  Resources: Record<string, { Type: string; Condition?: string; Properties?: Record<string, unknown> }>;
}

export interface TemplateNames {
  account: string;
  region: string;
  partition?: string;
  stackName: string;
}

/**
 * A name CloudFormation generates for a resource without one: `<stack>-<logicalId>-<random>`
 * (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-name.html). The random
 * part is fixed here so that the proof is repeatable.
 */
const generatedName = (names: TemplateNames, logicalId: string): string =>
  `${names.stackName}-${logicalId}-PROOF0000000`.slice(0, 64);

/**
 * What `Ref` and `Fn::GetAtt` give for the resource types whose values policies use, after each type's
 * "Return values" in the CloudFormation resource reference (AWS::IAM::Role: Ref the name, Arn; AWS::IAM::ManagedPolicy:
 * Ref the ARN; AWS::SQS::Queue: Ref the URL, Arn, QueueName; AWS::SNS::Topic: Ref the ARN; AWS::KMS::Key:
 * Ref the key id, Arn; AWS::Events::Rule: Ref the name, Arn; AWS::CloudWatch::Alarm: Ref the name, Arn;
 * AWS::DynamoDB::Table: Ref the name, Arn).
 */
function resourceValues(template: Template, names: TemplateNames, early: CfnResolver) {
  const partition = names.partition ?? PROOF_PARTITION;
  const { account, region } = names;
  const values: Record<string, ResourceValues> = {};
  for (const [id, resource] of Object.entries(template.Resources)) {
    const property = (key: string): string | undefined => {
      const value = resource.Properties?.[key];
      if (value === undefined) return undefined;
      try {
        const resolved = early.resolve(value, `Resources.${id}.Properties.${key}`);
        return typeof resolved === 'string' ? resolved : undefined;
      } catch {
        return undefined; // a name that depends on another resource: not used by the policies proven
      }
    };
    const named = (key: string) => property(key) ?? generatedName(names, id);
    const arn = (service: string, rest: string, inRegion = true) =>
      `arn:${partition}:${service}:${inRegion ? region : ''}:${account}:${rest}`;
    switch (resource.Type) {
      case 'AWS::IAM::Role': {
        const name = named('RoleName');
        const path = property('Path') ?? '/';
        values[id] = { ref: name, attributes: { Arn: arn('iam', `role${path}${name}`, false), RoleId: id } };
        break;
      }
      case 'AWS::IAM::ManagedPolicy': {
        const policyArn = arn('iam', `policy${property('Path') ?? '/'}${named('ManagedPolicyName')}`, false);
        values[id] = { ref: policyArn, attributes: { PolicyArn: policyArn } };
        break;
      }
      case 'AWS::SQS::Queue': {
        const name = named('QueueName');
        values[id] = {
          ref: `https://sqs.${region}.amazonaws.com/${account}/${name}`,
          attributes: { Arn: arn('sqs', name), QueueName: name },
        };
        break;
      }
      case 'AWS::SNS::Topic': {
        const name = named('TopicName');
        values[id] = { ref: arn('sns', name), attributes: { TopicArn: arn('sns', name), TopicName: name } };
        break;
      }
      case 'AWS::KMS::Key': {
        const keyId = `${id.toLowerCase()}-0000-0000-0000-000000000000`;
        values[id] = { ref: keyId, attributes: { Arn: arn('kms', `key/${keyId}`), KeyId: keyId } };
        break;
      }
      case 'AWS::Events::Rule': {
        const name = named('Name');
        values[id] = { ref: name, attributes: { Arn: arn('events', `rule/${name}`) } };
        break;
      }
      case 'AWS::CloudWatch::Alarm': {
        const name = named('AlarmName');
        values[id] = { ref: name, attributes: { Arn: arn('cloudwatch', `alarm:${name}`) } };
        break;
      }
      case 'AWS::DynamoDB::Table': {
        const name = named('TableName');
        values[id] = { ref: name, attributes: { Arn: arn('dynamodb', `table/${name}`) } };
        break;
      }
      case 'AWS::Logs::LogGroup': {
        const name = named('LogGroupName');
        values[id] = { ref: name, attributes: { Arn: arn('logs', `log-group:${name}:*`) } };
        break;
      }
      default:
        break;
    }
  }
  return values;
}

const asList = <T>(value: T | T[] | undefined): T[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];

/** Every role of a template, as deployed with these parameters, by logical id. */
export function deployedRoles(
  template: Template,
  names: TemplateNames,
  parameters: Record<string, string | string[]> = {},
): Record<string, DeployedRole> {
  const declared = template.Parameters ?? {};
  const mismatched = Object.keys(parameters).filter((name) => !(name in declared));
  const withDefaults: Record<string, string | string[]> = {};
  for (const [name, parameter] of Object.entries(declared)) {
    const value = parameters[name] ?? parameter.Default;
    if (value === undefined) {
      mismatched.push(`${name} (required, not given)`);
      continue;
    }
    // A CommaDelimitedList is a list, and "" an empty one's single empty item, as CloudFormation sees it.
    withDefaults[name] =
      parameter.Type === 'CommaDelimitedList' && typeof value === 'string'
        ? value.split(',')
        : (value as string);
  }
  // CloudFormation refuses both: a parameter the template does not declare, one it needs and is not given.
  if (mismatched.length > 0) throw new TemplateParametersError(mismatched);
  const environment = {
    pseudo: pseudoParameters({ ...names, partition: names.partition ?? PROOF_PARTITION }),
    parameters: withDefaults,
    conditions: template.Conditions ?? {},
  };
  const resources = resourceValues(template, names, new CfnResolver(environment));
  const resolver = new CfnResolver({ ...environment, resources });
  const present = Object.entries(template.Resources).filter(
    ([, resource]) => resource.Condition === undefined || resolver.condition(resource.Condition),
  );
  const propertiesOf = (id: string, properties: unknown) =>
    (resolver.resolve(properties ?? {}, `Resources.${id}.Properties`) ?? {}) as Record<string, unknown>;

  const roles: Record<string, DeployedRole> = {};
  const byName = new Map<string, DeployedRole>();
  const managed = new Map<string, { name: string; document: PolicyDocument }>();
  for (const [id, resource] of present) {
    if (resource.Type === 'AWS::IAM::ManagedPolicy') {
      const properties = propertiesOf(id, resource.Properties);
      const arn = resources[id]?.ref ?? id;
      managed.set(arn, { name: arn, document: properties.PolicyDocument as PolicyDocument });
    }
  }
  for (const [id, resource] of present) {
    if (resource.Type !== 'AWS::IAM::Role') continue;
    const properties = propertiesOf(id, resource.Properties);
    const values = resources[id];
    const arn = values?.attributes?.Arn ?? '';
    const role: DeployedRole = {
      logicalId: id,
      arn,
      name: values?.ref ?? id,
      account: names.account,
      trustPolicy: properties.AssumeRolePolicyDocument as PolicyDocument,
      policies: asList(properties.Policies as { PolicyName: string; PolicyDocument: PolicyDocument }[]).map(
        (policy) => ({ name: policy.PolicyName, document: policy.PolicyDocument }),
      ),
    };
    for (const policyArn of asList(properties.ManagedPolicyArns as string[])) {
      const policy = managed.get(policyArn);
      if (!policy) throw new UnknownManagedPolicyError(id, policyArn);
      role.policies.push(policy);
    }
    roles[id] = role;
    byName.set(role.name, role);
  }
  // Policies that name their roles (AWS::IAM::ManagedPolicy Roles, AWS::IAM::Policy, AWS::IAM::RolePolicy).
  for (const [id, resource] of present) {
    if (!['AWS::IAM::ManagedPolicy', 'AWS::IAM::Policy', 'AWS::IAM::RolePolicy'].includes(resource.Type))
      continue;
    const properties = propertiesOf(id, resource.Properties);
    const policy = {
      name: (resources[id]?.ref ?? (properties.PolicyName as string | undefined)) || id,
      document: properties.PolicyDocument as PolicyDocument,
    };
    const roleNames = [...asList(properties.Roles as string[]), ...asList(properties.RoleName as string)];
    for (const roleName of roleNames) {
      const role = byName.get(roleName);
      if (role && !role.policies.some((existing) => existing.name === policy.name))
        role.policies.push(policy);
    }
  }
  return roles;
}

/** The stack's name as the Serverless Framework sets it: `<service>-<stage>`. */
export const stackNameOf = (deployment: Deployment): string => `${deployment.service}-${deployment.stage}`;

/** Every role of the template's generated parts (deploy/template-parts.ts), as deployed in `account`. */
const packagedRoles = (config: FerryConfig, deployment: Deployment, account: string) =>
  deployedRoles(templateParts(config, deployment).resources as Template, {
    account,
    region: deployment.region,
    stackName: stackNameOf(deployment),
  });

/** Each deployed function's role among the packaged roles: every one has one, or the template is wrong. */
function functionRolesOf(
  config: FerryConfig,
  roles: Record<string, DeployedRole>,
): Partial<Record<FunctionName, DeployedRole>> {
  return Object.fromEntries(
    deployedFunctionsOf(config).map((fn) => {
      const role = roles[roleIdOf(fn)];
      if (!role) throw new Error(`the template has no role ${roleIdOf(fn)} for ${fn}`);
      return [fn, role];
    }),
  );
}

/** The roles of the state machines the package gives one of their own: the inventory machine's, where deployed. */
function machineRolesOf(roles: Record<string, DeployedRole>): Record<string, DeployedRole> {
  const role = roles[INVENTORY_MACHINE_ROLE_ID];
  return role ? { [INVENTORY_MACHINE]: role } : {};
}

/**
 * Each function's role as `npm run package` makes it for this configuration (the template's generated parts,
 * deploy/template-parts.ts, which serverless.yml takes as they are), in the proof's account.
 */
export const functionRoles = (
  config: FerryConfig,
  deployment: Deployment = PROOF_DEPLOYMENT,
  account = PROOF_ACCOUNT,
): Partial<Record<FunctionName, DeployedRole>> =>
  functionRolesOf(config, packagedRoles(config, deployment, account));

const CROSS_ACCOUNT_TEMPLATE = new URL('../cross-account-role.yml', import.meta.url);

/** deploy/cross-account-role.yml, parsed (long-form intrinsics only, so plain YAML). */
export const crossAccountTemplate = (): Template =>
  parse(readFileSync(CROSS_ACCOUNT_TEMPLATE, 'utf8')) as Template;

/** The cross-account role as a partner deploys it with these parameters, in the role's account. */
export function crossAccountRole(
  parameters: CrossAccountParameters,
  account: string,
  template: Template = crossAccountTemplate(),
): DeployedRole {
  const roles = Object.values(
    deployedRoles(
      template,
      { account, region: PROOF_DEPLOYMENT.region, stackName: 'ferry-writer' },
      parameters as unknown as Record<string, string | string[]>,
    ),
  );
  const [role, ...others] = roles;
  if (!role || others.length > 0)
    throw new Error('deploy/cross-account-role.yml should hold exactly one role');
  return role;
}

/**
 * Every role the proof evaluates for a configuration: each function's, and each destination role of the
 * rules as its partner deploys deploy/cross-account-role.yml with the parameters derived from the rules.
 */
export function proofRoles(
  config: FerryConfig,
  deployment: Deployment = PROOF_DEPLOYMENT,
  account = PROOF_ACCOUNT,
): {
  functions: Partial<Record<FunctionName, DeployedRole>>;
  destinations: Record<string, DeployedRole>;
  machines: Record<string, DeployedRole>;
} {
  const template = crossAccountTemplate();
  // The template's parts are generated once: functions and machines are both taken from them.
  const packaged = packagedRoles(config, deployment, account);
  return {
    functions: functionRolesOf(config, packaged),
    machines: machineRolesOf(packaged),
    destinations: Object.fromEntries(
      crossAccountParameters(config, { account, deployment }).map((setup) => [
        setup.roleArn,
        crossAccountRole(setup.parameters, setup.account, template),
      ]),
    ),
  };
}
