import { describe, expect, it } from 'vitest';
import { iamPolicies } from '#deploy/iam/policies';
import type { IamContext, PolicyStatement } from '#deploy/iam/types';
import { rpoAlarmIdOf } from '#deploy/rpo-alarms';
import { templateParts } from '#deploy/template-parts';
import { rpoMachinesOf } from '#rpo/rules';
import { configFrom } from '#test/support/fixtures';

const ACCOUNT = '111122223333';
const CONTEXT: IamContext = {
  account: ACCOUNT,
  stateMachineArns: {
    objectCopy: `arn:aws:states:us-east-1:${ACCOUNT}:stateMachine:ferry-dev-object-copy`,
    snapshotCopy: `arn:aws:states:us-east-1:${ACCOUNT}:stateMachine:ferry-dev-snapshot-copy`,
    imageCopy: `arn:aws:states:us-east-1:${ACCOUNT}:stateMachine:ferry-dev-image-copy`,
  },
  copyWaitersTableArn: `arn:aws:dynamodb:us-east-1:${ACCOUNT}:table/ferry-dev-copy-waiters`,
};

const config = (objectRpo: string, snapshotRpo: string) =>
  configFrom(`
rules:
  - name: docs-to-dr
    ${objectRpo}
    objects: { bucket: acme-prod }
    to: [{ bucket: acme-dr, region: us-west-2 }]
  - name: ebs-to-dr
    ${snapshotRpo}
    snapshots: { regions: [us-east-1] }
    to: [{ region: us-west-2 }]
`);

const actions = (statements: readonly PolicyStatement[]) =>
  statements.flatMap((statement) => statement.Action);

describe('IAM for the RPO, generated from the rules', () => {
  it('It should grant nothing new when no rule sets rpo', () => {
    const policies = iamPolicies(config('', ''), CONTEXT);
    for (const statements of Object.values(policies))
      expect(actions(statements)).not.toContain('events:PutEvents');
    expect(policies.rpoMonitor).toEqual([]);
  });

  it('It should let only the functions that judge a rule with rpo put Ferry events on the default bus', () => {
    const policies = iamPolicies(config('rpo: 15m', ''), CONTEXT);
    for (const fn of ['objectCreated', 'objectCopyStep', 'reconcile', 'rpoMonitor'] as const)
      expect(actions(policies[fn]), fn).toContain('events:PutEvents');
    for (const fn of ['objectDeleted', 'snapshotCreated', 'imageAvailable', 'ec2CopyStep'] as const)
      expect(actions(policies[fn]), fn).not.toContain('events:PutEvents');
    const put = policies.objectCreated.find((statement) => statement.Action.includes('events:PutEvents'));
    expect(put?.Condition).toEqual({
      'ForAllValues:StringEquals': { 'events:source': ['ferry'] },
      StringEquals: {
        'events:detail-type': [
          'Ferry Replication Missed Threshold',
          'Ferry Replication Completed After Threshold',
        ],
      },
    });
    expect(JSON.stringify(put?.Resource)).toContain(':event-bus/default');
  });

  it('It should let the monitor list and read executions of the machines of rules with rpo only', () => {
    const monitor = iamPolicies(config('', 'rpo: 2h'), CONTEXT).rpoMonitor;
    const list = monitor.find((statement) => statement.Action.includes('states:ListExecutions'));
    // The snapshot rule's copies run in snapshot-copy only: image-copy holds nothing it judges.
    expect(list?.Resource).toEqual([CONTEXT.stateMachineArns.snapshotCopy]);
  });

  it('It should let the monitor list the same machines it lists (rpoMachinesOf), object-copy for an object rule', () => {
    const both = config('rpo: 15m', 'rpo: 2h');
    const monitor = iamPolicies(both, CONTEXT).rpoMonitor;
    const list = monitor.find((statement) => statement.Action.includes('states:ListExecutions'));
    expect(rpoMachinesOf(both)).toEqual(['object-copy', 'snapshot-copy']);
    expect(list?.Resource).toEqual([
      CONTEXT.stateMachineArns.objectCopy,
      CONTEXT.stateMachineArns.snapshotCopy,
    ]);
  });
});

describe('The template for the RPO', () => {
  const deployment = { service: 'ferry', stage: 'prod', region: 'us-east-1' };

  it('It should schedule the monitor once a minute only when a rule sets rpo', () => {
    expect(templateParts(config('', ''), deployment).rpoMonitorEvents).toEqual([]);
    expect(templateParts(config('rpo: 15m', ''), deployment).rpoMonitorEvents).toEqual([
      { schedule: { rate: 'rate(1 minute)' } },
    ]);
  });

  it("It should alarm per rule when the oldest pending item is older than the rule's RPO, publishing to the alert topic", () => {
    const { Resources } = templateParts(config('rpo: 15m', 'rpo: 2h'), deployment).resources as {
      Resources: Record<string, { Properties: Record<string, unknown> }>;
    };
    const docs = Resources[rpoAlarmIdOf('docs-to-dr')]?.Properties;
    expect(docs).toMatchObject({
      MetricName: 'OldestPendingAge',
      Namespace: 'Ferry',
      Dimensions: [
        { Name: 'service', Value: 'ferry-prod' },
        { Name: 'rule', Value: 'docs-to-dr' },
      ],
      Threshold: 900,
      ComparisonOperator: 'GreaterThanThreshold',
      AlarmActions: [{ Ref: 'AlertTopic' }],
    });
    expect(Resources[rpoAlarmIdOf('ebs-to-dr')]?.Properties.Threshold).toBe(7200);
    // The topic lets exactly these alarms publish.
    expect(JSON.stringify(Resources.AlertTopicPolicy)).toContain(rpoAlarmIdOf('docs-to-dr'));
    expect(rpoAlarmIdOf('a-b')).not.toBe(rpoAlarmIdOf('ab'));
    expect(rpoAlarmIdOf('a-b')).toMatch(/^[A-Za-z0-9]+$/);
  });

  it('It should keep two stages in one account apart: alarms, dashboard lines and searches name the stage', () => {
    type Resources = Record<string, { Properties: Record<string, unknown> }>;
    const of = (stage: string) =>
      (templateParts(config('rpo: 15m', ''), { ...deployment, stage }).resources as { Resources: Resources })
        .Resources;
    const dev = of('dev');
    expect(dev[rpoAlarmIdOf('docs-to-dr')]?.Properties.Dimensions).toEqual([
      { Name: 'service', Value: 'ferry-dev' },
      { Name: 'rule', Value: 'docs-to-dr' },
    ]);
    expect(JSON.stringify(dev.CopyFailuresAlarm?.Properties.Dimensions)).toContain('ferry-dev');
    const { DashboardBody } = dev.Dashboard?.Properties ?? {};
    const body = (DashboardBody as { 'Fn::Sub': string } | undefined)?.['Fn::Sub'] ?? '';
    const searches = body.match(/SEARCH\([^)]*\)/g) ?? [];
    expect(searches.length).toBeGreaterThan(0);
    for (const search of searches) expect(search).toContain('service=\\"ferry-dev\\"');
    expect(body).toContain('"service","ferry-dev","rule","docs-to-dr"');
    expect(body).not.toContain('ferry-prod');
  });
});
