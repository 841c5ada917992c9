import {
  type FerryConfig,
  imageRulesOf,
  objectRulesOf,
  snapshotRulesOf,
  sourceRegionsOf,
} from '#rules/config';
import { kmsKeyRegionOf } from '#rules/schema';
import { replicaKeys, sourceKeys } from './iam/arns.ts';
import { kmsKeyResource } from './iam/kms.ts';
import type { Names } from './iam/types.ts';
import type { Deployment } from './template-parts.ts';

/**
 * The parameters a destination account deploys deploy/cross-account-role.yml with, for each `roleArn` the
 * rules name: derived from the rules, so that the role allows what Ferry will do there and no more. The
 * same values the IAM proof renders the template with (deploy/iam-proof/policies.ts), and what a partner
 * is told to pass as `--parameter-overrides`.
 *
 * Values are strings as CloudFormation takes them; a `CommaDelimitedList` is comma-separated.
 */
export interface CrossAccountParameters {
  FerryAccountId: string;
  /** The stage's function roles are under the IAM path /<FerryService>/<FerryStage>/ (template-parts). */
  FerryService: string;
  FerryStage: string;
  ExternalId: string;
  RoleName: string;
  DestinationBucketArns: string;
  DestinationObjectArns: string;
  SourceObjectArns: string;
  AllowDeletes: 'true' | 'false';
  /** A destination writing here has `lock`: the role writes locked replicas (and reads the locks). */
  AllowObjectLocks: 'true' | 'false';
  AllowEc2Copies: 'true' | 'false';
  /** A destination through this role sets `lock` / `deregistrationProtection` / `deprecateAfter`. */
  LockEc2Copies: 'true' | 'false';
  ProtectImageCopies: 'true' | 'false';
  DeprecateImageCopies: 'true' | 'false';
  Ec2Regions: string;
  KmsKeyArns: string;
}

export interface CrossAccountRoleSetup {
  roleArn: string;
  /** The account the role lives in (from its ARN). */
  account: string;
  parameters: CrossAccountParameters;
  /** What the partner must check by hand (a key named by alias, whose ARN Ferry cannot know). */
  notes: string[];
}

export class ConflictingRoleSettingsError extends Error {
  constructor(
    readonly roleArn: string,
    what: string,
  ) {
    super(`${roleArn} is used by several destinations with different ${what}: one role has one ${what}`);
    this.name = 'ConflictingRoleSettingsError';
  }
}

export class UndeployableRoleArnError extends Error {
  constructor(readonly roleArn: string) {
    super(
      `${roleArn} has a path or a name deploy/cross-account-role.yml cannot create (RoleName: 1-64 of [\\w+=,.@-], no path)`,
    );
    this.name = 'UndeployableRoleArnError';
  }
}

const ROLE_ARN = /^arn:([^:]+):iam::(\d{12}):role\/([\w+=,.@-]{1,64})$/;

interface Collected {
  partition: string;
  externalIds: Set<string>;
  buckets: Set<string>;
  objects: Set<string>;
  sources: Set<string>;
  deletes: boolean;
  objectLocks: boolean;
  ec2: boolean;
  ec2Locks: boolean;
  protects: boolean;
  deprecates: boolean;
  regions: Set<string>;
  keys: Set<string>;
  notes: string[];
}

const text = (value: unknown): string => {
  if (typeof value !== 'string') throw new Error('expected a plain ARN with a literal partition and account');
  return value;
};

/** For each roleArn of the rules (in first-seen order), the parameters its account deploys the role with. */
export function crossAccountParameters(
  config: Pick<FerryConfig, 'rules'>,
  ferry: { account: string; deployment: Pick<Deployment, 'service' | 'stage'> },
): CrossAccountRoleSetup[] {
  const roles = new Map<string, Collected>();
  const collected = (roleArn: string, externalId: string | undefined): Collected => {
    const match = ROLE_ARN.exec(roleArn);
    if (!match) throw new UndeployableRoleArnError(roleArn);
    const entry: Collected = roles.get(roleArn) ?? {
      partition: match[1] ?? 'aws',
      externalIds: new Set(),
      buckets: new Set(),
      objects: new Set(),
      sources: new Set(),
      deletes: false,
      objectLocks: false,
      ec2: false,
      ec2Locks: false,
      protects: false,
      deprecates: false,
      regions: new Set(),
      keys: new Set(),
      notes: [],
    };
    if (externalId) entry.externalIds.add(externalId);
    roles.set(roleArn, entry);
    return entry;
  };
  const namesIn = (entry: Collected, account: string): Names => ({
    partition: entry.partition,
    urlSuffix: entry.partition === 'aws-cn' ? 'amazonaws.com.cn' : 'amazonaws.com',
    account,
  });
  const addKey = (entry: Collected, kmsKeyId: string, region: string, account: string) => {
    const key = kmsKeyResource(kmsKeyId, region, namesIn(entry, account));
    entry.keys.add(text(key.resource));
    if (key.alias) {
      // The template takes key ARNs: IAM authorizes a key's use on the key, never on an alias.
      entry.notes.push(
        `${kmsKeyId} is an alias: KmsKeyArns then allows every key of ${account} in ${region}; give the key's ARN instead`,
      );
    }
  };

  for (const rule of objectRulesOf(config)) {
    for (const destination of rule.to) {
      if (!destination.roleArn) continue;
      const entry = collected(destination.roleArn, destination.externalId);
      const account = ROLE_ARN.exec(destination.roleArn)?.[2] ?? '';
      const names = namesIn(entry, account);
      entry.buckets.add(`arn:${entry.partition}:s3:::${destination.bucket}`);
      entry.objects.add(text(replicaKeys(names, rule, destination)));
      entry.sources.add(text(sourceKeys(names, rule)));
      if (destination.replicateDeletes) entry.deletes = true;
      if (destination.lock) entry.objectLocks = true;
      if (destination.encryption?.sse === 'aws:kms')
        addKey(entry, destination.encryption.kmsKeyId, destination.region, account);
      // The role issues the copy, so S3 decrypts an SSE-KMS source with the role's permissions: the source's
      // keys (in the source's account, Ferry's; deploy/iam/kms.ts, sourceKeyDrafts) join KmsKeyArns. A key
      // named by id or alias resolves in the source's Region, which is the home Region when the rule gives
      // none, and these parameters do not know it.
      for (const kmsKeyId of rule.objects.kmsKeys ?? []) {
        const region = rule.objects.region ?? kmsKeyRegionOf(kmsKeyId);
        if (region === undefined) {
          entry.notes.push(
            `${kmsKeyId} (objects.kmsKeys of rule ${rule.name}) is not an ARN and the rule names no objects.region: give the key's ARN so that KmsKeyArns can name it`,
          );
          continue;
        }
        addKey(entry, kmsKeyId, region, ferry.account);
      }
    }
  }
  for (const rule of [...snapshotRulesOf(config), ...imageRulesOf(config)]) {
    for (const destination of rule.to) {
      if (!destination.roleArn) continue;
      const entry = collected(destination.roleArn, destination.externalId);
      const account = ROLE_ARN.exec(destination.roleArn)?.[2] ?? '';
      entry.ec2 = true;
      if (destination.lock) entry.ec2Locks = true;
      if ('deregistrationProtection' in destination && destination.deregistrationProtection)
        entry.protects = true;
      if ('deprecateAfter' in destination && destination.deprecateAfter) entry.deprecates = true;
      // A copy is authorized in its destination Region and in the Region of its source.
      for (const region of [destination.region, ...sourceRegionsOf(rule)]) entry.regions.add(region);
      if (destination.kmsKeyId) addKey(entry, destination.kmsKeyId, destination.region, account);
    }
  }

  return [...roles].map(([roleArn, entry]) => {
    const [, , account = '', roleName = ''] = ROLE_ARN.exec(roleArn) ?? [];
    if (entry.externalIds.size > 1) throw new ConflictingRoleSettingsError(roleArn, 'external id');
    const list = (values: Set<string>) => [...values].join(',');
    return {
      roleArn,
      account,
      parameters: {
        FerryAccountId: ferry.account,
        FerryService: ferry.deployment.service,
        FerryStage: ferry.deployment.stage,
        ExternalId: [...entry.externalIds][0] ?? '',
        RoleName: roleName,
        DestinationBucketArns: list(entry.buckets),
        DestinationObjectArns: list(entry.objects),
        SourceObjectArns: list(entry.sources),
        AllowDeletes: entry.deletes ? 'true' : 'false',
        AllowObjectLocks: entry.objectLocks ? 'true' : 'false',
        AllowEc2Copies: entry.ec2 ? 'true' : 'false',
        LockEc2Copies: entry.ec2Locks ? 'true' : 'false',
        ProtectImageCopies: entry.protects ? 'true' : 'false',
        DeprecateImageCopies: entry.deprecates ? 'true' : 'false',
        Ec2Regions: list(entry.regions),
        KmsKeyArns: list(entry.keys),
      },
      notes: entry.notes,
    };
  });
}

/** `Key=Value` pairs for `aws cloudformation deploy --parameter-overrides`. */
export const parameterOverrides = (parameters: CrossAccountParameters): string[] =>
  Object.entries(parameters)
    .filter(([, value]) => value !== '')
    .map(([key, value]) => `${key}=${value}`);
