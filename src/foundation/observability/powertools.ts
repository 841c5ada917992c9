import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { type MetricDocuments, metricDocuments } from './metric-documents.ts';

export const SERVICE_NAME = 'ferry';
export const METRICS_NAMESPACE = 'Ferry';

/** The Powertools set every handler is instrumented with (one instance each per Lambda environment). */
export interface Powertools {
  logger: Logger;
  metrics: Metrics;
  tracer: Tracer;
  /** Per-item figures, one EMF document per dimension set (the replication and RPO metrics). */
  documents: MetricDocuments;
}

export function createPowertools(): Powertools {
  const logger = new Logger({ serviceName: SERVICE_NAME });
  return {
    logger,
    // Its own warnings (an empty batch) go through the Logger: structured, and subject to the log level.
    metrics: new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE_NAME, logger }),
    tracer: new Tracer({ serviceName: SERVICE_NAME }),
    documents: metricDocuments({ namespace: METRICS_NAMESPACE, serviceName: SERVICE_NAME, logger }),
  };
}

/** The narrow logging surface domain code receives, instead of the whole Logger. */
export interface Log {
  debug(message: string, ...extra: Record<string, unknown>[]): void;
  info(message: string, ...extra: Record<string, unknown>[]): void;
  warn(message: string, ...extra: Record<string, unknown>[]): void;
  error(message: string, ...extra: Record<string, unknown>[]): void;
}
