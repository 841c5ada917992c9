// What an invocation writes to CloudWatch Logs, and what that costs: counted from the real output of one
// invocation of a bundled function (local/bundled-function.ts), plus the platform lines Lambda itself adds.
// Used by `npm run bench -- requests`.

/**
 * CloudWatch Logs Standard ingestion, us-east-1: $0.50 per GB (https://aws.amazon.com/cloudwatch/pricing/),
 * a decimal GB.
 */
export const LOG_PRICE_PER_BYTE = 0.5 / 1e9;

/**
 * What CloudWatch Logs counts per event beside its message: "the sum of all event messages in UTF-8, plus
 * 26 bytes for each log event" (PutLogEvents,
 * https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutLogEvents.html). Counted as
 * billed bytes here: an upper estimate if ingestion is billed on the messages alone.
 */
export const EVENT_OVERHEAD_BYTES = 26;

export interface LogTally {
  events: number;
  /** Messages in UTF-8 plus EVENT_OVERHEAD_BYTES per event. */
  bytes: number;
  /** Of those, the Embedded Metric Format documents (Powertools Metrics). */
  metricEvents: number;
  metricBytes: number;
}

export const emptyTally = (): LogTally => ({ events: 0, bytes: 0, metricEvents: 0, metricBytes: 0 });

const eventBytes = (line: string) => Buffer.byteLength(line, 'utf8') + EVENT_OVERHEAD_BYTES;

/** An EMF document: a JSON object with the `_aws` metadata key CloudWatch extracts metrics from. */
const isMetricDocument = (line: string) => {
  try {
    const parsed = JSON.parse(line) as unknown;
    return typeof parsed === 'object' && parsed !== null && '_aws' in parsed;
  } catch {
    return false;
  }
};

/**
 * Tallies one invocation's output: each line is one log event (Powertools Logger and Metrics write one
 * JSON document per line; Lambda's Node.js runtime sends each console write as an event), and
 * `system` adds the platform's own lines.
 */
export function tallyInvocation(output: string, system: string[] = []): LogTally {
  const tally = emptyTally();
  const lines = output.split('\n').filter((line) => line.trim() !== '');
  for (const line of [...lines, ...system]) {
    const bytes = eventBytes(line);
    tally.events += 1;
    tally.bytes += bytes;
    if (isMetricDocument(line)) {
      tally.metricEvents += 1;
      tally.metricBytes += bytes;
    }
  }
  return tally;
}

export interface LoggingConfig {
  logFormat: 'Text' | 'JSON';
  systemLogLevel: 'DEBUG' | 'INFO' | 'WARN';
}

/**
 * The platform lines Lambda writes for one invocation. In the Text format, START, END and REPORT
 * (https://docs.aws.amazon.com/lambda/latest/dg/nodejs-logging.html shows them, and REPORT's fields:
 * Duration, Billed Duration, Memory Size, Max Memory Used). With the JSON format, system logs have levels
 * and `platform.start`, `platform.runtimeDone` and `platform.report` are INFO, so a system log level of WARN
 * drops them (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-log-level.html).
 * The Text lines are modelled with a request id of AWS's length (36) and typical figures.
 */
export function systemLines(
  config: LoggingConfig,
  invocation: { requestId: string; durationMs: number; memoryMb: number; maxMemoryMb: number },
): string[] {
  if (config.logFormat === 'JSON') {
    if (config.systemLogLevel === 'WARN') return [];
    const time = '2026-01-01T00:00:00.000Z';
    const { requestId, durationMs, memoryMb, maxMemoryMb } = invocation;
    return [
      JSON.stringify({ time, type: 'platform.start', record: { requestId, version: '$LATEST' } }),
      JSON.stringify({
        time,
        type: 'platform.runtimeDone',
        record: { requestId, status: 'success', metrics: { durationMs, producedBytes: 0 } },
      }),
      JSON.stringify({
        time,
        type: 'platform.report',
        record: {
          requestId,
          metrics: {
            durationMs,
            billedDurationMs: Math.ceil(durationMs),
            memorySizeMB: memoryMb,
            maxMemoryUsedMB: maxMemoryMb,
          },
          status: 'success',
        },
      }),
    ];
  }
  const { requestId, durationMs, memoryMb, maxMemoryMb } = invocation;
  return [
    `START RequestId: ${requestId} Version: $LATEST`,
    `END RequestId: ${requestId}`,
    `REPORT RequestId: ${requestId}\tDuration: ${durationMs.toFixed(2)} ms\tBilled Duration: ${Math.ceil(durationMs)} ms\tMemory Size: ${memoryMb} MB\tMax Memory Used: ${maxMemoryMb} MB\t`,
  ];
}

/** Adds `b` into `a`. */
export function addTally(a: LogTally, b: LogTally): LogTally {
  return {
    events: a.events + b.events,
    bytes: a.bytes + b.bytes,
    metricEvents: a.metricEvents + b.metricEvents,
    metricBytes: a.metricBytes + b.metricBytes,
  };
}
