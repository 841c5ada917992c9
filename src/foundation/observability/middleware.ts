import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { parser } from '@aws-lambda-powertools/parser/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import type { z } from 'zod';
import { toMalformedEventError } from './malformed-event.ts';
import type { Powertools } from './powertools.ts';

/**
 * The one instrumentation chain of every Ferry handler: tracing, a logger with the Lambda context,
 * the cold-start metric, the event parsed by its zod schema (a malformed event fails with the
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
    .use({
      // No per-invocation batch document: its one figure, EventsReceived, repeated Lambda's own free
      // `Invocations` metric ("equals the number of requests billed",
      // https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html) at one log event of
      // 223 B per invocation (BENCHMARKS.md, requests). The figures are written by metric-documents.ts as
      // they happen; ColdStart is emitted at once, on an environment's first invocation only.
      before: async (request) => {
        tools.metrics.captureColdStartMetric(request.context.functionName);
      },
      onError: async (request) => {
        request.error = toMalformedEventError(request.error) ?? request.error;
        tools.logger.error('Invocation failed', { error: request.error });
      },
    })
    .use(parser({ schema }));
}
