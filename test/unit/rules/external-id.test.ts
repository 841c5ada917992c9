import { describe, expect, it } from 'vitest';
import { Ec2CopyJobSchema } from '#ec2/copy-machine/contract';
import { CopyStepInputSchema } from '#objects/copy-machine/contract';
import { validateConfig } from '#rules/load';

const ROLE = 'arn:aws:iam::222233334444:role/ferry-writer';
const objectRule = (destination: Record<string, unknown>) => ({
  name: 'to-partner',
  objects: { bucket: 'acme-media', prefix: 'published/' },
  to: [{ bucket: 'partner-inbox', region: 'eu-west-1', ...destination }],
});
const snapshotRule = (destination: Record<string, unknown>) => ({
  name: 'to-vault',
  snapshots: { regions: ['us-east-1'], encrypted: false },
  to: [{ region: 'us-west-2', ...destination }],
});

const issuesOf = (rule: unknown) => {
  const result = validateConfig({ rules: [rule] });
  return result.ok ? [] : result.issues;
};

describe('externalId of a destination role', () => {
  it.each([
    ['an object destination', objectRule],
    ['a snapshot destination', snapshotRule],
  ])('It should accept an external id with the role of %s', (_, rule) => {
    const result = validateConfig({
      rules: [rule({ account: '222233334444', roleArn: ROLE, externalId: 'acme:ferry/7f3a=9c@x.y-z_+,' })],
    });
    expect(result.ok).toBe(true);
    if (result.ok)
      expect(result.config.rules[0]?.to[0]).toMatchObject({ externalId: 'acme:ferry/7f3a=9c@x.y-z_+,' });
  });

  it.each([
    ['too short', 'x'],
    ['too long', 'x'.repeat(1225)],
    ['a space', 'acme ferry'],
    ['a character STS refuses', 'acme#ferry'],
  ])('It should refuse an external id with %s', (_, externalId) => {
    expect(issuesOf(objectRule({ account: '222233334444', roleArn: ROLE, externalId }))).toEqual([
      { path: 'rules[0].to[0].externalId', message: expect.stringMatching(/2–1224 characters/) },
    ]);
  });

  it.each([
    ['an object destination', objectRule],
    ['a snapshot destination', snapshotRule],
  ])('It should refuse an external id without a role in %s', (_, rule) => {
    expect(issuesOf(rule({ externalId: 'acme-ferry-7f3a9c' }))).toEqual([
      { path: 'rules[0].to[0].externalId', message: expect.stringMatching(/used only with roleArn/) },
    ]);
  });

  it.each([
    ['an object destination', objectRule],
    ['a snapshot destination', snapshotRule],
  ])('It should refuse a role without an external id in %s: the deployed role requires one', (_, rule) => {
    expect(issuesOf(rule({ account: '222233334444', roleArn: ROLE }))).toEqual([
      {
        path: 'rules[0].to[0].externalId',
        message: expect.stringMatching(
          /^required when roleArn is set: the ExternalId the role's trust policy requires/,
        ),
      },
    ]);
  });

  it('It should carry the external id through an object-copy execution’s input', () => {
    const result = validateConfig({
      rules: [objectRule({ account: '222233334444', roleArn: ROLE, externalId: 'acme-ferry-7f3a9c' })],
    });
    if (!result.ok) throw new Error('expected a valid configuration');
    const rule = result.config.rules[0];
    const input = CopyStepInputSchema.parse(
      JSON.parse(
        JSON.stringify({
          action: 'copy',
          job: {
            mode: 'single',
            plan: { rule, destination: rule?.to[0], destinationIndex: 0, destinationKey: 'published/a.txt' },
            source: {
              bucket: 'acme-media',
              key: 'published/a.txt',
              region: 'us-east-1',
              account: '111122223333',
              size: 1,
              etag: '"e"',
              eventTime: '2026-01-01T00:00:00Z',
            },
            reason: 'retry',
          },
        }),
      ),
    );
    expect(input.job.plan.destination.externalId).toBe('acme-ferry-7f3a9c');
  });

  it('It should carry the external id through a snapshot-copy execution’s input', () => {
    const job = Ec2CopyJobSchema.parse({
      kind: 'snapshot',
      rule: 'to-vault',
      destinationIndex: 0,
      destination: {
        region: 'us-west-2',
        account: '222233334444',
        roleArn: ROLE,
        externalId: 'acme-ferry-7f3a9c',
        copyTags: true,
        tags: {},
      },
      source: {
        id: 'snap-0123456789abcdef0',
        region: 'us-east-1',
        account: '111122223333',
        encrypted: false,
        description: '',
        tags: {},
      },
      eventTime: '2026-01-01T00:00:00Z',
    });
    expect(job.destination.externalId).toBe('acme-ferry-7f3a9c');
  });
});
