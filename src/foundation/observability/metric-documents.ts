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

/** The writer, and a way to hold what a batch of work writes until the batch ends. */
export interface MetricDocuments extends MetricDocumentWriter {
  /**
   * Runs `work` with every document it writes held, then writes one document per dimension set, each
   * metric's values as an array: an SQS batch of N objects costs one log event per rule, not one per replica
   * (BENCHMARKS.md, requests). Holds nest (batches handled at once share the hold; the last to end writes).
   */
  batched<T>(work: () => Promise<T>): Promise<T>;
}

/**
 * EMF lets a metric's target member be an array of numbers, of at most 100 values (the specification's
 * "Target members",
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html);
 * Powertools Metrics keeps the same limit (MAX_METRIC_VALUES_SIZE) and publishes when an array reaches it.
 */
export const EMF_MAX_VALUES = 100;

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
}): MetricDocuments {
  const document = new Metrics(options);
  const publish: MetricDocumentWriter = (dimensions, entries) => {
    for (const [key, value] of Object.entries(dimensions)) document.addDimension(key, value);
    // The same name added again becomes an array of values in the one document (Powertools' MetricsStore).
    for (const entry of entries) document.addMetric(entry.name, entry.unit, entry.value);
    // Clears the dimensions and metrics it wrote: the next document starts from the service dimension.
    document.publishStoredMetrics();
  };
  const held = new Map<string, { dimensions: Record<string, string>; entries: MetricEntry[] }>();
  let holds = 0;
  const flush = () => {
    for (const { dimensions, entries } of held.values()) {
      for (const chunk of chunksOfValues(entries)) publish(dimensions, chunk);
    }
    held.clear();
  };
  const write: MetricDocumentWriter = (dimensions, entries) => {
    if (holds === 0) return publish(dimensions, entries);
    const key = JSON.stringify(Object.entries(dimensions).sort(([a], [b]) => a.localeCompare(b)));
    const set = held.get(key) ?? { dimensions, entries: [] };
    set.entries.push(...entries);
    held.set(key, set);
  };
  return Object.assign(write, {
    async batched<T>(work: () => Promise<T>): Promise<T> {
      holds += 1;
      try {
        return await work();
      } finally {
        holds -= 1;
        if (holds === 0) flush();
      }
    },
  });
}

/**
 * Values per metric in one document written from held entries: one fewer than EMF's 100, because Powertools
 * publishes by itself as soon as an array reaches 100 (Metrics.addMetric), before the document's other
 * metrics are added, which would split the document and drop its dimensions from the rest.
 */
const VALUES_PER_DOCUMENT = EMF_MAX_VALUES - 1;

/**
 * The held entries of one dimension set as documents of at most VALUES_PER_DOCUMENT values per metric: the
 * n-th document takes each metric's n-th slice of values.
 */
function chunksOfValues(entries: readonly MetricEntry[]): MetricEntry[][] {
  const seen = new Map<string, number>();
  const chunks: MetricEntry[][] = [];
  for (const entry of entries) {
    const index = seen.get(entry.name) ?? 0;
    seen.set(entry.name, index + 1);
    const chunk = Math.floor(index / VALUES_PER_DOCUMENT);
    const entries = chunks[chunk] ?? [];
    entries.push(entry);
    chunks[chunk] = entries;
  }
  return chunks;
}
