import { readFileSync } from 'node:fs';
import { runSimulation } from '@cloud-copilot/iam-simulate';
import { describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { type AnyStatement, writeActionsOnWildcard } from '#deploy/iam/lint';
import { iamPolicies } from '#deploy/iam/policies';
import { FUNCTION_NAMES } from '#deploy/iam/types';
import { functionRolePath } from '#deploy/template-parts';
import { MARKER } from '#ec2/markers';
import { loadConfigFile, validateConfig } from '#rules/load';

const TEMPLATE_PATH = new URL('../../../deploy/cross-account-role.yml', import.meta.url);

interface Template {
  Parameters: Record<
    string,
    { Type: string; Default?: string; AllowedPattern?: string } & Record<string, unknown>
  >;
  Conditions: Record<string, unknown>;
  Resources: Record<string, { Type: string; Properties: Record<string, unknown> }>;
  Outputs: Record<string, { Value: unknown }>;
}

const document = parseDocument(readFileSync(TEMPLATE_PATH, 'utf8'));
const template = document.toJS() as Template;
const role = template.Resources.WriterRole?.Properties as {
  AssumeRolePolicyDocument: { Statement: (AnyStatement & Record<string, unknown>)[] };
  Policies: { PolicyDocument: { Statement: unknown[] } }[];
};

/** The lock and protection actions, each with the condition and parameter that grant it. */
const PROTECTIONS = {
  'ec2:LockSnapshot': { condition: 'LocksEc2Copies', parameter: 'LockEc2Copies' },
  'ec2:EnableImageDeregistrationProtection': {
    condition: 'ProtectsImageCopies',
    parameter: 'ProtectImageCopies',
  },
  'ec2:EnableImageDeprecation': { condition: 'DeprecatesImageCopies', parameter: 'DeprecateImageCopies' },
} as const;

type Conditioned = {
  when: string;
  statement: AnyStatement & { Condition?: Record<string, Record<string, unknown>> };
};

/** The permission statements, each with the template condition that includes it. */
const statements: Conditioned[] = (role.Policies[0]?.PolicyDocument.Statement ?? []).map((entry) => {
  const [when, statement, otherwise] = (entry as { 'Fn::If': [string, Conditioned['statement'], unknown] })[
    'Fn::If'
  ];
  expect(otherwise).toEqual({ Ref: 'AWS::NoValue' });
  return { when, statement };
});

/**
 * The trust statement's `aws:PrincipalArn` pattern with the parameters filled in, as a regular expression:
 * ArnLike's `*` is any run of characters and `?` any one.
 */
function trustPattern(parameters: Record<string, string>): RegExp {
  const condition = role.AssumeRolePolicyDocument.Statement[0]?.Condition as {
    ArnLike: { 'aws:PrincipalArn': { 'Fn::Sub': string } };
  };
  const arnLike = condition.ArnLike;
  const arn = arnLike['aws:PrincipalArn']['Fn::Sub'].replace(/\$\{([^}]+)\}/g, (_, name: string) =>
    name === 'AWS::Partition' ? 'aws' : (parameters[name] ?? `<${name} unknown>`),
  );
  const escaped = arn
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${escaped}$`);
}

const actionsOf = (list: readonly Conditioned[]) =>
  new Set(list.flatMap(({ statement }) => [statement.Action].flat()));

/** Every value of a key anywhere in the tree (`Ref`, `Condition`). */
function valuesOf(node: unknown, key: string): unknown[] {
  if (Array.isArray(node)) return node.flatMap((item) => valuesOf(item, key));
  if (typeof node !== 'object' || node === null) return [];
  return Object.entries(node).flatMap(([name, value]) => [
    ...(name === key ? [value] : []),
    ...valuesOf(value, key),
  ]);
}

describe('deploy/cross-account-role.yml', () => {
  it('It should be plain YAML: long-form intrinsics, no CloudFormation tags', () => {
    expect(document.errors).toEqual([]);
    expect(document.warnings).toEqual([]);
    expect(readFileSync(TEMPLATE_PATH, 'utf8')).not.toMatch(
      /^[^#]*\s!(Ref|GetAtt|Sub|If|Join|Equals|Not)\b/m,
    );
  });

  it('It should refer only to its own parameters, resources and conditions', () => {
    const known = [...Object.keys(template.Parameters), ...Object.keys(template.Resources)];
    for (const ref of valuesOf(template, 'Ref')) {
      if (typeof ref === 'string' && ref.startsWith('AWS::')) continue;
      expect(known).toContain(ref);
    }
    const conditions = [...valuesOf(template.Conditions, 'Condition'), ...statements.map(({ when }) => when)];
    for (const name of conditions) expect(Object.keys(template.Conditions)).toContain(name);
  });

  it('It should take the parameters a destination account needs', () => {
    expect(Object.keys(template.Parameters)).toEqual(
      expect.arrayContaining([
        'FerryAccountId',
        'ExternalId',
        'DestinationBucketArns',
        'DestinationObjectArns',
        'SourceObjectArns',
        'AllowDeletes',
        'KmsKeyArns',
        'AllowEc2Copies',
        'Ec2Regions',
      ]),
    );
    // Optional parts default to off.
    expect(template.Parameters.KmsKeyArns?.Default).toBe('');
    expect(template.Parameters.AllowEc2Copies?.Default).toBe('false');
    expect(template.Parameters.AllowDeletes?.Default).toBe('false');
  });

  it.each([
    ['acme-ferry-7f3a9c', true],
    ['acme:ferry/7f3a=9c@x.y-z_+,', true],
    ['x', false],
    ['acme ferry', false],
    ['acme#ferry', false],
  ])('It should accept the external id %j exactly when replication.yml does', (externalId, valid) => {
    const parameter: Record<string, unknown> = template.Parameters.ExternalId ?? {};
    const pattern = new RegExp(String(parameter.AllowedPattern));
    const inTemplate =
      pattern.test(externalId) &&
      externalId.length >= Number(parameter.MinLength) &&
      externalId.length <= Number(parameter.MaxLength);
    const inRules = validateConfig({
      rules: [
        {
          name: 'to-partner',
          objects: { bucket: 'acme-media' },
          to: [
            {
              bucket: 'partner-inbox',
              region: 'eu-west-1',
              account: '222233334444',
              roleArn: 'arn:aws:iam::222233334444:role/ferry-writer',
              externalId,
            },
          ],
        },
      ],
    }).ok;
    expect([inTemplate, inRules]).toEqual([valid, valid]);
  });

  it('It should trust only Ferry’s Lambda roles, and only with the external id', () => {
    expect(role.AssumeRolePolicyDocument.Statement).toEqual([
      {
        Sid: 'FerryWithItsExternalId',
        Effect: 'Allow',
        // biome-ignore lint/suspicious/noTemplateCurlyInString: CloudFormation's Fn::Sub placeholders
        Principal: { AWS: { 'Fn::Sub': 'arn:${AWS::Partition}:iam::${FerryAccountId}:root' } },
        Action: 'sts:AssumeRole',
        Condition: {
          StringEquals: { 'sts:ExternalId': { Ref: 'ExternalId' } },
          ArnLike: {
            'aws:PrincipalArn': {
              // biome-ignore lint/suspicious/noTemplateCurlyInString: CloudFormation's Fn::Sub placeholders
              'Fn::Sub': 'arn:${AWS::Partition}:iam::${FerryAccountId}:role/${FerryService}/${FerryStage}/*',
            },
          },
        },
      },
    ]);
  });

  it('It should trust the Lambda roles of exactly one stage: the IAM path the stack gives them', () => {
    // The stage has no default: whoever deploys the role says which Ferry stage writes here.
    expect(template.Parameters.FerryStage).not.toHaveProperty('Default');
    expect(template.Parameters.FerryService?.Default).toBe('ferry');
    expect(template.Parameters).not.toHaveProperty('FerryRoleNamePattern');
    const trusted = (service: string, stage: string) =>
      trustPattern({ FerryAccountId: '111122223333', FerryService: service, FerryStage: stage });
    const roleOf = (deployment: { service: string; stage: string }, name: string) =>
      `arn:aws:iam::111122223333:role${functionRolePath(deployment)}${name}`;
    const prod = roleOf({ service: 'ferry', stage: 'prod' }, 'ferry-prod-Ec2CopyStepRole-1A2B3C4D5E6F');
    expect(trusted('ferry', 'prod').test(prod)).toBe(true);
    for (const other of [
      roleOf({ service: 'ferry', stage: 'prod2' }, 'ferry-prod2-Ec2CopyStepRole-1A2B3C4D5E6F'),
      roleOf({ service: 'ferry', stage: 'dev' }, 'ferry-prod-Ec2CopyStepRole-1A2B3C4D5E6F'),
      roleOf({ service: 'ferry-prod', stage: 'x' }, 'ferry-prod-x-Ec2CopyStepRole-1A2B3C4D5E6F'),
      // The old default's idea, a name: a role without the stage's path is not trusted, whatever its name.
      'arn:aws:iam::111122223333:role/ferry-prod-Ec2CopyStepRole-1A2B3C4D5E6F',
      'arn:aws:iam::999988887777:role/ferry/prod/ferry-prod-Ec2CopyStepRole-1A2B3C4D5E6F',
    ]) {
      expect(trusted('ferry', 'prod').test(other), other).toBe(false);
    }
    // Neither parameter can widen the pattern: no wildcard, no path separator.
    for (const name of ['FerryService', 'FerryStage'] as const) {
      const pattern = new RegExp(String(template.Parameters[name]?.AllowedPattern));
      for (const value of ['*', 'prod*', 'prod/x', 'a?', '']) expect(pattern.test(value), value).toBe(false);
      expect(pattern.test('prod-eu')).toBe(true);
    }
  });

  it('It should output the role’s ARN', () => {
    expect(template.Outputs.RoleArn?.Value).toEqual({ 'Fn::GetAtt': ['WriterRole', 'Arn'] });
  });

  it('It should grant no write action on "*", and read on "*" only in the copy Regions', () => {
    expect(writeActionsOnWildcard(statements.map(({ statement }) => statement))).toEqual([]);
    for (const { statement } of statements.filter(({ statement }) => statement.Resource === '*')) {
      expect(statement.Condition?.StringEquals?.['aws:RequestedRegion']).toEqual({ Ref: 'Ec2Regions' });
    }
  });

  it('It should scope every EC2 statement to the copy Regions, and destructive ones to Ferry’s copies', () => {
    for (const { when, statement } of statements) {
      const actions = [statement.Action].flat();
      if (!actions.some((action) => action.startsWith('ec2:'))) continue;
      // Locks and protection have their own switch, within CopiesEc2 (see the next test).
      expect(['CopiesEc2', ...Object.values(PROTECTIONS).map(({ condition }) => condition)]).toContain(when);
      expect(statement.Condition?.StringEquals?.['aws:RequestedRegion']).toEqual({ Ref: 'Ec2Regions' });
      if (actions.some((action) => /^ec2:(Delete|Deregister|ModifySnapshotTier|Lock|Enable)/.test(action))) {
        expect(statement.Condition?.Null).toEqual({ [`aws:ResourceTag/${MARKER.sourceId}`]: 'false' });
      }
      if (actions.includes('ec2:CreateTags')) {
        const condition = statement.Condition ?? {};
        // At creation by a copy, or on what already carries Ferry's marker: never because the request
        // carries it (that would let Ferry mark any snapshot, then delete it).
        const onCreation = condition.StringEquals?.['ec2:CreateAction'];
        const marked = condition.Null?.[`aws:ResourceTag/${MARKER.sourceId}`];
        expect([onCreation, marked].filter((value) => value !== undefined)).toHaveLength(1);
        if (onCreation !== undefined) expect(onCreation).toEqual(['CopySnapshot', 'CopyImage']);
        if (marked !== undefined) expect(marked).toBe('false');
        expect(JSON.stringify(condition)).not.toContain('aws:RequestTag');
      }
    }
  });

  it('It should grant locks and protection only when their parameter is true, and never their undoing', () => {
    for (const [action, { condition, parameter }] of Object.entries(PROTECTIONS)) {
      const granting = statements.filter(({ statement }) => [statement.Action].flat().includes(action));
      expect(granting.map(({ when }) => when)).toEqual([condition]);
      expect(template.Conditions[condition]).toEqual({
        'Fn::And': [{ Condition: 'CopiesEc2' }, { 'Fn::Equals': [{ Ref: parameter }, 'true'] }],
      });
      expect(template.Parameters[parameter]?.Default).toBe('false');
    }
    const actions = statements.flatMap(({ statement }) => [statement.Action].flat());
    for (const undo of [
      'ec2:UnlockSnapshot',
      'ec2:DisableImageDeregistrationProtection',
      'ec2:DisableImageDeprecation',
    ])
      expect(actions).not.toContain(undo);
  });

  it('It should use the given keys only through S3 or EC2', () => {
    const kms = statements.filter(({ statement }) =>
      [statement.Action].flat().some((action) => action.startsWith('kms:')),
    );
    expect(kms.map(({ when }) => when).sort()).toEqual([
      'UsesKeysForEc2',
      'UsesKeysForEc2',
      'UsesKeysForObjects',
    ]);
    for (const { statement } of kms) {
      expect(statement.Resource).toEqual({ Ref: 'KmsKeyArns' });
      expect(statement.Condition?.StringLike?.['kms:ViaService']).toEqual({
        'Fn::Sub': expect.stringMatching(/^(s3|ec2)\.\*\.\$\{AWS::URLSuffix\}$/),
      });
    }
  });

  it('It should delete replicas only when deletes are allowed', () => {
    expect(
      statements.filter(({ statement }) => [statement.Action].flat().includes('s3:DeleteObject')),
    ).toEqual([expect.objectContaining({ when: 'DeletesObjects' })]);
  });

  it('It should grant Object Lock actions only when object locks are allowed', () => {
    const lockActions = [
      's3:PutObjectRetention',
      's3:PutObjectLegalHold',
      's3:GetBucketObjectLockConfiguration',
    ];
    const locking = statements.filter(({ statement }) =>
      [statement.Action]
        .flat()
        .some(
          (action) =>
            lockActions.includes(action) ||
            action.startsWith('s3:GetObjectRe') ||
            action === 's3:GetObjectLegalHold',
        ),
    );
    expect(locking.map(({ when }) => when)).toEqual(['LocksObjects', 'LocksObjects', 'LocksObjects']);
    expect(template.Parameters.AllowObjectLocks?.Default).toBe('false');
  });

  it.each(['objects-only.yml', 'ec2-to-dr.yml', 'multi-region.yml'])(
    'It should allow every S3, EC2 and KMS action Ferry needs for the destinations of %s',
    (name) => {
      const policies = iamPolicies(
        loadConfigFile(new URL(`../../configs/${name}`, import.meta.url).pathname),
        {
          account: '111122223333',
          stateMachineArns: {
            objectCopy: 'arn:aws:states:us-east-1:111122223333:stateMachine:o',
            snapshotCopy: 'arn:aws:states:us-east-1:111122223333:stateMachine:s',
            imageCopy: 'arn:aws:states:us-east-1:111122223333:stateMachine:i',
          },
          copyWaitersTableArn: 'arn:aws:dynamodb:us-east-1:111122223333:table/t',
        },
      );
      // What Ferry would do itself for a destination in its own account, the role must do for it elsewhere
      // (except sharing the source, which stays with Ferry's own role in the source account).
      const needed = FUNCTION_NAMES.flatMap((fn) => policies[fn])
        .flatMap((statement) => statement.Action)
        .filter(
          (action) => /^(s3|ec2|kms):/.test(action) && !/^ec2:Modify(Snapshot|Image)Attribute$/.test(action),
        );
      const granted = actionsOf(statements);
      expect(needed.filter((action) => !granted.has(action))).toEqual([]);
    },
  );
});

/** The role's statements as IAM would hold them, for a stack that copies EC2 resources in these Regions. */
function renderedEc2Statements(regions: string[]): Record<string, unknown>[] {
  const render = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(render);
    if (typeof node !== 'object' || node === null) return node;
    const { Ref: ref, 'Fn::Sub': sub } = node as { Ref?: string; 'Fn::Sub'?: string };
    if (ref === 'Ec2Regions') return regions;
    // biome-ignore lint/suspicious/noTemplateCurlyInString: CloudFormation's Fn::Sub placeholder
    if (typeof sub === 'string') return sub.replaceAll('${AWS::Partition}', 'aws');
    return Object.fromEntries(Object.entries(node).map(([key, value]) => [key, render(value)]));
  };
  return statements
    .filter(({ when }) => when === 'CopiesEc2')
    .map(({ statement }) => render(statement) as Record<string, unknown>);
}

describe('deploy/cross-account-role.yml evaluated by an IAM policy simulator', () => {
  const PARTNER = '222233334444';
  const policy = { Version: '2012-10-17', Statement: renderedEc2Statements(['us-west-2', 'us-east-1']) };
  const snapshot = (id: string) => `arn:aws:ec2:us-west-2::snapshot/${id}`;

  async function decide(action: string, resource: string, context: Record<string, string | string[]>) {
    const response = await runSimulation(
      {
        identityPolicies: [{ name: 'ferry-writer', policy }],
        serviceControlPolicies: [],
        resourceControlPolicies: [],
        request: {
          action,
          principal: `arn:aws:iam::${PARTNER}:role/ferry-writer`,
          resource: { accountId: PARTNER, resource },
          contextVariables: { 'aws:RequestedRegion': 'us-west-2', ...context },
        },
      },
      {},
    );
    if (response.resultType === 'error') throw new Error(JSON.stringify(response.errors));
    return response.overallResult;
  }

  it('It should deny marking a snapshot Ferry did not make, and so deleting or archiving it', async () => {
    const theirs = snapshot('snap-0partner0000000001');
    // Tag-then-delete: first put Ferry's marker on the partner's snapshot, then remove it as Ferry's own.
    expect(
      await decide('ec2:CreateTags', theirs, {
        [`aws:RequestTag/${MARKER.sourceId}`]: 'snap-0123456789abcdef0',
        'aws:TagKeys': [MARKER.sourceId],
      }),
    ).toBe('ImplicitlyDenied');
    expect(await decide('ec2:DeleteSnapshot', theirs, {})).toBe('ImplicitlyDenied');
    expect(await decide('ec2:ModifySnapshotTier', theirs, {})).toBe('ImplicitlyDenied');
  });

  it('It should allow Ferry’s tags at creation and on its copies, and removing its copies', async () => {
    const marker = {
      [`aws:RequestTag/${MARKER.sourceId}`]: 'ami-0123456789abcdef0',
      'aws:TagKeys': [MARKER.sourceId],
    };
    // An AMI copy's new snapshots, tagged by CopyImage's TagSpecifications.
    expect(
      await decide('ec2:CreateTags', snapshot('snap-0new0000000000001'), {
        ...marker,
        'ec2:CreateAction': 'CopyImage',
      }),
    ).toBe('Allowed');
    const ours = { [`aws:ResourceTag/${MARKER.sourceId}`]: 'ami-0123456789abcdef0' };
    expect(await decide('ec2:CreateTags', snapshot('snap-0ours000000000001'), { ...marker, ...ours })).toBe(
      'Allowed',
    );
    expect(await decide('ec2:DeleteSnapshot', snapshot('snap-0ours000000000001'), ours)).toBe('Allowed');
    // Outside the copy Regions nothing is allowed, even on Ferry's copies.
    expect(
      await decide('ec2:DeleteSnapshot', 'arn:aws:ec2:eu-west-1::snapshot/snap-0ours000000000001', {
        ...ours,
        'aws:RequestedRegion': 'eu-west-1',
      }),
    ).toBe('ImplicitlyDenied');
  });
});
