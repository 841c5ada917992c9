import {
  type CloudWatchClient,
  GetMetricDataCommand,
  type GetMetricDataCommandInput,
  type MetricDataQuery,
  type MetricDataResult,
} from '@aws-sdk/client-cloudwatch';
import { METRICS_NAMESPACE } from '#foundation/observability/powertools';
import { RPO_METRIC } from './metrics.ts';
import type { RpoFigures } from './status.ts';

/**
 * `ferry status` reads each rule's RPO figures with CloudWatch GetMetricData
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_GetMetricData.html): five MetricStat
 * queries per rule, no metric math. The metric is named exactly as Powertools publishes it (namespace
 * `Ferry`, dimensions `service` and `rule`: Powertools adds `service` to every metric, the stage's value
 * (`ferry-prod`, metricServiceOf), so another stage's figures in the same account are not read; a query must name
 * every dimension of the metric it reads, https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch_concepts.html#Dimension).
 * One period spans the whole window, so each query answers one datapoint: the percentile over every raw
 * value of the window (EMF publishes raw values, so CloudWatch can compute percentiles over them).
 */

/** One GetMetricData call holds at most 500 MetricDataQuery structures (API reference above). */
export const MAX_QUERIES_PER_CALL = 500;

const STATS = [
  { key: 'p50Ms', metric: RPO_METRIC.latency, stat: 'p50' },
  { key: 'p99Ms', metric: RPO_METRIC.latency, stat: 'p99' },
  { key: 'maxMs', metric: RPO_METRIC.latency, stat: 'Maximum' },
  { key: 'within', metric: RPO_METRIC.within, stat: 'Sum' },
  { key: 'over', metric: RPO_METRIC.over, stat: 'Sum' },
] as const satisfies readonly { key: keyof RpoFigures; metric: string; stat: string }[];

/** The dimensions of a rule's RPO metrics, as Powertools publishes them for a stage (src/rpo/metrics.ts). */
export const rpoMetricDimensions = (rule: string, service: string) => [
  { Name: 'service', Value: service },
  { Name: 'rule', Value: rule },
];

/**
 * The period covering [start, end): a whole number of minutes (periods of 60 s and more must be multiples of
 * 60), in 5-minute steps for data older than 15 days and hourly steps past 63 days, as CloudWatch keeps it
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_GetMetricData.html, StartTime).
 */
export function windowPeriodSeconds(start: Date, end: Date, now = end.getTime()): number {
  const ageDays = (now - start.getTime()) / 86_400_000;
  const step = ageDays > 63 ? 3600 : ageDays > 15 ? 300 : 60;
  const seconds = Math.max(1, Math.ceil((end.getTime() - start.getTime()) / 1000));
  return Math.ceil(seconds / step) * step;
}

/** Query ids: a lowercase letter first, then letters, digits and underscores (MetricDataQuery.Id). */
const idOf = (ruleIndex: number, key: string) => `r${ruleIndex}_${key}`;

/** The GetMetricData inputs for the rules over [start, end): as many calls as 500 queries per call need. */
export function rpoMetricRequests(
  rules: readonly string[],
  start: Date,
  end: Date,
  service: string,
): GetMetricDataCommandInput[] {
  const period = windowPeriodSeconds(start, end);
  const queries: MetricDataQuery[] = rules.flatMap((rule, index) =>
    STATS.map(({ key, metric, stat }) => ({
      Id: idOf(index, key),
      MetricStat: {
        Metric: {
          Namespace: METRICS_NAMESPACE,
          MetricName: metric,
          Dimensions: rpoMetricDimensions(rule, service),
        },
        Period: period,
        Stat: stat,
      },
      ReturnData: true,
    })),
  );
  const requests: GetMetricDataCommandInput[] = [];
  for (let at = 0; at < queries.length; at += MAX_QUERIES_PER_CALL)
    requests.push({
      MetricDataQueries: queries.slice(at, at + MAX_QUERIES_PER_CALL),
      StartTime: start,
      EndTime: end,
    });
  return requests;
}

/**
 * The figures per rule from the results. A rule with no datapoint has no entry (nothing verified in the
 * window). Should the window span several periods after all, counts are summed and the maximum kept; the
 * percentiles of several periods cannot be combined, so the largest is kept (an upper bound).
 */
export function rpoFiguresOf(
  rules: readonly string[],
  results: readonly MetricDataResult[],
): Map<string, RpoFigures> {
  const byId = new Map(results.map((result) => [result.Id ?? '', result.Values ?? []]));
  const figures = new Map<string, RpoFigures>();
  rules.forEach((rule, index) => {
    const entry: RpoFigures = { p50Ms: 0, p99Ms: 0, maxMs: 0, within: 0, over: 0 };
    let seen = false;
    for (const { key } of STATS) {
      const values = byId.get(idOf(index, key)) ?? [];
      if (values.length === 0) continue;
      seen = true;
      entry[key] =
        key === 'within' || key === 'over'
          ? values.reduce((sum, value) => sum + value, 0)
          : Math.max(...values);
    }
    if (seen) figures.set(rule, entry);
  });
  return figures;
}

/** Reads the rules' figures of one stage (`service`: metricServiceOf) over [start, end), every page of every call. */
export async function readRpoFigures(
  cloudwatch: CloudWatchClient,
  rules: readonly string[],
  start: Date,
  end: Date,
  service: string,
): Promise<Map<string, RpoFigures>> {
  const results: MetricDataResult[] = [];
  for (const input of rpoMetricRequests(rules, start, end, service)) {
    let NextToken: string | undefined;
    do {
      const page = await cloudwatch.send(
        new GetMetricDataCommand({ ...input, ...(NextToken ? { NextToken } : {}) }),
      );
      results.push(...(page.MetricDataResults ?? []));
      NextToken = page.NextToken;
    } while (NextToken);
  }
  return rpoFiguresOf(rules, mergeById(results));
}

/** Pages of one query's results: one entry per id, values concatenated. */
function mergeById(results: readonly MetricDataResult[]): MetricDataResult[] {
  const merged = new Map<string, number[]>();
  for (const result of results)
    merged.set(result.Id ?? '', [...(merged.get(result.Id ?? '') ?? []), ...(result.Values ?? [])]);
  return [...merged].map(([Id, Values]) => ({ Id, Values }));
}
