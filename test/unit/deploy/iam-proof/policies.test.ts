// biome-ignore-all lint/suspicious/noTemplateCurlyInString: CloudFormation's Fn::Sub placeholders
import { describe, expect, it } from 'vitest';
import { FUNCTION_NAMES } from '#deploy/iam/types';
import {
  deployedRoles,
  functionRoles,
  type Template,
  TemplateParametersError,
  UnknownManagedPolicyError,
} from '#deploy/iam-proof/policies';
import { deployedFunctionsOf } from '#deploy/template-parts';
import { loadConfigFile } from '#rules/load';

const NAMES = { account: '000000000000', region: 'us-east-1', stackName: 'ferry-sandbox' };
const statement = (sid: string, action: string) => ({
  Sid: sid,
  Effect: 'Allow',
  Action: [action],
  Resource: '*',
});
const document = (...statements: unknown[]) => ({ Version: '2012-10-17', Statement: statements });
const trust = document({
  Effect: 'Allow',
  Principal: { Service: 'lambda.amazonaws.com' },
  Action: 'sts:AssumeRole',
});

describe('deployedRoles', () => {
  const template: Template = {
    Parameters: {
      Stage: { Type: 'String', Default: 'sandbox' },
      Extra: { Type: 'String', Default: 'false' },
    },
    Conditions: { WithExtra: { 'Fn::Equals': [{ Ref: 'Extra' }, 'true'] } },
    Resources: {
      Role: {
        Type: 'AWS::IAM::Role',
        Properties: {
          Path: { 'Fn::Sub': '/ferry/${Stage}/' },
          AssumeRolePolicyDocument: trust,
          Policies: [{ PolicyName: 'inline', PolicyDocument: document(statement('Inline', 's3:GetObject')) }],
          ManagedPolicyArns: [{ Ref: 'Attached' }],
        },
      },
      Attached: {
        Type: 'AWS::IAM::ManagedPolicy',
        Properties: { PolicyDocument: document(statement('ByArn', 's3:PutObject')) },
      },
      NamingTheRole: {
        Type: 'AWS::IAM::ManagedPolicy',
        Properties: {
          Roles: [{ Ref: 'Role' }],
          PolicyDocument: document(statement('ByRoles', 's3:DeleteObject')),
        },
      },
      OnlyWithExtra: {
        Type: 'AWS::IAM::Policy',
        Condition: 'WithExtra',
        Properties: {
          PolicyName: 'extra',
          Roles: [{ Ref: 'Role' }],
          PolicyDocument: document(statement('Extra', 's3:ListBucket')),
        },
      },
    },
  };

  it('It should gather inline policies and managed policies attached either way, as deployed', () => {
    const role = deployedRoles(template, NAMES).Role;
    expect(role?.arn).toBe('arn:aws:iam::000000000000:role/ferry/sandbox/ferry-sandbox-Role-PROOF0000000');
    expect(role?.policies.flatMap(({ document }) => document.Statement.map(({ Sid }) => Sid))).toEqual([
      'Inline',
      'ByArn',
      'ByRoles',
    ]);
    expect(
      deployedRoles(template, NAMES, { Extra: 'true' }).Role?.policies.map(({ name }) => name),
    ).toContain('extra');
  });

  it('It should refuse parameters the template does not declare, and required ones not given', () => {
    expect(() => deployedRoles(template, NAMES, { Unknown: 'x' })).toThrow(TemplateParametersError);
    const required: Template = {
      ...template,
      Parameters: { ...template.Parameters, Needed: { Type: 'String' } },
    };
    expect(() => deployedRoles(required, NAMES)).toThrow(/Needed \(required, not given\)/);
  });

  it('It should refuse a managed policy the template does not hold (the proof could not see it)', () => {
    const attached: Template = {
      Resources: {
        Role: {
          Type: 'AWS::IAM::Role',
          Properties: {
            AssumeRolePolicyDocument: trust,
            ManagedPolicyArns: ['arn:aws:iam::aws:policy/AdministratorAccess'],
          },
        },
      },
    };
    expect(() => deployedRoles(attached, NAMES)).toThrow(UnknownManagedPolicyError);
  });
});

describe('functionRoles', () => {
  it.each(['objects-only.yml', 'cross-account.yml', 'multi-region.yml', 'ec2-to-dr.yml'])(
    'It should resolve every function role of %s to plain policies',
    (name) => {
      const config = loadConfigFile(new URL(`../../../configs/${name}`, import.meta.url).pathname);
      const roles = functionRoles(config);
      expect(Object.keys(roles)).toEqual(deployedFunctionsOf(config));
      expect(Object.keys(roles)).toEqual(FUNCTION_NAMES.filter((fn) => fn !== 'objectCreatedBatch'));
      const text = JSON.stringify(roles);
      expect(text).not.toMatch(/"(Ref|Fn::[A-Za-z]+|Condition)":\s*"/);
      expect(text).not.toContain('${');
      for (const role of Object.values(roles)) {
        expect(role.arn).toMatch(/^arn:aws:iam::000000000000:role\/.*ferry-sandbox-/);
        expect(role.policies.length).toBeGreaterThan(0);
      }
    },
  );
});
