import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { FUNCTION_NAMES } from '#deploy/iam/types';
import {
  type CfnResource,
  deployedFunctionsOf,
  EVENT_HANDLERS,
  eventBridgeRuleName,
  functionRolePath,
  handlerEvents,
  roleIdOf,
  templateParts,
} from '#deploy/template-parts';
import { loadConfigFile, parseConfig, validateConfig } from '#rules/load';

/**
 * The stack's own resources, hardened (issue 13): the alert topic encrypted under a key its publishers may
 * use, queue and topic policies bounded to the exact rules and alarms, retained evidence, one stage's role
 * path, and the optional reserved concurrency.
 */

const DEPLOYMENT = { service: 'ferry', stage: 'prod', region: 'us-east-1' };
const config = loadConfigFile(new URL('../../configs/multi-region.yml', import.meta.url).pathname);
const parts = templateParts(config, DEPLOYMENT);
const resources = parts.resources.Resources as Record<string, CfnResource>;

type Statement = {
  Sid?: string;
  Principal: { Service: string | string[] } | { AWS: unknown };
  Action: string | string[];
  Condition?: Record<string, Record<string, unknown>>;
};
const statementsOf = (id: string, property: string): Statement[] =>
  (resources[id]?.Properties?.[property] as { Statement: Statement[] } | undefined)?.Statement ?? [];
const policyStatements = (id: string) => statementsOf(id, 'PolicyDocument');

/** Serverless's own naming, to check ours against (the framework names the rules Ferry's policies list). */
const frameworkNaming = createRequire(import.meta.url)(
  'serverless/lib/plugins/aws/package/compile/events/event-bridge/utils.js',
) as { makeAndHashRuleName: (input: { functionName: string; index: number }) => string };

describe('deploy/template-parts: the stack hardened', () => {
  it('It should name each handler rule as Serverless does, hashed past 64 characters', () => {
    for (const [functionName, index] of [
      ['ferry-prod-objectCreated', 1],
      ['ferry-prod-objectCreated', 12],
      ['a-service-with-a-long-name-ferry-disaster-recovery-imageAvailable', 3],
    ] as const) {
      const name = eventBridgeRuleName(functionName, index);
      expect(name).toBe(frameworkNaming.makeAndHashRuleName({ functionName, index }));
      expect(name.length).toBeLessThanOrEqual(64);
    }
  });

  it('It should let only the handlers’ rules leave dead letters, and keep the queue with the stack', () => {
    const events = handlerEvents(config);
    const expected = EVENT_HANDLERS.flatMap((fn) =>
      events[fn].map((_, index) => ({
        'Fn::Sub': `arn:\${AWS::Partition}:events:\${AWS::Region}:\${AWS::AccountId}:rule/ferry-prod-${fn}-rule-${index + 1}`,
      })),
    );
    expect(expected.length).toBeGreaterThan(2);
    const [statement, ...others] = policyStatements('DeadLetterQueuePolicy');
    expect(others).toEqual([]);
    expect(statement?.Principal).toEqual({ Service: 'events.amazonaws.com' });
    expect(statement?.Condition).toEqual({
      StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
      ArnEquals: { 'aws:SourceArn': expected },
    });
    expect(resources.DeadLetterQueue).toMatchObject({
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
  });

  it('It should encrypt the alert topic under its own key, which EventBridge and CloudWatch may use', () => {
    expect(resources.AlertTopic?.Properties?.KmsMasterKeyId).toEqual({ Ref: 'AlertKey' });
    expect(resources.AlertKey?.Type).toBe('AWS::KMS::Key');
    expect(resources.AlertKey?.Properties?.EnableKeyRotation).toBe(true);
    const statements = statementsOf('AlertKey', 'KeyPolicy');
    const services = statements.filter((statement) => 'Service' in statement.Principal);
    expect(services).toEqual([
      expect.objectContaining({
        Principal: { Service: ['events.amazonaws.com', 'cloudwatch.amazonaws.com'] },
        Action: ['kms:GenerateDataKey*', 'kms:Decrypt'],
      }),
    ]);
    // The account keeps administering its key (else nobody could change or delete it).
    expect(statements).toContainEqual(
      expect.objectContaining({ Principal: { AWS: expect.anything() }, Action: 'kms:*' }),
    );
  });

  it('It should let exactly the template’s alert rules and alarms publish to the topic', () => {
    const targetsTopic = (resource: CfnResource) =>
      JSON.stringify(resource.Properties?.Targets ?? resource.Properties?.AlarmActions ?? []).includes(
        '"Ref":"AlertTopic"',
      );
    const publishers = (type: string) =>
      Object.entries(resources)
        .filter(([, resource]) => resource.Type === type && targetsTopic(resource))
        .map(([id]) => ({ 'Fn::GetAtt': [id, 'Arn'] }));
    const sourcesOf = (service: string) =>
      policyStatements('AlertTopicPolicy')
        .filter((statement) => JSON.stringify(statement.Principal) === JSON.stringify({ Service: service }))
        .map((statement) => {
          expect(statement.Action).toBe('sns:Publish');
          expect(statement.Condition?.StringEquals).toEqual({
            'aws:SourceAccount': { Ref: 'AWS::AccountId' },
          });
          return statement.Condition?.ArnEquals?.['aws:SourceArn'];
        });
    expect(publishers('AWS::Events::Rule')).toHaveLength(1);
    expect(publishers('AWS::CloudWatch::Alarm')).toHaveLength(2);
    expect(sourcesOf('events.amazonaws.com')).toEqual([publishers('AWS::Events::Rule')]);
    expect(sourcesOf('cloudwatch.amazonaws.com')).toEqual([publishers('AWS::CloudWatch::Alarm')]);
    expect(policyStatements('AlertTopicPolicy')).toHaveLength(2);
  });

  it('It should put every function role under its stage’s path', () => {
    expect(functionRolePath(DEPLOYMENT)).toBe('/ferry/prod/');
    for (const fn of deployedFunctionsOf(config)) {
      expect(resources[roleIdOf(fn)]?.Properties?.Path, fn).toBe('/ferry/prod/');
    }
  });

  it('It should deploy objectCreatedBatch, its role and log group only with queue delivery', () => {
    expect(deployedFunctionsOf(config)).toEqual(FUNCTION_NAMES.filter((fn) => fn !== 'objectCreatedBatch'));
    expect(resources.ObjectCreatedBatchRole).toBeUndefined();
    expect(parts.functions.objectCreatedBatch).toBeNull();
    const queued = {
      ...config,
      deployment: {
        ...config.deployment,
        delivery: { mode: 'queue' as const, batchSize: 10, batchingWindowSeconds: 1 },
      },
    };
    const queuedParts = templateParts(queued, DEPLOYMENT);
    expect(deployedFunctionsOf(queued)).toEqual([...FUNCTION_NAMES]);
    expect(
      (queuedParts.resources.Resources as Record<string, CfnResource>).ObjectCreatedBatchRole?.Type,
    ).toBe('AWS::IAM::Role');
    expect(queuedParts.resources.extensions).toHaveProperty('ObjectCreatedBatchLogGroup');
    expect(queuedParts.functions.objectCreatedBatch?.handler).toBe('functions/object-created-batch.handler');
    // No direct rule for Object Created events: the queue's rules carry them.
    expect(queuedParts.events.objectCreated).toEqual([]);
    expect(parts.events.objectCreated.length).toBeGreaterThan(0);
  });

  it('It should keep every function’s log group with the stack, and reserve no concurrency unless asked', () => {
    const extensions = parts.resources.extensions;
    expect(Object.keys(extensions).sort()).toEqual(
      deployedFunctionsOf(config)
        .map((fn) => `${fn[0]?.toUpperCase()}${fn.slice(1)}LogGroup`)
        .sort(),
    );
    for (const extension of Object.values(extensions)) {
      expect(extension).toEqual({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    }
  });

  it('It should reserve the configured concurrency on exactly the functions named', () => {
    const reserved = parseConfig(`
deployment:
  reservedConcurrency: { objectCreated: 50, ec2CopyStep: 5 }
rules:
  - name: invoices
    objects: { bucket: acme-prod, prefix: invoices/ }
    to: [{ bucket: acme-dr, region: us-west-2 }]
`);
    const { extensions } = templateParts(reserved, DEPLOYMENT).resources;
    const concurrency = Object.fromEntries(
      Object.entries(extensions).flatMap(([id, extension]) =>
        'Properties' in extension ? [[id, extension.Properties]] : [],
      ),
    );
    expect(concurrency).toEqual({
      ObjectCreatedLambdaFunction: { ReservedConcurrentExecutions: 50 },
      Ec2CopyStepLambdaFunction: { ReservedConcurrentExecutions: 5 },
    });
  });

  it.each([
    [{ objectCreated: 0 }, 'at least 1'],
    [{ objectCreated: 2.5 }, 'whole number'],
    [{ objectCreatedd: 5 }, ''],
  ])('It should refuse the reserved concurrency %j', (reservedConcurrency, message) => {
    const result = validateConfig({
      deployment: { reservedConcurrency },
      rules: [
        {
          name: 'invoices',
          objects: { bucket: 'acme-prod', prefix: 'invoices/' },
          to: [{ bucket: 'acme-dr', region: 'us-west-2' }],
        },
      ],
    });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(JSON.stringify(result.issues)).toContain(message);
  });
});
