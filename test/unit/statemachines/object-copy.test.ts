import validator from 'asl-validator';
import { describe, expect, it, vi } from 'vitest';
import { loadDefinition, taskStates } from '#local/state-machines';
import { ExecutionAlreadyExistsError, LocalStepFunctions, statesEnteredOf } from '#local/step-functions';
import { seededRandom, VirtualClock } from '#local/virtual-clock';

/**
 * Every branch and retry path of statemachines/object-copy.asl.yaml, run by aws-local-stepfunctions with a
 * scripted object-copy-step function and asserted on the execution history.
 */

type Step = { action: string; [field: string]: unknown };
type Script = Record<string, (() => unknown)[]>;

const named = (name: string, message = `${name}!`) => Object.assign(new Error(message), { name });
const retryable = () => {
  throw named('RetryableCopyError', 'SlowDown: Please reduce your request rate.');
};
const permanent = () => {
  throw named('PermanentCopyError', 'AccessDenied: Access Denied');
};

/** A function that died without answering, as Step Functions reports it. */
const crashed = () => {
  throw named('Lambda.Unknown', 'RequestId: 1 Error: Runtime exited with error: signal: killed');
};

const JOB = {
  plan: { destination: { bucket: 'acme-dr' }, destinationKey: 'big.bin' },
  source: { bucket: 'acme-prod', key: 'big.bin' },
  reason: 'test',
};

/** Runs one execution; each action answers with its script in turn (the last entry repeats). */
async function run(mode: 'single' | 'multipart', script: Script) {
  const calls: Step[] = [];
  const used = new Map<string, number>();
  const clock = new VirtualClock(() => 0);
  const stepFunctions = new LocalStepFunctions({
    functions: {
      ObjectCopyStepLambdaFunction: vi.fn(async (input: unknown) => {
        const step = input as Step;
        calls.push(step);
        const answers = script[step.action] ?? [() => ({ ok: true })];
        const index = Math.min(used.get(step.action) ?? 0, answers.length - 1);
        used.set(step.action, (used.get(step.action) ?? 0) + 1);
        return answers[index]?.();
      }),
    },
    clock,
    random: seededRandom(1),
  });
  const { execution } = stepFunctions.start('object-copy', 'test-execution', { mode, ...JOB });
  await execution.done;
  return { execution, calls, clock, actions: calls.map((call) => call.action) };
}

const UPLOAD = {
  uploadId: 'upload-1',
  partSize: 5242880,
  partCount: 7,
  batches: [
    { first: 1, last: 3 },
    { first: 4, last: 6 },
    { first: 7, last: 7 },
  ],
  expectedETag: '',
  condition: { ifNoneMatch: '*' },
};

describe('object-copy state machine: retry path', () => {
  it('It should copy once and succeed when the first attempt works', async () => {
    const { execution, actions } = await run('single', { copy: [() => ({ status: 'copied' })] });
    expect(execution.status).toBe('SUCCEEDED');
    expect(actions).toEqual(['copy']);
    expect(statesEnteredOf(execution)).toEqual(['ChooseMode', 'CopyObject', 'Copied']);
  });

  it('It should retry a throttled copy with backoff and succeed (throw, throw, return)', async () => {
    const { execution, actions, clock } = await run('single', {
      copy: [retryable, retryable, () => ({ status: 'copied' })],
    });
    expect(execution.status).toBe('SUCCEEDED');
    expect(actions).toEqual(['copy', 'copy', 'copy']);
    expect(execution.retries.get('CopyObject')).toBe(2);
    // Full jitter over 5 s then 10 s: somewhere in [0, 15 s] of virtual time, and no real sleep.
    expect(clock.skippedMs).toBeGreaterThan(0);
    expect(clock.skippedMs).toBeLessThanOrEqual(15_000);
  });

  it('It should not retry a permanent error: record it and fail with its cause', async () => {
    const { execution, actions, calls } = await run('single', { copy: [permanent] });
    expect(execution.status).toBe('FAILED');
    expect(actions).toEqual(['copy', 'record-failure']);
    expect(calls[1]?.error).toMatchObject({ Error: 'PermanentCopyError' });
    expect(execution.error).toMatchObject({
      Error: 'PermanentCopyError',
      Cause: expect.stringContaining('AccessDenied'),
    });
  });

  it('It should give up after 1 + 25 retries spread over hours, then record the failure', async () => {
    const { execution, actions, clock } = await run('single', { copy: [retryable] });
    expect(execution.status).toBe('FAILED');
    expect(actions.filter((action) => action === 'copy')).toHaveLength(26);
    expect(actions.at(-1)).toBe('record-failure');
    // Capped at 15 min per wait, full jitter: hours of virtual time, well under the 12 h execution limit.
    expect(clock.skippedMs).toBeGreaterThan(60 * 60_000);
    expect(clock.skippedMs).toBeLessThan(12 * 60 * 60_000);
    expect(execution.error?.Error).toBe('RetryableCopyError');
  });

  it('It should end quietly when the source changed since the event', async () => {
    const { execution, actions } = await run('single', {
      copy: [
        () => {
          throw named('SourceChangedError');
        },
      ],
    });
    expect(execution.status).toBe('SUCCEEDED');
    expect(actions).toEqual(['copy']);
    expect(statesEnteredOf(execution).at(-1)).toBe('SourceChanged');
  });
});

describe('object-copy state machine: multipart path', () => {
  it('It should create the upload, copy every batch, then complete', async () => {
    const part = { PartNumber: 1, ETag: '"e1"' };
    const { execution, calls } = await run('multipart', {
      prepare: [() => UPLOAD],
      'copy-parts': [() => ({ copied: 3, parts: [part] })],
      complete: [() => ({ status: 'copied' })],
    });
    expect(execution.status).toBe('SUCCEEDED');
    expect(calls.map((c) => c.action)).toEqual([
      'prepare',
      'copy-parts',
      'copy-parts',
      'copy-parts',
      'complete',
    ]);
    const batches = calls.filter((c) => c.action === 'copy-parts').map((c) => c.batch);
    expect(batches).toEqual(expect.arrayContaining(UPLOAD.batches));
    expect(calls.find((c) => c.action === 'copy-parts')).toMatchObject({
      upload: { uploadId: 'upload-1', partSize: 5242880 },
    });
    // The completion gets what the prepare step read at the replica key, and every batch's copied parts.
    expect(calls.at(-1)).toMatchObject({
      upload: { uploadId: 'upload-1', partCount: 7, expectedETag: '', condition: { ifNoneMatch: '*' } },
      batches: [0, 1, 2].map(() => ({ copied: 3, parts: [part] })),
    });
  });

  it('It should retry a throttled batch and a throttled completion', async () => {
    const { execution, calls } = await run('multipart', {
      prepare: [() => UPLOAD],
      'copy-parts': [retryable, () => ({ copied: 3 })],
      complete: [retryable, () => ({ status: 'copied' })],
    });
    expect(execution.status).toBe('SUCCEEDED');
    expect(calls.filter((c) => c.action === 'copy-parts')).toHaveLength(4);
    expect(execution.retries.get('CopyPartBatch')).toBe(1);
    expect(execution.retries.get('CompleteUpload')).toBe(1);
  });

  it('It should abort the upload when a batch fails for good, then record the failure', async () => {
    const { execution, calls } = await run('multipart', {
      prepare: [() => UPLOAD],
      'copy-parts': [permanent],
    });
    expect(execution.status).toBe('FAILED');
    const actions = calls.map((c) => c.action);
    expect(actions.slice(-2)).toEqual(['abort', 'record-failure']);
    expect(calls.find((c) => c.action === 'abort')).toMatchObject({ uploadId: 'upload-1' });
    expect(execution.error?.Error).toBe('PermanentCopyError');
  });

  it('It should abort when the completion fails for good', async () => {
    const { execution, actions } = await run('multipart', { prepare: [() => UPLOAD], complete: [permanent] });
    expect(execution.status).toBe('FAILED');
    expect(actions.slice(-3)).toEqual(['complete', 'abort', 'record-failure']);
  });

  it('It should still record the copy error when the abort itself keeps failing', async () => {
    const { execution, calls } = await run('multipart', {
      prepare: [() => UPLOAD],
      'copy-parts': [permanent],
      abort: [
        () => {
          throw named('RetryableCopyError', 'InternalError: abort failed');
        },
      ],
    });
    expect(execution.status).toBe('FAILED');
    expect(calls.filter((c) => c.action === 'abort')).toHaveLength(21);
    expect(calls.at(-1)).toMatchObject({ action: 'record-failure', error: { Error: 'PermanentCopyError' } });
  });

  it('It should clean up uploads by execution start when the prepare step fails for good (no upload id)', async () => {
    const { execution, actions, calls } = await run('multipart', { prepare: [permanent] });
    expect(execution.status).toBe('FAILED');
    expect(actions).toEqual(['prepare', 'clean-up', 'record-failure']);
    const startedAt = calls[0]?.startedAt;
    expect(Date.parse(String(startedAt))).not.toBeNaN();
    expect(calls[1]).toMatchObject({ action: 'clean-up', startedAt, job: { source: JOB.source } });
    expect(calls[1]).not.toHaveProperty('uploadId');
    expect(calls[2]?.error).toMatchObject({ Error: 'PermanentCopyError' });
    expect(execution.error?.Error).toBe('PermanentCopyError');
  });

  it('It should retry a prepare step that died (Lambda.Unknown), with the same execution start', async () => {
    const { execution, calls } = await run('multipart', {
      prepare: [crashed, () => UPLOAD],
      complete: [() => ({ status: 'copied' })],
    });
    expect(execution.status).toBe('SUCCEEDED');
    const prepares = calls.filter((c) => c.action === 'prepare');
    expect(prepares).toHaveLength(2);
    expect(prepares[1]?.startedAt).toBe(prepares[0]?.startedAt);
    expect(execution.retries.get('StartUpload')).toBe(1);
    expect(calls.map((c) => c.action)).not.toContain('clean-up');
  });

  it('It should clean up, then end quietly, when the source changed before the upload id came back', async () => {
    const { execution, actions } = await run('multipart', {
      prepare: [
        () => {
          throw named('SourceChangedError');
        },
      ],
    });
    expect(execution.status).toBe('SUCCEEDED');
    expect(actions).toEqual(['prepare', 'clean-up']);
    expect(statesEnteredOf(execution).at(-1)).toBe('SourceChanged');
  });

  it('It should still record the copy error when the clean-up keeps failing', async () => {
    const { execution, calls } = await run('multipart', {
      prepare: [permanent],
      'clean-up': [
        () => {
          throw named('RetryableCopyError', 'SlowDown: clean-up throttled');
        },
      ],
    });
    expect(execution.status).toBe('FAILED');
    expect(calls.filter((c) => c.action === 'clean-up')).toHaveLength(21);
    expect(calls.at(-1)).toMatchObject({ action: 'record-failure', error: { Error: 'PermanentCopyError' } });
  });

  it('It should retry a completion that died (Lambda.Unknown): a retried completion is idempotent', async () => {
    const { execution, actions } = await run('multipart', {
      prepare: [() => UPLOAD],
      complete: [crashed, () => ({ status: 'copied' })],
    });
    expect(execution.status).toBe('SUCCEEDED');
    expect(actions.filter((action) => action === 'complete')).toHaveLength(2);
    expect(actions).not.toContain('abort');
  });

  it('It should abort and end quietly when the source changed during the copy', async () => {
    const { execution, actions } = await run('multipart', {
      prepare: [() => UPLOAD],
      'copy-parts': [
        () => {
          throw named('SourceChangedError');
        },
      ],
    });
    expect(execution.status).toBe('SUCCEEDED');
    expect(actions).toContain('abort');
    expect(actions).not.toContain('record-failure');
  });
});

describe('object-copy state machine: a copy superseded at its completion', () => {
  it('It should abort the upload and end quietly when the completion finds a newer replica or source', async () => {
    const { execution, actions, calls } = await run('multipart', {
      prepare: [() => UPLOAD],
      complete: [
        () => {
          throw named('SourceChangedError', 'newer-replica: s3://acme-dr/big.bin is left to the newer write');
        },
      ],
    });
    expect(execution.status).toBe('SUCCEEDED');
    expect(actions.filter((action) => action === 'complete')).toHaveLength(1); // decided, never retried
    expect(calls.find((call) => call.action === 'abort')).toMatchObject({ uploadId: 'upload-1' });
    expect(actions).not.toContain('record-failure');
    expect(statesEnteredOf(execution).slice(-3)).toEqual(['AbortUpload', 'AfterAbort', 'SourceChanged']);
  });
});

describe('object-copy executions', () => {
  it('It should return the running execution for a duplicate start, and refuse the name for another input', async () => {
    const stepFunctions = new LocalStepFunctions({
      functions: { ObjectCopyStepLambdaFunction: async () => ({ status: 'copied' }) },
      clock: new VirtualClock(),
      random: seededRandom(1),
    });
    const input = { mode: 'single', ...JOB };
    const first = stepFunctions.start('object-copy', 'same-name', input);
    const second = stepFunctions.start('object-copy', 'same-name', structuredClone(input));
    expect(first.started).toBe(true);
    expect(second).toMatchObject({ started: false, execution: first.execution });
    expect(() => stepFunctions.start('object-copy', 'same-name', { ...input, reason: 'other' })).toThrow(
      ExecutionAlreadyExistsError,
    );
    await stepFunctions.settle();
    expect(stepFunctions.executions.size).toBe(1);
  });
});

describe('object-copy definition', () => {
  const definition = loadDefinition('object-copy');

  it('It should be valid ASL', () => {
    const result = validator(definition, { checkArn: true, checkPaths: true });
    expect(result.errorsText()).toBe('');
    expect(result.isValid).toBe(true);
  });

  it('It should give every Task a timeout, so a Lambda timeout surfaces as States.Timeout', () => {
    const tasks = taskStates(definition).map(({ state }) => state);
    expect(tasks.length).toBeGreaterThanOrEqual(6);
    const find = (
      states: Record<string, Record<string, unknown>>,
      name: string,
    ): Record<string, unknown> | undefined =>
      states[name] ??
      Object.values(states)
        .map(
          (state) =>
            (state.ItemProcessor as { States?: Record<string, Record<string, unknown>> } | undefined)?.States,
        )
        .filter((inner) => inner !== undefined)
        .map((inner) => find(inner, name))
        .find(Boolean);
    for (const task of tasks) {
      expect(
        find(definition.States as Record<string, Record<string, unknown>>, task)?.TimeoutSeconds,
        task,
      ).toBeGreaterThan(0);
    }
  });

  it('It should retry only classified errors on copy steps, with full jitter, never States.TaskFailed', () => {
    const text = JSON.stringify(definition);
    expect(text).not.toContain('States.TaskFailed');
    const copy = (
      definition.States as Record<string, { Retry: { ErrorEquals: string[]; JitterStrategy?: string }[] }>
    ).CopyObject;
    expect(copy?.Retry[0]?.ErrorEquals).toContain('RetryableCopyError');
    expect(copy?.Retry[0]?.ErrorEquals).not.toContain('States.ALL');
    expect(copy?.Retry[0]?.JitterStrategy).toBe('FULL');
  });
});
