import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { METRICS_NAMESPACE } from '#foundation/observability/powertools';
import { readJsonRequest, sendJson } from './aws-json.ts';
import type { RpoTally } from './rpo-tally.ts';

/**
 * The sandbox's CloudWatch: GetMetricData over the RPO values the handlers reported (local/rpo-tally.ts), on
 * the wire the SDK 3.1164.0 uses for CloudWatch: AWS JSON 1.0 (`X-Amz-Target:
 * GraniteServiceVersion20100801.GetMetricData`, epoch-second dates), with the query error code in
 * `x-amzn-query-error` (the client is query-compatible). It refuses what the API reference says CloudWatch
 * refuses (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_GetMetricData.html,
 * API_MetricDataQuery.html, API_MetricStat.html), each with the error code the reference names for it: its
 * own "Errors" section (InvalidNextToken: "The next token specified is invalid") and the common errors
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/CommonErrors.html, all HTTP 400):
 * - MissingParameter ("a required parameter for the specified action is not supplied"): no
 *   MetricDataQueries, StartTime or EndTime; a query without Id; a MetricStat without Metric, Period or Stat;
 * - ValidationError ("the input fails to satisfy the constraints specified by an AWS service"): the
 *   constraints the reference gives as such: more than 500 queries, an Id longer than 255, a Period below 1;
 * - InvalidParameterValue ("an invalid or out-of-range value was supplied for the input parameter"): the
 *   value rules the reference states in words: an Id not starting with a lowercase letter or holding other
 *   than letters, digits and underscores, an Id used twice, StartTime not before EndTime, a Period below 60
 *   that is not 1, 5, 10, 20 or 30 or above 60 that is not a multiple of 60, a statistic that is none;
 * - InvalidParameterCombination ("parameters that must not be used together were used together"): a
 *   query with both MetricStat and Expression, or neither (MetricDataQuery: "exactly one");
 * - InvalidNextToken: a NextToken this CloudWatch never handed out (it answers every query in one page).
 * Only MetricStat queries are served: an Expression is refused by the sandbox (ValidationError, saying so),
 * where CloudWatch would evaluate it. Percentiles are nearest-rank over the raw values of a period.
 */

const MAX_QUERIES = 500;
const MAX_ID_LENGTH = 255;
const ID = /^[a-z][a-zA-Z0-9_]*$/;

interface Query {
  Id?: string;
  MetricStat?: {
    Metric?: { Namespace?: string; MetricName?: string; Dimensions?: { Name?: string; Value?: string }[] };
    Period?: number;
    Stat?: string;
  };
  Expression?: string;
}

/** Each query error code with the shape the CloudWatch model names for it (the JSON `__type`). */
const SHAPE_OF = {
  MissingParameter: 'MissingRequiredParameterException',
  ValidationError: 'ValidationException',
  InvalidParameterValue: 'InvalidParameterValueException',
  InvalidParameterCombination: 'InvalidParameterCombinationException',
  InvalidNextToken: 'InvalidNextToken',
  InvalidAction: 'InvalidAction',
} as const;

type RefusalCode = keyof typeof SHAPE_OF;

/** A request CloudWatch refuses, with the code it refuses it with. */
class GetMetricDataRefusal extends Error {
  constructor(
    readonly code: RefusalCode,
    message: string,
  ) {
    super(message);
    this.name = 'GetMetricDataRefusal';
  }
}

function refuse(res: ServerResponse, code: RefusalCode, message: string) {
  sendJson(
    res,
    400,
    { __type: `com.amazonaws.cloudwatch#${SHAPE_OF[code]}`, message },
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
  throw new GetMetricDataRefusal(
    'InvalidParameterValue',
    `The statistic ${stat} is not one of SampleCount, Sum, Average, Minimum, Maximum or pNN`,
  );
}

const dimensionKey = (dimensions: readonly { Name?: string; Value?: string }[]) =>
  dimensions
    .map((d) => `${d.Name}=${d.Value}`)
    .sort()
    .join(',');

function answer(tally: RpoTally, service: string, query: Query, start: number, end: number) {
  const stat = query.MetricStat;
  if (!stat?.Metric?.MetricName || !stat.Stat || stat.Period === undefined)
    throw new GetMetricDataRefusal(
      'MissingParameter',
      `MetricDataQuery ${query.Id} needs a MetricStat with Metric, Period and Stat`,
    );
  const period = stat.Period;
  if (period < 1)
    throw new GetMetricDataRefusal('ValidationError', `The period ${period} must be at least 1`);
  if (period < 60 ? ![1, 5, 10, 20, 30].includes(period) : period % 60 !== 0)
    throw new GetMetricDataRefusal(
      'InvalidParameterValue',
      `The period ${period} must be 1, 5, 10, 20, 30 or a multiple of 60`,
    );
  const wanted = dimensionKey(stat.Metric.Dimensions ?? []);
  // A datapoint's metric is identified by namespace, name and its full dimension set, as Powertools sends it.
  const values = tally.datapoints.filter(
    (point) =>
      stat.Metric?.Namespace === METRICS_NAMESPACE &&
      point.metric === stat.Metric.MetricName &&
      dimensionKey([
        { Name: 'service', Value: service },
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

/** `service`: the sandbox stage's `service` dimension (metricServiceOf), the only one its handlers publish. */
export async function serveCloudWatch(
  tally: RpoTally,
  service: string,
  req: IncomingMessage,
  res: ServerResponse,
) {
  const { operation, input } = await readJsonRequest(req);
  if (operation !== 'GetMetricData')
    return refuse(
      res,
      'InvalidAction',
      `The Ferry sandbox's CloudWatch serves GetMetricData only, not ${operation}`,
    );
  const { MetricDataQueries, StartTime, EndTime, NextToken } = input as {
    MetricDataQueries?: Query[];
    StartTime?: number;
    EndTime?: number;
    NextToken?: string;
  };
  try {
    if (!Array.isArray(MetricDataQueries) || MetricDataQueries.length === 0)
      throw new GetMetricDataRefusal('MissingParameter', 'The parameter MetricDataQueries is required');
    if (typeof StartTime !== 'number' || typeof EndTime !== 'number')
      throw new GetMetricDataRefusal('MissingParameter', 'The parameters StartTime and EndTime are required');
    if (MetricDataQueries.length > MAX_QUERIES)
      throw new GetMetricDataRefusal(
        'ValidationError',
        `MetricDataQueries must not hold more than ${MAX_QUERIES} queries`,
      );
    if (NextToken !== undefined)
      throw new GetMetricDataRefusal('InvalidNextToken', `The next token ${NextToken} is invalid`);
    if (StartTime >= EndTime)
      throw new GetMetricDataRefusal(
        'InvalidParameterValue',
        'The parameter StartTime must be less than the parameter EndTime',
      );
    const ids = new Set<string>();
    for (const query of MetricDataQueries) {
      if (!query.Id) throw new GetMetricDataRefusal('MissingParameter', 'Every MetricDataQuery needs an Id');
      if (query.Id.length > MAX_ID_LENGTH)
        throw new GetMetricDataRefusal(
          'ValidationError',
          `The Id ${query.Id} is longer than ${MAX_ID_LENGTH}`,
        );
      if (!ID.test(query.Id))
        throw new GetMetricDataRefusal(
          'InvalidParameterValue',
          `The Id ${query.Id} must start with a lowercase letter and hold only letters, digits and underscores`,
        );
      if (ids.has(query.Id))
        throw new GetMetricDataRefusal('InvalidParameterValue', `The Id ${query.Id} is used twice`);
      ids.add(query.Id);
      if ((query.Expression === undefined) === (query.MetricStat === undefined))
        throw new GetMetricDataRefusal(
          'InvalidParameterCombination',
          `MetricDataQuery ${query.Id} must hold exactly one of MetricStat and Expression`,
        );
      if (query.Expression !== undefined)
        throw new GetMetricDataRefusal(
          'ValidationError',
          'The Ferry sandbox serves MetricStat queries only, not expressions',
        );
    }
    // StartTime is rounded down to the minute (for windows under 15 days old, as the API reference says).
    const start = Math.floor((StartTime * 1000) / 60_000) * 60_000;
    const results = MetricDataQueries.map((query) => answer(tally, service, query, start, EndTime * 1000));
    return sendJson(res, 200, { MetricDataResults: results, Messages: [] });
  } catch (error) {
    if (error instanceof GetMetricDataRefusal) return refuse(res, error.code, error.message);
    throw error;
  }
}
