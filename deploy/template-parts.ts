import { createHash } from 'node:crypto';
import { COPY_SWEEP_PERIOD_SECONDS } from '#ec2/copy-machine/sweep';
import { metricServiceOf } from '#foundation/observability/powertools';
import { rpoRulesOf } from '#rpo/rules';
import { type FerryConfig, imageRulesOf, snapshotRulesOf } from '#rules/config';
import {
  completionRegionsOf,
  copyCompletionEventPatterns,
  type EventPattern,
  ec2TagChangeEventPatterns,
  imageEventPatterns,
  objectEventPatterns,
  objectTagChangeEventPatterns,
  snapshotEventPatterns,
} from '#rules/event-patterns';
import { DEPLOYED_EC2_COMPLETION } from '../statemachines/ec2-copy.ts';
import { copyWaitersTable, copyWaitersTableArn } from './copy-waiters-table.ts';
import { iamPolicies, namesOf } from './iam/policies.ts';
import { FUNCTION_NAMES, type FunctionName, type IamContext, type PolicyStatement } from './iam/types.ts';
import {
  deploysInventoryMachine,
  INVENTORY_MACHINE,
  inventoryMachineResources,
} from './inventory-machine.ts';
import { POLICY_FIT_METADATA } from './limits.ts';
import { fitRolePolicy } from './policy-fit.ts';
import { rpoAlarms } from './rpo-alarms.ts';
import { rpoDashboardWidgets } from './rpo-dashboard.ts';
import { DELIVERY, deliveryResources, deliveryRuleIds } from './sqs-delivery.ts';

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
  'objectTagsChanged',
  'snapshotCreated',
  'imageAvailable',
  'ec2TagsChanged',
  // Ends a copy execution's wait when the copy's completion event arrives (statemachines/ec2-copy.ts).
  'ec2CopyCompleted',
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

/** Whether "Object Created" events go through the SQS delivery queue to objectCreatedBatch (README). */
const queuedDelivery = (config: FerryConfig): boolean => config.deployment.delivery.mode === 'queue';

/** The functions the package deploys for these rules: objectCreatedBatch only with queue delivery. */
export const deployedFunctionsOf = (config: FerryConfig): FunctionName[] =>
  FUNCTION_NAMES.filter((fn) => fn !== 'objectCreatedBatch' || queuedDelivery(config));

/** objectCreated's: one HEAD, then one CopyObject per destination, for each record of a batch. */
export const OBJECT_CREATED_BATCH_TIMEOUT_SECONDS = 120;

/**
 * serverless.yml's objectCreatedBatch entry: the function with queue delivery, else `null`, which the
 * framework drops (a function whose configuration is null is deleted from the service).
 */
const objectCreatedBatchFunction = (config: FerryConfig) =>
  queuedDelivery(config) ? OPTIONAL_FUNCTIONS.objectCreatedBatch : null;

/** The queue, its policy, its rules and the event source mapping of queue delivery (deploy/sqs-delivery.ts). */
function objectCreatedDelivery(config: FerryConfig, deployment: Deployment): Record<string, CfnResource> {
  if (!queuedDelivery(config)) return {};
  const { batchSize, batchingWindowSeconds } = config.deployment.delivery;
  return deliveryResources(
    deployment,
    'objectCreatedBatch',
    objectEventPatterns(config).objectCreated,
    OBJECT_CREATED_BATCH_TIMEOUT_SECONDS,
    { batchSize, batchingWindowSeconds, maxReceiveCount: DELIVERY.maxReceiveCount },
  ).resources;
}

export function handlerEvents(config: FerryConfig): Record<EventHandler, unknown[]> {
  const objects = objectEventPatterns(config);
  return {
    // With queue delivery, the delivery queue's own rules carry these events instead (objectCreatedDelivery).
    objectCreated: queuedDelivery(config) ? [] : eventBridgeEvents(objects.objectCreated),
    objectDeleted: eventBridgeEvents(objects.objectDeleted),
    objectTagsChanged: eventBridgeEvents(objectTagChangeEventPatterns(config)),
    snapshotCreated: eventBridgeEvents(snapshotEventPatterns(config)),
    imageAvailable: eventBridgeEvents(imageEventPatterns(config)),
    ec2TagsChanged: eventBridgeEvents(ec2TagChangeEventPatterns(config)),
    ec2CopyCompleted: eventBridgeEvents(copyCompletionEventPatterns(config)),
  };
}

/**
 * Serverless's name for the `index`-th (from 1) eventBridge event of a function without a `name`: the rule
 * is `<function name>-rule-<index>`, and past EventBridge's 64 characters a cut of it plus its MD5
 * (osls, lib/plugins/aws/package/compile/events/event-bridge/utils.js). The dead-letter queue's policy
 * names these rules before the framework makes them; the package test checks the two agree.
 */
export function eventBridgeRuleName(functionName: string, index: number): string {
  const suffix = `rule-${index}`;
  const name = `${functionName}-${suffix}`;
  if (name.length <= 64) return name;
  return `${name.slice(0, 31 - suffix.length)}${createHash('md5').update(name).digest('hex')}-${suffix}`;
}

/** A rule of the Region's default event bus, by name. */
const defaultBusRuleArn = (name: string): Cfn => ({
  'Fn::Sub': `arn:\${AWS::Partition}:events:\${AWS::Region}:\${AWS::AccountId}:rule/${name}`,
});

/** Kept when the stack is deleted or the resource replaced: what it holds is evidence, not state to lose. */
const RETAIN = { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' } as const;

/**
 * A dead-letter queue (kept 14 days, encrypted, retained with what it holds when the stack goes) that only
 * the given EventBridge rules may write to: their targets' dead letters need the queue's permission, bounded
 * by `aws:SourceArn` to those rules (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html).
 * Lambda destinations write with the function's role instead.
 */
export function deadLetterQueue(
  logicalId: string,
  queueName?: string,
  sourceRules: readonly Cfn[] = [],
): Record<string, CfnResource> {
  return {
    [logicalId]: {
      Type: 'AWS::SQS::Queue',
      ...RETAIN,
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
              Condition: {
                StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
                ...(sourceRules.length > 0 ? { ArnEquals: { 'aws:SourceArn': [...sourceRules] } } : {}),
              },
            },
          ],
        },
      },
    },
  };
}

/**
 * The stack's dead letters; a known name, so `ferry status` and `ferry redrive` find it with GetQueueUrl.
 * Written to by the rules of the handlers' eventBridge events (one per pattern, named by Serverless).
 */
function deadLetterResources(config: FerryConfig, deployment: Deployment) {
  const events = handlerEvents(config);
  const rules = [
    ...EVENT_HANDLERS.flatMap((fn) =>
      events[fn].map((_, index) =>
        defaultBusRuleArn(eventBridgeRuleName(`${deployment.service}-${deployment.stage}-${fn}`, index + 1)),
      ),
    ),
    // The delivery queue's rules hand what they cannot deliver to the dead letters too.
    ...(queuedDelivery(config)
      ? deliveryRuleIds('objectCreatedBatch', objectEventPatterns(config).objectCreated).map(arnOf)
      : []),
  ];
  return deadLetterQueue('DeadLetterQueue', `${deployment.service}-${deployment.stage}-dead-letters`, rules);
}

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

/** The alarms that publish to the alert topic, by logical id. */
const ALARMS = ['DeadLettersAlarm', 'CopyFailuresAlarm'] as const;
/** The EventBridge rules of the template that publish to the alert topic. */
const ALERT_RULES = ['ExecutionFailedRule'] as const;

const arnOf = (logicalId: string): Cfn => ({ 'Fn::GetAtt': [logicalId, 'Arn'] });

/**
 * The key the alert topic is encrypted with. Its policy keeps the account's administration of the key
 * (the default key policy's first statement), and lets the two services that publish use it: a publisher
 * to an encrypted topic needs kms:GenerateDataKey* (SNS encrypts each message under a data key) and
 * kms:Decrypt, or SNS refuses its messages
 * (https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services).
 * Who may publish is bounded by the topic policy, to the exact rules and alarms. In a key policy `*` as
 * the resource means this key (https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-overview.html).
 */
const alertKey = (): CfnResource => ({
  Type: 'AWS::KMS::Key',
  Properties: {
    Description: 'Ferry: encrypts the alert topic',
    EnableKeyRotation: true,
    KeyPolicy: {
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'AccountAdministersTheKey',
          Effect: 'Allow',
          // biome-ignore lint/suspicious/noTemplateCurlyInString: CloudFormation's Fn::Sub placeholders
          Principal: { AWS: { 'Fn::Sub': 'arn:${AWS::Partition}:iam::${AWS::AccountId}:root' } },
          Action: 'kms:*',
          Resource: '*',
        },
        {
          Sid: 'AlertPublishersEncrypt',
          Effect: 'Allow',
          Principal: { Service: ['events.amazonaws.com', 'cloudwatch.amazonaws.com'] },
          Action: ['kms:GenerateDataKey*', 'kms:Decrypt'],
          Resource: '*',
        },
      ],
    },
  },
});

/**
 * What tells a person something went wrong: one SNS topic, fed by executions that end badly, by dead
 * letters arriving, and by copy failures the steps counted. Encrypted at rest under its own key; only the
 * template's alert rule (EventBridge) and its alarms (CloudWatch) may publish, each bounded by
 * `aws:SourceArn` and `aws:SourceAccount` against the confused deputy
 * (https://docs.aws.amazon.com/sns/latest/dg/sns-access-policy-use-cases.html; for alarms,
 * https://repost.aws/knowledge-center/cloudwatch-receive-sns-for-alarm-trigger).
 */
function alertResources(deployment: Deployment, config: FerryConfig): Record<string, CfnResource> {
  const rpo = rpoAlarms(config, metricServiceOf(deployment.stage, deployment.service), alarm) as Record<
    string,
    CfnResource
  >;
  // The inventory-reconcile machine too, where the rules deploy it (deploy/inventory-machine.ts).
  const machines = [
    ...Object.values(STATE_MACHINES),
    ...(deploysInventoryMachine(config) ? [INVENTORY_MACHINE] : []),
  ].map((name) => stateMachineArn(deployment, name));
  const fromAccount = { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } };
  return {
    AlertKey: alertKey(),
    AlertTopic: {
      Type: 'AWS::SNS::Topic',
      Properties: { DisplayName: 'Ferry alerts', KmsMasterKeyId: { Ref: 'AlertKey' } },
    },
    AlertTopicPolicy: {
      Type: 'AWS::SNS::TopicPolicy',
      Properties: {
        Topics: [{ Ref: 'AlertTopic' }],
        PolicyDocument: {
          Version: '2012-10-17',
          Statement: [
            {
              Sid: 'AlertRules',
              Effect: 'Allow',
              Principal: { Service: 'events.amazonaws.com' },
              Action: 'sns:Publish',
              Resource: { Ref: 'AlertTopic' },
              Condition: { ...fromAccount, ArnEquals: { 'aws:SourceArn': ALERT_RULES.map(arnOf) } },
            },
            {
              Sid: 'Alarms',
              Effect: 'Allow',
              Principal: { Service: 'cloudwatch.amazonaws.com' },
              Action: 'sns:Publish',
              Resource: { Ref: 'AlertTopic' },
              Condition: {
                ...fromAccount,
                ArnEquals: { 'aws:SourceArn': [...ALARMS, ...Object.keys(rpo)].map(arnOf) },
              },
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
      Dimensions: [{ Name: 'service', Value: metricServiceOf(deployment.stage, deployment.service) }],
      Statistic: 'Sum',
    }),
    // Per rule with `rpo`: its oldest pending item is older than its RPO (deploy/rpo-alarms.ts).
    ...rpo,
  };
}

/**
 * A metric search over one stage's EMF metrics, one line per value of `dimensions` (e.g. per rule): the
 * `service="…"` term keeps another stage's metrics in the same account out
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/search-expression-syntax.html).
 */
const search = (service: string, metric: string, dimensions: string[], stat: string, label?: string) => ({
  expression: `SEARCH('{Ferry,${['service', ...dimensions].join(',')}} service="${service}" MetricName="${metric}"', '${stat}', 300)`,
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
 * copies in flight; then the widgets of each rule with `rpo` (deploy/rpo-dashboard.ts).
 */
function dashboardResource(deployment: Deployment, config: Pick<FerryConfig, 'rules'>): CfnResource {
  const service = metricServiceOf(deployment.stage, deployment.service);
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
    widget('Objects copied per rule', [[search(service, 'ObjectsCopied', ['rule'], 'Sum')]]),
    widget('Bytes copied per rule', [[search(service, 'BytesCopied', ['rule'], 'Sum')]]),
    widget('Snapshot and AMI copies per rule', [
      [search(service, 'SnapshotsCopied', ['rule'], 'Sum')],
      [search(service, 'ImagesCopied', ['rule'], 'Sum')],
    ]),
    widget('Replication latency, p50 and p99 (ms)', [
      [search(service, 'ReplicationLatency', ['rule'], 'p50', 'objects p50')],
      [search(service, 'ReplicationLatency', ['rule'], 'p99', 'objects p99')],
      [search(service, 'CopyLatency', ['kind', 'rule'], 'p50', 'snapshots/AMIs p50')],
      [search(service, 'CopyLatency', ['kind', 'rule'], 'p99', 'snapshots/AMIs p99')],
    ]),
    widget('Failures by cause', [[search(service, 'CopyFailures', ['cause', 'rule'], 'Sum')]]),
    // Rules with `rpo` (src/rpo/metrics.ts): latency against the RPO, items over it, and the backlog.
    widget('RPO: latency per rule, p50, p99 and maximum (ms)', [
      [search(service, 'RpoLatency', ['rule'], 'p50', 'p50')],
      [search(service, 'RpoLatency', ['rule'], 'p99', 'p99')],
      [search(service, 'RpoLatency', ['rule'], 'Maximum', 'max')],
    ]),
    widget('RPO: items within and over it, per rule', [
      [search(service, 'ItemsWithinRpo', ['rule'], 'Sum', 'within')],
      [search(service, 'ItemsOverRpo', ['rule'], 'Sum', 'over')],
      [search(service, 'RpoThresholdsMissed', ['rule'], 'Sum', 'missed events')],
    ]),
    widget('RPO backlog per rule: oldest pending age (s), pending items and bytes', [
      [search(service, 'OldestPendingAge', ['rule'], 'Maximum', 'oldest (s)')],
      [search(service, 'PendingItems', ['rule'], 'Maximum', 'items')],
      [search(service, 'PendingBytes', ['rule'], 'Maximum', 'bytes')],
    ]),
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
    ...rpoDashboardWidgets(config, service, widget),
  ];
  return {
    Type: 'AWS::CloudWatch::Dashboard',
    Properties: {
      DashboardName: `${deployment.service}-${deployment.stage}`,
      DashboardBody: { 'Fn::Sub': JSON.stringify({ widgets }) },
    },
  };
}

/**
 * The IAM path of every function role: `/<service>/<stage>/`. A destination account's role
 * (deploy/cross-account-role.yml) trusts `arn:<partition>:iam::<account>:role/<FerryService>/<FerryStage>/*`,
 * so exactly one stage's roles: a role's ARN carries its path, and `aws:PrincipalArn` is the role's ARN
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html#identifiers-arns,
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-principalarn).
 * The generated role names (`<stack>-<LogicalId>-<suffix>`) cannot do that: `ferry-prod*` also matches a
 * stage `prod2`.
 */
export const functionRolePath = (deployment: Pick<Deployment, 'service' | 'stage'>): string =>
  `/${deployment.service}/${deployment.stage}/`;

/**
 * Logical ids of a function's resources: `objectCreated` → `ObjectCreatedRole` (ours), and the framework's
 * `ObjectCreatedLogGroup` and `ObjectCreatedLambdaFunction`.
 */
const functionLogicalId = (fn: FunctionName, suffix: 'Role' | 'LogGroup' | 'LambdaFunction'): string =>
  `${fn[0]?.toUpperCase()}${fn.slice(1)}${suffix}`;

/** The logical id of a function's role: `objectCreated` → `ObjectCreatedRole`. */
export function roleIdOf(fn: FunctionName): string {
  return functionLogicalId(fn, 'Role');
}

/**
 * The functions serverless.yml names by `${file(./deploy/parts.cjs):functions.NAME, null}`, as deployed where the
 * rules ask for them: the bundles' test and benchmarks read them from here (deploy/function-bundles.ts).
 */
export const OPTIONAL_FUNCTIONS = {
  objectCreatedBatch: {
    role: roleIdOf('objectCreatedBatch'),
    handler: 'functions/object-created-batch.handler',
    timeout: OBJECT_CREATED_BATCH_TIMEOUT_SECONDS,
    // Peak 109 MB for a batch of 100 (BENCHMARKS.md, "Delivery: direct against SQS batches").
    memorySize: 256,
  },
};

/** The functions EventBridge invokes asynchronously: their failed invocations go to the dead letters. */
const ASYNC_FUNCTIONS: readonly FunctionName[] = [
  ...EVENT_HANDLERS,
  'reconcile',
  'rpoMonitor',
  'ec2CopySweep',
];

/**
 * One role per function, holding only what that function calls for these rules (deploy/iam/policies.ts), its own
 * log group, and for event handlers the dead-letter queue their failed invocations go to.
 */
function functionRoles(config: FerryConfig, deployment: Deployment): Record<string, CfnResource> {
  const policies = iamPolicies(config, iamContextOf(deployment));
  return Object.fromEntries(
    deployedFunctionsOf(config).flatMap((fn): [string, CfnResource][] => {
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
              Path: functionRolePath(deployment),
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

/**
 * What the template adds to resources the framework generates (`resources.extensions`): each function's log
 * group is retained with the stack (the logs of what Ferry did outlive it), and a function given a
 * `deployment.reservedConcurrency` gets that reservation (src/rules/deployment.ts).
 */
export function frameworkExtensions(config: FerryConfig): Record<string, Record<string, Cfn>> {
  const reserved = config.deployment.reservedConcurrency;
  return Object.fromEntries(
    deployedFunctionsOf(config).flatMap((fn): [string, Record<string, Cfn>][] => {
      const concurrency = reserved[fn];
      return [
        [functionLogicalId(fn, 'LogGroup'), { ...RETAIN }],
        ...(concurrency === undefined
          ? []
          : [
              [
                functionLogicalId(fn, 'LambdaFunction'),
                { Properties: { ReservedConcurrentExecutions: concurrency } },
              ] as [string, Record<string, Cfn>],
            ]),
      ];
    }),
  );
}

/** The ARNs of the stack's state machines, as the template names them (inventory-reconcile where deployed). */
const stateMachineArnsOf = (deployment: Deployment) => ({
  objectCopy: stateMachineArn(deployment, STATE_MACHINES.objectCopy),
  snapshotCopy: stateMachineArn(deployment, STATE_MACHINES.snapshotCopy),
  imageCopy: stateMachineArn(deployment, STATE_MACHINES.imageCopy),
  inventoryReconcile: stateMachineArn(deployment, INVENTORY_MACHINE),
});

/** What deploy/iam/policies.ts needs to know of the stack the function roles are deployed in. */
export const iamContextOf = (deployment: Deployment): IamContext => ({
  partition: { Ref: 'AWS::Partition' },
  account: { Ref: 'AWS::AccountId' },
  homeRegion: deployment.region,
  stateMachineArns: stateMachineArnsOf(deployment),
  copyWaitersTableArn,
});

/**
 * The RPO backlog monitor's schedule (src/rpo/backlog-monitor.ts): once a minute, the shortest rate an
 * EventBridge schedule has (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-scheduled-rule-pattern.html),
 * and only when some rule sets `rpo`; without, the function is never invoked.
 */
export const rpoMonitorEvents = (config: FerryConfig): unknown[] =>
  rpoRulesOf(config).length > 0 ? [{ schedule: { rate: 'rate(1 minute)' } }] : [];

/**
 * The copy sweep's schedule (src/ec2/copy-machine/sweep.ts): every `COPY_SWEEP_PERIOD_SECONDS` (an hour:
 * why, there), and only when some copy is waited for by event (a snapshot or AMI destination copied by
 * Ferry's own role, with the machines rendered `events`); without, the function is never invoked. Its cost
 * is fixed, whatever the copies: 730 runs a month, each a Scan of a table of what is in flight (0.5 RRU per
 * page of up to 8 KB, eventually consistent) and one Describe per Region and kind (EC2 does not charge for
 * API calls), about 1 s at 256 MB: 730 × $0.20 per 1M requests + 730 × 0.25 GB-s × $0.0000133334
 * + 365 RRU × $0.125 per 1M ≈ $0.0026 a month (BENCHMARKS.md, "Following a copy by its event").
 */
export const COPY_SWEEP_RATE = `rate(${COPY_SWEEP_PERIOD_SECONDS / 60} minutes)`;
export const copySweepEvents = (config: FerryConfig): unknown[] =>
  completionRegionsOf([...snapshotRulesOf(config), ...imageRulesOf(config)]).length > 0 &&
  DEPLOYED_EC2_COMPLETION === 'events'
    ? [{ schedule: { rate: COPY_SWEEP_RATE } }]
    : [];

export function templateParts(config: FerryConfig, deployment: Deployment) {
  return {
    stateMachineArns: stateMachineArnsOf(deployment),
    events: handlerEvents(config),
    rpoMonitorEvents: rpoMonitorEvents(config),
    copySweepEvents: copySweepEvents(config),
    functions: { objectCreatedBatch: objectCreatedBatchFunction(config) },
    resources: {
      Resources: {
        ...deadLetterResources(config, deployment),
        ...objectCreatedDelivery(config, deployment),
        ...copyWaitersTable(deployment),
        ...functionRoles(config, deployment),
        ...alertResources(deployment, config),
        Dashboard: dashboardResource(deployment, config),
        ...inventoryMachineResources(
          config,
          deployment,
          namesOf(iamContextOf(deployment)),
          functionRolePath(deployment),
        ),
      },
      extensions: frameworkExtensions(config),
    },
  };
}
