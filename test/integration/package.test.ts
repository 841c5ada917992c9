import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { writeActionsOnWildcard } from '#deploy/iam/lint';
import { iamPolicies } from '#deploy/iam/policies';
import { FUNCTION_NAMES } from '#deploy/iam/types';
import {
  INVENTORY_MACHINE_ID,
  INVENTORY_MACHINE_ROLE_ID,
  inventoryMachineStatements,
} from '#deploy/inventory-machine';
import { type CfnTemplate, checkTemplate } from '#deploy/limits';
import { fitRolePolicy } from '#deploy/policy-fit';
import { rpoAlarmIdOf } from '#deploy/rpo-alarms';
import { DELIVERY, DELIVERY_POLL_ACTIONS } from '#deploy/sqs-delivery';
import {
  deployedFunctionsOf,
  EVENT_RETRY_POLICY,
  iamContextOf,
  OBJECT_CREATED_BATCH_TIMEOUT_SECONDS,
  roleIdOf,
  templateParts,
} from '#deploy/template-parts';
import { InvalidConfigError } from '#rules/errors';
import {
  copyCompletionEventPatterns,
  ec2TagChangeEventPatterns,
  forwardedObjectEventPatterns,
  imageEventPatterns,
  objectEventPatterns,
  objectTagChangeEventPatterns,
  snapshotEventPatterns,
} from '#rules/event-patterns';
import { loadConfigFile, parseConfig } from '#rules/load';
import { cfnLint } from '#test/support/cfn-lint';
import { ec2CopyDefinition } from '../../statemachines/ec2-copy.ts';

/**
 * `npm run package` builds the CloudFormation template offline (serverless.yml with osls, the
 * step-functions and esbuild plugins, and the parts generated from the rules). These tests package real
 * configurations and read the compiled template, as CloudFormation would receive it.
 */

type Resource = {
  Type: string;
  Properties: Record<string, unknown>;
  DependsOn?: unknown;
  DeletionPolicy?: string;
  UpdateReplacePolicy?: string;
};
type Template = {
  Resources: Record<string, Resource>;
  Outputs?: Record<string, unknown>;
  /** The forwarder stacks written beside the template, by source Region. */
  forwarders?: Record<string, Template>;
};

const packaged = new Map<string, Template>();

/** Packages the stack for one rules file (each into its own folder) and returns the compiled template. */
function packageWith(configFile: string): Template {
  const cached = packaged.get(configFile);
  if (cached) return cached;
  const folder = `.build/package-${configFile.replace(/[^\w]+/g, '-')}`;
  const run = spawnSync('npm', ['run', '-s', 'package', '--', '--stage', 'ci', '--package', folder], {
    encoding: 'utf8',
    env: { ...process.env, FERRY_CONFIG: configFile },
    timeout: 180_000,
  });
  if (run.status !== 0) throw new Error(`packaging ${configFile} failed:\n${run.stdout}\n${run.stderr}`);
  const read = (file: string) => JSON.parse(readFileSync(`${folder}/${file}`, 'utf8')) as Template;
  const template = read('cloudformation-template-update-stack.json');
  template.forwarders = Object.fromEntries(
    readdirSync(folder)
      .filter((file) => file.startsWith('forwarder-'))
      .map((file) => [file.slice('forwarder-'.length, -'.json'.length), read(file)]),
  );
  packaged.set(configFile, template);
  return template;
}

const ofType = (template: Template, type: string) =>
  Object.entries(template.Resources).filter(([, resource]) => resource.Type === type);

/** The rules that deliver source events (not the alert rule, not the reconcile schedule). */
const eventRules = (template: Template) =>
  ofType(template, 'AWS::Events::Rule').filter(
    ([id, rule]) => id !== 'ExecutionFailedRule' && rule.Properties.ScheduleExpression === undefined,
  );

describe('npm run package: the compiled template (replication.yml)', () => {
  const template = () => packageWith('replication.yml');

  it('has one EventBridge rule per generated pattern, each with a retry policy and the dead-letter queue', {
    timeout: 180_000,
  }, () => {
    const config = loadConfigFile('replication.yml');
    const objects = objectEventPatterns(config);
    const expected = [
      ...objects.objectCreated,
      ...objects.objectDeleted,
      ...objectTagChangeEventPatterns(config),
      ...snapshotEventPatterns(config),
      ...imageEventPatterns(config),
      ...ec2TagChangeEventPatterns(config),
      ...copyCompletionEventPatterns(config),
    ];
    // Replicas and copies follow their sources' tag changes (issue 15): both kinds are subscribed here.
    expect(objectTagChangeEventPatterns(config).length).toBeGreaterThan(0);
    expect(ec2TagChangeEventPatterns(config).length).toBeGreaterThan(0);
    const rules = eventRules(template());
    expect(rules.map(([, rule]) => rule.Properties.EventPattern)).toEqual(expect.arrayContaining(expected));
    expect(rules).toHaveLength(expected.length);
    for (const [id, rule] of rules) {
      const [target, ...others] = rule.Properties.Targets as Record<string, unknown>[];
      expect(others, id).toEqual([]);
      expect(target?.RetryPolicy, id).toEqual({
        MaximumEventAgeInSeconds: EVENT_RETRY_POLICY.maximumEventAge,
        MaximumRetryAttempts: EVENT_RETRY_POLICY.maximumRetryAttempts,
      });
      expect(target?.DeadLetterConfig, id).toEqual({ Arn: { 'Fn::GetAtt': ['DeadLetterQueue', 'Arn'] } });
    }
  });

  it('sends failed asynchronous invocations of every event handler, of reconcile, of the RPO monitor and of the copy sweep to the dead-letter queue', () => {
    const configs = ofType(template(), 'AWS::Lambda::EventInvokeConfig');
    expect(configs.map(([, c]) => (c.Properties.FunctionName as { Ref: string }).Ref).sort()).toEqual([
      'Ec2CopyCompletedLambdaFunction',
      'Ec2CopySweepLambdaFunction',
      'Ec2TagsChangedLambdaFunction',
      'ImageAvailableLambdaFunction',
      'ObjectCreatedLambdaFunction',
      'ObjectDeletedLambdaFunction',
      'ObjectTagsChangedLambdaFunction',
      'ReconcileLambdaFunction',
      'RpoMonitorLambdaFunction',
      'SnapshotCreatedLambdaFunction',
    ]);
    for (const [, config] of configs) {
      expect(config.Properties.DestinationConfig).toEqual({
        OnFailure: { Destination: { 'Fn::GetAtt': ['DeadLetterQueue', 'Arn'] } },
      });
    }
  });

  it('runs every function on nodejs24.x, arm64, with its rules file and the state machine ARNs', () => {
    const functions = ofType(template(), 'AWS::Lambda::Function');
    // The seven of the pipeline, the two tag followers, the RPO backlog monitor (src/rpo) and the copy
    // sweep (src/ec2/copy-machine/sweep.ts). objectCreatedBatch is deployed only with queue delivery
    // (test/configs/sqs-delivery.yml).
    expect(functions).toHaveLength(deployedFunctionsOf(loadConfigFile('replication.yml')).length);
    expect(functions.map(([id]) => id)).not.toContain('ObjectCreatedBatchLambdaFunction');
    expect(FUNCTION_NAMES).toHaveLength(14);
    expect(functions).toHaveLength(13);
    for (const [id, fn] of functions) {
      expect(fn.Properties.Runtime, id).toBe('nodejs24.x');
      expect(fn.Properties.Architectures, id).toEqual(['arm64']);
      const variables = (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
      // The rules compiled to JSON at package time, packaged beside each bundle.
      expect(variables.FERRY_CONFIG, id).toBe('.build/rules.json');
      expect(JSON.stringify(variables.FERRY_SNAPSHOT_COPY_STATE_MACHINE_ARN)).toContain(
        'stateMachine:ferry-ci-snapshot-copy',
      );
    }
  });

  it('defines the three state machines with every Task bound to its step function', () => {
    const machines = Object.fromEntries(ofType(template(), 'AWS::StepFunctions::StateMachine'));
    expect(Object.keys(machines).sort()).toEqual([
      'ImageCopyStateMachine',
      'ObjectCopyStateMachine',
      'SnapshotCopyStateMachine',
    ]);
    const definition = (id: string) => JSON.stringify(machines[id]?.Properties.DefinitionString);
    expect(definition('ObjectCopyStateMachine')).toContain('ObjectCopyStepLambdaFunction');
    expect(definition('SnapshotCopyStateMachine')).toContain('Ec2CopyStepLambdaFunction');
    expect(definition('ImageCopyStateMachine')).toContain('Ec2CopyStepLambdaFunction');
    for (const id of Object.keys(machines)) {
      expect(machines[id]?.Properties.LoggingConfiguration, id).toBeDefined();
    }
  });

  it('deploys the one EC2 copy definition, rendered for each kind, as the template receives it', () => {
    for (const [id, kind] of [
      ['SnapshotCopyStateMachine', 'snapshot'],
      ['ImageCopyStateMachine', 'image'],
    ] as const) {
      // The step-functions plugin writes the definition as `Fn::Sub` of its JSON, each `Fn::GetAtt` a
      // `${name}` variable, and marks every state `QueryLanguage: JSONPath` (the ASL default).
      const definitionString = template().Resources[id]?.Properties.DefinitionString as
        | { 'Fn::Sub': [string, Record<string, unknown>] }
        | undefined;
      if (!definitionString) throw new Error(`${id} has no DefinitionString`);
      const [json, variables] = definitionString['Fn::Sub'];
      const deployed = JSON.parse(json, (_key, value: unknown) =>
        typeof value === 'string' && /^\$\{\w+\}$/.test(value) ? variables[value.slice(2, -1)] : value,
      ) as { States: Record<string, Record<string, unknown>> };
      for (const state of Object.values(deployed.States)) {
        expect(state.QueryLanguage).toBe('JSONPath');
        delete state.QueryLanguage;
      }
      // Rendered to wait for the copies' completion events (README, "Waiting for the copy by event").
      expect(deployed, id).toStrictEqual(ec2CopyDefinition(kind, 'events'));
    }
  });

  it('alerts on failed executions, dead letters and copy failures through one SNS topic', () => {
    const { Resources } = template();
    const rule = Resources.ExecutionFailedRule?.Properties as {
      EventPattern: { detail: { status: string[]; stateMachineArn: unknown[] } };
      Targets: { Arn: unknown }[];
    };
    expect(rule.EventPattern.detail.status).toEqual(['FAILED', 'TIMED_OUT', 'ABORTED']);
    expect(rule.EventPattern.detail.stateMachineArn).toHaveLength(3);
    expect(rule.Targets[0]?.Arn).toEqual({ Ref: 'AlertTopic' });
    const alarms = Object.fromEntries(ofType(template(), 'AWS::CloudWatch::Alarm'));
    expect(alarms.DeadLettersAlarm?.Properties).toMatchObject({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      AlarmActions: [{ Ref: 'AlertTopic' }],
    });
    expect(alarms.CopyFailuresAlarm?.Properties).toMatchObject({
      Namespace: 'Ferry',
      MetricName: 'CopyFailures',
      AlarmActions: [{ Ref: 'AlertTopic' }],
    });
  });

  it('lets only the rules that use the dead-letter queue write to it, by their exact ARNs', () => {
    const { Resources } = template();
    // The rules the framework made whose target hands failed deliveries to the queue, by their ARNs.
    const writers = ofType(template(), 'AWS::Events::Rule')
      .filter(([, rule]) => JSON.stringify(rule.Properties.Targets).includes('"DeadLetterConfig"'))
      .map(([, rule]) => rule.Properties.Name as string)
      .sort();
    expect(writers.length).toBeGreaterThan(0);
    const policy = Resources.DeadLetterQueuePolicy?.Properties.PolicyDocument as {
      Statement: { Condition: { ArnEquals: { 'aws:SourceArn': { 'Fn::Sub': string }[] } } }[];
    };
    const allowed = (policy.Statement[0]?.Condition.ArnEquals['aws:SourceArn'] ?? []).map((arn) => {
      const [, name] =
        /^arn:\$\{AWS::Partition\}:events:\$\{AWS::Region\}:\$\{AWS::AccountId\}:rule\/(.+)$/.exec(
          arn['Fn::Sub'],
        ) ?? [undefined, arn['Fn::Sub']];
      return name;
    });
    expect(allowed.sort()).toEqual(writers);
  });

  it('retains the dead letters and every log group when the stack is deleted or they are replaced', () => {
    const kept = [...ofType(template(), 'AWS::Logs::LogGroup'), ...ofType(template(), 'AWS::SQS::Queue')];
    // Thirteen functions' log groups, the state machines' and the dead-letter queue.
    expect(kept).toHaveLength(15);
    for (const [id, resource] of kept) {
      expect([resource.DeletionPolicy, resource.UpdateReplacePolicy], id).toEqual(['Retain', 'Retain']);
    }
  });

  it('encrypts the alert topic under the stack’s key, and gives every function role the stage’s path', () => {
    const { Resources } = template();
    expect(Resources.AlertTopic?.Properties.KmsMasterKeyId).toEqual({ Ref: 'AlertKey' });
    expect(Resources.AlertKey?.Type).toBe('AWS::KMS::Key');
    for (const fn of deployedFunctionsOf(loadConfigFile('replication.yml')))
      expect(Resources[roleIdOf(fn)]?.Properties.Path, fn).toBe('/ferry/ci/');
    // No reservation unless the rules file asks for one.
    for (const [id, fn] of ofType(template(), 'AWS::Lambda::Function')) {
      expect(fn.Properties.ReservedConcurrentExecutions, id).toBeUndefined();
    }
  });

  it('has a dashboard of copies and bytes per rule, latency p50/p99, failures by cause, throttles, copies in flight', () => {
    const dashboard = template().Resources.Dashboard;
    expect(dashboard?.Type).toBe('AWS::CloudWatch::Dashboard');
    const sub =
      (dashboard?.Properties.DashboardBody as { 'Fn::Sub'?: string } | undefined)?.['Fn::Sub'] ?? '';
    const body = JSON.parse(sub) as {
      widgets: { properties: { title: string; metrics: unknown[] } }[];
    };
    const titles = body.widgets.map((w) => w.properties.title).join(' | ');
    for (const part of ['per rule', 'p50 and p99', 'Failures by cause', 'Throttling', 'in flight']) {
      expect(titles).toContain(part);
    }
    expect(JSON.stringify(body)).toContain('ReplicationLatency');
  });
});

describe('npm run package: sources in several Regions (test/configs/ec2-multi-region.yml)', () => {
  const template = () => packageWith('test/configs/ec2-multi-region.yml');

  it('listens for every source Region at home and writes a forwarder stack for each other one', {
    timeout: 180_000,
  }, () => {
    const rules = eventRules(template());
    const regions = new Set(
      rules.flatMap(([, rule]) => (rule.Properties.EventPattern as { region: string[] }).region),
    );
    // us-west-2, the copies' destination, for their completion events.
    expect([...regions].sort()).toEqual([
      'ap-southeast-2',
      'eu-west-1',
      'us-east-1',
      'us-east-2',
      'us-west-2',
    ]);
    expect(Object.keys(template().forwarders ?? {}).sort()).toEqual([
      'ap-southeast-2',
      'eu-west-1',
      'us-east-2',
      'us-west-2',
    ]);
  });

  it('lets only its own forwarding rules write to a forwarder’s dead-letter queue', () => {
    for (const [region, forwarder] of Object.entries(template().forwarders ?? {})) {
      const rules = Object.entries(forwarder.Resources)
        .filter(([, resource]) => resource.Type === 'AWS::Events::Rule')
        .map(([id]) => ({ 'Fn::GetAtt': [id, 'Arn'] }));
      const policy = forwarder.Resources.ForwardDeadLetterQueuePolicy?.Properties.PolicyDocument as {
        Statement: { Condition: { ArnEquals: { 'aws:SourceArn': unknown } } }[];
      };
      expect(policy.Statement[0]?.Condition.ArnEquals['aws:SourceArn'], region).toEqual(rules);
      expect(forwarder.Resources.ForwardDeadLetterQueue?.DeletionPolicy, region).toBe('Retain');
    }
  });

  it('forwards to the home default bus with a role, a retry policy and a dead-letter queue in the source Region', () => {
    const forwarder = template().forwarders?.['us-east-2'];
    const rules = Object.values(forwarder?.Resources ?? {}).filter((r) => r.Type === 'AWS::Events::Rule');
    const fromSource = (source: string) =>
      rules.filter((r) => (r.Properties.EventPattern as { source: string[] }).source[0] === source);
    const forwards = fromSource('aws.ec2');
    // us-east-2 is a source of snapshots (two event types) and of AMIs: all three merged into one rule.
    expect(forwards).toHaveLength(1);
    // Their tag changes (another source, aws.tag) in a rule of their own.
    expect(fromSource('aws.tag').map((r) => r.Properties.EventPattern)).toEqual([
      {
        source: ['aws.tag'],
        'detail-type': ['Tag Change on Resource'],
        region: ['us-east-2'],
        detail: { service: ['ec2'], 'resource-type': ['snapshot', 'image'] },
      },
    ]);
    expect(rules).toHaveLength(2);
    const pattern = forwards[0]?.Properties.EventPattern as
      | { $or?: { 'detail-type': string[] }[] }
      | undefined;
    expect((pattern?.$or ?? []).map((alternative) => alternative['detail-type'][0])).toEqual([
      'EBS Snapshot Notification',
      'EBS Multi-Volume Snapshots Completion Status',
      'EC2 AMI State Change',
    ]);
    for (const rule of rules) {
      const [target] = rule.Properties.Targets as Record<string, unknown>[];
      expect(JSON.stringify(target?.Arn)).toContain(':events:us-east-1:');
      expect(target).toMatchObject({ RoleArn: { 'Fn::GetAtt': ['ForwardRole', 'Arn'] } });
      expect(target?.DeadLetterConfig).toBeDefined();
      expect(target?.RetryPolicy).toBeDefined();
    }
    // ap-southeast-2 is a source of AMIs only.
    const amisOnly = Object.values(template().forwarders?.['ap-southeast-2']?.Resources ?? {}).filter(
      (r) =>
        r.Type === 'AWS::Events::Rule' &&
        (r.Properties.EventPattern as { source: string[] }).source[0] === 'aws.ec2',
    );
    expect(
      amisOnly.map((r) => (r.Properties.EventPattern as { 'detail-type': string[] })['detail-type']),
    ).toEqual([['EC2 AMI State Change']]);
  });
});

describe('npm run package: waiting for EC2 copies by event (test/configs/ec2-multi-region.yml)', () => {
  const template = () => packageWith('test/configs/ec2-multi-region.yml');

  it('deploys the copy-waiters table on demand, with TTL, deleted with the stack, named for the stage', {
    timeout: 180_000,
  }, () => {
    const table = template().Resources.CopyWaitersTable;
    expect(table?.Type).toBe('AWS::DynamoDB::Table');
    expect(table?.DeletionPolicy).toBe('Delete');
    expect(table?.UpdateReplacePolicy).toBe('Delete');
    expect(table?.Properties).toMatchObject({
      TableName: 'ferry-ci-copy-waiters',
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [{ AttributeName: 'copyKey', KeyType: 'HASH' }],
      AttributeDefinitions: [
        { AttributeName: 'copyKey', AttributeType: 'S' },
        { AttributeName: 'slotQueue', AttributeType: 'S' },
        { AttributeName: 'queuedAt', AttributeType: 'N' },
      ],
      // Queued copies wait for a slot under this sparse index, oldest first (src/ec2/copy-machine/slot-queue.ts).
      GlobalSecondaryIndexes: [
        {
          IndexName: 'slot-queue',
          KeySchema: [
            { AttributeName: 'slotQueue', KeyType: 'HASH' },
            { AttributeName: 'queuedAt', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
      ],
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
    });
  });

  it('names the table to the copy step and the completion handler, which the copy events invoke with retries and dead letters', () => {
    const variables = (id: string) =>
      (
        template().Resources[id]?.Properties.Environment as
          | { Variables?: Record<string, unknown> }
          | undefined
      )?.Variables ?? {};
    for (const id of ['Ec2CopyStepLambdaFunction', 'Ec2CopyCompletedLambdaFunction'])
      expect(variables(id).FERRY_COPY_WAITERS_TABLE, id).toEqual({ Ref: 'CopyWaitersTable' });
    expect(variables('SnapshotCreatedLambdaFunction').FERRY_COPY_WAITERS_TABLE).toBeUndefined();
    const config = loadConfigFile('test/configs/ec2-multi-region.yml');
    const expected = copyCompletionEventPatterns(config);
    expect(expected.map((pattern) => pattern.region)).toEqual([['us-west-2'], ['us-west-2']]);
    const completions = eventRules(template()).filter(([, rule]) =>
      JSON.stringify(rule.Properties.Targets).includes('Ec2CopyCompletedLambdaFunction'),
    );
    expect(completions.map(([, rule]) => rule.Properties.EventPattern)).toEqual(expected);
    for (const [id, rule] of completions) {
      const [target] = rule.Properties.Targets as Record<string, unknown>[];
      expect(target?.DeadLetterConfig, id).toEqual({ Arn: { 'Fn::GetAtt': ['DeadLetterQueue', 'Arn'] } });
    }
  });

  it('forwards the copy events from the destination Region to the home bus, and only there', () => {
    const forwarded = (region: string) =>
      Object.values(template().forwarders?.[region]?.Resources ?? {})
        .filter((resource) => resource.Type === 'AWS::Events::Rule')
        .map((rule) => rule.Properties);
    const config = loadConfigFile('test/configs/ec2-multi-region.yml');
    const destination = forwarded('us-west-2');
    // One aws.ec2 rule: both copy results of us-west-2, the home rules' alternatives, under `$or`.
    expect(destination.map((rule) => rule.EventPattern)).toEqual([
      {
        source: ['aws.ec2'],
        region: ['us-west-2'],
        $or: copyCompletionEventPatterns(config).map(({ 'detail-type': detailType, detail }) => ({
          'detail-type': detailType,
          detail,
        })),
      },
    ]);
    for (const rule of destination) {
      const [target] = rule.Targets as Record<string, unknown>[];
      expect(JSON.stringify(target?.Arn)).toContain(':events:us-east-1:');
      expect(target?.RetryPolicy).toEqual({
        MaximumEventAgeInSeconds: EVENT_RETRY_POLICY.maximumEventAge,
        MaximumRetryAttempts: EVENT_RETRY_POLICY.maximumRetryAttempts,
      });
      expect(target?.DeadLetterConfig).toEqual({ Arn: { 'Fn::GetAtt': ['ForwardDeadLetterQueue', 'Arn'] } });
    }
    // Source Regions forward no copy events: no copy is made there.
    for (const region of ['us-east-2', 'eu-west-1', 'ap-southeast-2'])
      expect(JSON.stringify(forwarded(region)), region).not.toContain('copySnapshot');
  });

  it('renders no wait by event for copies into another account (test/configs/cross-account.yml)', () => {
    // The vault's copies are made by its role: their events go to the vault's bus, so they are polled.
    const crossAccount = packageWith('test/configs/cross-account.yml');
    const completions = eventRules(crossAccount).filter(([, rule]) =>
      JSON.stringify(rule.Properties.Targets).includes('Ec2CopyCompletedLambdaFunction'),
    );
    expect(completions).toEqual([]);
    expect(Object.keys(crossAccount.forwarders ?? {})).not.toContain('us-west-2');
  }, 180_000);
});

/** What AWS requires on `*` for a state machine's log delivery (vended logs have no resource-level permissions). */
const LOG_DELIVERY_ACTIONS = new Set([
  'logs:CreateLogDelivery',
  'logs:GetLogDelivery',
  'logs:UpdateLogDelivery',
  'logs:DeleteLogDelivery',
  'logs:ListLogDeliveries',
  'logs:PutResourcePolicy',
  'logs:DescribeResourcePolicies',
  'logs:DescribeLogGroups',
]);

type Statement = { Sid?: string; Action: string | string[]; Resource?: unknown };
/** The stack and forwarder templates a packaged configuration wrote, as CI lints them. */
const packagedTemplates = (configFile: string): string[] => {
  const folder = `.build/package-${configFile.replace(/[^\w]+/g, '-')}`;
  return readdirSync(folder)
    .filter(
      (name) =>
        name.endsWith('.json') &&
        (name.startsWith('cloudformation-template') || name.startsWith('forwarder-')),
    )
    .map((name) => `${folder}/${name}`);
};

const statementsOf = (role: Resource | undefined): Statement[] =>
  ((role?.Properties.Policies ?? []) as { PolicyDocument: { Statement: Statement[] } }[]).flatMap(
    (policy) => policy.PolicyDocument.Statement,
  );

for (const configFile of [
  'replication.yml',
  'test/configs/cross-account.yml',
  'test/configs/ec2-to-dr.yml',
  'test/configs/inventory.yml',
  'test/configs/sqs-delivery.yml',
  'test/configs/objects-multi-region.yml',
]) {
  describe(`npm run package: IAM generated from ${configFile}`, () => {
    const template = () => packageWith(configFile);

    it('gives each function its own role with exactly the statements generated for it', {
      timeout: 180_000,
    }, () => {
      const deployment = { service: 'ferry', stage: 'ci', region: 'us-east-1' };
      const config = loadConfigFile(configFile);
      const expected = iamPolicies(config, iamContextOf(deployment));
      const parts: Record<string, { Properties?: unknown }> = templateParts(config, deployment).resources
        .Resources;
      for (const fn of deployedFunctionsOf(config)) {
        const fnId = `${fn[0]?.toUpperCase()}${fn.slice(1)}LambdaFunction`;
        expect(template().Resources[fnId]?.Properties.Role, fn).toEqual({
          'Fn::GetAtt': [roleIdOf(fn), 'Arn'],
        });
        // The statements generated, fitted to IAM's sizes (deploy/policy-fit.ts: merged exactly, at these
        // sizes), and nothing else.
        const role = template().Resources[roleIdOf(fn)];
        expect(role?.Properties, fn).toEqual(parts[roleIdOf(fn)]?.Properties);
        const fitted = fitRolePolicy(roleIdOf(fn), expected[fn], { sidPrefix: roleIdOf(fn).slice(0, -4) });
        expect(fitted.step, fn).toBe('exact');
        const generated = statementsOf(role).filter((s) => s.Sid !== 'OwnLogs' && s.Sid !== 'DeadLetters');
        expect(generated, fn).toEqual(fitted.inline.Statement);
      }
      expect(ofType(template(), 'AWS::IAM::Role').map(([id]) => id)).not.toContain('IamRoleLambdaExecution');
    });

    it('grants no write action on * to any function, and to state machines only what log delivery requires', () => {
      for (const [id, role] of ofType(template(), 'AWS::IAM::Role')) {
        const writes = writeActionsOnWildcard(statementsOf(role));
        if (id.endsWith('StateMachineRole')) {
          for (const write of writes)
            expect(LOG_DELIVERY_ACTIONS.has(write.split(': ').pop() ?? ''), `${id} ${write}`).toBe(true);
        } else {
          expect(writes, id).toEqual([]);
        }
      }
    });
  });
}

describe('npm run package: reserved concurrency (test/configs/ec2-to-dr.yml)', () => {
  it('reserves what the rules file’s deployment section asks, on those functions only', {
    timeout: 180_000,
  }, () => {
    const template = packageWith('test/configs/ec2-to-dr.yml');
    const reserved = loadConfigFile('test/configs/ec2-to-dr.yml').deployment.reservedConcurrency;
    expect(Object.keys(reserved).length).toBeGreaterThan(0);
    const actual = Object.fromEntries(
      ofType(template, 'AWS::Lambda::Function').flatMap(([id, fn]) =>
        fn.Properties.ReservedConcurrentExecutions === undefined
          ? []
          : [[id, fn.Properties.ReservedConcurrentExecutions]],
      ),
    );
    expect(actual).toEqual(
      Object.fromEntries(
        Object.entries(reserved).map(([fn, value]) => [
          `${fn[0]?.toUpperCase()}${fn.slice(1)}LambdaFunction`,
          value,
        ]),
      ),
    );
  });
});

describe('npm run package: the reconcile schedule', () => {
  it('runs reconcile and the copy sweep on a schedule, bounded, each with its own role', {
    timeout: 180_000,
  }, () => {
    const template = packageWith('replication.yml');
    const schedules = ofType(template, 'AWS::Events::Rule').filter(
      ([, rule]) => rule.Properties.ScheduleExpression !== undefined,
    );
    // Reconcile's and the copy sweep's (the rules copy snapshots waited for by event): the RPO monitor is
    // scheduled only when a rule sets rpo, and none here does.
    expect(schedules.map(([, rule]) => rule.Properties.ScheduleExpression).sort()).toEqual([
      'rate(6 hours)',
      'rate(60 minutes)',
    ]);
    const [, schedule] =
      schedules.find(([, rule]) => rule.Properties.ScheduleExpression === 'rate(6 hours)') ?? [];
    const [target] = (schedule?.Properties.Targets ?? []) as { Input: string }[];
    expect(JSON.parse(target?.Input ?? '{}')).toEqual({ limit: 10000 });
    expect(template.Resources.ReconcileLambdaFunction?.Properties.Role).toEqual({
      'Fn::GetAtt': ['ReconcileRole', 'Arn'],
    });
    expect(template.Resources.Ec2CopySweepLambdaFunction?.Properties.Role).toEqual({
      'Fn::GetAtt': ['Ec2CopySweepRole', 'Arn'],
    });
  });
});

describe('npm run package: object sources in several Regions (test/configs/objects-multi-region.yml)', () => {
  const file = 'test/configs/objects-multi-region.yml';
  const template = () => packageWith(file);
  const s3Patterns = (resources: Record<string, Resource>) =>
    Object.values(resources)
      .filter((r) => r.Type === 'AWS::Events::Rule')
      .map((r) => r.Properties.EventPattern as { source: string[]; region?: string[] })
      .filter((pattern) => pattern.source[0] === 'aws.s3');

  it('writes one forwarder per other source Region, S3 rules beside EC2 ones, and matches them at home', {
    timeout: 180_000,
  }, () => {
    const config = loadConfigFile(file);
    // And us-west-2, where Ireland's snapshots are copied: it forwards their completion events only.
    expect(Object.keys(template().forwarders ?? {}).sort()).toEqual([
      'ap-southeast-2',
      'eu-west-1',
      'us-west-2',
    ]);
    expect(s3Patterns(template().forwarders?.['us-west-2']?.Resources ?? {})).toEqual([]);
    const home = eventRules(template()).map(([, rule]) => rule.Properties.EventPattern);
    for (const region of ['ap-southeast-2', 'eu-west-1']) {
      const forwarded = s3Patterns(template().forwarders?.[region]?.Resources ?? {});
      expect(forwarded, region).toEqual(forwardedObjectEventPatterns(config, region));
      expect(forwarded.length, region).toBeGreaterThan(0);
      // What the forwarder sends, the home stack matches: the same patterns, naming the source Region.
      for (const pattern of forwarded) {
        expect(pattern.region, region).toEqual([region]);
        expect(home, region).toContainEqual(pattern);
      }
    }
    // Sydney's rule copies no tags and replicates no deletes: only its created objects are forwarded.
    expect(
      s3Patterns(template().forwarders?.['ap-southeast-2']?.Resources ?? {}).map(
        (pattern) => (pattern as unknown as { 'detail-type': string[] })['detail-type'],
      ),
    ).toEqual([['Object Created']]);
    // Ireland's forwarder carries its snapshots too: one stack per Region.
    const ireland = Object.values(template().forwarders?.['eu-west-1']?.Resources ?? {});
    expect(
      ireland.some(
        (r) =>
          r.Type === 'AWS::Events::Rule' &&
          (r.Properties.EventPattern as { source: string[] }).source[0] === 'aws.ec2',
      ),
    ).toBe(true);
  });
});

describe('npm run package: SSE-KMS sources (objects.kmsKeys in test/configs/objects-multi-region.yml)', () => {
  const file = 'test/configs/objects-multi-region.yml';
  const template = () => packageWith(file);
  const decrypting = (fn: string) =>
    statementsOf(template().Resources[roleIdOf(fn as never)]).filter((statement) =>
      [statement.Action].flat().includes('kms:Decrypt'),
    );

  it('lets exactly the functions that copy decrypt the sources’ keys, through S3 in each source’s Region, for its bucket only', {
    timeout: 180_000,
  }, () => {
    for (const fn of ['objectCreated', 'objectCopyStep', 'reconcile']) {
      const statements = decrypting(fn);
      const home = statements.find((statement) => JSON.stringify(statement).includes('acme-home-assets'));
      expect(home, fn).toMatchObject({
        Resource: ['arn:aws:kms:us-east-1:111122223333:key/0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d'],
        Condition: {
          StringEquals: {
            'kms:ViaService': { 'Fn::Join': ['', ['s3.us-east-1.', { Ref: 'AWS::URLSuffix' }]] },
          },
          StringLike: {
            'kms:EncryptionContext:aws:s3:arn': [
              { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':s3:::acme-home-assets']] },
              { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':s3:::acme-home-assets/assets/*']] },
            ],
          },
        },
      });
      // Ireland's keys: by alias (any key of the Region and account, narrowed to the alias) and by bare id.
      const ireland = statements.filter((statement) => JSON.stringify(statement).includes('acme-eu-assets'));
      expect(JSON.stringify(ireland), fn).toContain('s3.eu-west-1.');
      expect(JSON.stringify(ireland), fn).toContain('alias/eu-assets');
      expect(JSON.stringify(ireland), fn).toContain(':kms:eu-west-1:');
      expect(JSON.stringify(ireland), fn).toContain('5b6c7d8e-9f0a-4b1c-8d2e-3f4a5b6c7d8e');
    }
    // Functions that read no source bytes get none.
    for (const fn of ['objectDeleted', 'objectTagsChanged']) expect(decrypting(fn), fn).toEqual([]);
  });

  it('has 0 cfn-lint errors on the stack and forwarder templates', async () => {
    template();
    const lint = await cfnLint(packagedTemplates(file));
    expect(lint.status, lint.output).toBe(0);
  }, 600_000);
});

describe('npm run package: the inventory-reconcile machine (test/configs/inventory.yml)', () => {
  const file = 'test/configs/inventory.yml';
  const template = () => packageWith(file);
  const deployment = { service: 'ferry', stage: 'ci', region: 'us-east-1' };
  const machineArn = {
    'Fn::Sub': `arn:\${AWS::Partition}:states:\${AWS::Region}:\${AWS::AccountId}:stateMachine:ferry-ci-inventory-reconcile`,
  };

  it('deploys the machine with its own role, holding exactly the statements generated from the rules', {
    timeout: 180_000,
  }, () => {
    const machine = template().Resources[INVENTORY_MACHINE_ID];
    expect(machine?.Type).toBe('AWS::StepFunctions::StateMachine');
    expect(machine?.Properties.StateMachineName).toBe('ferry-ci-inventory-reconcile');
    expect(machine?.Properties.RoleArn).toEqual({ 'Fn::GetAtt': [INVENTORY_MACHINE_ROLE_ID, 'Arn'] });
    // Every Task invokes the inventory-batch function, by the substitution the template resolves.
    const definition = JSON.stringify(machine?.Properties.Definition);
    expect(definition).not.toContain('Fn::GetAtt');
    expect(definition.match(/\$\{InventoryBatchFunctionArn\}/g)).toHaveLength(3);
    expect(machine?.Properties.DefinitionSubstitutions).toEqual({
      InventoryBatchFunctionArn: {
        'Fn::Sub': `arn:\${AWS::Partition}:lambda:\${AWS::Region}:\${AWS::AccountId}:function:ferry-ci-inventoryBatch`,
      },
    });
    const role = template().Resources[INVENTORY_MACHINE_ROLE_ID];
    const config = loadConfigFile(file);
    const names = {
      partition: { Ref: 'AWS::Partition' },
      urlSuffix: { Ref: 'AWS::URLSuffix' },
      account: { Ref: 'AWS::AccountId' },
    };
    expect(statementsOf(role)).toEqual(inventoryMachineStatements(config, deployment, names));
    // Nothing on `*`, not even log delivery (the machine has no logging configuration).
    for (const statement of statementsOf(role)) expect(statement.Resource, statement.Sid).not.toBe('*');
    expect(JSON.stringify(statementsOf(role))).not.toContain('acme-web');
    // The plugin made no role for it (it does not know the machine).
    expect(
      Object.keys(template().Resources)
        .filter((id) => id.startsWith('InventoryReconcile'))
        .sort(),
    ).toEqual([INVENTORY_MACHINE_ROLE_ID, INVENTORY_MACHINE_ID].sort());
  });

  it('lets the scheduled reconcile start that machine, and names it in the function’s environment', {
    timeout: 180_000,
  }, () => {
    const reconcile = statementsOf(template().Resources.ReconcileRole);
    // Merged with the object copies' (the same action): those two machines, no other.
    expect(
      reconcile.filter((s) => [s.Action].flat().includes('states:StartExecution')).flatMap((s) => s.Resource),
    ).toEqual([
      { 'Fn::Sub': machineArn['Fn::Sub'].replace('inventory-reconcile', 'object-copy') },
      machineArn,
    ]);
    const environment = template().Resources.ReconcileLambdaFunction?.Properties.Environment as {
      Variables: Record<string, unknown>;
    };
    expect(environment.Variables.FERRY_INVENTORY_RECONCILE_STATE_MACHINE_ARN).toEqual(machineArn);
    // Its failed runs alert as the copy machines' do.
    const pattern = template().Resources.ExecutionFailedRule?.Properties.EventPattern as
      | { detail: { stateMachineArn: unknown[] } }
      | undefined;
    const machines = pattern?.detail.stateMachineArn;
    expect(machines).toContainEqual(machineArn);
  });

  it('holds IAM’s and CloudFormation’s limits and has 0 cfn-lint errors', { timeout: 180_000 }, async () => {
    // Packaged here if no earlier test did: the test holds on its own (with -t too).
    template();
    const folder = `.build/package-${file.replace(/[^\w]+/g, '-')}`;
    const body = readFileSync(`${folder}/cloudformation-template-update-stack.json`, 'utf8');
    expect(checkTemplate('main', JSON.parse(body) as CfnTemplate, body).errors).toEqual([]);
    const lint = await cfnLint([`${folder}/cloudformation-template-update-stack.json`]);
    // Not a warning either, where the RPO stack's lint allows them.
    expect(lint.output).toBe('');
    expect(lint.status).toBe(0);
  });

  it('deploys no inventory machine for rules without inventories (replication.yml)', {
    timeout: 180_000,
  }, () => {
    const resources = packageWith('replication.yml').Resources;
    expect(resources[INVENTORY_MACHINE_ID]).toBeUndefined();
    expect(resources[INVENTORY_MACHINE_ROLE_ID]).toBeUndefined();
    expect(JSON.stringify(resources.ReconcileRole)).not.toContain('inventory-reconcile');
  });
});

describe('npm run package: rules with an RPO (test/configs/rpo.yml)', () => {
  const file = 'test/configs/rpo.yml';
  const template = () => packageWith(file);
  const judged = ['docs-rpo', 'ebs-rpo', 'amis-rpo'];

  it('alarms per rule with rpo on its oldest pending item, under the stage’s service dimension', {
    timeout: 180_000,
  }, () => {
    const alarms = ofType(template(), 'AWS::CloudWatch::Alarm').filter(
      ([, alarm]) => alarm.Properties.MetricName === 'OldestPendingAge',
    );
    expect(alarms.map(([id]) => id).sort()).toEqual(judged.map(rpoAlarmIdOf).sort());
    for (const [, alarm] of alarms)
      expect(alarm.Properties.Dimensions).toContainEqual({ Name: 'service', Value: 'ferry-ci' });
  });

  it('runs the monitor once a minute, and gives each function the stage’s service name', () => {
    const monitor = template().Resources.RpoMonitorLambdaFunction;
    const { Environment } = monitor?.Properties ?? {};
    const variables = (Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {};
    expect(variables.POWERTOOLS_SERVICE_NAME).toBe('ferry-ci');
    expect(variables.FERRY_DEAD_LETTER_QUEUE_URL).toBeDefined();
    const schedules = ofType(template(), 'AWS::Events::Rule').filter(
      ([, rule]) => rule.Properties.ScheduleExpression === 'rate(1 minute)',
    );
    expect(schedules).toHaveLength(1);
  });

  it('draws each rule with rpo on the dashboard, the other rule not', () => {
    const body = JSON.stringify(template().Resources.Dashboard?.Properties.DashboardBody);
    for (const rule of judged) expect(body).toContain(`RPO ${rule}: latency`);
    expect(body).not.toContain('RPO logs-plain');
  });

  it('has 0 cfn-lint errors on the stack and forwarder templates, as CI lints them', async () => {
    template();
    const templates = packagedTemplates(file);
    expect(templates.length).toBeGreaterThanOrEqual(2);
    const lint = await cfnLint(templates);
    expect(lint.status, lint.output).toBe(0);
  }, 600_000);
});

describe('npm run package: Object Created events through the SQS delivery queue (test/configs/sqs-delivery.yml)', () => {
  const file = 'test/configs/sqs-delivery.yml';
  const template = () => packageWith(file);
  const queueArn = { 'Fn::GetAtt': ['ObjectCreatedBatchDeliveryQueue', 'Arn'] };
  const deadLetters = { 'Fn::GetAtt': ['DeadLetterQueue', 'Arn'] };

  it('delivers Object Created events to the queue, and through the mapping to objectCreatedBatch in batches with partial responses', {
    timeout: 180_000,
  }, () => {
    const { Resources } = template();
    const config = loadConfigFile(file);
    const patterns = objectEventPatterns(config).objectCreated;
    // The queue's rules carry every Object Created pattern, and no rule targets a function with them.
    const delivery = eventRules(template()).filter(([id]) => id.startsWith('ObjectCreatedBatchDeliveryRule'));
    expect(delivery.map(([, rule]) => rule.Properties.EventPattern)).toEqual(patterns);
    for (const [id, rule] of delivery) {
      expect(rule.Properties.Targets, id).toEqual([
        {
          Id: 'delivery-queue',
          Arn: queueArn,
          RetryPolicy: {
            MaximumEventAgeInSeconds: EVENT_RETRY_POLICY.maximumEventAge,
            MaximumRetryAttempts: EVENT_RETRY_POLICY.maximumRetryAttempts,
          },
          DeadLetterConfig: { Arn: deadLetters },
        },
      ]);
    }
    const direct = eventRules(template()).filter(([id]) => id.startsWith('ObjectCreatedEventBridge'));
    expect(direct).toEqual([]);
    // Deletes keep direct delivery.
    expect(eventRules(template()).map(([, rule]) => rule.Properties.EventPattern)).toEqual(
      expect.arrayContaining(objectEventPatterns(config).objectDeleted),
    );

    expect(ofType(template(), 'AWS::Lambda::EventSourceMapping')).toEqual([
      [
        'ObjectCreatedBatchDeliveryMapping',
        {
          Type: 'AWS::Lambda::EventSourceMapping',
          Properties: {
            EventSourceArn: queueArn,
            FunctionName: { Ref: 'ObjectCreatedBatchLambdaFunction' },
            BatchSize: 100,
            MaximumBatchingWindowInSeconds: 5,
            FunctionResponseTypes: ['ReportBatchItemFailures'],
          },
        },
      ],
    ]);
    const fn = Resources.ObjectCreatedBatchLambdaFunction;
    expect(fn?.Properties.Handler).toBe('functions/object-created-batch.handler');
    expect(fn?.Properties.Timeout).toBe(OBJECT_CREATED_BATCH_TIMEOUT_SECONDS);
    expect(fn?.Properties.Role).toEqual({ 'Fn::GetAtt': ['ObjectCreatedBatchRole', 'Arn'] });

    // Visibility: six times the function timeout plus the window; failures redriven to the dead letters.
    const queue = Resources.ObjectCreatedBatchDeliveryQueue;
    expect(queue?.Properties.VisibilityTimeout).toBe(6 * OBJECT_CREATED_BATCH_TIMEOUT_SECONDS + 5);
    expect(queue?.Properties.RedrivePolicy).toEqual({
      deadLetterTargetArn: deadLetters,
      maxReceiveCount: DELIVERY.maxReceiveCount,
    });
    // Only EventBridge, from the queue's own rules, may send to it; the dead letters take their failures too.
    const policy = JSON.stringify(Resources.ObjectCreatedBatchDeliveryQueuePolicy?.Properties);
    expect(policy).toContain('events.amazonaws.com');
    for (const [id] of delivery) expect(policy).toContain(id);
    const deadLetterPolicy = JSON.stringify(Resources.DeadLetterQueuePolicy?.Properties);
    for (const [id] of delivery) expect(deadLetterPolicy).toContain(id);
  });

  it('lets objectCreatedBatch poll its own queue only, and nothing else on SQS beyond what objectCreated may', () => {
    const sqsOf = (roleId: string) =>
      statementsOf(template().Resources[roleId]).filter((statement) =>
        [statement.Action].flat().some((action) => String(action).startsWith('sqs:')),
      );
    const polls = sqsOf('ObjectCreatedBatchRole');
    expect(polls).toHaveLength(1);
    expect([polls[0]?.Action].flat().sort()).toEqual([...DELIVERY_POLL_ACTIONS].sort());
    expect(polls[0]?.Resource).toEqual([queueArn]);
    // Its S3 and Step Functions grants are objectCreated's (the same create path for each record).
    const others = (roleId: string) =>
      statementsOf(template().Resources[roleId])
        .filter((statement) => !['OwnLogs', 'DeadLetters'].includes(String(statement.Sid)))
        .filter((statement) => ![statement.Action].flat().some((action) => String(action).startsWith('sqs:')))
        .map(({ Sid: _sid, ...statement }) => statement);
    expect(others('ObjectCreatedBatchRole')).toEqual(others('ObjectCreatedRole'));
  });

  it('refuses batch settings Lambda refuses, by the key (InvalidConfigError)', () => {
    const withDelivery = (delivery: string) =>
      `deployment:\n  delivery: ${delivery}\nrules:\n  - name: r\n    objects: { bucket: acme-a }\n    to: [{ bucket: acme-b, region: us-east-1 }]\n`;
    expect(
      parseConfig(withDelivery('{ mode: queue, batchSize: 10000, batchingWindowSeconds: 300 }')).deployment
        .delivery,
    ).toEqual({
      mode: 'queue',
      batchSize: 10_000,
      batchingWindowSeconds: 300,
    });
    expect(
      parseConfig(withDelivery('{ mode: queue, batchSize: 10, batchingWindowSeconds: 0 }')).deployment
        .delivery.batchSize,
    ).toBe(10);
    expect(loadConfigFile('replication.yml').deployment.delivery.mode).toBe('direct');
    for (const [delivery, path] of [
      ['{ mode: queue, batchSize: 10001 }', 'deployment.delivery.batchSize'],
      ['{ mode: queue, batchSize: 0 }', 'deployment.delivery.batchSize'],
      ['{ mode: queue, batchingWindowSeconds: 301 }', 'deployment.delivery.batchingWindowSeconds'],
      [
        '{ mode: queue, batchSize: 11, batchingWindowSeconds: 0 }',
        'deployment.delivery.batchingWindowSeconds',
      ],
      ['{ mode: sqs }', 'deployment.delivery.mode'],
    ] as const) {
      let caught: unknown;
      try {
        parseConfig(withDelivery(delivery));
      } catch (error) {
        caught = error;
      }
      expect(caught, delivery).toBeInstanceOf(InvalidConfigError);
      expect(
        (caught as InvalidConfigError).issues.map((issue) => issue.path),
        delivery,
      ).toContain(path);
    }
  });

  it('holds IAM’s and CloudFormation’s limits and has 0 cfn-lint errors', async () => {
    template();
    const folder = `.build/package-${file.replace(/[^\w]+/g, '-')}`;
    const body = readFileSync(`${folder}/cloudformation-template-update-stack.json`, 'utf8');
    expect(checkTemplate('main', JSON.parse(body) as CfnTemplate, body).errors).toEqual([]);
    const lint = await cfnLint([`${folder}/cloudformation-template-update-stack.json`]);
    expect(lint.status, lint.output).toBe(0);
  }, 600_000);
});
