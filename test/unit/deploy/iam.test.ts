import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { executionsArnOf } from '#deploy/iam/arns';
import { type Cfn, literalInArn } from '#deploy/iam/cfn';
import { kmsKeyResource } from '#deploy/iam/kms';
import { isReadAction, writeActionsOnWildcard } from '#deploy/iam/lint';
import { iamPolicies } from '#deploy/iam/policies';
import {
  FUNCTION_NAMES,
  type FunctionName,
  type FunctionPolicies,
  type IamContext,
  type PolicyStatement,
} from '#deploy/iam/types';
import { loadConfigFile, parseConfig } from '#rules/load';

const CONFIGS = new URL('../../configs/', import.meta.url);
const ACCOUNT = '111122223333';
const MACHINES = {
  objectCopy: `arn:aws:states:us-east-1:${ACCOUNT}:stateMachine:ferry-dev-object-copy`,
  snapshotCopy: `arn:aws:states:us-east-1:${ACCOUNT}:stateMachine:ferry-dev-snapshot-copy`,
  imageCopy: `arn:aws:states:us-east-1:${ACCOUNT}:stateMachine:ferry-dev-image-copy`,
};
const TABLE = `arn:aws:dynamodb:us-east-1:${ACCOUNT}:table/ferry-dev-copy-waiters`;
const CONTEXT: IamContext = {
  account: ACCOUNT,
  homeRegion: 'us-east-1',
  stateMachineArns: MACHINES,
  copyWaitersTableArn: TABLE,
};

const configNamed = (name: string) => loadConfigFile(new URL(name, CONFIGS).pathname);
const policiesOf = (name: string, context: IamContext = CONTEXT) => iamPolicies(configNamed(name), context);

const actionsOf = (statements: readonly PolicyStatement[]): string[] =>
  [...new Set(statements.flatMap((statement) => statement.Action))].sort();

const granting = (statements: readonly PolicyStatement[], action: string) =>
  statements.filter((statement) => statement.Action.includes(action));

/** The resources of every statement granting the action, in order. */
const resourcesFor = (statements: readonly PolicyStatement[], action: string): Cfn[] =>
  granting(statements, action).flatMap((statement) =>
    statement.Resource === '*' ? ['*'] : statement.Resource,
  );

const allStatements = (policies: FunctionPolicies) => FUNCTION_NAMES.flatMap((fn) => policies[fn]);

const EC2_ARN = /^arn:aws:ec2:([a-z0-9-]+)::(snapshot|image)\/\*$/;

/** Every Region an EC2 statement reaches: the Regions of its ARNs and of its aws:RequestedRegion condition. */
function ec2RegionsOf(statements: readonly PolicyStatement[]): string[] {
  const regions = new Set<string>();
  for (const statement of statements.filter((s) => s.Action.some((a) => a.startsWith('ec2:')))) {
    if (statement.Resource !== '*') {
      for (const resource of statement.Resource) {
        const region = typeof resource === 'string' ? EC2_ARN.exec(resource)?.[1] : undefined;
        if (!region) throw new Error(`${statement.Sid}: ${JSON.stringify(resource)} is not a scoped EC2 ARN`);
        regions.add(region);
      }
    }
    const requested = statement.Condition?.StringEquals?.['aws:RequestedRegion'];
    for (const region of [requested ?? []].flat()) regions.add(String(region));
  }
  return [...regions].sort();
}

const EXAMPLES = readdirSync(CONFIGS)
  .filter((file) => file.endsWith('.yml'))
  .sort();

describe('IAM statements generated from replication.yml', () => {
  describe('Properties every example configuration keeps', () => {
    it('It should find the example configurations', () => {
      expect(EXAMPLES).toEqual(
        expect.arrayContaining([
          'cross-account.yml',
          'ec2-to-dr.yml',
          'multi-region.yml',
          'objects-only.yml',
        ]),
      );
    });

    it.each(EXAMPLES)('It should grant no write action on "*" for %s', (name) => {
      const policies = policiesOf(name);
      expect(writeActionsOnWildcard(policies)).toEqual([]);
      // The only statements on "*" are Describe* reads and the callbacks that end copy waits (no resource
      // type), each bounded to Regions: the rules', or the home Region.
      for (const statement of allStatements(policies).filter((s) => s.Resource === '*')) {
        expect(
          statement.Action.every(
            (action) => action.startsWith('ec2:Describe') || action === 'states:SendTaskSuccess',
          ),
        ).toBe(true);
        expect(statement.Condition?.StringEquals?.['aws:RequestedRegion']).toEqual(expect.any(Array));
      }
    });

    it.each(EXAMPLES)('It should give every statement of %s a unique alphanumeric Sid', (name) => {
      const sids = allStatements(policiesOf(name)).map((statement) => statement.Sid);
      expect(new Set(sids).size).toBe(sids.length);
      for (const sid of sids) expect(sid).toMatch(/^[A-Za-z0-9]+$/);
    });

    it.each(EXAMPLES)('It should put every KMS statement of %s behind kms:ViaService', (name) => {
      for (const statement of allStatements(policiesOf(name))) {
        if (!statement.Action.some((action) => action.startsWith('kms:'))) continue;
        expect(statement.Action.every((action) => action.startsWith('kms:'))).toBe(true);
        expect(statement.Condition?.StringEquals?.['kms:ViaService']).toMatch(
          /^(s3|ec2)\.[a-z0-9-]+\.amazonaws\.com$/,
        );
      }
    });

    it.each(EXAMPLES)(
      'It should let %s remove, deregister or archive only what carries Ferry’s marker',
      (name) => {
        const destructive = [
          'ec2:DeleteSnapshot',
          'ec2:DeregisterImage',
          'ec2:ModifySnapshotTier',
          'ec2:DeleteTags',
        ];
        for (const statement of allStatements(policiesOf(name))) {
          if (!statement.Action.some((action) => destructive.includes(action))) continue;
          expect(statement.Condition).toEqual({ Null: { 'aws:ResourceTag/ferry:source-id': 'false' } });
        }
      },
    );

    it.each(EXAMPLES)('It should let %s tag only new copies or Ferry’s own', (name) => {
      for (const statement of granting(allStatements(policiesOf(name)), 'ec2:CreateTags')) {
        // ec2-tags-changed also removes tags a source lost, on Ferry's copies only (below).
        expect(['ec2:CreateTags', 'ec2:DeleteTags']).toEqual(expect.arrayContaining(statement.Action));
        const condition = statement.Condition ?? {};
        const onCreation = condition.StringEquals?.['ec2:CreateAction'];
        const marked = condition.Null?.['aws:ResourceTag/ferry:source-id'];
        if (statement.Action.includes('ec2:DeleteTags')) expect(marked).toBe('false');
        // Exactly one of the two bounds, and nothing that a request could meet by carrying Ferry's marker.
        expect([onCreation, marked].filter((value) => value !== undefined)).toHaveLength(1);
        if (marked !== undefined) expect(marked).toBe('false');
        expect(JSON.stringify(condition)).not.toContain('aws:RequestTag');
        if (onCreation) expect(onCreation).toEqual(expect.arrayContaining([expect.stringMatching(/^Copy/)]));
        for (const resource of statement.Resource) expect(resource).toMatch(EC2_ARN);
      }
    });
  });

  describe('Objects only', () => {
    const policies = policiesOf('objects-only.yml');

    it('It should give each object function exactly the actions it calls', () => {
      expect(actionsOf(policies.objectCreated)).toEqual([
        'kms:GenerateDataKey',
        's3:GetObject',
        's3:GetObjectTagging',
        's3:GetObjectVersion',
        's3:GetObjectVersionTagging',
        's3:ListBucket',
        's3:PutObject',
        's3:PutObjectAcl',
        's3:PutObjectTagging',
        'states:DescribeExecution',
        'states:StartExecution',
      ]);
      expect(actionsOf(policies.objectCopyStep)).toEqual([
        'kms:Decrypt',
        'kms:GenerateDataKey',
        's3:AbortMultipartUpload',
        's3:GetObject',
        's3:GetObjectTagging',
        's3:GetObjectVersion',
        's3:GetObjectVersionTagging',
        's3:ListBucket',
        's3:ListBucketMultipartUploads',
        's3:ListMultipartUploadParts',
        's3:PutObject',
        's3:PutObjectAcl',
        's3:PutObjectTagging',
      ]);
      expect(actionsOf(policies.objectDeleted)).toEqual(['s3:DeleteObject', 's3:GetObject', 's3:ListBucket']);
    });

    it('It should give the EC2 functions nothing when no rule copies snapshots or AMIs', () => {
      expect(policies.snapshotCreated).toEqual([]);
      expect(policies.imageAvailable).toEqual([]);
      expect(policies.ec2CopyStep).toEqual([]);
    });

    it('It should read only the configured source key spaces', () => {
      const sources = ['arn:aws:s3:::acme-prod/invoices/*.pdf', 'arn:aws:s3:::acme-logs/app/*'];
      for (const fn of ['objectCreated', 'objectCopyStep'] as const) {
        const reads = granting(policies[fn], 's3:GetObjectVersion');
        expect(reads).toHaveLength(1);
        expect(reads[0]?.Resource).toEqual(sources);
      }
      // The deleted-object handler never reads a source.
      expect(resourcesFor(policies.objectDeleted, 's3:GetObject')).toEqual([
        'arn:aws:s3:::acme-dr/mirror/invoices/*.pdf',
      ]);
    });

    it('It should write only the replicas’ key spaces: keyPrefix when set, else the rule’s prefix', () => {
      const replicas = [
        'arn:aws:s3:::acme-dr/mirror/invoices/*.pdf',
        'arn:aws:s3:::acme-logs-archive/app/*',
        'arn:aws:s3:::acme-logs-partner/app/*',
      ];
      for (const fn of ['objectCreated', 'objectCopyStep'] as const) {
        expect(resourcesFor(policies[fn], 's3:PutObject')).toEqual(replicas);
        expect(resourcesFor(policies[fn], 's3:PutObjectTagging')).toEqual(replicas);
        // The source buckets (a HEAD of a deleted source answers 404, not 403), then the destinations.
        expect(resourcesFor(policies[fn], 's3:ListBucket')).toEqual([
          'arn:aws:s3:::acme-prod',
          'arn:aws:s3:::acme-logs',
          'arn:aws:s3:::acme-dr',
          'arn:aws:s3:::acme-logs-archive',
          'arn:aws:s3:::acme-logs-partner',
        ]);
      }
      expect(resourcesFor(policies.objectCopyStep, 's3:AbortMultipartUpload')).toEqual(replicas);
      // Listing the uploads to clean is a bucket action: the destination buckets, and only for the copy step.
      expect(resourcesFor(policies.objectCopyStep, 's3:ListBucketMultipartUploads')).toEqual([
        'arn:aws:s3:::acme-dr',
        'arn:aws:s3:::acme-logs-archive',
        'arn:aws:s3:::acme-logs-partner',
      ]);
      expect(granting(policies.objectCreated, 's3:ListBucketMultipartUploads')).toEqual([]);
      // Reconcile deletes what object-deleted would have deleted, had its event arrived: the same replicas.
      expect(resourcesFor(policies.reconcile, 's3:DeleteObject')).toEqual(
        resourcesFor(policies.objectDeleted, 's3:DeleteObject'),
      );
      expect(resourcesFor(policies.reconcile, 's3:DeleteObject')).not.toEqual([]);
    });

    it('It should delete replicas only where deletes are replicated, and only from the deleted-object handler', () => {
      expect(granting(policies.objectDeleted, 's3:DeleteObject')).toEqual([
        {
          Sid: 'ObjectDeletedDeleteReplicas',
          Effect: 'Allow',
          Action: ['s3:DeleteObject'],
          Resource: ['arn:aws:s3:::acme-dr/mirror/invoices/*.pdf'],
        },
      ]);
      expect(granting(policies.objectCreated, 's3:DeleteObject')).toEqual([]);
      expect(granting(policies.objectCopyStep, 's3:DeleteObject')).toEqual([]);
    });

    it('It should allow an ACL only on another account’s bucket, and only bucket-owner-full-control', () => {
      expect(granting(policies.objectCreated, 's3:PutObjectAcl')).toEqual([
        {
          Sid: 'ObjectCreatedGiveReplicasToBucketOwners',
          Effect: 'Allow',
          Action: ['s3:PutObjectAcl'],
          Resource: ['arn:aws:s3:::acme-logs-partner/app/*'],
          Condition: { StringEquals: { 's3:x-amz-acl': 'bucket-owner-full-control' } },
        },
      ]);
    });

    it('It should use only the destinations’ keys, through S3 in their Region', () => {
      const keys = granting(policies.objectCopyStep, 'kms:GenerateDataKey');
      expect(keys).toEqual([
        {
          Sid: 'ObjectCopyStepEncryptReplicas',
          Effect: 'Allow',
          Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
          Resource: [`arn:aws:kms:us-west-2:${ACCOUNT}:key/*`],
          Condition: {
            StringEquals: { 'kms:ViaService': 's3.us-west-2.amazonaws.com' },
            'ForAnyValue:StringEquals': { 'kms:ResourceAliases': ['alias/acme-dr'] },
          },
        },
        {
          Sid: 'ObjectCopyStepEncryptReplicas2',
          Effect: 'Allow',
          Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
          Resource: [`arn:aws:kms:us-east-1:${ACCOUNT}:key/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0`],
          Condition: { StringEquals: { 'kms:ViaService': 's3.us-east-1.amazonaws.com' } },
        },
      ]);
      // A CopyObject under SSE-KMS generates a data key; only a multipart upload also decrypts.
      expect(actionsOf(granting(policies.objectCreated, 'kms:GenerateDataKey'))).toEqual([
        'kms:GenerateDataKey',
      ]);
      expect(granting(policies.objectDeleted, 'kms:Decrypt')).toEqual([]);
    });

    it('It should start only the object-copy state machine, from object-created and from reconcile', () => {
      for (const fn of ['objectCreated', 'reconcile'] as const) {
        const prefix = fn === 'objectCreated' ? 'ObjectCreated' : 'Reconcile';
        expect(granting(policies[fn], 'states:StartExecution')).toEqual([
          {
            Sid: `${prefix}StartObjectCopies`,
            Effect: 'Allow',
            Action: ['states:StartExecution'],
            Resource: [MACHINES.objectCopy],
          },
        ]);
        // A name taken by a failed execution gets the next attempt: the starter reads its status.
        expect(granting(policies[fn], 'states:DescribeExecution')).toEqual([
          {
            Sid: `${prefix}ReadObjectCopyExecutions`,
            Effect: 'Allow',
            Action: ['states:DescribeExecution'],
            Resource: [`arn:aws:states:us-east-1:${ACCOUNT}:execution:ferry-dev-object-copy:*`],
          },
        ]);
      }
      for (const fn of FUNCTION_NAMES.filter((name) => name !== 'objectCreated' && name !== 'reconcile')) {
        expect(granting(policies[fn], 'states:StartExecution')).toEqual([]);
        expect(granting(policies[fn], 'states:DescribeExecution')).toEqual([]);
      }
    });

    it('It should let reconcile list the source buckets, with the one statement the HEADs need too', () => {
      const listing = granting(policies.reconcile, 's3:ListBucket');
      expect(listing.map((statement) => statement.Sid)).toEqual(['ReconcileListSourceBuckets']);
      expect(listing[0]?.Resource).toEqual(
        expect.arrayContaining([expect.stringMatching(/^arn:aws:s3:::[^/]+$/)]),
      );
    });

    it('It should assume no role when no destination names one', () => {
      expect(granting(allStatements(policies), 'sts:AssumeRole')).toEqual([]);
    });
  });

  describe('Snapshots and AMIs from two Regions to a DR Region', () => {
    const policies = policiesOf('ec2-to-dr.yml');

    it('It should give each EC2 function exactly the actions it calls', () => {
      expect(actionsOf(policies.snapshotCreated)).toEqual([
        'ec2:DescribeSnapshots',
        'states:DescribeExecution',
        'states:StartExecution',
      ]);
      expect(actionsOf(policies.imageAvailable)).toEqual([
        'ec2:DescribeImages',
        'states:DescribeExecution',
        'states:StartExecution',
      ]);
      expect(actionsOf(policies.ec2CopyStep)).toEqual([
        // AwaitCopy's waiter: stored, and removed when the step finds the copy settled itself; AwaitSlot's
        // waiter stored, and the slot handed on by Finalize (a claim, a Query of the slot queue, a delete).
        'dynamodb:DeleteItem',
        'dynamodb:PutItem',
        'dynamodb:Query',
        'ec2:CopyImage',
        'ec2:CopySnapshot',
        'ec2:CreateTags',
        'ec2:DeleteSnapshot',
        'ec2:DeregisterImage',
        'ec2:DescribeImages',
        // Retention reads locks before it deletes (src/ec2/copy-machine/protect-copy.ts).
        'ec2:DescribeLockedSnapshots',
        'ec2:DescribeSnapshots',
        'ec2:ModifySnapshotTier',
        'kms:CreateGrant',
        'kms:Decrypt',
        'kms:DescribeKey',
        'kms:GenerateDataKeyWithoutPlaintext',
        'kms:ReEncryptFrom',
        'kms:ReEncryptTo',
        'states:SendTaskSuccess',
      ]);
    });

    it('It should give the object functions nothing when no rule copies objects', () => {
      expect(policies.objectCreated).toEqual([]);
      expect(policies.objectCopyStep).toEqual([]);
      expect(policies.objectDeleted).toEqual([]);
    });

    it('It should read new snapshots and AMIs only in their source Regions, and start only their machine', () => {
      expect(policies.snapshotCreated).toEqual([
        {
          Sid: 'SnapshotCreatedDescribeInRuleRegions',
          Effect: 'Allow',
          Action: ['ec2:DescribeSnapshots'],
          Resource: '*',
          Condition: { StringEquals: { 'aws:RequestedRegion': ['us-east-1', 'us-east-2'] } },
        },
        {
          Sid: 'SnapshotCreatedStartSnapshotCopies',
          Effect: 'Allow',
          Action: ['states:StartExecution'],
          Resource: [MACHINES.snapshotCopy],
        },
        {
          Sid: 'SnapshotCreatedReadSnapshotCopyExecutions',
          Effect: 'Allow',
          Action: ['states:DescribeExecution'],
          Resource: [`arn:aws:states:us-east-1:${ACCOUNT}:execution:ferry-dev-snapshot-copy:*`],
        },
      ]);
      expect(resourcesFor(policies.imageAvailable, 'states:StartExecution')).toEqual([MACHINES.imageCopy]);
      expect(resourcesFor(policies.imageAvailable, 'states:DescribeExecution')).toEqual([
        `arn:aws:states:us-east-1:${ACCOUNT}:execution:ferry-dev-image-copy:*`,
      ]);
      expect(resourcesFor(policies.reconcile, 'states:DescribeExecution')).toEqual([
        `arn:aws:states:us-east-1:${ACCOUNT}:execution:ferry-dev-snapshot-copy:*`,
        `arn:aws:states:us-east-1:${ACCOUNT}:execution:ferry-dev-image-copy:*`,
      ]);
      expect(granting(policies.ec2CopyStep, 'states:DescribeExecution')).toEqual([]);
    });

    it('It should copy from the source Regions into the DR Region only', () => {
      expect(granting(policies.ec2CopyStep, 'ec2:CopySnapshot')).toEqual([
        {
          Sid: 'Ec2CopyStepCopySnapshots',
          Effect: 'Allow',
          Action: ['ec2:CopySnapshot'],
          Resource: [
            'arn:aws:ec2:us-west-2::snapshot/*',
            'arn:aws:ec2:us-east-1::snapshot/*',
            'arn:aws:ec2:us-east-2::snapshot/*',
          ],
          Condition: { StringEquals: { 'aws:RequestedRegion': ['us-west-2', 'us-east-1', 'us-east-2'] } },
        },
      ]);
      expect(resourcesFor(policies.ec2CopyStep, 'ec2:CopyImage')).toEqual([
        'arn:aws:ec2:us-west-2::image/*',
        'arn:aws:ec2:us-west-2::snapshot/*',
        'arn:aws:ec2:us-east-1::image/*',
        'arn:aws:ec2:us-east-2::image/*',
        'arn:aws:ec2:us-east-1::snapshot/*',
        'arn:aws:ec2:us-east-2::snapshot/*',
      ]);
      // Describe, tag, delete and archive happen where the copies are.
      const inDestination = policies.ec2CopyStep.filter(
        (statement) => !statement.Action.some((action) => action.startsWith('ec2:Copy')),
      );
      expect(ec2RegionsOf(inDestination)).toEqual(['us-west-2']);
    });

    it('It should archive and remove only Ferry’s copies', () => {
      expect(granting(policies.ec2CopyStep, 'ec2:ModifySnapshotTier')).toEqual([
        {
          Sid: 'Ec2CopyStepArchiveFerryCopies',
          Effect: 'Allow',
          Action: ['ec2:ModifySnapshotTier'],
          Resource: ['arn:aws:ec2:us-west-2::snapshot/*'],
          Condition: { Null: { 'aws:ResourceTag/ferry:source-id': 'false' } },
        },
      ]);
      expect(resourcesFor(policies.ec2CopyStep, 'ec2:DeregisterImage')).toEqual([
        'arn:aws:ec2:us-west-2::image/*',
        'arn:aws:ec2:us-west-2::snapshot/*',
      ]);
    });

    it('It should use the copy keys only through EC2 in the DR Region, and grant them only to EC2', () => {
      const kms = policies.ec2CopyStep.filter((statement) =>
        statement.Action.some((a) => a.startsWith('kms:')),
      );
      const aliasCondition = {
        StringEquals: { 'kms:ViaService': 'ec2.us-west-2.amazonaws.com' },
        'ForAnyValue:StringEquals': { 'kms:ResourceAliases': ['alias/dr-ebs'] },
      };
      const keyArn = `arn:aws:kms:us-west-2:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
      expect(kms.map(({ Sid, ...statement }) => statement)).toEqual([
        {
          Effect: 'Allow',
          Action: [
            'kms:Decrypt',
            'kms:DescribeKey',
            'kms:GenerateDataKeyWithoutPlaintext',
            'kms:ReEncryptFrom',
            'kms:ReEncryptTo',
          ],
          Resource: [`arn:aws:kms:us-west-2:${ACCOUNT}:key/*`],
          Condition: aliasCondition,
        },
        {
          Effect: 'Allow',
          Action: ['kms:CreateGrant'],
          Resource: [`arn:aws:kms:us-west-2:${ACCOUNT}:key/*`],
          Condition: { ...aliasCondition, Bool: { 'kms:GrantIsForAWSResource': 'true' } },
        },
        {
          Effect: 'Allow',
          Action: [
            'kms:Decrypt',
            'kms:DescribeKey',
            'kms:GenerateDataKeyWithoutPlaintext',
            'kms:ReEncryptFrom',
            'kms:ReEncryptTo',
          ],
          Resource: [keyArn],
          Condition: { StringEquals: { 'kms:ViaService': 'ec2.us-west-2.amazonaws.com' } },
        },
        {
          Effect: 'Allow',
          Action: ['kms:CreateGrant'],
          Resource: [keyArn],
          Condition: {
            StringEquals: { 'kms:ViaService': 'ec2.us-west-2.amazonaws.com' },
            Bool: { 'kms:GrantIsForAWSResource': 'true' },
          },
        },
      ]);
    });

    it('It should share nothing and assume no role when every copy stays in the account', () => {
      const all = allStatements(policies);
      expect(granting(all, 'ec2:ModifySnapshotAttribute')).toEqual([]);
      expect(granting(all, 'ec2:ModifyImageAttribute')).toEqual([]);
      expect(granting(all, 'sts:AssumeRole')).toEqual([]);
    });
  });

  describe('Cross-account destinations', () => {
    const policies = policiesOf('cross-account.yml');
    const PARTNER = 'arn:aws:iam::222233334444:role/ferry-writer';
    const VAULT = 'arn:aws:iam::333344445555:role/ferry-vault-writer';

    it('It should assume exactly the configured roles, from the functions that use them', () => {
      const assumed = (fn: FunctionName) => resourcesFor(policies[fn], 'sts:AssumeRole');
      expect(assumed('objectCreated')).toEqual([PARTNER]);
      expect(assumed('objectCopyStep')).toEqual([PARTNER]);
      expect(assumed('objectDeleted')).toEqual([PARTNER]);
      expect(assumed('ec2CopyStep')).toEqual([VAULT]);
      expect(assumed('snapshotCreated')).toEqual([]);
      expect(assumed('imageAvailable')).toEqual([]);
      expect(actionsOf(allStatements(policies))).not.toContain('sts:TagSession');
    });

    it('It should leave every write in the other accounts to their roles', () => {
      const all = allStatements(policies);
      const direct = actionsOf(all).filter((action) => !isReadAction(action));
      // Ferry's own role only starts executions, assumes the roles and shares the source snapshot; and the
      // slot queue in its own table (a copy refused for the role account's limit waits by token).
      expect(direct).toEqual([
        'dynamodb:DeleteItem',
        'dynamodb:PutItem',
        'dynamodb:Query',
        'ec2:ModifySnapshotAttribute',
        'states:SendTaskSuccess',
        'states:StartExecution',
        'sts:AssumeRole',
      ]);
      expect(actionsOf(all).filter((action) => action.startsWith('kms:'))).toEqual([]);
    });

    it('It should read the source objects itself, and nothing of the partner’s bucket', () => {
      expect(actionsOf(policies.objectCreated)).toEqual([
        's3:GetObject',
        's3:GetObjectTagging',
        's3:GetObjectVersion',
        's3:GetObjectVersionTagging',
        's3:ListBucket',
        'states:DescribeExecution',
        'states:StartExecution',
        'sts:AssumeRole',
      ]);
      expect(resourcesFor(policies.objectCreated, 's3:GetObject')).toEqual([
        'arn:aws:s3:::acme-media/published/*',
      ]);
      expect(resourcesFor(policies.objectCreated, 's3:ListBucket')).toEqual(['arn:aws:s3:::acme-media']);
      expect(actionsOf(policies.objectDeleted)).toEqual(['sts:AssumeRole']);
    });

    it('It should share source snapshots only with the destination account, from the source Region', () => {
      // Beside the slot queue's statements (copy-wait-statements.ts), nothing else.
      expect(
        actionsOf(policies.ec2CopyStep.slice(2)).every(
          (action) => action.startsWith('dynamodb:') || action === 'states:SendTaskSuccess',
        ),
      ).toBe(true);
      expect(policies.ec2CopyStep.slice(0, 2)).toEqual([
        {
          Sid: 'Ec2CopyStepShareSourceSnapshots',
          Effect: 'Allow',
          Action: ['ec2:ModifySnapshotAttribute'],
          Resource: ['arn:aws:ec2:us-east-1::snapshot/*'],
          Condition: {
            StringEquals: { 'ec2:Add/userId': ['333344445555'] },
            Null: { 'aws:ResourceTag/ferry:source-id': 'true' },
          },
        },
        {
          Sid: 'Ec2CopyStepAssumeDestinationRoles',
          Effect: 'Allow',
          Action: ['sts:AssumeRole'],
          Resource: [VAULT],
        },
      ]);
    });
  });

  describe('Several Regions', () => {
    const policies = policiesOf('multi-region.yml');

    it('It should reach only the Regions each function’s rules name', () => {
      expect(ec2RegionsOf(policies.snapshotCreated)).toEqual(['eu-west-1', 'us-east-1']);
      expect(ec2RegionsOf(policies.imageAvailable)).toEqual(['ap-southeast-2']);
      expect(ec2RegionsOf(policies.ec2CopyStep)).toEqual([
        'ap-southeast-1',
        'ap-southeast-2',
        'eu-central-1',
        'eu-west-1',
        'us-east-1',
        'us-west-2',
      ]);
    });

    it('It should pair each destination Region with the source Regions of its rule', () => {
      const copies = granting(policies.ec2CopyStep, 'ec2:CopySnapshot').map(({ Resource, Condition }) => ({
        Resource,
        Condition,
      }));
      expect(copies).toEqual([
        {
          Resource: [
            'arn:aws:ec2:us-west-2::snapshot/*',
            'arn:aws:ec2:eu-west-1::snapshot/*',
            'arn:aws:ec2:us-east-1::snapshot/*',
          ],
          Condition: { StringEquals: { 'aws:RequestedRegion': ['us-west-2', 'eu-west-1', 'us-east-1'] } },
        },
        {
          Resource: [
            'arn:aws:ec2:eu-central-1::snapshot/*',
            'arn:aws:ec2:eu-west-1::snapshot/*',
            'arn:aws:ec2:us-east-1::snapshot/*',
          ],
          Condition: { StringEquals: { 'aws:RequestedRegion': ['eu-central-1', 'eu-west-1', 'us-east-1'] } },
        },
      ]);
      // The AMI copy to the partner is the partner role's: Ferry copies AMIs only into Singapore.
      expect(ec2RegionsOf(granting(policies.ec2CopyStep, 'ec2:CopyImage'))).toEqual([
        'ap-southeast-1',
        'ap-southeast-2',
      ]);
    });

    it('It should use a key only in the Region of the destination that names it', () => {
      const kms = policies.ec2CopyStep.filter((statement) =>
        statement.Action.some((a) => a.startsWith('kms:')),
      );
      expect(kms).toHaveLength(2);
      for (const statement of kms) {
        expect(statement.Resource).toEqual([`arn:aws:kms:eu-central-1:${ACCOUNT}:key/*`]);
        expect(statement.Condition?.StringEquals?.['kms:ViaService']).toBe('ec2.eu-central-1.amazonaws.com');
      }
    });

    it('It should share the AMI and its snapshots with the partner, and describe it, in its source Region', () => {
      // IAM has no key for the account an image is shared with (ec2:Add/userId is ModifySnapshotAttribute's
      // only): the image share is bounded to the rule's sources (Region, never a Ferry copy).
      expect(granting(policies.ec2CopyStep, 'ec2:ModifyImageAttribute')).toEqual([
        expect.objectContaining({
          Action: ['ec2:ModifyImageAttribute'],
          Resource: ['arn:aws:ec2:ap-southeast-2::image/*'],
          Condition: { Null: { 'aws:ResourceTag/ferry:source-id': 'true' } },
        }),
      ]);
      expect(granting(policies.ec2CopyStep, 'ec2:ModifySnapshotAttribute')).toEqual([
        expect.objectContaining({
          Resource: ['arn:aws:ec2:ap-southeast-2::snapshot/*'],
          Condition: {
            StringEquals: { 'ec2:Add/userId': ['222233334444'] },
            Null: { 'aws:ResourceTag/ferry:source-id': 'true' },
          },
        }),
      ]);
      const describeImages = granting(policies.ec2CopyStep, 'ec2:DescribeImages');
      expect(describeImages.map((statement) => statement.Condition)).toEqual([
        { StringEquals: { 'aws:RequestedRegion': ['ap-southeast-1', 'ap-southeast-2'] } },
      ]);
      expect(resourcesFor(policies.ec2CopyStep, 'sts:AssumeRole')).toEqual([
        'arn:aws:iam::222233334444:role/ferry-ami-writer',
      ]);
    });

    it('It should share only the images a rule copies: its source tags, never a Ferry copy', () => {
      const config = parseConfig(`
rules:
  - name: golden-to-partner
    images: { regions: [eu-west-1], tags: { golden: "yes", team: "a$b" } }
    to:
      - region: eu-west-1
        account: "222233334444"
        roleArn: arn:aws:iam::222233334444:role/ferry-writer
        externalId: acme-ferry-amis-c0de
        kmsKeyId: arn:aws:kms:eu-west-1:222233334444:key/1234abcd-12ab-34cd-56ef-1234567890ab
`);
      expect(granting(iamPolicies(config, CONTEXT).ec2CopyStep, 'ec2:ModifyImageAttribute')).toEqual([
        {
          Sid: 'Ec2CopyStepShareSourceImages',
          Effect: 'Allow',
          Action: ['ec2:ModifyImageAttribute'],
          Resource: ['arn:aws:ec2:eu-west-1::image/*'],
          Condition: {
            // A `$` in a tag value stays literal: `${$}`, not the start of a policy variable.
            // biome-ignore lint/suspicious/noTemplateCurlyInString: IAM's policy variable, written literally
            StringEquals: { 'aws:ResourceTag/golden': 'yes', 'aws:ResourceTag/team': 'a${$}b' },
            Null: { 'aws:ResourceTag/ferry:source-id': 'true' },
          },
        },
      ]);
    });

    it('It should write objects to each destination Region’s bucket under its own key space', () => {
      expect(resourcesFor(policies.objectCreated, 's3:PutObject')).toEqual([
        'arn:aws:s3:::acme-assets-us/assets/*',
        'arn:aws:s3:::acme-assets-ap/eu/*',
      ]);
      expect(policies.objectDeleted).toEqual([]);
    });
  });

  describe('Values known only at deploy time', () => {
    it('It should build ARNs with Fn::Join when the partition and account are intrinsics', () => {
      const policies = policiesOf('objects-only.yml', {
        partition: { Ref: 'AWS::Partition' },
        account: { Ref: 'AWS::AccountId' },
        stateMachineArns: {
          objectCopy: { Ref: 'ObjectCopyStateMachine' },
          snapshotCopy: { Ref: 'SnapshotCopyStateMachine' },
          imageCopy: { Ref: 'ImageCopyStateMachine' },
        },
        copyWaitersTableArn: { 'Fn::GetAtt': ['CopyWaitersTable', 'Arn'] },
      });
      expect(resourcesFor(policies.objectDeleted, 's3:DeleteObject')).toEqual([
        { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':s3:::acme-dr/mirror/invoices/*.pdf']] },
      ]);
      const [alias, keyId] = granting(policies.objectCreated, 'kms:GenerateDataKey');
      expect(alias?.Resource).toEqual([
        {
          'Fn::Join': [
            '',
            ['arn:', { Ref: 'AWS::Partition' }, ':kms:us-west-2:', { Ref: 'AWS::AccountId' }, ':key/*'],
          ],
        },
      ]);
      expect(keyId?.Condition?.StringEquals?.['kms:ViaService']).toEqual({
        'Fn::Join': ['', ['s3.us-east-1.', { Ref: 'AWS::URLSuffix' }]],
      });
      expect(resourcesFor(policies.objectCreated, 'states:StartExecution')).toEqual([
        { Ref: 'ObjectCopyStateMachine' },
      ]);
      // arn:P:states:R:A:stateMachine:NAME → arn:P:states:R:A:execution:NAME:*, split at deploy time.
      const part = (index: number) => ({
        'Fn::Select': [index, { 'Fn::Split': [':', { Ref: 'ObjectCopyStateMachine' }] }],
      });
      expect(resourcesFor(policies.objectCreated, 'states:DescribeExecution')).toEqual([
        { 'Fn::Join': [':', [part(0), part(1), part(2), part(3), part(4), 'execution', part(6), '*']] },
      ]);
      expect(writeActionsOnWildcard(policies)).toEqual([]);
    });

    it('It should name the endpoints of the China partition', () => {
      const policies = policiesOf('ec2-to-dr.yml', { ...CONTEXT, partition: 'aws-cn' });
      const [useKey] = granting(policies.ec2CopyStep, 'kms:Decrypt');
      expect(useKey?.Condition?.StringEquals?.['kms:ViaService']).toBe('ec2.us-west-2.amazonaws.com.cn');
      expect(resourcesFor(policies.ec2CopyStep, 'ec2:ModifySnapshotTier')).toEqual([
        'arn:aws-cn:ec2:us-west-2::snapshot/*',
      ]);
    });
  });

  describe('Building blocks', () => {
    it('It should name every execution of a state machine, from a plain ARN or the package’s Fn::Sub', () => {
      expect(executionsArnOf(MACHINES.snapshotCopy)).toBe(
        `arn:aws:states:us-east-1:${ACCOUNT}:execution:ferry-dev-snapshot-copy:*`,
      );
      const sub = (name: string) => `\${AWS::${name}}`;
      const scope = [sub('Partition'), 'states', sub('Region'), sub('AccountId')].join(':');
      expect(executionsArnOf({ 'Fn::Sub': `arn:${scope}:stateMachine:ferry-prod-image-copy` })).toEqual({
        'Fn::Sub': `arn:${scope}:execution:ferry-prod-image-copy:*`,
      });
      expect(() => executionsArnOf('arn:aws:lambda:us-east-1:1:function:f')).toThrow(
        /not a state machine ARN/,
      );
    });

    it.each([
      [
        'a key ARN',
        'arn:aws:kms:eu-west-1:222233334444:key/mrk-0123',
        { resource: 'arn:aws:kms:eu-west-1:222233334444:key/mrk-0123' },
      ],
      [
        'an alias ARN',
        'arn:aws:kms:eu-west-1:222233334444:alias/dr',
        { resource: 'arn:aws:kms:eu-west-1:222233334444:key/*', alias: 'alias/dr' },
      ],
      ['an alias', 'alias/dr', { resource: `arn:aws:kms:us-west-2:${ACCOUNT}:key/*`, alias: 'alias/dr' }],
      ['a key id', 'abcd-1234', { resource: `arn:aws:kms:us-west-2:${ACCOUNT}:key/abcd-1234` }],
    ])('It should turn %s into the key resource it authorizes', (_, key, expected) => {
      expect(kmsKeyResource(key, 'us-west-2', { partition: 'aws', account: ACCOUNT })).toEqual(expected);
    });

    it('It should keep IAM wildcards in a key prefix literal', () => {
      expect(literalInArn('reports/*/q?$1')).toBe(`reports/\${*}/q\${?}\${$}1`);
      const config = parseConfig(
        'rules: [{ name: odd, objects: { bucket: acme-prod, prefix: "a*b/" }, to: [{ bucket: acme-dr, region: us-west-2 }] }]',
      );
      const policies = iamPolicies(config, CONTEXT);
      expect(resourcesFor(policies.objectCreated, 's3:GetObject')).toEqual([
        `arn:aws:s3:::acme-prod/a\${*}b/*`,
        `arn:aws:s3:::acme-dr/a\${*}b/*`,
      ]);
    });

    it('It should classify actions by their verb', () => {
      expect(
        ['ec2:DescribeImages', 's3:GetObject', 's3:ListBucket', 's3:ListMultipartUploadParts'].every(
          isReadAction,
        ),
      ).toBe(true);
      expect(
        ['s3:PutObject', 'ec2:CreateTags', 'kms:Decrypt', 's3:*', '*', 'ec2:Get'].some(isReadAction),
      ).toBe(false);
    });

    it('It should report every write action on "*", whatever the shape of the statement', () => {
      expect(
        writeActionsOnWildcard({
          someFunction: [
            { Sid: 'Reads', Action: ['ec2:DescribeSnapshots', 's3:ListAllMyBuckets'], Resource: '*' },
            {
              Sid: 'Writes',
              Action: ['s3:PutObject', 'ec2:DescribeImages'],
              Resource: ['arn:aws:s3:::b/*', '*'],
            },
            { Sid: 'Everything', Action: 's3:*', Resource: '*' },
            { Sid: 'Scoped', Action: 's3:DeleteObject', Resource: 'arn:aws:s3:::b/*' },
          ],
        }),
      ).toEqual(['someFunction Writes: s3:PutObject', 'someFunction Everything: s3:*']);
      expect(writeActionsOnWildcard([{ Action: 'sts:AssumeRole', Resource: '*' }])).toEqual([
        '(no Sid): sts:AssumeRole',
      ]);
    });
  });
});

describe('IAM for waiting on EC2 copies by event (deploy/iam/copy-wait-statements.ts)', () => {
  const HOME = { 'aws:RequestedRegion': [{ Ref: 'AWS::Region' }] };

  it('It should give the copy step PutItem and DeleteItem, the completion handler GetItem, PutItem and DeleteItem, on the table only, and both Query on the slot-queue index only', () => {
    const policies = policiesOf('ec2-to-dr.yml');
    const dynamo = (fn: FunctionName) =>
      policies[fn].filter((statement) => statement.Action.some((action) => action.startsWith('dynamodb:')));
    const INDEX = `${TABLE}/index/slot-queue`;
    expect(dynamo('ec2CopyStep').map(({ Action, Resource }) => ({ Action, Resource }))).toEqual([
      { Action: ['dynamodb:DeleteItem', 'dynamodb:PutItem'], Resource: [TABLE] },
      { Action: ['dynamodb:Query'], Resource: [INDEX] },
    ]);
    expect(dynamo('ec2CopyCompleted').map(({ Action, Resource }) => ({ Action, Resource }))).toEqual([
      { Action: ['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem'], Resource: [TABLE] },
      { Action: ['dynamodb:Query'], Resource: [INDEX] },
    ]);
    // The sweep: a Scan, and the completion handler's own item actions (the same path ends the wait).
    expect(dynamo('ec2CopySweep').map(({ Action, Resource }) => ({ Action, Resource }))).toEqual([
      {
        Action: ['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Scan'],
        Resource: [TABLE],
      },
      { Action: ['dynamodb:Query'], Resource: [INDEX] },
    ]);
    // No other function touches the table or ends a task.
    const waiting = ['ec2CopyStep', 'ec2CopyCompleted', 'ec2CopySweep'];
    for (const fn of FUNCTION_NAMES.filter((name) => !waiting.includes(name))) {
      expect(dynamo(fn), fn).toEqual([]);
      expect(granting(policies[fn], 'states:SendTaskSuccess'), fn).toEqual([]);
    }
  });

  it('It should let both end a wait (SendTaskSuccess, no resource type) in the home Region only, and never SendTaskFailure', () => {
    const policies = policiesOf('ec2-to-dr.yml');
    for (const fn of ['ec2CopyStep', 'ec2CopyCompleted', 'ec2CopySweep'] as const) {
      const [callback, ...others] = granting(policies[fn], 'states:SendTaskSuccess');
      expect(others, fn).toEqual([]);
      expect(callback?.Action, fn).toEqual(['states:SendTaskSuccess']);
      expect(callback?.Resource, fn).toBe('*');
      expect(callback?.Condition, fn).toEqual({ StringEquals: HOME });
      expect(granting(policies[fn], 'states:SendTaskFailure'), fn).toEqual([]);
    }
    // The completion handler makes no other call: no EC2 read, no StartExecution.
    expect(actionsOf(policies.ec2CopyCompleted)).toEqual([
      'dynamodb:DeleteItem',
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:Query',
      'states:SendTaskSuccess',
    ]);
  });

  it('It should give the sweep DescribeSnapshots and DescribeImages on `*` in the awaited destination Regions only', () => {
    const policies = policiesOf('ec2-to-dr.yml');
    const describes = policies.ec2CopySweep.filter((statement) =>
      statement.Action.some((action) => action.startsWith('ec2:')),
    );
    expect(describes.flatMap(({ Action }) => Action).sort()).toEqual([
      'ec2:DescribeImages',
      'ec2:DescribeSnapshots',
    ]);
    for (const statement of describes) {
      expect(statement.Resource).toBe('*');
      expect(statement.Condition).toEqual({ StringEquals: { 'aws:RequestedRegion': ['us-west-2'] } });
    }
  });

  it('It should grant no completion handler where no copy can be waited for by event, only the slot queue', () => {
    const objectsOnly = policiesOf('objects-only.yml');
    expect(objectsOnly.ec2CopyCompleted).toEqual([]);
    expect(objectsOnly.ec2CopySweep).toEqual([]);
    // Every copy made by a destination's role: its event goes to that account, the copy is polled.
    const roleOnly = iamPolicies(
      parseConfig(`
rules:
  - name: ebs-to-partner
    snapshots: { regions: [us-east-1], encrypted: false }
    to:
      - region: us-west-2
        account: '222233334444'
        roleArn: arn:aws:iam::222233334444:role/ferry-writer
        externalId: ferry-partner
`),
      CONTEXT,
    );
    expect(roleOnly.ec2CopyCompleted).toEqual([]);
    expect(roleOnly.ec2CopySweep).toEqual([]);
    // The copy step still waits for a slot by token: a role's copies queue under that account's limit,
    // woken by the Finalize of the copy before them (src/ec2/copy-machine/slot-queue.ts).
    expect(
      actionsOf(roleOnly.ec2CopyStep).filter(
        (action) => !action.startsWith('ec2:') && !action.startsWith('sts:'),
      ),
    ).toEqual(['dynamodb:DeleteItem', 'dynamodb:PutItem', 'dynamodb:Query', 'states:SendTaskSuccess']);
  });
});

describe('the keys of SSE-KMS sources (objects.kmsKeys)', () => {
  const KEY = `arn:aws:kms:eu-west-1:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
  const policiesFor = (to: string) =>
    iamPolicies(
      parseConfig(`
rules:
  - name: kms-source
    objects: { bucket: acme-prod, region: eu-west-1, prefix: 'docs/', kmsKeys: ['${KEY}', alias/prod] }
    to:
      - ${to}
`),
      CONTEXT,
    );

  it('It should let the functions that copy decrypt them, through S3 in the source’s Region, for the source bucket only', () => {
    const policies = policiesFor('{ bucket: acme-dr, region: us-west-2 }');
    for (const fn of ['objectCreated', 'objectCopyStep', 'reconcile'] as const) {
      const decrypt = granting(policies[fn], 'kms:Decrypt').filter((s) => s.Sid.includes('DecryptSources'));
      expect(
        decrypt.map((statement) => statement.Resource),
        fn,
      ).toEqual([[KEY], [`arn:aws:kms:eu-west-1:${ACCOUNT}:key/*`]]);
      for (const statement of decrypt) {
        expect(statement.Action, fn).toEqual(['kms:Decrypt']);
        expect(statement.Condition?.StringEquals, fn).toEqual({
          'kms:ViaService': 's3.eu-west-1.amazonaws.com',
        });
        expect(statement.Condition?.StringLike, fn).toEqual({
          'kms:EncryptionContext:aws:s3:arn': ['arn:aws:s3:::acme-prod', 'arn:aws:s3:::acme-prod/docs/*'],
        });
      }
      expect(decrypt[1]?.Condition?.['ForAnyValue:StringEquals'], fn).toEqual({
        'kms:ResourceAliases': ['alias/prod'],
      });
    }
    for (const fn of ['objectDeleted', 'objectTagsChanged'] as const)
      expect(granting(policies[fn], 'kms:Decrypt'), fn).toEqual([]);
  });

  it('It should leave them to the destination role when that role makes every copy of the rule', () => {
    const policies = policiesFor(
      '{ bucket: acme-dr, region: us-west-2, account: "222233334444", roleArn: "arn:aws:iam::222233334444:role/ferry-writer", externalId: x1 }',
    );
    for (const fn of ['objectCreated', 'objectCopyStep'] as const)
      expect(granting(policies[fn], 'kms:Decrypt'), fn).toEqual([]);
  });
});
