import { createHash } from 'node:crypto';
import { RPO_METRIC } from '#rpo/metrics';
import { rulesWithRpo } from '#rpo/rules';
import { MONITOR_WINDOW_MS } from '#rpo/threshold';
import type { FerryConfig } from '#rules/config';

/**
 * One CloudWatch alarm per rule with `rpo`: the backlog monitor's OldestPendingAge for that rule (published
 * once a minute, src/rpo/backlog-monitor.ts) above the rule's RPO, in seconds. Alarm properties after
 * AWS::CloudWatch::Alarm (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-cloudwatch-alarm.html);
 * the metric's dimensions are those Powertools' EMF gives it, `service` and `rule`.
 */

/**
 * A logical id per rule: CloudFormation allows only letters and digits, so `-` and `_` are dropped and a digest
 * of the exact name keeps `a-b` and `ab` apart.
 */
export const rpoAlarmIdOf = (rule: string): string =>
  `RpoAlarm${rule.replace(/[^A-Za-z0-9]/g, '').slice(0, 40)}${createHash('sha256').update(rule).digest('hex').slice(0, 8)}`;

export function rpoAlarms(
  config: Pick<FerryConfig, 'rules'>,
  service: string,
  alarm: (description: string, properties: Record<string, unknown>) => unknown,
): Record<string, unknown> {
  return Object.fromEntries(
    rulesWithRpo(config).map(({ rule, rpoMs }) => [
      rpoAlarmIdOf(rule),
      alarm(`Rule ${rule}: an item has been pending longer than its RPO (${rpoMs / 1000} s)`, {
        Namespace: 'Ferry',
        MetricName: RPO_METRIC.oldestPendingAge,
        Dimensions: [
          { Name: 'service', Value: service },
          { Name: 'rule', Value: rule },
        ],
        Statistic: 'Maximum',
        Period: MONITOR_WINDOW_MS / 1000,
        ComparisonOperator: 'GreaterThanThreshold',
        Threshold: rpoMs / 1000,
      }),
    ]),
  );
}
