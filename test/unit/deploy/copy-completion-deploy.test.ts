import { describe, expect, it } from 'vitest';
import { forwarderRegions, forwarderTemplate } from '#deploy/forwarders';
import { templateParts } from '#deploy/template-parts';
import {
  completionEventReachesStack,
  completionRegionsOf,
  copyCompletionEventPatterns,
  forwardedEventPatterns,
} from '#rules/event-patterns';
import { configFrom } from '#test/support/fixtures';

/**
 * What the stack deploys for waiting on EC2 copies by event: the completion rules in the home stack, the
 * forwarders of the Regions copies are made in, and the table; copies made by a destination's role (their
 * events go to that account) are left to polling.
 */

const CONFIG = configFrom(`
rules:
  - name: ebs
    snapshots: { regions: [us-east-1], encrypted: false }
    to:
      - region: us-west-2
      - region: us-east-1
        kmsKeyId: alias/local-ebs
      - region: eu-central-1
        account: "333344445555"
        roleArn: arn:aws:iam::333344445555:role/ferry-vault-writer
        externalId: vault-ext
  - name: amis
    images: { regions: [us-east-1] }
    to:
      - region: ap-southeast-2
`);
const DEPLOYMENT = { service: 'ferry', stage: 't', region: 'us-east-1' };

describe('copy completion events, deployed', () => {
  it('listens in the Regions of the copies Ferry’s own role makes, not in a destination role’s', () => {
    expect(completionEventReachesStack({})).toBe(true);
    expect(completionEventReachesStack({ roleArn: 'arn:aws:iam::333344445555:role/r' })).toBe(false);
    // The Regions of those copies, sorted, once each, the destination role's left out.
    const rules = [...CONFIG.rules, ...CONFIG.rules] as Parameters<typeof completionRegionsOf>[0];
    expect(completionRegionsOf(rules)).toEqual(['ap-southeast-2', 'us-east-1', 'us-west-2']);
    expect(completionRegionsOf(rules, 'us-west-2')).toEqual(['us-west-2']);
    expect(copyCompletionEventPatterns(CONFIG)).toEqual([
      {
        source: ['aws.ec2'],
        'detail-type': ['EBS Snapshot Notification'],
        region: ['us-east-1', 'us-west-2'],
        detail: { event: ['copySnapshot'], result: ['succeeded', 'failed'] },
      },
      {
        source: ['aws.ec2'],
        'detail-type': ['EC2 AMI State Change'],
        region: ['ap-southeast-2'],
        detail: { State: ['available', 'failed'] },
      },
    ]);
  });

  it('forwards them from every destination Region but home and the destination role’s', () => {
    expect(forwarderRegions(CONFIG, 'us-east-1')).toEqual(['ap-southeast-2', 'us-west-2']);
    const patterns = (region: string) =>
      Object.values(forwarderTemplate(CONFIG, DEPLOYMENT, region).Resources)
        .filter((resource) => resource.Type === 'AWS::Events::Rule')
        .map((rule) => (rule.Properties as { EventPattern: unknown }).EventPattern);
    // One aws.ec2 rule per forwarder: the copy results there, as the home rules select them.
    expect(patterns('us-west-2')).toEqual([
      {
        source: ['aws.ec2'],
        region: ['us-west-2'],
        'detail-type': ['EBS Snapshot Notification'],
        detail: { event: ['copySnapshot'], result: ['succeeded', 'failed'] },
      },
    ]);
    expect(patterns('ap-southeast-2')).toEqual([
      {
        source: ['aws.ec2'],
        region: ['ap-southeast-2'],
        'detail-type': ['EC2 AMI State Change'],
        detail: { State: ['available', 'failed'] },
      },
    ]);
    expect(forwardedEventPatterns(CONFIG, 'eu-central-1')).toEqual([]);
  });

  it('gives ec2CopyCompleted one rule per pattern, lets those rules write dead letters, and deploys the table', () => {
    const parts = templateParts(CONFIG, DEPLOYMENT);
    expect(parts.events.ec2CopyCompleted).toHaveLength(2);
    const resources = parts.resources.Resources as Record<string, { Type: string; Properties?: unknown }>;
    expect(resources.CopyWaitersTable?.Type).toBe('AWS::DynamoDB::Table');
    const policy = JSON.stringify(resources.DeadLetterQueuePolicy?.Properties);
    expect(policy).toContain('rule/ferry-t-ec2CopyCompleted-rule-1');
    expect(policy).toContain('rule/ferry-t-ec2CopyCompleted-rule-2');
  });

  it('schedules the copy sweep hourly, with its own role', () => {
    const parts = templateParts(CONFIG, DEPLOYMENT);
    expect(parts.copySweepEvents).toEqual([{ schedule: { rate: 'rate(60 minutes)' } }]);
    const role = JSON.stringify((parts.resources.Resources as Record<string, unknown>).Ec2CopySweepRole);
    expect(role).toContain('dynamodb:Scan');
    expect(role).toContain('ec2:DescribeSnapshots');
  });

  it('deploys the table but no rule and no grant when every copy is made by a destination role', () => {
    const polled = configFrom(`
rules:
  - name: ebs
    snapshots: { regions: [us-east-1], encrypted: false }
    to:
      - region: eu-central-1
        account: "333344445555"
        roleArn: arn:aws:iam::333344445555:role/ferry-vault-writer
        externalId: vault-ext
`);
    const parts = templateParts(polled, DEPLOYMENT);
    expect(parts.events.ec2CopyCompleted).toEqual([]);
    expect(parts.copySweepEvents).toEqual([]);
    expect(forwarderRegions(polled, 'us-east-1')).toEqual([]);
    const role = JSON.stringify((parts.resources.Resources as Record<string, unknown>).Ec2CopyCompletedRole);
    expect(role).not.toContain('dynamodb:');
    expect(role).not.toContain('states:SendTaskSuccess');
  });
});
