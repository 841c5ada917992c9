import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type AttemptStarter,
  attemptName,
  CopyAttemptsExhaustedError,
  inputOf,
  MAX_EXECUTION_NAME,
  startAttempt,
} from '#adapters/execution-attempts';

/** Executions by name, as Step Functions keeps them: a taken name is never started again. */
function fakeStarter(existing: Record<string, string>, maxAttempts?: number) {
  const tried: string[] = [];
  const described: string[] = [];
  const starter: AttemptStarter = {
    async tryStart(name, attempt) {
      tried.push(`${name}#${attempt}`);
      if (name in existing) return { taken: true };
      existing[name] = 'RUNNING';
      return { taken: false, execution: `arn:${name}` };
    },
    async statusOf(name) {
      described.push(name);
      const status = existing[name];
      if (!status) throw new Error(`no ${name}`);
      return status;
    },
    ...(maxAttempts ? { maxAttempts } : {}),
  };
  return { starter, tried, described };
}

const NAME = 'snap-0a1b2c3d4e5f60718-us-west-2-0123456789abcdef';

describe('attemptName', () => {
  it('It should keep the deterministic name for attempt 1, and suffix later attempts', () => {
    expect(attemptName(NAME, 1)).toBe(NAME);
    expect(attemptName(NAME, 2)).toBe(`${NAME}-a2`);
    expect(attemptName(NAME, 3)).toBe(`${NAME}-a3`);
  });

  it('It should cut a long name so every attempt fits in 80 characters, and keep attempts distinct', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[A-Za-z0-9_-]{1,80}$/),
        fc.integer({ min: 2, max: 99 }),
        (name, attempt) => {
          const named = attemptName(name, attempt);
          expect(named.length).toBeLessThanOrEqual(MAX_EXECUTION_NAME);
          expect(named).toMatch(/^[A-Za-z0-9_-]+$/);
          expect(named.endsWith(`-a${attempt}`)).toBe(true);
          expect(named).not.toBe(attemptName(name, 1));
          expect(named).not.toBe(attemptName(name, attempt + 1));
        },
      ),
    );
    expect(attemptName('x'.repeat(80), 2)).toBe(`${'x'.repeat(77)}-a2`);
  });

  it('It should refuse an attempt that is not 1, 2, …', () => {
    expect(() => attemptName(NAME, 0)).toThrow(RangeError);
    expect(() => attemptName(NAME, 1.5)).toThrow(RangeError);
  });
});

describe('inputOf', () => {
  it('It should give attempt 1 the job as is, and later attempts their number', () => {
    const job = { rule: 'r' };
    expect(inputOf(job, 1)).toBe(job);
    expect(inputOf(job, 2)).toEqual({ rule: 'r', attempt: 2 });
  });
});

describe('startAttempt', () => {
  it('It should start attempt 1 under the deterministic name when it is free', async () => {
    const { starter, tried, described } = fakeStarter({});
    await expect(startAttempt(NAME, starter)).resolves.toEqual({
      execution: `arn:${NAME}`,
      started: true,
      attempt: 1,
    });
    expect(tried).toEqual([`${NAME}#1`]);
    expect(described).toEqual([]);
  });

  it.each(['RUNNING', 'SUCCEEDED', 'PENDING_REDRIVE'])(
    'It should not start again a copy whose execution is %s',
    async (status) => {
      const { starter, tried } = fakeStarter({ [NAME]: status });
      await expect(startAttempt(NAME, starter)).resolves.toEqual({
        execution: NAME,
        started: false,
        attempt: 1,
      });
      expect(tried).toEqual([`${NAME}#1`]);
    },
  );

  it.each(['FAILED', 'TIMED_OUT', 'ABORTED'])(
    'It should start attempt 2 after attempt 1 ended %s',
    async (status) => {
      const { starter, tried } = fakeStarter({ [NAME]: status });
      await expect(startAttempt(NAME, starter)).resolves.toEqual({
        execution: `arn:${NAME}-a2`,
        started: true,
        attempt: 2,
      });
      expect(tried).toEqual([`${NAME}#1`, `${NAME}-a2#2`]);
    },
  );

  it('It should find the attempt under way after a failed one, and not start another', async () => {
    const { starter } = fakeStarter({ [NAME]: 'FAILED', [`${NAME}-a2`]: 'RUNNING' });
    await expect(startAttempt(NAME, starter)).resolves.toEqual({
      execution: `${NAME}-a2`,
      started: false,
      attempt: 2,
    });
  });

  it('It should give up with a named error when every attempt failed', async () => {
    const { starter, tried } = fakeStarter({
      [NAME]: 'FAILED',
      [`${NAME}-a2`]: 'TIMED_OUT',
      [`${NAME}-a3`]: 'FAILED',
    });
    const error = await startAttempt(NAME, starter).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(CopyAttemptsExhaustedError);
    expect(error).toMatchObject({
      name: 'CopyAttemptsExhaustedError',
      attempts: [
        { name: NAME, status: 'FAILED' },
        { name: `${NAME}-a2`, status: 'TIMED_OUT' },
        { name: `${NAME}-a3`, status: 'FAILED' },
      ],
    });
    expect((error as Error).message).toContain('gave up after 3 attempts');
    expect((error as Error).message).toContain(`${NAME}-a3: FAILED`);
    expect(tried).toHaveLength(3);
  });

  it('It should honour maxAttempts', async () => {
    const { starter } = fakeStarter({ [NAME]: 'FAILED' }, 1);
    await expect(startAttempt(NAME, starter)).rejects.toThrow(CopyAttemptsExhaustedError);
  });

  it('It should pass on an error of the start or the status read', async () => {
    const refused: AttemptStarter = {
      tryStart: async () => {
        throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
      },
      statusOf: async () => 'FAILED',
    };
    await expect(startAttempt(NAME, refused)).rejects.toThrow('Rate exceeded');
  });
});
