import { describe, expect, it } from 'vitest';
import { formatMissing, type ProofRoles, proveRequests } from '#deploy/iam-proof/evaluate';
import type { DeployedRole, PolicyStatement } from '#deploy/iam-proof/policies';
import type { IamRequest } from '#deploy/iam-proof/request';

const LAMBDA_TRUST: DeployedRole['trustPolicy'] = {
  Version: '2012-10-17',
  Statement: [
    { Effect: 'Allow' as const, Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' },
  ],
};

const roleWith = (
  name: string,
  account: string,
  statements: PolicyStatement[],
  trust = LAMBDA_TRUST,
): DeployedRole => ({
  logicalId: name,
  arn: `arn:aws:iam::${account}:role/${name}`,
  name,
  account,
  policies: [{ name: 'ferry', document: { Version: '2012-10-17', Statement: statements } }],
  trustPolicy: trust,
});

const PARTNER_ROLE = 'arn:aws:iam::222233334444:role/ferry-writer';

const copyStep = roleWith('ferry-sandbox-ObjectCopyStepRole-X', '000000000000', [
  {
    Sid: 'ReadSource',
    Effect: 'Allow',
    Action: ['s3:GetObject', 's3:GetObjectVersion'],
    Resource: ['arn:aws:s3:::src/in/*'],
  },
  {
    Sid: 'EncryptReplicas',
    Effect: 'Allow',
    Action: ['kms:GenerateDataKey'],
    Resource: ['arn:aws:kms:us-west-2:000000000000:key/k1'],
    Condition: { StringEquals: { 'kms:ViaService': 's3.us-west-2.amazonaws.com' } },
  },
  {
    Sid: 'TagNewCopies',
    Effect: 'Allow',
    Action: ['ec2:CreateTags'],
    Resource: ['arn:aws:ec2:us-west-2::snapshot/*'],
    Condition: { StringEquals: { 'ec2:CreateAction': ['CopySnapshot'] } },
  },
  { Sid: 'Assume', Effect: 'Allow', Action: ['sts:AssumeRole'], Resource: [PARTNER_ROLE] },
]);

const partner = roleWith(
  'ferry-writer',
  '222233334444',
  [
    {
      Sid: 'WriteReplicas',
      Effect: 'Allow',
      Action: ['s3:PutObject'],
      Resource: ['arn:aws:s3:::inbox/from/*'],
    },
  ],
  {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Principal: { AWS: 'arn:aws:iam::000000000000:root' },
        Action: 'sts:AssumeRole',
        Condition: {
          StringEquals: { 'sts:ExternalId': 'the-id' },
          ArnLike: { 'aws:PrincipalArn': 'arn:aws:iam::000000000000:role/ferry-sandbox-*' },
        },
      },
    ],
  },
);

const empty = roleWith('empty', '000000000000', []);
const roles: ProofRoles = {
  functions: {
    objectCreated: empty,
    objectDeleted: empty,
    objectCopyStep: copyStep,
    objectTagsChanged: empty,
    snapshotCreated: empty,
    imageAvailable: empty,
    ec2CopyStep: empty,
    ec2CopyCompleted: empty,
    ec2TagsChanged: empty,
    reconcile: empty,
    rpoMonitor: empty,
    inventoryBatch: empty,
  },
  destinations: { [PARTNER_ROLE]: partner },
};

const request = (
  action: string,
  resource: string,
  context: IamRequest['context'] = {},
  principal: IamRequest['principal'] = { function: 'objectCopyStep' },
): IamRequest => ({
  principal,
  action,
  resource,
  context,
  call: action,
});

describe('proveRequests', () => {
  it('It should allow what a statement grants, and report each denied request with why', async () => {
    const report = await proveRequests(
      [
        request('s3:GetObject', 'arn:aws:s3:::src/in/a.txt'),
        request('s3:GetObject', 'arn:aws:s3:::src/in/a.txt'), // the same authorization, evaluated once
        request('s3:GetObject', 'arn:aws:s3:::src/out/a.txt'),
        request('s3:DeleteObject', 'arn:aws:s3:::src/in/a.txt'),
      ],
      roles,
    );
    expect(report.evaluated).toBe(3);
    expect(
      report.missing.map(({ request, decision }) => [request.action, request.resource, decision]),
    ).toEqual([
      ['s3:GetObject', 'arn:aws:s3:::src/out/a.txt', 'ImplicitlyDenied'],
      ['s3:DeleteObject', 'arn:aws:s3:::src/in/a.txt', 'ImplicitlyDenied'],
    ]);
    expect(report.missing[0]?.why).toBe('ReadSource: the resource matches none of its resources');
    expect(report.missing[1]?.why).toBe('no statement of the role names this action');
    expect(formatMissing(report.missing)).toContain(
      'objectCopyStep: s3:GetObject needs s3:GetObject on arn:aws:s3:::src/out/a.txt',
    );
  });

  it.each([
    [{ 'kms:ViaService': 's3.us-west-2.amazonaws.com' }, true],
    [{ 'kms:ViaService': 's3.eu-west-1.amazonaws.com' }, false],
    [{}, false],
  ])('It should test conditions: kms:GenerateDataKey with %j allowed: %s', async (context, allowed) => {
    const report = await proveRequests(
      [request('kms:GenerateDataKey', 'arn:aws:kms:us-west-2:000000000000:key/k1', context)],
      roles,
    );
    expect(report.missing.length === 0).toBe(allowed);
    if (!allowed)
      expect(report.missing[0]?.why).toMatch(/^EncryptReplicas: condition StringEquals kms:ViaService/);
  });

  it('It should allow a tag only at creation by the copy (ec2:CreateAction)', async () => {
    const tag = (context: IamRequest['context']) =>
      request('ec2:CreateTags', 'arn:aws:ec2:us-west-2::snapshot/snap-1', {
        'aws:RequestTag/ferry:source-id': 'snap-0',
        'aws:TagKeys': ['ferry:source-id'],
        ...context,
      });
    const report = await proveRequests([tag({ 'ec2:CreateAction': 'CopySnapshot' }), tag({})], roles);
    expect(report.missing.map(({ request }) => request.context['ec2:CreateAction'])).toEqual([undefined]);
  });

  it('It should need both the function’s policy and the destination role’s trust (external id, role name)', async () => {
    const assume = (externalId: string, fn: 'objectCopyStep' | 'objectCreated' = 'objectCopyStep') =>
      request('sts:AssumeRole', PARTNER_ROLE, { 'sts:ExternalId': externalId }, { function: fn });
    const report = await proveRequests(
      [assume('the-id'), assume('another-id'), assume('the-id', 'objectCreated')],
      roles,
    );
    expect(
      report.missing.map(({ request, why }) => [request.context['sts:ExternalId'], request.principal, why]),
    ).toEqual([
      ['another-id', { function: 'objectCopyStep' }, "the destination role's trust policy: ImplicitlyDenied"],
      // objectCreated's role (here: `empty`) neither may assume the role nor matches the trusted names.
      [
        'the-id',
        { function: 'objectCreated' },
        expect.stringContaining('no statement of the role names this action'),
      ],
    ]);
  });

  it('It should evaluate a destination role’s calls against that role, and refuse an unknown role', async () => {
    const report = await proveRequests(
      [
        request(
          's3:PutObject',
          'arn:aws:s3:::inbox/from/a',
          {},
          { role: PARTNER_ROLE, via: 'objectCopyStep' },
        ),
        request(
          's3:PutObject',
          'arn:aws:s3:::inbox/elsewhere',
          {},
          { role: PARTNER_ROLE, via: 'objectCopyStep' },
        ),
        request(
          's3:PutObject',
          'arn:aws:s3:::inbox/from/a',
          {},
          { role: 'arn:aws:iam::999999999999:role/x', via: 'objectCopyStep' },
        ),
      ],
      roles,
    );
    expect(report.missing.map(({ principal, decision }) => [principal, decision])).toEqual([
      ['ferry-writer via objectCopyStep', 'ImplicitlyDenied'],
      ['arn:aws:iam::999999999999:role/x via objectCopyStep', 'Invalid'],
    ]);
  });

  it('It should report an action IAM does not know as invalid, not as allowed', async () => {
    const report = await proveRequests([request('s3:CopyObject', 'arn:aws:s3:::src/in/a')], roles);
    expect(report.missing).toEqual([expect.objectContaining({ decision: 'Invalid' })]);
  });

  it('It should report as surplus each action of the active principals that no allowed request used', async () => {
    const report = await proveRequests(
      [
        request('s3:GetObject', 'arn:aws:s3:::src/in/a.txt'),
        request('kms:GenerateDataKey', 'arn:aws:kms:us-west-2:000000000000:key/k1', {
          'kms:ViaService': 's3.us-west-2.amazonaws.com',
        }),
        request(
          's3:PutObject',
          'arn:aws:s3:::inbox/from/a',
          {},
          { role: PARTNER_ROLE, via: 'objectCopyStep' },
        ),
      ],
      roles,
    );
    expect(report.surplus.map(({ principal, sid, action }) => `${principal} ${sid} ${action}`)).toEqual([
      'objectCopyStep ReadSource s3:GetObjectVersion',
      'objectCopyStep TagNewCopies ec2:CreateTags',
      'objectCopyStep Assume sts:AssumeRole',
    ]);
    expect(report.unusedStatements.map(({ sid }) => sid)).toEqual(['TagNewCopies', 'Assume']);
  });
});
