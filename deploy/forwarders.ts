import {
  type FerryConfig,
  imageRulesOf,
  objectRulesOf,
  objectSourceRegionOf,
  snapshotRulesOf,
  sourceRegionsOf,
} from '#rules/config';
import {
  completionRegionsOf,
  ec2TagChangeEventPatterns,
  forwardedEventPatterns,
  forwardedObjectEventPatterns,
} from '#rules/event-patterns';
import {
  type Cfn,
  type CfnResource,
  type Deployment,
  deadLetterQueue,
  EVENT_RETRY_POLICY,
} from './template-parts.ts';

/**
 * EBS, AMI and S3 events arrive on the default bus of their own Region, and Ferry's stack lives in one home
 * Region. For every other source Region the rules name (snapshot and image rules' `regions`, object rules'
 * `objects.region`), one small stack forwards the events Ferry needs to the home Region's default bus, where
 * the stack's rules (which name every source Region) deliver them. A forwarded event arrives unchanged, its
 * `region` still the source's (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-cross-region.html).
 * The same holds for the Regions EC2 copies are made in: a copy's completion event ("EBS Snapshot
 * Notification" copySnapshot, "EC2 AMI State Change") is sent in the destination Region, so every
 * destination Region of a copy Ferry's own role makes (`completionRegionsOf`) forwards those too.
 */

/** Source Regions and EC2 copy destination Regions of every rule, other than the home Region: one stack each. */
export function forwarderRegions(config: FerryConfig, homeRegion: string): string[] {
  const ec2Rules = [...snapshotRulesOf(config), ...imageRulesOf(config)];
  const regions = [
    ...ec2Rules.flatMap(sourceRegionsOf),
    ...completionRegionsOf(ec2Rules),
    ...objectRulesOf(config).map((rule) => objectSourceRegionOf(rule, homeRegion)),
  ];
  return [...new Set(regions)].filter((region) => region !== homeRegion).sort();
}

export interface ForwarderTemplate {
  AWSTemplateFormatVersion: '2010-09-09';
  Description: string;
  Resources: Record<string, CfnResource>;
  Outputs: Record<string, Cfn>;
}

/** The stack one source Region deploys: its events go to the home bus; what cannot go waits in a DLQ. */
export function forwarderTemplate(
  config: FerryConfig,
  deployment: Deployment,
  region: string,
): ForwarderTemplate {
  const homeBus = {
    'Fn::Sub': `arn:\${AWS::Partition}:events:${deployment.region}:\${AWS::AccountId}:event-bus/default`,
  };
  // Only the events the home rules want from this Region (a Region may be a source of AMIs only), every
  // kind merged into as few rules as the pattern size allows: one target (the home bus) needs no more.
  // Tag changes of sources come from another service (aws.tag), in a rule of their own; S3's events
  // (source aws.s3) in the rules the home stack has for them, narrowed to this Region's buckets.
  const patterns = [
    ...forwardedEventPatterns(config, region),
    ...ec2TagChangeEventPatterns(config, { region }),
    ...forwardedObjectEventPatterns(config, region),
  ];
  const rules = Object.fromEntries(
    patterns.map((pattern, index): [string, CfnResource] => [
      `ForwardRule${index + 1}`,
      {
        Type: 'AWS::Events::Rule',
        Properties: {
          Description: `Ferry ${deployment.stage}: events from ${region} to ${deployment.region}`,
          EventPattern: pattern,
          Targets: [
            {
              Id: 'home-bus',
              Arn: homeBus,
              RoleArn: { 'Fn::GetAtt': ['ForwardRole', 'Arn'] },
              RetryPolicy: {
                MaximumEventAgeInSeconds: EVENT_RETRY_POLICY.maximumEventAge,
                MaximumRetryAttempts: EVENT_RETRY_POLICY.maximumRetryAttempts,
              },
              DeadLetterConfig: { Arn: { 'Fn::GetAtt': ['ForwardDeadLetterQueue', 'Arn'] } },
            },
          ],
        },
      },
    ]),
  );
  return {
    AWSTemplateFormatVersion: '2010-09-09',
    Description: `Ferry ${deployment.service}-${deployment.stage}: forwards events from ${region} to ${deployment.region}`,
    Resources: {
      ...rules,
      ForwardRole: {
        Type: 'AWS::IAM::Role',
        Properties: {
          AssumeRolePolicyDocument: {
            Version: '2012-10-17',
            Statement: [
              { Effect: 'Allow', Principal: { Service: 'events.amazonaws.com' }, Action: 'sts:AssumeRole' },
            ],
          },
          Policies: [
            {
              PolicyName: 'put-events-on-the-home-bus',
              PolicyDocument: {
                Version: '2012-10-17',
                Statement: [{ Effect: 'Allow', Action: 'events:PutEvents', Resource: homeBus }],
              },
            },
          ],
        },
      },
      // Only this stack's forwarding rules may leave dead letters here.
      ...deadLetterQueue(
        'ForwardDeadLetterQueue',
        undefined,
        Object.keys(rules).map((id) => ({ 'Fn::GetAtt': [id, 'Arn'] })),
      ),
    },
    Outputs: { DeadLetterQueueUrl: { Value: { Ref: 'ForwardDeadLetterQueue' } } },
  };
}
