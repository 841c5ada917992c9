import { describe, expect, it } from 'vitest';
import { type CfnTemplate, checkTemplate } from '#deploy/limits';
import { RPO_DASHBOARD_RULES, RPO_WIDGETS_PER_RULE } from '#deploy/rpo-dashboard';
import { templateParts } from '#deploy/template-parts';
import { configFrom } from '#test/support/fixtures';

type MetricWidget = {
  type: string;
  properties: {
    title?: string;
    markdown?: string;
    metrics?: unknown[][];
    annotations?: { horizontal?: { value: number; label?: string }[] };
  };
};

const deployment = { service: 'ferry', stage: 'prod', region: 'us-east-1' };

const TWO_RULES = `
rules:
  - name: docs-to-dr
    rpo: 15m
    objects: { bucket: acme-prod }
    to: [{ bucket: acme-dr, region: us-west-2 }]
  - name: ebs-to-dr
    rpo: 2h
    snapshots: { regions: [us-east-1] }
    to: [{ region: us-west-2 }]
  - name: logs-no-rpo
    objects: { bucket: acme-logs }
    to: [{ bucket: acme-logs-dr, region: us-west-2 }]
`;

const widgetsOf = (yaml: string): MetricWidget[] => {
  const dashboard = templateParts(configFrom(yaml), deployment).resources.Resources.Dashboard;
  const body = (dashboard.Properties?.DashboardBody as { 'Fn::Sub'?: string } | undefined)?.['Fn::Sub'] ?? '';
  return (JSON.parse(body) as { widgets: MetricWidget[] }).widgets;
};

const titled = (widgets: MetricWidget[], start: string) =>
  widgets.filter((w) => w.properties.title?.startsWith(start));

/** A metric line's namespace, name and dimensions (all but its trailing options object). */
const identity = (line: unknown[]) => line.filter((part) => typeof part === 'string');
const options = (line: unknown[]) => line.at(-1) as Record<string, unknown>;

describe('The dashboard of each rule with rpo', () => {
  const widgets = widgetsOf(TWO_RULES);

  it('It should give each rule with rpo its own four widgets, and none to a rule without', () => {
    expect(titled(widgets, 'RPO docs-to-dr:')).toHaveLength(RPO_WIDGETS_PER_RULE);
    expect(titled(widgets, 'RPO ebs-to-dr:')).toHaveLength(RPO_WIDGETS_PER_RULE);
    expect(JSON.stringify(widgets)).not.toContain('logs-no-rpo');
  });

  it("It should draw latency p50/p99/max of the rule's own metric, with a line at its RPO in ms", () => {
    for (const [rule, rpoMs] of [
      ['docs-to-dr', 900_000],
      ['ebs-to-dr', 7_200_000],
    ] as const) {
      const [latency] = titled(widgets, `RPO ${rule}: latency`);
      const lines = latency?.properties.metrics ?? [];
      expect(lines.map(identity)).toEqual(
        Array(3).fill(['Ferry', 'RpoLatency', 'service', 'ferry-prod', 'rule', rule]),
      );
      expect(lines.map((line) => options(line).stat)).toEqual(['p50', 'p99', 'Maximum']);
      expect(latency?.properties.annotations?.horizontal?.map((a) => a.value)).toEqual([rpoMs]);
    }
  });

  it('It should draw the oldest pending age, published in seconds, against the RPO in seconds', () => {
    const [age] = titled(widgets, 'RPO docs-to-dr: oldest pending age');
    expect(age?.properties.metrics?.map(identity)).toEqual([
      ['Ferry', 'OldestPendingAge', 'service', 'ferry-prod', 'rule', 'docs-to-dr'],
    ]);
    expect(age?.properties.annotations?.horizontal?.map((a) => a.value)).toEqual([900]);
    const [ebs] = titled(widgets, 'RPO ebs-to-dr: oldest pending age');
    expect(ebs?.properties.annotations?.horizontal?.map((a) => a.value)).toEqual([7200]);
  });

  it('It should count items within and over, and compute the share within from those two lines', () => {
    const [items] = titled(widgets, 'RPO ebs-to-dr: items within');
    const lines = items?.properties.metrics ?? [];
    const [within, over, share] = lines;
    expect(identity(within ?? [])).toEqual([
      'Ferry',
      'ItemsWithinRpo',
      'service',
      'ferry-prod',
      'rule',
      'ebs-to-dr',
    ]);
    expect(identity(over ?? [])).toEqual([
      'Ferry',
      'ItemsOverRpo',
      'service',
      'ferry-prod',
      'rule',
      'ebs-to-dr',
    ]);
    const expression = String(options(share ?? [{}]).expression);
    // 100 * within / (within + over), over the ids the two metric lines carry in this widget.
    const ids = [options(within ?? []).id, options(over ?? []).id];
    expect(ids).toEqual(['within', 'over']);
    expect(expression.replaceAll('FILL(within,0)', 'within').replaceAll('FILL(over,0)', 'over')).toBe(
      '100*within/(within+over)',
    );
  });

  it('It should draw pending items and bytes of the rule', () => {
    const [pending] = titled(widgets, 'RPO docs-to-dr: pending');
    expect(pending?.properties.metrics?.map(identity)).toEqual([
      ['Ferry', 'PendingItems', 'service', 'ferry-prod', 'rule', 'docs-to-dr'],
      ['Ferry', 'PendingBytes', 'service', 'ferry-prod', 'rule', 'docs-to-dr'],
    ]);
  });

  it('It should stop at the cap, say how many rules are left to the search widgets, and stay under 500 widgets', () => {
    const extra = 3;
    const yaml = `rules:\n${Array.from(
      { length: RPO_DASHBOARD_RULES + extra },
      (_, i) => `  - name: r${i}
    rpo: 1h
    objects: { bucket: acme-prod, prefix: p${i}/ }
    to: [{ bucket: acme-dr, region: us-west-2 }]
`,
    ).join('')}`;
    const many = widgetsOf(yaml);
    const none = widgetsOf(TWO_RULES.split('  - name: ebs-to-dr')[0]?.replace('rpo: 15m', '') ?? '');
    expect(many.length - none.length).toBe(RPO_DASHBOARD_RULES * RPO_WIDGETS_PER_RULE + 1);
    expect(titled(many, `RPO r${RPO_DASHBOARD_RULES - 1}:`)).toHaveLength(RPO_WIDGETS_PER_RULE);
    expect(titled(many, `RPO r${RPO_DASHBOARD_RULES}:`)).toHaveLength(0);
    expect(many.at(-1)?.properties.markdown).toContain(`${extra} more rules`);
    expect(many.length).toBeLessThanOrEqual(500);
    // deploy/limits.ts, as the package runs it, finds the dashboard within CloudWatch's limits.
    const { Resources } = templateParts(configFrom(yaml), deployment).resources;
    const { errors } = checkTemplate('main', { Resources } as CfnTemplate, '{}');
    expect(errors.filter((error) => error.name === 'DashboardSizeError')).toEqual([]);
    // The search widgets still draw every rule, those past the cap included.
    expect(titled(many, 'RPO: latency per rule')).toHaveLength(1);
  });
});
