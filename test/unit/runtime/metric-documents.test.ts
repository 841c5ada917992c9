import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createPowertools } from '#foundation/observability/powertools';
import { METRIC, powertoolsReplicationMetrics } from '#foundation/observability/replication-metrics';
import { powertoolsRpoMetrics, RPO_METRIC } from '#rpo/metrics';

// What Powertools Metrics writes to stdout: one line per EMF document (one CloudWatch Logs event each).
// The suite's setup disables Powertools Metrics; these tests read what it writes, so they enable it.
let lines: string[];
let disabled: string | undefined;
beforeEach(() => {
  disabled = process.env.POWERTOOLS_METRICS_DISABLED;
  process.env.POWERTOOLS_METRICS_DISABLED = 'false';
  lines = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    lines.push(
      ...String(chunk)
        .split('\n')
        .filter((line) => line.trim() !== ''),
    );
    return true;
  });
});
afterEach(() => {
  vi.restoreAllMocks();
  process.env.POWERTOOLS_METRICS_DISABLED = disabled;
});

interface EmfDocument {
  _aws: {
    CloudWatchMetrics: {
      Namespace: string;
      Dimensions: string[][];
      Metrics: { Name: string; Unit: string }[];
    }[];
  };
  [member: string]: unknown;
}
const documents = () => lines.map((line) => JSON.parse(line) as EmfDocument);

describe('metric documents: a call with one dimension set is one EMF document', () => {
  it('copied() writes ObjectsCopied, BytesCopied and ReplicationLatency in one document, with their values', () => {
    const tools = createPowertools();
    powertoolsReplicationMetrics(tools.documents).copied('photos', 1234, 56);
    const [document, ...more] = documents();
    expect(more).toEqual([]);
    const directive = document?._aws.CloudWatchMetrics[0];
    expect(directive?.Namespace).toBe('Ferry');
    expect(directive?.Dimensions).toEqual([['service', 'rule']]);
    expect(directive?.Metrics).toEqual([
      { Name: METRIC.copies, Unit: 'Count' },
      { Name: METRIC.bytes, Unit: 'Bytes' },
      { Name: METRIC.latency, Unit: 'Milliseconds' },
    ]);
    expect(document).toMatchObject({
      rule: 'photos',
      [METRIC.copies]: 1,
      [METRIC.bytes]: 1234,
      [METRIC.latency]: 56,
    });
  });

  it("the next document carries only its own dimensions: a copy's rule does not leak into it", () => {
    const tools = createPowertools();
    const metrics = powertoolsReplicationMetrics(tools.documents);
    metrics.copied('photos', 1, 2);
    metrics.failed('logs', 'AccessDenied');
    const [, byCause, total] = documents();
    expect(byCause).toMatchObject({ rule: 'logs', cause: 'AccessDenied', [METRIC.failures]: 1 });
    expect(byCause?.[METRIC.copies]).toBeUndefined();
    expect(total?._aws.CloudWatchMetrics[0]?.Dimensions).toEqual([['service']]);
    expect(total?.rule).toBeUndefined();
  });

  it('verified() writes RpoLatency and ItemsWithinRpo in one document', () => {
    const tools = createPowertools();
    powertoolsRpoMetrics(tools.documents).verified('photos', 'object', 900, true, 's3://photos/a.jpg');
    expect(documents()).toHaveLength(1);
    expect(documents()[0]).toMatchObject({
      rule: 'photos',
      [RPO_METRIC.latency]: 900,
      [RPO_METRIC.within]: 1,
    });
    expect(documents()[0]?._aws.CloudWatchMetrics[0]?.Metrics.map((metric) => metric.Name)).toEqual([
      RPO_METRIC.latency,
      RPO_METRIC.within,
    ]);
  });

  it('backlog() writes its three figures in one document', () => {
    const tools = createPowertools();
    powertoolsRpoMetrics(tools.documents).backlog('photos', { oldestAgeMs: 61_500, count: 3, bytes: 10 });
    expect(documents()).toHaveLength(1);
    expect(documents()[0]).toMatchObject({
      [RPO_METRIC.oldestPendingAge]: 62,
      [RPO_METRIC.pendingItems]: 3,
      [RPO_METRIC.pendingBytes]: 10,
    });
  });
});

describe('metric documents held for a batch: one document per dimension set, values as arrays', () => {
  it('batched() writes the copies of a batch as one document per rule, each metric an array of its values', async () => {
    const tools = createPowertools();
    const metrics = powertoolsReplicationMetrics(tools.documents);
    await tools.documents.batched(async () => {
      metrics.copied('photos', 10, 1);
      metrics.copied('logs', 30, 3);
      metrics.copied('photos', 20, 2);
      expect(documents()).toEqual([]); // held until the batch ends
    });
    const written = documents();
    expect(written).toHaveLength(2);
    expect(written.find((document) => document.rule === 'photos')).toMatchObject({
      [METRIC.copies]: [1, 1],
      [METRIC.bytes]: [10, 20],
      [METRIC.latency]: [1, 2],
    });
    expect(written.find((document) => document.rule === 'logs')).toMatchObject({
      [METRIC.copies]: 1,
      [METRIC.bytes]: 30,
    });
  });

  it("batched() splits a metric of more than 100 values into whole documents under EMF's 100 values", async () => {
    const tools = createPowertools();
    const metrics = powertoolsReplicationMetrics(tools.documents);
    await tools.documents.batched(async () => {
      for (let i = 0; i < 250; i += 1) metrics.copied('photos', i, i);
    });
    const written = documents();
    expect(written.map((document) => (document[METRIC.bytes] as number[]).length)).toEqual([99, 99, 52]);
    for (const document of written)
      expect(document._aws.CloudWatchMetrics[0]?.Dimensions).toEqual([['service', 'rule']]);
    expect(written.flatMap((document) => document[METRIC.bytes] as number[])).toEqual(
      Array.from({ length: 250 }, (_, i) => i),
    );
    expect(written.every((document) => document.rule === 'photos')).toBe(true);
  });

  it('batched() writes what it held even when the batch throws', async () => {
    const tools = createPowertools();
    await expect(
      tools.documents.batched(async () => {
        powertoolsReplicationMetrics(tools.documents).failed('photos', 'AccessDenied');
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(documents()).toHaveLength(2);
  });
});
