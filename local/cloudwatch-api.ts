import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { METRICS_NAMESPACE, SERVICE_NAME } from '#foundation/observability/powertools';
import { readJsonRequest, sendJson } from './aws-json.ts';
import type { RpoTally } from './rpo-tally.ts';

/**
 * The sandbox's CloudWatch: GetMetricData over the RPO values the handlers reported (local/rpo-tally.ts), on
 * the wire the SDK 3.1164.0 uses for CloudWatch: AWS JSON 1.0 (`X-Amz-Target:
 * GraniteServiceVersion20100801.GetMetricData`, epoch-second dates), with the query error code in
 * `x-amzn-query-error` (the client is query-compatible). It refuses what the API reference says CloudWatch
 * refuses (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_GetMetricData.html,
 * API_MetricDataQuery.html): no queries or more than 500, an Id not matching `[a-z][a-zA-Z0-9_]*` or used
 * twice, StartTime not before EndTime, a Period below 60 that is not 1, 5, 10, 20 or 30 or above 60 that is
 * not a multiple of 60. Only MetricStat queries are served (no metric math or Metrics Insights).
 * Percentiles are nearest-rank over the raw values of a period.
 */

const MAX_QUERIES = 500;
const ID = /^[a-z][a-zA-Z0-9_]{0,254}$/;

interface Query {
  Id?: string;
  MetricStat?: {
    Metric?: { Namespace?: string; MetricName?: string; Dimensions?: { Name?: string; Value?: string }[] };
    Period?: number;
    Stat?: string;
  };
  Expression?: string;
}

class ValidationError extends Error {}

function refuse(res: ServerResponse, code: string, message: string) {
  sendJson(
    res,
    400,
    {
      __type: `com.amazonaws.cloudwatch#${code === 'ValidationError' ? 'ValidationException' : `${code}Exception`}`,
      message,
    },
    { 'x-amzn-requestid': randomUUID(), 'x-amzn-query-error': `${code};Sender` },
  );
}

/** A statistic over raw values: SampleCount, Sum, Average, Minimum, Maximum or pNN (nearest rank). */
export function statisticOf(stat: string, values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (stat === 'SampleCount') return sorted.length;
  if (stat === 'Sum') return sorted.reduce((sum, value) => sum + value, 0);
  if (stat === 'Average') return sorted.reduce((sum, value) => sum + value, 0) / sorted.length;
  if (stat === 'Minimum') return sorted[0] ?? 0;
  if (stat === 'Maximum') return sorted.at(-1) ?? 0;
  const percentile = /^p(\d{1,2}(?:\.\d+)?|100)$/.exec(stat);
  if (percentile?.[1]) {
    const rank = Math.max(1, Math.ceil((Number(percentile[1]) / 100) * sorted.length));
    return sorted[rank - 1] ?? 0;
  }
  throw new ValidationError(`The statistic ${stat} is not served by the Ferry sandbox`);
}

const dimensionKey = (dimensions: readonly { Name?: string; Value?: string }[]) =>
  dimensions
    .map((d) => `${d.Name}=${d.Value}`)
    .sort()
    .join(',');

function answer(tally: RpoTally, query: Query, start: number, end: number) {
  const stat = query.MetricStat;
  if (!stat?.Metric?.MetricName || !stat.Stat || stat.Period === undefined)
    throw new ValidationError(`MetricDataQuery ${query.Id} needs a MetricStat with Metric, Period and Stat`);
  const period = stat.Period;
  if (period < 60 ? ![1, 5, 10, 20, 30].includes(period) : period % 60 !== 0)
    throw new ValidationError(`The period ${period} must be 1, 5, 10, 20, 30 or a multiple of 60`);
  const wanted = dimensionKey(stat.Metric.Dimensions ?? []);
  // A datapoint's metric is identified by namespace, name and its full dimension set, as Powertools sends it.
  const values = tally.datapoints.filter(
    (point) =>
      stat.Metric?.Namespace === METRICS_NAMESPACE &&
      point.metric === stat.Metric.MetricName &&
      dimensionKey([
        { Name: 'service', Value: SERVICE_NAME },
        { Name: 'rule', Value: point.rule },
      ]) === wanted &&
      point.at >= start &&
      point.at < end,
  );
  const buckets = new Map<number, number[]>();
  for (const point of values) {
    const at = start + Math.floor((point.at - start) / (period * 1000)) * period * 1000;
    buckets.set(at, [...(buckets.get(at) ?? []), point.value]);
  }
  // TimestampDescending, the default ScanBy.
  const times = [...buckets.keys()].sort((a, b) => b - a);
  return {
    Id: query.Id,
    Label: stat.Metric.MetricName,
    Timestamps: times.map((at) => at / 1000),
    Values: times.map((at) => statisticOf(stat.Stat ?? '', buckets.get(at) ?? [])),
    StatusCode: 'Complete',
  };
}

export async function serveCloudWatch(tally: RpoTally, req: IncomingMessage, res: ServerResponse) {
  const { operation, input } = await readJsonRequest(req);
  if (operation !== 'GetMetricData')
    return refuse(
      res,
      'InvalidAction',
      `The Ferry sandbox's CloudWatch serves GetMetricData only, not ${operation}`,
    );
  const { MetricDataQueries, StartTime, EndTime } = input as {
    MetricDataQueries?: Query[];
    StartTime?: number;
    EndTime?: number;
  };
  try {
    if (!Array.isArray(MetricDataQueries) || MetricDataQueries.length === 0)
      throw new ValidationError('MetricDataQueries must hold at least one query');
    if (MetricDataQueries.length > MAX_QUERIES)
      throw new ValidationError(`MetricDataQueries must not hold more than ${MAX_QUERIES} queries`);
    if (typeof StartTime !== 'number' || typeof EndTime !== 'number')
      throw new ValidationError('StartTime and EndTime are required');
    if (StartTime >= EndTime) throw new ValidationError('The parameter StartTime must be less than EndTime');
    const ids = new Set<string>();
    for (const query of MetricDataQueries) {
      if (!query.Id || !ID.test(query.Id))
        throw new ValidationError(
          `The Id ${query.Id ?? '(none)'} must start with a lowercase letter and hold only letters, digits and underscores`,
        );
      if (ids.has(query.Id)) throw new ValidationError(`The Id ${query.Id} is used twice`);
      ids.add(query.Id);
      if (query.Expression !== undefined)
        throw new ValidationError('The Ferry sandbox serves MetricStat queries only, not expressions');
    }
    // StartTime is rounded down to the minute (for windows under 15 days old, as the API reference says).
    const start = Math.floor((StartTime * 1000) / 60_000) * 60_000;
    const results = MetricDataQueries.map((query) => answer(tally, query, start, EndTime * 1000));
    return sendJson(res, 200, { MetricDataResults: results, Messages: [] });
  } catch (error) {
    if (error instanceof ValidationError) return refuse(res, 'ValidationError', error.message);
    throw error;
  }
}
