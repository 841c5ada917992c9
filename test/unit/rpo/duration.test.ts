import { describe, expect, it } from 'vitest';
import { describeAge, durationMs, formatDuration, InvalidDurationError } from '#rpo/duration';
import { configFrom } from '#test/support/fixtures';

describe('durations', () => {
  it('It should read a whole number and a unit', () => {
    expect(durationMs('90s')).toBe(90_000);
    expect(durationMs('15m')).toBe(900_000);
    expect(durationMs('1h')).toBe(3_600_000);
    expect(durationMs('2d')).toBe(172_800_000);
  });

  it.each(['', '15', 'm', '1.5h', '-1m', '0m', '15 min', '1w', '15M', '1h30m', '01m'])(
    'It should refuse "%s" with InvalidDurationError',
    (text) => {
      expect(() => durationMs(text)).toThrow(InvalidDurationError);
    },
  );

  it('It should enforce bounds, naming them', () => {
    expect(() => durationMs('30s', { minMs: 60_000 })).toThrow('expected at least 1m');
    expect(() => durationMs('2d', { maxMs: 86_400_000 })).toThrow('expected at most 1d');
  });

  it('It should write a length back in the largest unit that divides it', () => {
    expect(formatDuration(900_000)).toBe('15m');
    expect(formatDuration(5_400_000)).toBe('90m');
    expect(formatDuration(86_400_000)).toBe('1d');
    expect(durationMs(formatDuration(172_800_000))).toBe(172_800_000);
  });

  it('It should describe ages for people', () => {
    expect(describeAge(12_000)).toBe('12s');
    expect(describeAge(1_024_000)).toBe('17m04s');
    expect(describeAge(7_500_000)).toBe('2h05m');
  });
});

describe('rpo in replication.yml', () => {
  const rule = (rpo: string) => `
rules:
  - name: docs
    rpo: ${rpo}
    objects: { bucket: acme-prod }
    to: [{ bucket: acme-dr, region: us-west-2 }]
  - name: ebs
    rpo: ${rpo}
    snapshots: { regions: [us-east-1] }
    to: [{ region: us-west-2 }]
  - name: ami
    rpo: ${rpo}
    images: { regions: [us-east-1] }
    to: [{ region: us-west-2 }]
`;

  it('It should accept it on object, snapshot and image rules, kept as written', () => {
    const config = configFrom(rule('15m'));
    expect(config.rules.map((r) => r.rpo)).toEqual(['15m', '15m', '15m']);
  });

  it('It should refuse a bad duration at its path, on every kind of rule', () => {
    expect(() => configFrom(rule('15 minutes'))).toThrow(/rules\[0\]\.rpo.*"15 minutes" is not a duration/s);
    expect(() => configFrom(rule('30s'))).toThrow(/rules\[2\]\.rpo.*at least 1m/s);
    expect(() => configFrom(rule('400d'))).toThrow(/rules\[1\]\.rpo.*at most 365d/s);
  });
});
