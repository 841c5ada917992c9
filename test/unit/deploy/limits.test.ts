import { describe, expect, it } from 'vitest';
import {
  type CfnTemplate,
  checkTemplate,
  DashboardSizeError,
  estimateString,
  formatReport,
  LIMITS,
  LimitExceededError,
  ManagedPoliciesPerRoleError,
  POLICY_FIT_METADATA,
  policyChars,
  RolePolicySizeError,
  TemplateBodySizeError,
  TemplateResourceCountError,
  TemplateSectionCountError,
} from '#deploy/limits';

describe('policyChars: sizes as IAM counts them, intrinsics at their longest', () => {
  it('It should count the JSON without white space between tokens', () => {
    const document = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:GetObject' }] };
    expect(policyChars(document)).toBe(JSON.stringify(document).length);
    expect(policyChars(JSON.parse(JSON.stringify(document, null, 4)))).toBe(JSON.stringify(document).length);
  });

  it('It should resolve pseudo parameters to their longest values: aws-us-gov, 12 digits, a long Region', () => {
    expect(estimateString({ Ref: 'AWS::Partition' })).toBe('aws-us-gov');
    expect(estimateString({ Ref: 'AWS::AccountId' })).toMatch(/^\d{12}$/);
    expect(estimateString({ Ref: 'AWS::Region' }).length).toBeGreaterThan('ap-southeast-7'.length);
    expect(estimateString({ Ref: 'AWS::URLSuffix' })).toBe('amazonaws.com.cn');
  });

  it('It should resolve Fn::Sub, Fn::Join and Fn::Select of a split, and a resource reference at 256', () => {
    const sub = {
      'Fn::Sub': `arn:\${AWS::Partition}:states:\${AWS::Region}:\${AWS::AccountId}:stateMachine:ferry-ci-object-copy`,
    };
    const resolved = estimateString(sub);
    expect(resolved).toMatch(/^arn:aws-us-gov:states:.+:\d{12}:stateMachine:ferry-ci-object-copy$/);
    expect(estimateString({ 'Fn::Sub': `a\${!*}b` })).toBe(`a\${*}b`);
    expect(estimateString({ 'Fn::Sub': [`x-\${Name}`, { Name: 'value' }] })).toBe('x-value');
    expect(estimateString({ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':s3:::b']] })).toBe(
      'arn:aws-us-gov:s3:::b',
    );
    expect(estimateString({ 'Fn::Select': [1, { 'Fn::Split': [':', sub] }] })).toBe(resolved);
    expect(estimateString({ 'Fn::GetAtt': ['DeadLetterQueue', 'Arn'] })).toHaveLength(256);
  });
});

const statement = (resources: number) => ({
  Effect: 'Allow',
  Action: ['s3:GetObject'],
  Resource: Array.from({ length: resources }, (_, index) => `arn:aws:s3:::bucket-${index}/*`),
});
const role = (statements: unknown[], managed: unknown[] = []) => ({
  Type: 'AWS::IAM::Role',
  Metadata: { [POLICY_FIT_METADATA]: { step: 'exact' } },
  Properties: {
    Policies: [{ PolicyName: 'ferry', PolicyDocument: { Version: '2012-10-17', Statement: statements } }],
    ManagedPolicyArns: managed,
  },
});

describe('checkTemplate: each limit a named error with the limit and the figure', () => {
  it('It should pass a template within every limit, and report its roles and sizes', () => {
    const template: CfnTemplate = {
      Resources: {
        FnRole: role([statement(3)], [{ Ref: 'FnRolePolicy1' }]),
        FnRolePolicy1: {
          Type: 'AWS::IAM::ManagedPolicy',
          Properties: { PolicyDocument: { Version: '2012-10-17', Statement: [statement(2)] } },
        },
      },
    };
    const body = JSON.stringify(template, null, 2);
    const { report, errors } = checkTemplate('main', template, body);
    expect(errors).toEqual([]);
    expect(report).toMatchObject({ template: 'main', resources: 2, bytes: Buffer.byteLength(body) });
    expect(report.roles).toEqual([
      {
        role: 'FnRole',
        fit: 'exact',
        inline: policyChars({ Version: '2012-10-17', Statement: [statement(3)] }),
        managed: [policyChars({ Version: '2012-10-17', Statement: [statement(2)] })],
        attached: 1,
      },
    ]);
    expect(formatReport([report])).toMatch(
      /main: 2\/500 resources.*\n {2}FnRole \[fitted: exact\]: inline \d+\/10,240 chars, managed 1\/10/,
    );
  });

  it('It should name a role whose inline policy or a managed policy is too large', () => {
    const template: CfnTemplate = {
      Resources: {
        BigRole: role([statement(400)], [{ Ref: 'BigPolicy' }]),
        BigPolicy: {
          Type: 'AWS::IAM::ManagedPolicy',
          Properties: { PolicyDocument: { Version: '2012-10-17', Statement: [statement(300)] } },
        },
      },
    };
    const { errors } = checkTemplate('main', template, '{}');
    expect(errors.map((error) => error.constructor)).toEqual([RolePolicySizeError, RolePolicySizeError]);
    const [inline, managed] = errors;
    expect(inline).toMatchObject({ limit: LIMITS.roleInlinePolicyChars, role: 'BigRole' });
    expect(inline?.message).toMatch(
      /^main: BigRole: its inline policies: [\d,]+ characters, more than 10,240/,
    );
    expect(managed).toMatchObject({ limit: LIMITS.managedPolicyChars });
    expect(managed?.figure).toBe(policyChars({ Version: '2012-10-17', Statement: [statement(300)] }));
  });

  it('It should add inline policies declared as AWS::IAM::Policy resources to the role they name', () => {
    const separate = { Version: '2012-10-17', Statement: [statement(200)] };
    const template: CfnTemplate = {
      Resources: {
        FnRole: role([statement(200)]),
        Extra: {
          Type: 'AWS::IAM::Policy',
          Properties: { PolicyDocument: separate, Roles: [{ Ref: 'FnRole' }] },
        },
      },
    };
    const { report, errors } = checkTemplate('main', template, '{}');
    expect(report.roles[0]?.inline).toBe(
      policyChars({ Version: '2012-10-17', Statement: [statement(200)] }) + policyChars(separate),
    );
    expect(errors.map((error) => error.name)).toEqual(['RolePolicySizeError']);
  });

  it('It should count managed policies attached to a role, by its ARNs and by the policies naming it', () => {
    const resources: NonNullable<CfnTemplate['Resources']> = {
      FnRole: role(
        [statement(1)],
        [
          'arn:aws:iam::aws:policy/ReadOnlyAccess',
          ...Array.from({ length: 9 }, (_, index) => ({ Ref: `P${index}` })),
        ],
      ),
    };
    for (let index = 0; index < 11; index += 1) {
      resources[`P${index}`] = {
        Type: 'AWS::IAM::ManagedPolicy',
        Properties: {
          PolicyDocument: { Version: '2012-10-17', Statement: [statement(1)] },
          ...(index >= 9 ? { Roles: [{ Ref: 'FnRole' }] } : {}),
        },
      };
    }
    const { errors, report } = checkTemplate('main', { Resources: resources }, '{}');
    expect(report.roles[0]?.attached).toBe(12);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(ManagedPoliciesPerRoleError);
    expect(errors[0]).toMatchObject({ limit: 10, figure: 12 });
    expect(errors[0]?.message).toContain('FnRole has 12 managed policies attached, more than 10');
  });

  it('It should name too many resources, outputs or parameters, and a body past 1 MB', () => {
    const many = (count: number) =>
      Object.fromEntries(Array.from({ length: count }, (_, i) => [`X${i}`, {}]));
    const template: CfnTemplate = {
      Resources: many(501) as CfnTemplate['Resources'],
      Outputs: many(201),
      Parameters: many(200),
    };
    const { errors } = checkTemplate('forwarder-eu-west-1', template, 'x'.repeat(1_000_001));
    expect(errors.map((error) => error.name)).toEqual([
      'TemplateResourceCountError',
      'TemplateBodySizeError',
      'TemplateSectionCountError',
    ]);
    for (const error of errors) expect(error).toBeInstanceOf(LimitExceededError);
    expect(errors[0]).toBeInstanceOf(TemplateResourceCountError);
    expect(errors[0]?.message).toBe(
      "forwarder-eu-west-1: 501 resources, more than CloudFormation's 500 per template. Merge rules that watch the same buckets, or split the rules over two stages.",
    );
    expect(errors[1]).toBeInstanceOf(TemplateBodySizeError);
    expect(errors[1]).toMatchObject({ limit: 1_000_000, figure: 1_000_001 });
    expect(errors[2]).toBeInstanceOf(TemplateSectionCountError);
    expect(errors[2]).toMatchObject({ section: 'Outputs', limit: 200, figure: 201 });
  });

  it('It should name a dashboard of more than 500 widgets, or a widget of more than 500 metrics', () => {
    const dashboard = (widgets: number, metrics: number): CfnTemplate => ({
      Resources: {
        Dashboard: {
          Type: 'AWS::CloudWatch::Dashboard',
          Properties: {
            DashboardBody: {
              'Fn::Sub': JSON.stringify({
                widgets: Array.from({ length: widgets }, () => ({
                  type: 'metric',
                  // biome-ignore lint/suspicious/noTemplateCurlyInString: resolved by the Fn::Sub
                  properties: { region: '${AWS::Region}', metrics: Array(metrics).fill(['Ferry', 'X']) },
                })),
              }),
            },
          },
        },
      },
    });
    expect(checkTemplate('main', dashboard(500, 500), '{}').errors).toEqual([]);
    const { errors } = checkTemplate('main', dashboard(501, 501), '{}');
    expect(errors.map((error) => [error.name, error.limit, error.figure])).toEqual([
      ['DashboardSizeError', 500, 501],
      ['DashboardSizeError', 500, 501],
    ]);
    expect(errors[0]).toBeInstanceOf(DashboardSizeError);
    expect(errors[0]).toMatchObject({ dashboard: 'Dashboard', what: 'widgets' });
    expect(errors[1]).toMatchObject({ what: 'metrics in one widget' });
  });
});
