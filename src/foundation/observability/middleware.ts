import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { parser } from '@aws-lambda-powertools/parser/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import type { z } from 'zod';
import { toMalformedEventError } from './malformed-event.ts';
import type { Powertools } from './powertools.ts';

/**
 * The one instrumentation chain of every Ferry handler: tracing, a logger with the Lambda context,
 * metrics flushed per invocation, the event parsed by its zod schema (a malformed event fails with the
 * fields it lacks), and every failure logged with its cause before it reaches Lambda's retries and DLQ.
 */
export function instrumented<Schema extends z.ZodType, Result>(
  tools: Powertools,
  schema: Schema,
  work: (event: z.output<Schema>, context: Context) => Promise<Result>,
) {
  return middy(work)
    .use(captureLambdaHandler(tools.tracer))
    .use(injectLambdaContext(tools.logger, { clearState: true }))
    .use(logMetrics(tools.metrics, { captureColdStartMetric: true }))
    .use({
      // One figure per invocation in the batch metrics (the copy figures are emitted per rule and cause).
      before: async () => {
        tools.metrics.addMetric('EventsReceived', MetricUnit.Count, 1);
      },
      onError: async (request) => {
        request.error = toMalformedEventError(request.error) ?? request.error;
        tools.logger.error('Invocation failed', { error: request.error });
      },
    })
    .use(parser({ schema }));
}
