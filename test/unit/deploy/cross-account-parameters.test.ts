import { describe, expect, it } from 'vitest';
import {
  ConflictingRoleSettingsError,
  crossAccountParameters,
  parameterOverrides,
  UndeployableRoleArnError,
} from '#deploy/cross-account-parameters';
import type { FerryConfig } from '#rules/config';
import { loadConfigFile, validateConfig } from '#rules/load';

const FERRY = { account: '111122223333', deployment: { service: 'ferry', stage: 'prod' } };
const configOf = (name: string) => loadConfigFile(new URL(`../../configs/${name}`, import.meta.url).pathname);

const toPartner = (roleArn: string, externalId: string, extra: Record<string, unknown> = {}) => {
  const result = validateConfig({
    rules: [
      {
        name: 'to-partner',
        objects: { bucket: 'acme-media', prefix: 'a/' },
        to: [
          { bucket: 'inbox', region: 'eu-west-1', account: '222233334444', roleArn, externalId, ...extra },
        ],
      },
      {
        name: 'to-partner-too',
        objects: { bucket: 'acme-media', prefix: 'b/' },
        to: [
          { bucket: 'inbox', region: 'eu-west-1', account: '222233334444', roleArn, externalId: 'other-id' },
        ],
      },
    ],
  });
  if (!result.ok) throw new Error(JSON.stringify(result));
  return result.config as FerryConfig;
};

describe('crossAccountParameters', () => {
  it('It should give each destination role of cross-account.yml what it writes, and no more', () => {
    expect(crossAccountParameters(configOf('cross-account.yml'), FERRY)).toEqual([
      {
        roleArn: 'arn:aws:iam::222233334444:role/ferry-writer',
        account: '222233334444',
        parameters: expect.objectContaining({
          FerryAccountId: '111122223333',
          ExternalId: 'acme-ferry-7f3a9c',
          RoleName: 'ferry-writer',
          DestinationBucketArns: 'arn:aws:s3:::partner-media-inbox',
          DestinationObjectArns: 'arn:aws:s3:::partner-media-inbox/from-acme/*',
          SourceObjectArns: 'arn:aws:s3:::acme-media/published/*',
          AllowDeletes: 'true',
          AllowObjectLocks: 'false',
          AllowEc2Copies: 'false',
          Ec2Regions: '',
          KmsKeyArns: '',
        }),
        notes: [],
      },
      {
        roleArn: 'arn:aws:iam::333344445555:role/ferry-vault-writer',
        account: '333344445555',
        parameters: expect.objectContaining({
          ExternalId: 'acme-ferry-vault-51d2',
          RoleName: 'ferry-vault-writer',
          DestinationBucketArns: '',
          AllowDeletes: 'false',
          AllowObjectLocks: 'false',
          AllowEc2Copies: 'true',
          // The vault destination locks its copies; snapshot rules neither protect nor deprecate.
          LockEc2Copies: 'true',
          ProtectImageCopies: 'false',
          DeprecateImageCopies: 'false',
          Ec2Regions: 'us-west-2,us-east-1',
          KmsKeyArns: 'arn:aws:kms:us-west-2:333344445555:key/1234abcd-12ab-34cd-56ef-1234567890ab',
        }),
        notes: [],
      },
    ]);
  });

  it('It should allow Object Lock on the role only where a destination writing through it has lock', () => {
    const roleArn = 'arn:aws:iam::222233334444:role/w';
    const locked = validateConfig({
      rules: [
        {
          name: 'to-partner',
          objects: { bucket: 'acme-media' },
          to: [
            {
              bucket: 'inbox',
              region: 'eu-west-1',
              account: '222233334444',
              roleArn,
              externalId: 'other-id',
              lock: { mode: 'COMPLIANCE', days: 7 },
            },
          ],
        },
      ],
    });
    if (!locked.ok) throw new Error(JSON.stringify(locked));
    const [setup] = crossAccountParameters(locked.config as FerryConfig, FERRY);
    expect(setup?.parameters.AllowObjectLocks).toBe('true');
    const [plain] = crossAccountParameters(configOf('cross-account.yml'), FERRY);
    expect(plain?.parameters.AllowObjectLocks).toBe('false');
  });

  it('It should trust the function roles of the deployment’s service and stage only', () => {
    const [setup] = crossAccountParameters(configOf('cross-account.yml'), FERRY);
    expect([setup?.parameters.FerryService, setup?.parameters.FerryStage]).toEqual(['ferry', 'prod']);
  });

  it('It should switch on lock, deregistration protection and deprecation for the roles whose destinations ask for them', () => {
    const [partner] = crossAccountParameters(configOf('multi-region.yml'), FERRY);
    expect(partner?.parameters).toMatchObject({
      AllowEc2Copies: 'true',
      LockEc2Copies: 'true',
      ProtectImageCopies: 'true',
      DeprecateImageCopies: 'true',
    });
    const [objectsOnly] = crossAccountParameters(configOf('cross-account.yml'), FERRY);
    expect(objectsOnly?.parameters).toMatchObject({
      LockEc2Copies: 'false',
      ProtectImageCopies: 'false',
      DeprecateImageCopies: 'false',
    });
  });

  it('It should let the role that copies decrypt the sources’ keys, and say when one cannot be named', () => {
    const ROLE = 'arn:aws:iam::222233334444:role/ferry-writer';
    const KEY = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
    const inbox = {
      bucket: 'inbox',
      region: 'eu-west-1',
      account: '222233334444',
      roleArn: ROLE,
      externalId: 'x1',
    };
    const result = validateConfig({
      rules: [
        {
          name: 'kms-source',
          objects: {
            bucket: 'acme-media',
            prefix: 'a/',
            kmsKeys: [KEY, '5b6c7d8e-9f0a-4b1c-8d2e-3f4a5b6c7d8e'],
          },
          to: [inbox],
        },
        {
          name: 'kms-eu',
          objects: {
            bucket: 'acme-eu',
            region: 'eu-west-1',
            prefix: 'b/',
            kmsKeys: ['0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d'],
          },
          to: [inbox],
        },
      ],
    });
    if (!result.ok) throw new Error(JSON.stringify(result));
    const [setup] = crossAccountParameters(result.config as FerryConfig, FERRY);
    // The source's key is in Ferry's account (the source's owner), in the source's Region.
    expect(setup?.parameters.KmsKeyArns.split(',').sort()).toEqual([
      'arn:aws:kms:eu-west-1:111122223333:key/0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d',
      KEY,
    ]);
    // A bare id of a source in the home Region, which the parameters do not know: a note, not a guess.
    expect(setup?.notes.join('\n')).toMatch(/5b6c7d8e-9f0a-4b1c-8d2e-3f4a5b6c7d8e .*give the key's ARN/);
  });

  it('It should say when a key is named by an alias (the template needs key ARNs)', () => {
    const setups = crossAccountParameters(configOf('multi-region.yml'), FERRY);
    expect(
      setups.map(({ roleArn, parameters, notes }) => [roleArn, parameters.Ec2Regions, notes.length]),
    ).toEqual([['arn:aws:iam::222233334444:role/ferry-ami-writer', 'us-west-2,ap-southeast-2', 1]]);
    expect(setups[0]?.parameters.KmsKeyArns).toBe('arn:aws:kms:us-west-2:222233334444:key/*');
  });

  it('It should refuse one role with two external ids, and a role name the template cannot create', () => {
    expect(() =>
      crossAccountParameters(toPartner('arn:aws:iam::222233334444:role/w', 'one-id'), FERRY),
    ).toThrow(ConflictingRoleSettingsError);
    expect(() =>
      crossAccountParameters(toPartner('arn:aws:iam::222233334444:role/team/w', 'other-id'), FERRY),
    ).toThrow(UndeployableRoleArnError);
  });

  it('It should give --parameter-overrides pairs, leaving out empty lists', () => {
    const [, vault] = crossAccountParameters(configOf('cross-account.yml'), FERRY);
    const overrides = parameterOverrides(vault?.parameters ?? ({} as never));
    expect(overrides).toContain('AllowEc2Copies=true');
    expect(overrides.some((pair) => pair.startsWith('DestinationBucketArns='))).toBe(false);
  });
});
