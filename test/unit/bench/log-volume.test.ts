import { describe, expect, it } from 'vitest';
import { EVENT_OVERHEAD_BYTES, systemLines, tallyInvocation } from '../../../bench/log-volume.ts';

const INVOCATION = {
  requestId: 'c793869b-ee49-115b-a5b6-4fd21e8dedac',
  durationMs: 12.5,
  memoryMb: 256,
  maxMemoryMb: 90,
};

describe('log volume (npm run bench -- requests, logs column)', () => {
  it('It should count one event per line, its UTF-8 bytes plus the 26 B PutLogEvents counts per event', () => {
    const info = JSON.stringify({ level: 'INFO', message: 'Réplica' }); // é is two bytes in UTF-8
    const emf = JSON.stringify({ _aws: { Timestamp: 1, CloudWatchMetrics: [] }, ObjectsCopied: 1 });
    const tally = tallyInvocation(`${info}\n${emf}\n\n`);
    expect(tally.events).toBe(2);
    expect(tally.bytes).toBe(info.length + 1 + emf.length + 2 * EVENT_OVERHEAD_BYTES);
    expect(tally.metricEvents).toBe(1);
    expect(tally.metricBytes).toBe(emf.length + EVENT_OVERHEAD_BYTES);
  });

  it('It should add the platform lines it is given', () => {
    const system = systemLines({ logFormat: 'Text', systemLogLevel: 'INFO' }, INVOCATION);
    const tally = tallyInvocation('', system);
    expect(tally.events).toBe(3);
    expect(tally.metricEvents).toBe(0);
    expect(tally.bytes).toBe(system.reduce((sum, line) => sum + line.length + EVENT_OVERHEAD_BYTES, 0));
  });

  it('It should model START, END and REPORT in the Text format, and none with JSON at system level WARN', () => {
    const text = systemLines({ logFormat: 'Text', systemLogLevel: 'WARN' }, INVOCATION);
    expect(text.map((line) => line.split(' ')[0])).toEqual(['START', 'END', 'REPORT']);
    expect(text[2]).toContain('Billed Duration: 13 ms\tMemory Size: 256 MB');
    expect(systemLines({ logFormat: 'JSON', systemLogLevel: 'WARN' }, INVOCATION)).toEqual([]);
    const json = systemLines({ logFormat: 'JSON', systemLogLevel: 'INFO' }, INVOCATION);
    expect(json.map((line) => (JSON.parse(line) as { type: string }).type)).toEqual([
      'platform.start',
      'platform.runtimeDone',
      'platform.report',
    ]);
  });
});
