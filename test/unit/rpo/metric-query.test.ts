import { describe, expect, it } from 'vitest';
import { metricServiceOf } from '#foundation/observability/powertools';
import { rpoFiguresOf, rpoMetricRequests, windowPeriodSeconds } from '#rpo/metric-query';

const END = new Date('2026-05-01T12:00:00Z');
const hoursBefore = (h: number) => new Date(END.getTime() - h * 3_600_000);

describe('GetMetricData requests for the RPO figures', () => {
  it('It should name the metric as Powertools publishes it for the stage: namespace Ferry, dimensions service (ferry-<stage>) and rule', () => {
    const [request] = rpoMetricRequests(['docs'], hoursBefore(24), END, metricServiceOf('prod'));
    expect(request?.MetricDataQueries).toHaveLength(5);
    expect(
      request?.MetricDataQueries?.map((q) => [q.Id, q.MetricStat?.Metric?.MetricName, q.MetricStat?.Stat]),
    ).toEqual([
      ['r0_p50Ms', 'RpoLatency', 'p50'],
      ['r0_p99Ms', 'RpoLatency', 'p99'],
      ['r0_maxMs', 'RpoLatency', 'Maximum'],
      ['r0_within', 'ItemsWithinRpo', 'Sum'],
      ['r0_over', 'ItemsOverRpo', 'Sum'],
    ]);
    expect(request?.MetricDataQueries?.[0]?.MetricStat?.Metric).toEqual({
      Namespace: 'Ferry',
      MetricName: 'RpoLatency',
      Dimensions: [
        { Name: 'service', Value: 'ferry-prod' },
        { Name: 'rule', Value: 'docs' },
      ],
    });
    expect(request?.MetricDataQueries?.[0]?.MetricStat?.Period).toBe(86_400);
  });

  it('It should split 101 rules (505 queries) into calls of at most 500', () => {
    const requests = rpoMetricRequests(
      Array.from({ length: 101 }, (_, i) => `r${i}`),
      hoursBefore(1),
      END,
      metricServiceOf('prod'),
    );
    expect(requests.map((r) => r.MetricDataQueries?.length)).toEqual([500, 5]);
  });

  it('It should cover the window with one period: minutes, 5 minutes past 15 days, hours past 63 days', () => {
    expect(windowPeriodSeconds(new Date(END.getTime() - 90_500), END)).toBe(120);
    expect(windowPeriodSeconds(hoursBefore(24 * 20), END) % 300).toBe(0);
    expect(windowPeriodSeconds(new Date(END.getTime() - 64 * 86_400_000 - 1000), END) % 3600).toBe(0);
  });
});

describe('Parsing GetMetricData results', () => {
  it('It should give the figures per rule, none for a rule without datapoints, and sum counts over periods', () => {
    const figures = rpoFiguresOf(
      ['a', 'b'],
      [
        { Id: 'r0_p50Ms', Values: [1200] },
        { Id: 'r0_p99Ms', Values: [9000, 4000] },
        { Id: 'r0_maxMs', Values: [9500] },
        { Id: 'r0_within', Values: [3, 4] },
        { Id: 'r0_over', Values: [1] },
        { Id: 'r1_p50Ms', Values: [] },
      ],
    );
    expect(figures.get('a')).toEqual({ p50Ms: 1200, p99Ms: 9000, maxMs: 9500, within: 7, over: 1 });
    expect(figures.has('b')).toBe(false);
  });
});
