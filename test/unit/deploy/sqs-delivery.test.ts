import { describe, expect, it } from 'vitest';
import { DeliverySettingsError, deliveryResources } from '#deploy/sqs-delivery';
import { objectEventPatterns } from '#rules/event-patterns';
import { configFrom } from '#test/support/fixtures';

const CONFIG = configFrom(`
rules:
  - name: invoices
    objects: { bucket: acme-prod, prefix: invoices/ }
    to:
      - { bucket: acme-dr, region: us-west-2 }
`);
const deployment = { service: 'ferry', stage: 'prod', region: 'us-east-1' };

describe('the SQS delivery resources of a function (generated, not yet in the template)', () => {
  it('It should make a queue with 6x the function timeout of visibility and a redrive to the dead letters, rules that target it and alone may send to it, and a mapping with partial batch responses', () => {
    const patterns = objectEventPatterns(CONFIG).objectCreated;
    const { resources, roleStatement } = deliveryResources(deployment, 'objectCreated', patterns, 120);
    const queue = resources.ObjectCreatedDeliveryQueue?.Properties;
    expect(queue).toMatchObject({
      QueueName: 'ferry-prod-objectCreated',
      VisibilityTimeout: 6 * 120 + 1,
      RedrivePolicy: {
        deadLetterTargetArn: { 'Fn::GetAtt': ['DeadLetterQueue', 'Arn'] },
        maxReceiveCount: 5,
      },
    });
    const rules = Object.entries(resources).filter(([, resource]) => resource.Type === 'AWS::Events::Rule');
    expect(rules.map(([, rule]) => rule.Properties?.EventPattern)).toEqual(patterns);
    const policy = resources.ObjectCreatedDeliveryQueuePolicy?.Properties as {
      PolicyDocument: { Statement: { Condition: { ArnEquals: { 'aws:SourceArn': unknown[] } } }[] };
    };
    expect(policy.PolicyDocument.Statement[0]?.Condition.ArnEquals['aws:SourceArn']).toEqual(
      rules.map(([id]) => ({ 'Fn::GetAtt': [id, 'Arn'] })),
    );
    expect(resources.ObjectCreatedDeliveryMapping?.Properties).toMatchObject({
      FunctionName: { Ref: 'ObjectCreatedLambdaFunction' },
      BatchSize: 10,
      MaximumBatchingWindowInSeconds: 1,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
    expect(roleStatement.Action).toEqual([
      'sqs:ReceiveMessage',
      'sqs:DeleteMessage',
      'sqs:GetQueueAttributes',
    ]);
  });

  it('It should refuse what Lambda and SQS refuse: a batch over 10 without a window, a visibility over 12 hours', () => {
    const patterns = objectEventPatterns(CONFIG).objectCreated;
    expect(() =>
      deliveryResources(deployment, 'objectCreated', patterns, 60, {
        batchSize: 100,
        batchingWindowSeconds: 0,
        maxReceiveCount: 5,
      }),
    ).toThrow(DeliverySettingsError);
    expect(() => deliveryResources(deployment, 'objectCreated', patterns, 7300)).toThrow(/12 hours/);
  });
});
