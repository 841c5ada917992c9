import { describe, expect, it } from 'vitest';
import { type ProofRoles, proveRequests } from '#deploy/iam-proof/evaluate';
import { proofRoles } from '#deploy/iam-proof/policies';
import type { IamRequest } from '#deploy/iam-proof/request';
import { MARKER } from '#ec2/markers';
import { loadConfigFile } from '#rules/load';

const rolesOf = (configName: string): ProofRoles =>
  proofRoles(loadConfigFile(new URL(`../../../configs/${configName}`, import.meta.url).pathname));

const VAULT_ROLE = 'arn:aws:iam::333344445555:role/ferry-vault-writer';
const AMI_ROLE = 'arn:aws:iam::222233334444:role/ferry-ami-writer';
const viaRole = (role: string): IamRequest['principal'] => ({ role, via: 'ec2CopyStep' });

const allowed = async (roles: ProofRoles, request: IamRequest) =>
  (await proveRequests([request], roles)).missing.length === 0;

describe.each([
  ['cross-account.yml', VAULT_ROLE, 'us-west-2'],
  ['multi-region.yml', AMI_ROLE, 'us-west-2'],
])('The cross-account role of %s (%s)', (configName, role, region) => {
  const roles = rolesOf(configName);
  const snapshot = `arn:aws:ec2:${region}::snapshot/snap-0partner0owned0`;
  const tagWithMarker = (context: IamRequest['context']): IamRequest => ({
    principal: viaRole(role),
    action: 'ec2:CreateTags',
    resource: snapshot,
    context: {
      'aws:RequestedRegion': region,
      [`aws:RequestTag/${MARKER.sourceId}`]: 'snap-0source',
      'aws:TagKeys': [MARKER.sourceId],
      ...context,
    },
    call: 'ec2:CreateTags',
  });
  const deleteTagged: IamRequest = {
    principal: viaRole(role),
    action: 'ec2:DeleteSnapshot',
    resource: snapshot,
    context: { 'aws:RequestedRegion': region, [`aws:ResourceTag/${MARKER.sourceId}`]: 'snap-0source' },
    call: 'ec2:DeleteSnapshot',
  };

  it('It should deny tag-then-delete: marking a snapshot Ferry did not create, then deleting it', async () => {
    // Step 1 on a snapshot of the partner's (no marker yet, not being created); step 2 then finds the marker.
    const tagged = await allowed(roles, tagWithMarker({}));
    const deleted = await allowed(roles, deleteTagged);
    expect({ tagged, sequence: tagged && deleted }).toEqual({ tagged: false, sequence: false });
  });

  it('It should still allow Ferry’s own tagging: at creation by the copy, and re-tagging its copies', async () => {
    const createAction = configName === 'cross-account.yml' ? 'CopySnapshot' : 'CopyImage';
    expect(await allowed(roles, tagWithMarker({ 'ec2:CreateAction': createAction }))).toBe(true);
    expect(
      await allowed(roles, tagWithMarker({ [`aws:ResourceTag/${MARKER.sourceId}`]: 'snap-0source' })),
    ).toBe(true);
    // A delete needs the marker: what carries it is Ferry's (only Ferry could have put it there).
    expect(await allowed(roles, deleteTagged)).toBe(true);
    expect(await allowed(roles, { ...deleteTagged, context: { 'aws:RequestedRegion': region } })).toBe(false);
  });
});

/**
 * IAM has no condition key for the account an image's launch permission goes to (`ec2:Add/userId` is defined
 * for ModifySnapshotAttribute only: Service Authorization Reference, Amazon EC2,
 * https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonec2.html). The image share is
 * bounded by what the statement can see: the rule's source Regions, never one of Ferry's own copies; the
 * image's snapshots, without which the destination cannot copy it, only to the destination accounts.
 */
describe('Sharing a source AMI with a destination account (ec2CopyStep, multi-region.yml)', () => {
  const roles = rolesOf('multi-region.yml');
  const share = (
    action: 'ec2:ModifyImageAttribute' | 'ec2:ModifySnapshotAttribute',
    resource: string,
    context: IamRequest['context'],
  ): IamRequest => ({
    principal: { function: 'ec2CopyStep' },
    action,
    resource,
    context: { 'aws:RequestedRegion': resource.split(':')[3] ?? '', ...context },
    call: action,
  });
  const image = (region: string) => `arn:aws:ec2:${region}::image/ami-0source`;
  const snapshot = 'arn:aws:ec2:ap-southeast-2::snapshot/snap-0source';

  it('It should share a source image of the rule’s Regions, never one of Ferry’s copies', async () => {
    expect(await allowed(roles, share('ec2:ModifyImageAttribute', image('ap-southeast-2'), {}))).toBe(true);
    const copy = { [`aws:ResourceTag/${MARKER.sourceId}`]: 'ami-0other' };
    expect(await allowed(roles, share('ec2:ModifyImageAttribute', image('ap-southeast-2'), copy))).toBe(
      false,
    );
    expect(await allowed(roles, share('ec2:ModifyImageAttribute', image('us-east-1'), {}))).toBe(false);
  });

  it('It should share the image’s snapshots with the destination account only', async () => {
    // ec2:Add/userId is single-valued (String): one key per account the request adds.
    const withUser = (userId: string) =>
      share('ec2:ModifySnapshotAttribute', snapshot, { 'ec2:Add/userId': userId });
    expect(await allowed(roles, withUser('222233334444'))).toBe(true);
    expect(await allowed(roles, withUser('999999999999'))).toBe(false);
  });
});
