import { describe, expect, it } from 'vitest';
import { parseCopySource, requestsOf, UnmappedOperationError } from '#deploy/iam-proof/authorization';
import type { RecordedCall } from '#deploy/iam-proof/recorded-call';

const ACCOUNT = '111122223333';
const NAMES = { account: ACCOUNT };

const call = (
  overrides: Partial<RecordedCall> & Pick<RecordedCall, 'service' | 'operation'>,
): RecordedCall => ({
  function: 'objectCreated',
  principal: { function: 'objectCreated' },
  region: 'us-east-1',
  input: {},
  outcome: { status: 200 },
  ...overrides,
});

/** `action resource` per request, the shape most expectations compare. */
const actionsOn = (recorded: RecordedCall) =>
  requestsOf(recorded, NAMES).map((request) => `${request.action} ${request.resource}`);

describe('requestsOf: S3', () => {
  it('reads an object with s3:GetObject, a version with s3:GetObjectVersion', () => {
    expect(
      actionsOn(call({ service: 's3', operation: 'HeadObject', input: { Bucket: 'b', Key: 'k/1' } })),
    ).toEqual(['s3:GetObject arn:aws:s3:::b/k/1']);
    const [version] = requestsOf(
      call({ service: 's3', operation: 'HeadObject', input: { Bucket: 'b', Key: 'k', VersionId: 'v1' } }),
      NAMES,
    );
    expect(version).toMatchObject({
      action: 's3:GetObjectVersion',
      context: { 's3:versionid': 'v1', 'aws:RequestedRegion': 'us-east-1' },
      call: 's3:HeadObject',
      principal: { function: 'objectCreated' },
    });
  });

  it('needs s3:ListBucket for a 404, which S3 answers only to a caller allowed to list', () => {
    const missing = call({
      service: 's3',
      operation: 'HeadObject',
      input: { Bucket: 'b', Key: 'gone' },
      outcome: { status: 404, error: 'NotFound' },
    });
    expect(actionsOn(missing)).toEqual(['s3:GetObject arn:aws:s3:::b/gone', 's3:ListBucket arn:aws:s3:::b']);
  });

  it('copies with s3:PutObject on the replica, the source read, and the tag permissions of the directive', () => {
    const copied = call({
      service: 's3',
      operation: 'CopyObject',
      region: 'us-west-2',
      input: {
        Bucket: 'dr',
        Key: 'mirror/a b.txt',
        CopySource: 'src/docs/a%20b.txt?versionId=v%2B1',
        MetadataDirective: 'REPLACE',
        TaggingDirective: 'COPY',
      },
    });
    expect(actionsOn(copied)).toEqual([
      's3:PutObject arn:aws:s3:::dr/mirror/a b.txt',
      's3:PutObjectTagging arn:aws:s3:::dr/mirror/a b.txt',
      's3:GetObjectVersion arn:aws:s3:::src/docs/a b.txt',
      's3:GetObjectVersionTagging arn:aws:s3:::src/docs/a b.txt',
    ]);
    expect(requestsOf(copied, NAMES)[0]?.context).toMatchObject({
      'aws:RequestedRegion': 'us-west-2',
      's3:x-amz-copy-source': 'src/docs/a%20b.txt?versionId=v%2B1',
      's3:x-amz-metadata-directive': 'REPLACE',
    });
  });

  it('replaces tags with s3:PutObjectTagging and the tags as request keys, reading none from the source', () => {
    const copied = call({
      service: 's3',
      operation: 'CopyObject',
      input: {
        Bucket: 'dr',
        Key: 'k',
        CopySource: 'src/k',
        TaggingDirective: 'REPLACE',
        Tagging: 'copy=dr&a=1',
      },
    });
    const requests = requestsOf(copied, NAMES);
    expect(requests.map((request) => request.action)).toEqual([
      's3:PutObject',
      's3:PutObjectTagging',
      's3:GetObject',
    ]);
    expect(requests[1]?.context).toMatchObject({
      's3:RequestObjectTag/copy': 'dr',
      's3:RequestObjectTagKeys': ['copy', 'a'],
    });
  });

  it('replacing with no tags writes none', () => {
    const copied = call({
      service: 's3',
      operation: 'CopyObject',
      input: { Bucket: 'dr', Key: 'k', CopySource: 'src/k', TaggingDirective: 'REPLACE', Tagging: '' },
    });
    expect(requestsOf(copied, NAMES).map((request) => request.action)).toEqual([
      's3:PutObject',
      's3:GetObject',
    ]);
  });

  it('gives a replica to the bucket owner with s3:PutObjectAcl carrying s3:x-amz-acl', () => {
    const copied = call({
      service: 's3',
      operation: 'CopyObject',
      input: {
        Bucket: 'partner',
        Key: 'k',
        CopySource: 'src/k',
        ACL: 'bucket-owner-full-control',
        TaggingDirective: 'REPLACE',
      },
    });
    expect(requestsOf(copied, NAMES).find((request) => request.action === 's3:PutObjectAcl')).toMatchObject({
      resource: 'arn:aws:s3:::partner/k',
      context: { 's3:x-amz-acl': 'bucket-owner-full-control' },
    });
  });

  it('encrypts under SSE-KMS with kms:GenerateDataKey through S3 in the bucket Region', () => {
    const copied = call({
      service: 's3',
      operation: 'CopyObject',
      region: 'eu-west-1',
      input: {
        Bucket: 'dr',
        Key: 'k',
        CopySource: 'src/k',
        TaggingDirective: 'REPLACE',
        ServerSideEncryption: 'aws:kms',
        SSEKMSKeyId: 'alias/replicas',
      },
    });
    expect(requestsOf(copied, NAMES).find((request) => request.action.startsWith('kms:'))).toEqual({
      principal: { function: 'objectCreated' },
      action: 'kms:GenerateDataKey',
      resource: `arn:aws:kms:eu-west-1:${ACCOUNT}:key/replicas`,
      context: {
        'aws:RequestedRegion': 'eu-west-1',
        'kms:ViaService': 's3.eu-west-1.amazonaws.com',
        'kms:ResourceAliases': ['alias/replicas'],
      },
      call: 's3:CopyObject',
    });
  });

  it('decrypts an SSE-KMS source with kms:Decrypt through S3 in the source Region; the AWS managed key needs none', () => {
    const input = { Bucket: 'dr', Key: 'k', CopySource: 'src/k', TaggingDirective: 'REPLACE' };
    const key = `arn:aws:kms:us-east-1:${ACCOUNT}:key/src-key`;
    const copied = call({
      service: 's3',
      operation: 'CopyObject',
      region: 'us-west-2',
      input,
      copySource: { region: 'us-east-1', sse: 'aws:kms', kmsKeyId: key },
    });
    expect(requestsOf(copied, NAMES).at(-1)).toMatchObject({
      action: 'kms:Decrypt',
      resource: key,
      context: { 'kms:ViaService': 's3.us-east-1.amazonaws.com', 'aws:RequestedRegion': 'us-east-1' },
    });
    const managed = call({
      service: 's3',
      operation: 'UploadPartCopy',
      input: { ...input, UploadId: 'u' },
      copySource: { region: 'us-east-1', sse: 'aws:kms' },
    });
    expect(requestsOf(managed, NAMES).map((request) => request.action)).toEqual([
      's3:PutObject',
      's3:GetObject',
    ]);
  });

  it('maps a multipart copy call by call, with the upload key on the parts and the completion', () => {
    const upload = { sse: 'aws:kms', kmsKeyId: `arn:aws:kms:us-west-2:${ACCOUNT}:key/k1` };
    const on = { Bucket: 'dr', Key: 'big', UploadId: 'u1' };
    const fn = { function: 'objectCopyStep' as const, principal: { function: 'objectCopyStep' as const } };
    expect(
      actionsOn(
        call({
          ...fn,
          service: 's3',
          operation: 'UploadPartCopy',
          upload,
          input: { ...on, CopySource: 'src/big' },
        }),
      ),
    ).toEqual([
      's3:PutObject arn:aws:s3:::dr/big',
      's3:GetObject arn:aws:s3:::src/big',
      `kms:GenerateDataKey ${upload.kmsKeyId}`,
    ]);
    expect(
      actionsOn(call({ ...fn, service: 's3', operation: 'CompleteMultipartUpload', upload, input: on })),
    ).toEqual(['s3:PutObject arn:aws:s3:::dr/big', `kms:Decrypt ${upload.kmsKeyId}`]);
    expect(actionsOn(call({ ...fn, service: 's3', operation: 'AbortMultipartUpload', input: on }))).toEqual([
      's3:AbortMultipartUpload arn:aws:s3:::dr/big',
    ]);
    expect(actionsOn(call({ ...fn, service: 's3', operation: 'ListParts', input: on }))).toEqual([
      's3:ListMultipartUploadParts arn:aws:s3:::dr/big',
    ]);
    expect(
      actionsOn(
        call({
          ...fn,
          service: 's3',
          operation: 'ListMultipartUploads',
          input: { Bucket: 'dr', Prefix: 'big' },
        }),
      ),
    ).toEqual(['s3:ListBucketMultipartUploads arn:aws:s3:::dr']);
  });

  it('lists with s3:ListBucket (versions: s3:ListBucketVersions) carrying s3:prefix', () => {
    const [list] = requestsOf(
      call({ service: 's3', operation: 'ListObjectsV2', input: { Bucket: 'src', Prefix: 'docs/' } }),
      NAMES,
    );
    expect(list).toMatchObject({
      action: 's3:ListBucket',
      resource: 'arn:aws:s3:::src',
      context: { 's3:prefix': 'docs/' },
    });
    expect(
      actionsOn(call({ service: 's3', operation: 'ListObjectVersions', input: { Bucket: 'src' } })),
    ).toEqual(['s3:ListBucketVersions arn:aws:s3:::src']);
  });

  it('deletes with s3:DeleteObject, a version with s3:DeleteObjectVersion', () => {
    expect(
      actionsOn(call({ service: 's3', operation: 'DeleteObject', input: { Bucket: 'dr', Key: 'k' } })),
    ).toEqual(['s3:DeleteObject arn:aws:s3:::dr/k']);
    expect(
      actionsOn(
        call({ service: 's3', operation: 'DeleteObject', input: { Bucket: 'dr', Key: 'k', VersionId: 'v' } }),
      ),
    ).toEqual(['s3:DeleteObjectVersion arn:aws:s3:::dr/k']);
  });

  it('parses copy sources: bucket, encoded key, version', () => {
    expect(parseCopySource('/b/a%2Fb/c%3F.txt?versionId=x%3D')).toEqual({
      bucket: 'b',
      key: 'a/b/c?.txt',
      versionId: 'x=',
    });
    expect(parseCopySource('b/k')).toEqual({ bucket: 'b', key: 'k' });
  });
});

describe('requestsOf: EC2', () => {
  const step = { function: 'ec2CopyStep' as const, principal: { function: 'ec2CopyStep' as const } };

  it('describes on * in the Region asked', () => {
    expect(
      requestsOf(
        call({ ...step, service: 'ec2', operation: 'DescribeSnapshots', region: 'eu-west-1' }),
        NAMES,
      ),
    ).toEqual([
      {
        principal: { function: 'ec2CopyStep' },
        action: 'ec2:DescribeSnapshots',
        resource: '*',
        context: { 'aws:RequestedRegion': 'eu-west-1' },
        call: 'ec2:DescribeSnapshots',
      },
    ]);
  });

  it('copies a snapshot: on the source in its Region, on the new one, tags through ec2:CreateAction, the key for EBS', () => {
    const requests = requestsOf(
      call({
        ...step,
        service: 'ec2',
        operation: 'CopySnapshot',
        region: 'us-west-2',
        input: {
          SourceRegion: 'us-east-1',
          SourceSnapshotId: 'snap-1',
          KmsKeyId: 'alias/dr',
          TagSpecifications: [
            { ResourceType: 'snapshot', Tags: [{ Key: 'ferry:source-id', Value: 'snap-1' }] },
          ],
        },
        output: { SnapshotId: 'snap-2' },
        resources: { 'snap-1': { region: 'us-east-1', tags: { backup: 'dr' } } },
      }),
      NAMES,
    );
    expect(requests.map((request) => `${request.action} ${request.resource}`)).toEqual([
      'ec2:CopySnapshot arn:aws:ec2:us-east-1::snapshot/snap-1',
      'ec2:CopySnapshot arn:aws:ec2:us-west-2::snapshot/snap-2',
      'ec2:CreateTags arn:aws:ec2:us-west-2::snapshot/snap-2',
      ...[
        'CreateGrant',
        'Decrypt',
        'DescribeKey',
        'GenerateDataKeyWithoutPlaintext',
        'ReEncryptFrom',
        'ReEncryptTo',
      ].map((action) => `kms:${action} arn:aws:kms:us-west-2:${ACCOUNT}:key/dr`),
    ]);
    expect(requests[0]?.context).toEqual({
      'aws:RequestedRegion': 'us-east-1',
      'aws:ResourceTag/backup': 'dr',
    });
    expect(requests[2]?.context).toEqual({
      'aws:RequestedRegion': 'us-west-2',
      'ec2:CreateAction': 'CopySnapshot',
      'aws:RequestTag/ferry:source-id': 'snap-1',
      'aws:TagKeys': ['ferry:source-id'],
    });
    expect(requests[3]?.context).toMatchObject({
      'kms:ViaService': 'ec2.us-west-2.amazonaws.com',
      'kms:GrantIsForAWSResource': 'true',
    });
  });

  it('copies an image: image ARNs, and tags its new snapshots (ids unknown) as snapshot/*', () => {
    const requests = requestsOf(
      call({
        ...step,
        service: 'ec2',
        operation: 'CopyImage',
        region: 'us-west-2',
        input: {
          SourceRegion: 'us-east-1',
          SourceImageId: 'ami-1',
          TagSpecifications: [
            { ResourceType: 'image', Tags: [{ Key: 'k', Value: 'v' }] },
            { ResourceType: 'snapshot', Tags: [{ Key: 'k', Value: 'v' }] },
          ],
        },
        outcome: { status: 400, error: 'ResourceLimitExceeded' },
      }),
      NAMES,
    );
    expect(requests.map((request) => `${request.action} ${request.resource}`)).toEqual([
      'ec2:CopyImage arn:aws:ec2:us-east-1::image/ami-1',
      'ec2:CopyImage arn:aws:ec2:us-west-2::image/*',
      'ec2:CreateTags arn:aws:ec2:us-west-2::image/*',
      'ec2:CreateTags arn:aws:ec2:us-west-2::snapshot/*',
    ]);
  });

  it('tags existing resources with their current tags as aws:ResourceTag', () => {
    const [tagged, untagged] = requestsOf(
      call({
        ...step,
        service: 'ec2',
        operation: 'CreateTags',
        input: { Resources: ['snap-9', 'snap-8'], Tags: [{ Key: 'ferry:source-id', Value: 'snap-1' }] },
        resources: { 'snap-9': { region: 'us-east-1', tags: { 'ferry:source-id': 'snap-1' } } },
      }),
      NAMES,
    );
    expect(tagged?.context).toEqual({
      'aws:RequestedRegion': 'us-east-1',
      'aws:ResourceTag/ferry:source-id': 'snap-1',
      'aws:RequestTag/ferry:source-id': 'snap-1',
      'aws:TagKeys': ['ferry:source-id'],
    });
    // The tag-then-delete sequence's first step: a snapshot Ferry did not make has no marker yet.
    expect(untagged?.context).not.toHaveProperty('aws:ResourceTag/ferry:source-id');
  });

  it('deletes, deregisters and archives with the resource tags; shares snapshots with ec2:Add/userId, images without it', () => {
    const resources = { 'snap-1': { region: 'us-east-1', tags: { m: '1' } } };
    expect(
      requestsOf(
        call({
          ...step,
          service: 'ec2',
          operation: 'DeleteSnapshot',
          input: { SnapshotId: 'snap-1' },
          resources,
        }),
        NAMES,
      ),
    ).toMatchObject([{ action: 'ec2:DeleteSnapshot', context: { 'aws:ResourceTag/m': '1' } }]);
    expect(
      actionsOn(call({ ...step, service: 'ec2', operation: 'DeregisterImage', input: { ImageId: 'ami-1' } })),
    ).toEqual(['ec2:DeregisterImage arn:aws:ec2:us-east-1::image/ami-1']);
    expect(
      actionsOn(
        call({ ...step, service: 'ec2', operation: 'ModifySnapshotTier', input: { SnapshotId: 'snap-1' } }),
      ),
    ).toEqual(['ec2:ModifySnapshotTier arn:aws:ec2:us-east-1::snapshot/snap-1']);
    const [shareSnapshot] = requestsOf(
      call({
        ...step,
        service: 'ec2',
        operation: 'ModifySnapshotAttribute',
        input: { SnapshotId: 'snap-1', OperationType: 'add', UserIds: ['444455556666'] },
      }),
      NAMES,
    );
    expect(shareSnapshot?.context['ec2:Add/userId']).toEqual(['444455556666']);
    const [shareImage] = requestsOf(
      call({
        ...step,
        service: 'ec2',
        operation: 'ModifyImageAttribute',
        input: { ImageId: 'ami-1', LaunchPermission: { Add: [{ UserId: '444455556666' }] } },
      }),
      NAMES,
    );
    expect(shareImage).toMatchObject({
      action: 'ec2:ModifyImageAttribute',
      resource: 'arn:aws:ec2:us-east-1::image/ami-1',
    });
    // IAM has no grantee key for ModifyImageAttribute (only ModifySnapshotAttribute has ec2:Add/userId).
    expect(shareImage?.context).not.toHaveProperty('ec2:Add/userId');
  });
});

describe('requestsOf: STS, Step Functions, roles', () => {
  it('assumes a role with sts:ExternalId', () => {
    expect(
      requestsOf(
        call({
          service: 'sts',
          operation: 'AssumeRole',
          input: { RoleArn: 'arn:aws:iam::222233334444:role/w', ExternalId: 'x-1', RoleSessionName: 's' },
        }),
        NAMES,
      ),
    ).toEqual([
      {
        principal: { function: 'objectCreated' },
        action: 'sts:AssumeRole',
        resource: 'arn:aws:iam::222233334444:role/w',
        context: { 'aws:RequestedRegion': 'us-east-1', 'sts:ExternalId': 'x-1' },
        call: 'sts:AssumeRole',
      },
    ]);
  });

  it('starts on the machine and describes the execution', () => {
    const machine = `arn:aws:states:us-east-1:${ACCOUNT}:stateMachine:ferry-dev-object-copy`;
    expect(
      actionsOn(
        call({ service: 'states', operation: 'StartExecution', input: { stateMachineArn: machine } }),
      ),
    ).toEqual([`states:StartExecution ${machine}`]);
    const execution = `arn:aws:states:us-east-1:${ACCOUNT}:execution:ferry-dev-object-copy:n`;
    expect(
      actionsOn(
        call({ service: 'states', operation: 'DescribeExecution', input: { executionArn: execution } }),
      ),
    ).toEqual([`states:DescribeExecution ${execution}`]);
  });

  it("resolves a role's aliases and bare key ids in the role's account", () => {
    const [, , kms] = requestsOf(
      call({
        principal: { role: 'arn:aws:iam::222233334444:role/w', via: 'objectCreated' },
        service: 's3',
        operation: 'CreateMultipartUpload',
        region: 'eu-west-1',
        input: { Bucket: 'p', Key: 'k', ServerSideEncryption: 'aws:kms', SSEKMSKeyId: 'k-1', Tagging: 'a=1' },
      }),
      NAMES,
    );
    expect(kms).toMatchObject({
      principal: { role: 'arn:aws:iam::222233334444:role/w', via: 'objectCreated' },
      resource: 'arn:aws:kms:eu-west-1:222233334444:key/k-1',
    });
  });

  it('refuses an operation it has no mapping for, by name', () => {
    expect(() => requestsOf(call({ service: 's3', operation: 'PutBucketPolicy' }), NAMES)).toThrow(
      UnmappedOperationError,
    );
    expect(() => requestsOf(call({ service: 'ec2', operation: 'RunInstances' }), NAMES)).toThrow(
      /ec2:RunInstances/,
    );
  });
});
