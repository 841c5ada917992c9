import { describe, expect, it } from 'vitest';
import { InvalidConfigError, parseConfig, validateConfig } from '#rules/load';

const rule = (overrides: Record<string, unknown> = {}) => ({
  name: 'invoices',
  objects: { bucket: 'acme-prod', prefix: 'invoices/' },
  to: [{ bucket: 'acme-dr', region: 'us-west-2' }],
  ...overrides,
});

const issuesOf = (raw: unknown) => {
  const result = validateConfig(raw);
  if (result.ok) throw new Error('expected the configuration to be invalid');
  return result.issues;
};

describe('replication.yml schema', () => {
  it('It should fill the documented defaults of a minimal rule', () => {
    const result = validateConfig({ rules: [rule()] });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const destination = result.config.rules[0]?.to[0];
    expect(destination).toEqual({
      bucket: 'acme-dr',
      region: 'us-west-2',
      metadata: { copy: true, set: {} },
      tags: { copy: true, set: {} },
      replicateDeletes: false,
      replicateLifecycleDeletes: false,
    });
  });

  it.each([
    [
      'a bad storage class',
      { to: [{ bucket: 'acme-dr', region: 'us-west-2', storageClass: 'COLD' }] },
      'rules[0].to[0].storageClass',
      /expected one of STANDARD, STANDARD_IA/,
    ],
    [
      'a bad Region',
      { to: [{ bucket: 'acme-dr', region: 'mars-1' }] },
      'rules[0].to[0].region',
      /AWS Region/,
    ],
    [
      'an unknown key',
      { to: [{ bucket: 'acme-dr', region: 'us-west-2', storageclass: 'STANDARD' }] },
      'rules[0].to[0]',
      /unknown key "storageclass"/,
    ],
    [
      'an invalid bucket name',
      { objects: { bucket: 'Acme_Prod' } },
      'rules[0].objects.bucket',
      /S3 bucket name/,
    ],
    ['no destination', { to: [] }, 'rules[0].to', /at least one destination/],
    [
      'a role without an account',
      { to: [{ bucket: 'acme-dr', region: 'us-west-2', roleArn: 'arn:aws:iam::222233334444:role/w' }] },
      'rules[0].to[0].account',
      /required when roleArn/,
    ],
    [
      'a role in another account',
      {
        to: [
          {
            bucket: 'acme-dr',
            region: 'us-west-2',
            account: '222233334444',
            roleArn: 'arn:aws:iam::999988887777:role/w',
          },
        ],
      },
      'rules[0].to[0].roleArn',
      /belongs to account 999988887777/,
    ],
    [
      'KMS encryption without a key',
      { to: [{ bucket: 'acme-dr', region: 'us-west-2', encryption: { sse: 'aws:kms' } }] },
      'rules[0].to[0].encryption.kmsKeyId',
      /expected/,
    ],
    [
      'an unknown encryption',
      { to: [{ bucket: 'acme-dr', region: 'us-west-2', encryption: { sse: 'DES' } }] },
      'rules[0].to[0].encryption.sse',
      /AES256/,
    ],
    [
      'a reserved tag key',
      { to: [{ bucket: 'acme-dr', region: 'us-west-2', tags: { set: { 'aws:x': '1' } } }] },
      'rules[0].to[0].tags.set.aws:x',
      /reserved/,
    ],
    [
      'minSize above maxSize',
      { objects: { bucket: 'acme-prod', minSize: 10, maxSize: 5 } },
      'rules[0].objects.maxSize',
      /minSize/,
    ],
    ['a bad rule name', { name: 'has space' }, 'rules[0].name', /letters, digits/],
    [
      'an unquoted-number account',
      { to: [{ bucket: 'acme-dr', region: 'us-west-2', account: 222233334444 }] },
      'rules[0].to[0].account',
      /expected string/,
    ],
    [
      'a directory bucket as the source',
      { objects: { bucket: 'acme-logs--usw2-az1--x-s3' } },
      'rules[0].objects.bucket',
      /is a directory bucket \(S3 Express One Zone, a name ending "--x-s3"\), which Ferry does not support/,
    ],
    [
      'a directory bucket as a destination',
      { to: [{ bucket: 'acme-dr--usw2-az1--x-s3', region: 'us-west-2' }] },
      'rules[0].to[0].bucket',
      /no STANDARD storage class, no object tags to copy, and ETags that are not MD5 digests/,
    ],
  ])('It should reject %s and name its path', (_, overrides, path, message) => {
    const issues = issuesOf({ rules: [rule(overrides)] });
    expect(issues).toContainEqual({ path, message: expect.stringMatching(message) });
  });

  it('It should report every error of every rule in one pass, with the cross-rule checks', () => {
    const issues = issuesOf({
      rules: [
        rule({ to: [{ bucket: 'acme-dr', region: 'nowhere', storageClass: 'COLD' }] }),
        rule({ name: 'second', objects: { bucket: 'x' } }),
        rule({
          name: 'loop',
          objects: { bucket: 'acme-dr', prefix: 'a/' },
          to: [{ bucket: 'acme-dr', region: 'us-west-2' }],
        }),
        rule({ name: 'loop' }),
      ],
    });
    expect(issues.map((issue) => issue.path)).toEqual(
      expect.arrayContaining([
        'rules[0].to[0].region',
        'rules[0].to[0].storageClass',
        'rules[1].objects.bucket',
        'rules[2].to[0]',
        'rules[3].name',
      ]),
    );
  });

  it('It should reject a document without rules and unknown top-level keys', () => {
    expect(issuesOf({})).toContainEqual({ path: 'rules', message: expect.any(String) });
    expect(issuesOf({ rules: [rule()], rulez: [] })).toContainEqual({
      path: '(root)',
      message: 'unknown key "rulez" (keys are case-sensitive)',
    });
  });

  it('It should locate YAML syntax errors and duplicate keys by line', () => {
    expect(() => parseConfig('rules:\n  - name: a\n    name: b\n')).toThrow(InvalidConfigError);
    try {
      parseConfig('rules:\n  - name: a\n    name: b\n', 'dup.yml');
    } catch (error) {
      expect((error as InvalidConfigError).issues[0]?.path).toMatch(/^line 3/);
      expect((error as InvalidConfigError).message).toContain('dup.yml is not a valid Ferry configuration');
    }
  });

  it('It should validate the shipped replication.yml and the sandbox rules', async () => {
    const { loadConfigFile } = await import('#rules/load');
    expect(loadConfigFile('replication.yml').rules.length).toBeGreaterThan(0);
    expect(loadConfigFile('local/sandbox.replication.yml').rules.length).toBeGreaterThan(0);
  });
});

describe('objects.kmsKeys: the keys of SSE-KMS sources', () => {
  const KEY = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
  const withKeys = (kmsKeys: unknown) =>
    rule({ objects: { bucket: 'acme-prod', prefix: 'invoices/', kmsKeys } });

  it('It should take key ARNs, alias ARNs, aliases and bare key ids (multi-Region ones too)', () => {
    const keys = [
      KEY,
      'arn:aws:kms:us-east-1:111122223333:alias/source',
      'alias/source',
      '1234abcd-12ab-34cd-56ef-1234567890ab',
      'mrk-1234abcd12ab34cd56ef1234567890ab',
    ];
    const result = validateConfig({ rules: [withKeys(keys)] });
    expect(result.ok).toBe(true);
    if (result.ok) expect(result.config.rules[0]).toMatchObject({ objects: { kmsKeys: keys } });
  });

  it('It should refuse what is no KMS key, an empty list and a repeat, each at its path', () => {
    expect(issuesOf({ rules: [withKeys(['my-key'])] })).toContainEqual({
      path: 'rules[0].objects.kmsKeys[0]',
      message: expect.stringMatching(/expected a KMS key id, a key ARN/),
    });
    expect(issuesOf({ rules: [withKeys([])] })).toContainEqual({
      path: 'rules[0].objects.kmsKeys',
      message: expect.stringMatching(/at least one KMS key/),
    });
    expect(issuesOf({ rules: [withKeys([KEY, KEY])] })).toContainEqual({
      path: 'rules[0].objects.kmsKeys[1]',
      message: `"${KEY}" is already listed at [0]`,
    });
  });
});
