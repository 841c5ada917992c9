import type { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, type MetricUnit } from '@aws-lambda-powertools/metrics';

export interface MetricEntry {
  name: string;
  unit: (typeof MetricUnit)[keyof typeof MetricUnit];
  value: number;
}

/** Writes the entries as one log event: one EMF document with one dimension set. */
export type MetricDocumentWriter = (
  dimensions: Record<string, string>,
  entries: readonly MetricEntry[],
) => void;

/**
 * Several metrics that share a dimension set go in ONE Embedded Metric Format document: the specification
 * lets a CloudWatchMetrics directive carry a list of Metrics under one Dimensions set, each metric's value a
 * member of the root object
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html).
 * Each document is one log event, billed with 26 B of overhead, so a replica's figures cost one event
 * instead of one per figure (BENCHMARKS.md, requests). Powertools' singleMetric() publishes at every
 * addMetric, so the writer keeps its own buffered Metrics instance (not the handler's, whose batch is
 * flushed per invocation with the service dimension only) and publishes it once per dimension set.
 */
export function metricDocuments(options: {
  namespace: string;
  serviceName: string;
  logger: Logger;
}): MetricDocumentWriter {
  const document = new Metrics(options);
  return (dimensions, entries) => {
    for (const [key, value] of Object.entries(dimensions)) document.addDimension(key, value);
    for (const entry of entries) document.addMetric(entry.name, entry.unit, entry.value);
    // Clears the dimensions and metrics it wrote: the next document starts from the service dimension.
    document.publishStoredMetrics();
  };
}
