import type { FerryConfig } from '#rules/config';
import {
  type EventPattern,
  imageEventPatterns,
  objectEventPatterns,
  snapshotEventPatterns,
} from '#rules/event-patterns';
import { FUNCTION_NAMES, type FunctionName, iamPolicies, type PolicyStatement } from './iam.ts';
import { POLICY_FIT_METADATA } from './limits.ts';
import { fitRolePolicy } from './policy-fit.ts';

/**
 * The parts of the CloudFormation template that depend on the rules, generated at package time from
 * `replication.yml` (serverless.yml reads them through deploy/parts.cjs): each handler's EventBridge
 * rules, and the resources that watch the pipeline (dead letters, alerts, alarms). Pure, so tests can
 * check them for any configuration without packaging.
 */

/** A CloudFormation value: plain JSON or an intrinsic function such as `{ "Fn::GetAtt": [...] }`. */
export type Cfn = unknown;
export type CfnResource = { Type: string; Properties?: Record<string, Cfn>; [key: string]: Cfn };

export interface Deployment {
  service: string;
  stage: string;
  /** The home Region: where the stack, its buses and state machines live. */
  region: string;
}

/** The handlers EventBridge invokes, by their key in serverless.yml. */
export const EVENT_HANDLERS = [
  'objectCreated',
  'objectDeleted',
  'snapshotCreated',
  'imageAvailable',
] as const;
export type EventHandler = (typeof EVENT_HANDLERS)[number];

export const STATE_MACHINES = {
  objectCopy: 'object-copy',
  snapshotCopy: 'snapshot-copy',
  imageCopy: 'image-copy',
} as const;

/** State machine ARNs from their names, not `Ref`s: machine → step function → role → machine is a cycle. */
export const stateMachineArn = (deployment: Deployment, name: string): { 'Fn::Sub': string } => ({
  'Fn::Sub': `arn:\${AWS::Partition}:states:\${AWS::Region}:\${AWS::AccountId}:stateMachine:${deployment.service}-${deployment.stage}-${name}`,
});

const deadLetterQueueArn: Cfn = { 'Fn::GetAtt': ['DeadLetterQueue', 'Arn'] };

/**
 * EventBridge retries a failed delivery for up to a day (185 attempts, its maximum) and then hands the
 * event to the dead-letter queue rather than dropping it.
 */
export const EVENT_RETRY_POLICY = { maximumEventAge: 86_400, maximumRetryAttempts: 185 } as const;

const eventBridgeEvents = (patterns: EventPattern[]) =>
  patterns.map((pattern) => ({
    eventBridge: { pattern, retryPolicy: EVENT_RETRY_POLICY, deadLetterQueueArn },
  }));

export function handlerEvents(config: FerryConfig): Record<EventHandler, unknown[]> {
  const objects = objectEventPatterns(config);
  return {
    objectCreated: eventBridgeEvents(objects.objectCreated),
    objectDeleted: eventBridgeEvents(objects.objectDeleted),
    snapshotCreated: eventBridgeEvents(snapshotEventPatterns(config)),
    imageAvailable: eventBridgeEvents(imageEventPatterns(config)),
  };
}

/**
 * A dead-letter queue (kept 14 days, encrypted) that EventBridge may write to: its targets' dead letters
 * need the queue's permission (Lambda destinations use the function's role instead).
 */
export function deadLetterQueue(logicalId: string, queueName?: string): Record<string, CfnResource> {
  return {
    [logicalId]: {
      Type: 'AWS::SQS::Queue',
      Properties: {
        ...(queueName ? { QueueName: queueName } : {}),
        MessageRetentionPeriod: 1_209_600,
        SqsManagedSseEnabled: true,
      },
    },
    [`${logicalId}Policy`]: {
      Type: 'AWS::SQS::QueuePolicy',
      Properties: {
        Queues: [{ Ref: logicalId }],
        PolicyDocument: {
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Principal: { Service: 'events.amazonaws.com' },
              Action: 'sqs:SendMessage',
              Resource: { 'Fn::GetAtt': [logicalId, 'Arn'] },
              Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
            },
          ],
        },
      },
    },
  };
}

/** The stack's dead letters; a known name, so `ferry status` and `ferry redrive` find it with GetQueueUrl. */
const deadLetterResources = (deployment: Deployment) =>
  deadLetterQueue('DeadLetterQueue', `${deployment.service}-${deployment.stage}-dead-letters`);

const alarm = (description: string, properties: Record<string, Cfn>): CfnResource => ({
  Type: 'AWS::CloudWatch::Alarm',
  Properties: {
    AlarmDescription: description,
    AlarmActions: [{ Ref: 'AlertTopic' }],
    OKActions: [{ Ref: 'AlertTopic' }],
    TreatMissingData: 'notBreaching',
    EvaluationPeriods: 1,
    Period: 300,
    ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    Threshold: 1,
    ...properties,
  },
});

/**
 * What tells a person something went wrong: one SNS topic, fed by executions that end badly, by dead
 * letters arriving, and by copy failures the steps counted.
 */
function alertResources(deployment: Deployment): Record<string, CfnResource> {
  const machines = Object.values(STATE_MACHINES).map((name) => stateMachineArn(deployment, name));
  return {
    AlertTopic: { Type: 'AWS::SNS::Topic', Properties: { DisplayName: 'Ferry alerts' } },
    AlertTopicPolicy: {
      Type: 'AWS::SNS::TopicPolicy',
      Properties: {
        Topics: [{ Ref: 'AlertTopic' }],
        PolicyDocument: {
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Principal: { Service: 'events.amazonaws.com' },
              Action: 'sns:Publish',
              Resource: { Ref: 'AlertTopic' },
              Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
            },
          ],
        },
      },
    },
    // A copy execution that failed, timed out or was aborted: the event carries the cause.
    ExecutionFailedRule: {
      Type: 'AWS::Events::Rule',
      Properties: {
        Description: 'Ferry copy executions that failed, timed out or were aborted',
        EventPattern: {
          source: ['aws.states'],
          'detail-type': ['Step Functions Execution Status Change'],
          detail: { status: ['FAILED', 'TIMED_OUT', 'ABORTED'], stateMachineArn: machines },
        },
        Targets: [{ Id: 'alerts', Arn: { Ref: 'AlertTopic' } }],
      },
    },
    DeadLettersAlarm: alarm(
      'Events or invocations Ferry could not handle are waiting in the dead-letter queue',
      {
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': ['DeadLetterQueue', 'QueueName'] } }],
        Statistic: 'Maximum',
      },
    ),
    CopyFailuresAlarm: alarm('Copies failed for good (see the CopyFailures metric by rule and cause)', {
      Namespace: 'Ferry',
      MetricName: 'CopyFailures',
      Dimensions: [{ Name: 'service', Value: deployment.service }],
      Statistic: 'Sum',
    }),
  };
}

/** A metric search over Ferry's EMF metrics, one line per value of `dimensions` (e.g. per rule). */
const search = (metric: string, dimensions: string[], stat: string, label?: string) => ({
  expression: `SEARCH('{Ferry,${['service', ...dimensions].join(',')}} MetricName="${metric}"', '${stat}', 300)`,
  ...(label ? { label } : {}),
});

const widget = (title: string, metrics: unknown[], extra: Record<string, unknown> = {}) => ({
  type: 'metric',
  width: 12,
  height: 6,
  properties: {
    title,
    // biome-ignore lint/suspicious/noTemplateCurlyInString: resolved by the dashboard body's Fn::Sub
    region: '${AWS::Region}',
    view: 'timeSeries',
    stat: 'Sum',
    period: 300,
    metrics,
    ...extra,
  },
});

/**
 * One dashboard: copies and bytes per rule, replication latency p50/p99, failures by cause, throttling and
 * copies in flight.
 */
function dashboardResource(deployment: Deployment): CfnResource {
  const machines = Object.values(STATE_MACHINES).map(
    (name) => `${deployment.service}-${deployment.stage}-${name}`,
  );
  const perMachine = (metric: string) =>
    machines.map((name) => [
      'AWS/States',
      metric,
      'StateMachineArn',
      `arn:\${AWS::Partition}:states:\${AWS::Region}:\${AWS::AccountId}:stateMachine:${name}`,
      { label: `${name.slice(deployment.service.length + deployment.stage.length + 2)}` },
    ]);
  const widgets = [
    widget('Objects copied per rule', [[search('ObjectsCopied', ['rule'], 'Sum')]]),
    widget('Bytes copied per rule', [[search('BytesCopied', ['rule'], 'Sum')]]),
    widget('Snapshot and AMI copies per rule', [
      [search('SnapshotsCopied', ['rule'], 'Sum')],
      [search('ImagesCopied', ['rule'], 'Sum')],
    ]),
    widget('Replication latency, p50 and p99 (ms)', [
      [search('ReplicationLatency', ['rule'], 'p50', 'objects p50')],
      [search('ReplicationLatency', ['rule'], 'p99', 'objects p99')],
      [search('CopyLatency', ['kind', 'rule'], 'p50', 'snapshots/AMIs p50')],
      [search('CopyLatency', ['kind', 'rule'], 'p99', 'snapshots/AMIs p99')],
    ]),
    widget('Failures by cause', [[search('CopyFailures', ['cause', 'rule'], 'Sum')]]),
    widget('Throttling: Lambda throttles and state machine retries', [
      ['AWS/Lambda', 'Throttles', { stat: 'Sum' }],
      ...perMachine('ExecutionThrottled'),
    ]),
    widget('Copies in flight (executions started, ended)', [
      ...perMachine('ExecutionsStarted'),
      ...perMachine('ExecutionsSucceeded'),
      ...perMachine('ExecutionsFailed'),
    ]),
    widget('Dead letters waiting', [
      [
        'AWS/SQS',
        'ApproximateNumberOfMessagesVisible',
        'QueueName',
        // biome-ignore lint/suspicious/noTemplateCurlyInString: resolved by the dashboard body's Fn::Sub
        '${DeadLetterQueue.QueueName}',
        { stat: 'Maximum' },
      ],
    ]),
  ];
  return {
    Type: 'AWS::CloudWatch::Dashboard',
    Properties: {
      DashboardName: `${deployment.service}-${deployment.stage}`,
      DashboardBody: { 'Fn::Sub': JSON.stringify({ widgets }) },
    },
  };
}

/** The logical id of a function's role: `objectCreated` → `ObjectCreatedRole`. */
export const roleIdOf = (fn: FunctionName): string => `${fn[0]?.toUpperCase()}${fn.slice(1)}Role`;

/** The functions EventBridge invokes asynchronously: their failed invocations go to the dead letters. */
const ASYNC_FUNCTIONS: readonly FunctionName[] = [...EVENT_HANDLERS, 'reconcile'];

/**
 * One role per function, holding only what that function calls for these rules (deploy/iam.ts), its own
 * log group, and for event handlers the dead-letter queue their failed invocations go to.
 */
function functionRoles(config: FerryConfig, deployment: Deployment): Record<string, CfnResource> {
  const policies = iamPolicies(config, {
    partition: { Ref: 'AWS::Partition' },
    account: { Ref: 'AWS::AccountId' },
    stateMachineArns: {
      objectCopy: stateMachineArn(deployment, STATE_MACHINES.objectCopy),
      snapshotCopy: stateMachineArn(deployment, STATE_MACHINES.snapshotCopy),
      imageCopy: stateMachineArn(deployment, STATE_MACHINES.imageCopy),
    },
  });
  return Object.fromEntries(
    FUNCTION_NAMES.flatMap((fn): [string, CfnResource][] => {
      const logGroup = `/aws/lambda/${deployment.service}-${deployment.stage}-${fn}`;
      const statements: PolicyStatement[] = [
        {
          Sid: 'OwnLogs',
          Effect: 'Allow',
          Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
          Resource: [
            {
              'Fn::Sub': `arn:\${AWS::Partition}:logs:\${AWS::Region}:\${AWS::AccountId}:log-group:${logGroup}:*`,
            },
          ],
        },
        ...(ASYNC_FUNCTIONS.includes(fn)
          ? [
              {
                Sid: 'DeadLetters',
                Effect: 'Allow',
                Action: ['sqs:SendMessage'],
                Resource: [{ 'Fn::GetAtt': ['DeadLetterQueue', 'Arn'] }],
              } satisfies PolicyStatement,
            ]
          : []),
        ...policies[fn],
      ];
      const roleId = roleIdOf(fn);
      // Merged, and if need be widened and spread over managed policies, to fit IAM's sizes
      // (deploy/policy-fit.ts); the step taken is in the role's Metadata and the package-time report.
      const fitted = fitRolePolicy(roleId, statements, { sidPrefix: roleId.slice(0, -'Role'.length) });
      const managedIds = fitted.managed.map((_, index) => `${roleId}Policy${index + 1}`);
      return [
        [
          roleId,
          {
            Type: 'AWS::IAM::Role',
            Metadata: { [POLICY_FIT_METADATA]: { step: fitted.step, ...fitted.sizes } },
            Properties: {
              AssumeRolePolicyDocument: {
                Version: '2012-10-17',
                Statement: [
                  {
                    Effect: 'Allow',
                    Principal: { Service: 'lambda.amazonaws.com' },
                    Action: 'sts:AssumeRole',
                  },
                ],
              },
              Policies: [{ PolicyName: 'ferry', PolicyDocument: fitted.inline }],
              // Attached by the role, so the function (which depends on its role) is created after them.
              ...(managedIds.length > 0 ? { ManagedPolicyArns: managedIds.map((id) => ({ Ref: id })) } : {}),
            },
          },
        ],
        ...fitted.managed.map((document, index): [string, CfnResource] => [
          managedIds[index] ?? '',
          {
            Type: 'AWS::IAM::ManagedPolicy',
            Properties: {
              Description: `Ferry ${deployment.stage}: part ${index + 2} of the ${fn} function's permissions`,
              PolicyDocument: document,
            },
          },
        ]),
      ];
    }),
  );
}

export function templateParts(config: FerryConfig, deployment: Deployment) {
  return {
    stateMachineArns: {
      objectCopy: stateMachineArn(deployment, STATE_MACHINES.objectCopy),
      snapshotCopy: stateMachineArn(deployment, STATE_MACHINES.snapshotCopy),
      imageCopy: stateMachineArn(deployment, STATE_MACHINES.imageCopy),
    },
    events: handlerEvents(config),
    resources: {
      Resources: {
        ...deadLetterResources(deployment),
        ...functionRoles(config, deployment),
        ...alertResources(deployment),
        Dashboard: dashboardResource(deployment),
      },
    },
  };
}
