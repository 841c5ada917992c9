import { RPO_METRIC } from '#rpo/metrics';
import { rulesWithRpo } from '#rpo/rules';

/**
 * The dashboard's widgets of each rule with `rpo` (issue 15 §3): its latency p50/p99/max against a line at its
 * RPO, items within and over it with the share within, its oldest pending item's age against the RPO, and its
 * pending items and bytes. Metric names and dimensions are those src/rpo/metrics.ts publishes (namespace
 * `Ferry`, dimensions `service` and `rule`), so each line is one exact metric, not a search.
 *
 * Body structure after "Dashboard Body Structure and Syntax"
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/CloudWatch-Dashboard-Body-Structure.html):
 * a metric is `[Namespace, MetricName, DimensionName, DimensionValue, …, {rendering options}]`, a metric math
 * expression `[{ expression, id, label }]` over metrics given an `id` (hidden with `visible: false`), and a
 * horizontal line at a value is `annotations.horizontal: [{ value, label }]` on the left y axis, in the unit of
 * the metrics drawn (RpoLatency is published in ms, OldestPendingAge in s).
 */

/**
 * Rules that get widgets of their own, at most: 4 widgets each, so 50 rules are 200 of the 500 widgets a
 * dashboard may hold (the body structure page above; "CloudWatch service quotas",
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch_limits.html, also allows at most
 * 500 metrics per widget) with 9 metrics a rule, and about 130 KB of the template's 1 MB (deploy/limits.ts).
 * Rules past the cap, in configuration order, are drawn only in the dashboard's search widgets, one line per
 * rule, as every rule is.
 */
export const RPO_DASHBOARD_RULES = 50;

/** Widgets per rule: latency, items within and over, oldest pending age, pending items and bytes. */
export const RPO_WIDGETS_PER_RULE = 4;

type Widget = (title: string, metrics: unknown[], extra?: Record<string, unknown>) => unknown;

export function rpoDashboardWidgets(
  config: Parameters<typeof rulesWithRpo>[0],
  service: string,
  widget: Widget,
  cap: number = RPO_DASHBOARD_RULES,
): unknown[] {
  const rules = rulesWithRpo(config);
  const metric = (name: string, rule: string, options: Record<string, unknown>) => [
    'Ferry',
    name,
    'service',
    service,
    'rule',
    rule,
    options,
  ];
  const line = (value: number, label: string) => ({ annotations: { horizontal: [{ value, label }] } });
  const own = rules.slice(0, cap).flatMap(({ rule, rpoMs }) => {
    const rpo = `RPO ${rpoMs / 1000} s`;
    return [
      widget(
        `RPO ${rule}: latency p50, p99 and maximum (ms)`,
        [
          metric(RPO_METRIC.latency, rule, { stat: 'p50', label: 'p50' }),
          metric(RPO_METRIC.latency, rule, { stat: 'p99', label: 'p99' }),
          metric(RPO_METRIC.latency, rule, { stat: 'Maximum', label: 'max' }),
        ],
        line(rpoMs, rpo),
      ),
      widget(`RPO ${rule}: items within and over it, and the share within (%)`, [
        metric(RPO_METRIC.within, rule, { stat: 'Sum', id: 'within', label: 'within' }),
        metric(RPO_METRIC.over, rule, { stat: 'Sum', id: 'over', label: 'over' }),
        [
          {
            // FILL: a period with only one of the two published counts as 0 for the other, not as no data.
            expression: '100*FILL(within,0)/(FILL(within,0)+FILL(over,0))',
            id: 'share',
            label: '% within',
            yAxis: 'right',
          },
        ],
      ]),
      widget(
        `RPO ${rule}: oldest pending age (s)`,
        [metric(RPO_METRIC.oldestPendingAge, rule, { stat: 'Maximum', label: 'oldest' })],
        line(rpoMs / 1000, rpo),
      ),
      widget(`RPO ${rule}: pending items and bytes`, [
        metric(RPO_METRIC.pendingItems, rule, { stat: 'Maximum', label: 'items' }),
        metric(RPO_METRIC.pendingBytes, rule, { stat: 'Maximum', label: 'bytes', yAxis: 'right' }),
      ]),
    ];
  });
  const rest = rules.length - own.length / RPO_WIDGETS_PER_RULE;
  if (rest <= 0) return own;
  return [
    ...own,
    {
      type: 'text',
      width: 24,
      height: 2,
      properties: {
        markdown: `${rest} more rules with an RPO have no widgets of their own (at most ${cap}): see the "RPO: … per rule" widgets above, one line per rule.`,
      },
    },
  ];
}
