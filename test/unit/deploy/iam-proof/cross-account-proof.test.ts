import { describe, expect, it } from 'vitest';
import { crossAccountParameters } from '#deploy/cross-account-parameters';
import { type ProofRoles, proveRequests } from '#deploy/iam-proof/evaluate';
import { crossAccountRole, functionRoles, PROOF_ACCOUNT, PROOF_DEPLOYMENT } from '#deploy/iam-proof/policies';
import type { IamRequest } from '#deploy/iam-proof/request';
import { MARKER } from '#ec2/markers';
import { loadConfigFile } from '#rules/load';

/** The function roles and destination roles (deploy/cross-account-role.yml as each partner deploys it). */
function rolesOf(configName: string): ProofRoles {
  const config = loadConfigFile(new URL(`../../../configs/${configName}`, import.meta.url).pathname);
  const setups = crossAccountParameters(config, { account: PROOF_ACCOUNT, deployment: PROOF_DEPLOYMENT });
  return {
    functions: functionRoles(config),
    destinations: Object.fromEntries(
      setups.map((setup) => [setup.roleArn, crossAccountRole(setup.parameters, setup.account)]),
    ),
  };
}

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

describe('Sharing a source AMI with a destination account (ec2CopyStep, multi-region.yml)', () => {
  const roles = rolesOf('multi-region.yml');
  const share = (userIds: string[]): IamRequest => ({
    principal: { function: 'ec2CopyStep' },
    action: 'ec2:ModifyImageAttribute',
    resource: 'arn:aws:ec2:ap-southeast-2::image/ami-0source',
    context: { 'aws:RequestedRegion': 'ap-southeast-2', 'ec2:Add/userId': userIds },
    call: 'ec2:ModifyImageAttribute',
  });

  it('It should allow sharing with the destination account only', async () => {
    expect(await allowed(roles, share(['222233334444']))).toBe(true);
    expect(await allowed(roles, share(['999999999999']))).toBe(false);
    expect(await allowed(roles, share(['222233334444', '999999999999']))).toBe(false);
  });
});
