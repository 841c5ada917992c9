import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { type MetricDocuments, metricDocuments } from './metric-documents.ts';

export const SERVICE_NAME = 'ferry';
export const METRICS_NAMESPACE = 'Ferry';

/**
 * The `service` dimension of every metric one stage publishes: the service and the stage (`ferry-prod`), so
 * that two stages deployed in one account publish, alarm, chart and read their figures apart (a CloudWatch
 * metric is its namespace, name and full dimension set:
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch_concepts.html#Dimension). The
 * deployment hands it to every function as POWERTOOLS_SERVICE_NAME (serverless.yml); the template's alarms
 * and dashboard and `ferry status` name the same.
 */
export const metricServiceOf = (stage: string, service: string = SERVICE_NAME): string =>
  `${service}-${stage}`;

/** The Powertools set every handler is instrumented with (one instance each per Lambda environment). */
export interface Powertools {
  logger: Logger;
  metrics: Metrics;
  tracer: Tracer;
  /** Per-item figures, one EMF document per dimension set (the replication and RPO metrics). */
  documents: MetricDocuments;
}

/** `serviceName`: the stage's (metricServiceOf), as the deployment sets it for each function. */
export function createPowertools(
  serviceName: string = process.env.POWERTOOLS_SERVICE_NAME ?? SERVICE_NAME,
): Powertools {
  const logger = new Logger({ serviceName });
  return {
    logger,
    // Its own warnings (an empty batch) go through the Logger: structured, and subject to the log level.
    metrics: new Metrics({ namespace: METRICS_NAMESPACE, serviceName, logger }),
    tracer: new Tracer({ serviceName }),
    documents: metricDocuments({ namespace: METRICS_NAMESPACE, serviceName, logger }),
  };
}

/** The narrow logging surface domain code receives, instead of the whole Logger. */
export interface Log {
  debug(message: string, ...extra: Record<string, unknown>[]): void;
  info(message: string, ...extra: Record<string, unknown>[]): void;
  warn(message: string, ...extra: Record<string, unknown>[]): void;
  error(message: string, ...extra: Record<string, unknown>[]): void;
}
