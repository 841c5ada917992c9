import validator from 'asl-validator';
import { describe, expect, it } from 'vitest';
import { QUEUE_BOUNDS, queueFloorSeconds } from '#ec2/copy-machine/copy-queue';
import { COPY_DEADLINE_HOURS } from '#ec2/copy-machine/progress';
import { safetyCheckSeconds } from '#ec2/copy-machine/safety-check';
import { loadDefinition, taskStates } from '#local/state-machines';
import { EC2_COPY_KINDS, ec2CopyDefinition } from '../../../statemachines/ec2-copy.ts';
import imageCopyBefore from './fixtures/image-copy.json' with { type: 'json' };
import snapshotCopyBefore from './fixtures/snapshot-copy.json' with { type: 'json' };

/**
 * One definition (statemachines/ec2-copy.ts) rendered both ways is what the two files it replaced said,
 * parsed (the fixtures): folding them changed no state, retry or error name. Since then, one change, on
 * purpose: a step that dies without answering (Lambda.Unknown) is retried like a lost answer.
 */
const withLambdaUnknownRetried = (definition: object): object =>
  JSON.parse(JSON.stringify(definition), (key, value: unknown) =>
    key === 'ErrorEquals' && Array.isArray(value) && value.includes('RetryableCopyError')
      ? value.flatMap((name) => (name === 'States.Timeout' ? [name, 'Lambda.Unknown'] : [name]))
      : value,
  ) as object;

describe('the EC2 copy machine, rendered', () => {
  const before = { snapshot: snapshotCopyBefore, image: imageCopyBefore };
  for (const kind of EC2_COPY_KINDS) {
    it(`for ${kind}s equals the ${kind}-copy definition it replaced, with Lambda.Unknown retried`, () => {
      expect(ec2CopyDefinition(kind)).toStrictEqual(withLambdaUnknownRetried(before[kind]));
    });
  }

  it('differs between the kinds only in the comment and the failed copy error', () => {
    const snapshot = ec2CopyDefinition('snapshot');
    const image = ec2CopyDefinition('image');
    const states = (definition: Record<string, unknown>) => definition.States as Record<string, State>;
    expect(states(snapshot).CopyErrored?.Parameters).toMatchObject({ Error: 'SnapshotCopyFailed' });
    expect(states(image).CopyErrored?.Parameters).toMatchObject({ Error: 'ImageCopyFailed' });
    const neutral = (definition: Record<string, unknown>) => {
      const copy = structuredClone(definition);
      delete copy.Comment;
      (states(copy).CopyErrored?.Parameters as Record<string, unknown>).Error = 'CopyFailed';
      return copy;
    };
    expect(neutral(image)).toStrictEqual(neutral(snapshot));
  });

  it('renders fresh retries per Task, so changing one Task leaves the others', () => {
    const states = ec2CopyDefinition('snapshot').States as Record<string, State>;
    const limitRetry = states.StartCopy?.Retry?.[0];
    if (!limitRetry) throw new Error('StartCopy has no limit retry');
    limitRetry.MaxAttempts = 1;
    expect(states.CheckCopy?.Retry?.[0]?.MaxAttempts).toBe(4000);
    expect(
      (ec2CopyDefinition('snapshot').States as Record<string, State>).StartCopy?.Retry?.[0]?.MaxAttempts,
    ).toBe(4000);
  });
});

/**
 * The shape of the snapshot-copy and image-copy machines that other figures rely on: the adaptive-wait
 * simulation counts 3 transitions per check (Wait → Check → Choice), the limit retry must outlast a burst
 * without nearing the 25,000-event history limit. Their branches run end to end with the real handlers in
 * test/integration/snapshot-copy.test.ts and image-copy.test.ts.
 */

type State = Record<string, unknown> & {
  Type: string;
  Next?: string;
  Retry?: {
    ErrorEquals: string[];
    MaxAttempts?: number;
    MaxDelaySeconds?: number;
    JitterStrategy?: string;
  }[];
  Catch?: { ErrorEquals: string[]; Next: string }[];
};

for (const name of ['snapshot-copy', 'image-copy'] as const) {
  describe(`${name} definition`, () => {
    const definition = loadDefinition(name);
    const states = definition.States as Record<string, State>;

    it('is valid ASL', () => {
      const result = validator(definition, { checkArn: true, checkPaths: true });
      expect(result.errorsText()).toBe('');
      expect(result.isValid).toBe(true);
    });

    it('loops Wait → Check → Choice, the wait read from the Check step', () => {
      expect(states.WaitForCopy).toMatchObject({
        Type: 'Wait',
        SecondsPath: '$.copy.waitSeconds',
        Next: 'CheckCopy',
      });
      expect(states.CheckCopy).toMatchObject({ Type: 'Task', Next: 'IsCopyDone' });
      expect(states.IsCopyDone).toMatchObject({ Type: 'Choice', Default: 'WaitForCopy' });
      expect(states.StartCopy?.Next).toBe('IsCopyStarted');
      expect(states.IsCopyStarted).toMatchObject({ Type: 'Choice', Default: 'WaitForCopy' });
    });

    it('enters queued, and loops StartCopy → Choice → WaitForSlot while EC2 refuses the copy', () => {
      expect(definition.StartAt).toBe('Enqueue');
      expect(states.Enqueue).toMatchObject({
        Type: 'Pass',
        Result: { state: 'queued', attempts: 0 },
        ResultPath: '$.copy',
        Next: 'StartCopy',
      });
      expect(states.StartCopy).toMatchObject({
        Parameters: { action: 'start', 'copy.$': '$.copy' },
        ResultPath: '$.copy',
      });
      expect(states.IsCopyStarted?.Choices).toEqual([
        { Variable: '$.copy.state', StringEquals: 'queued', Next: 'WaitForSlot' },
      ]);
      expect(states.WaitForSlot).toMatchObject({
        Type: 'Wait',
        SecondsPath: '$.copy.waitSeconds',
        Next: 'StartCopy',
      });
    });

    it('can queue for the whole execution timeout without reaching the history limit', () => {
      // The worst case: every estimate says "now", so each wait is the floor (Task 5 + Choice 2 + Wait 2 events).
      const timeout = definition.TimeoutSeconds as number;
      let waited = 0;
      let loops = 0;
      while (waited < timeout) waited += queueFloorSeconds(loops++);
      expect(loops * 9).toBeLessThan(25_000 - 200);
    });

    it('gives every Task a timeout and sends every failure to RecordFailure, then Fail', () => {
      for (const { state } of taskStates(definition)) {
        expect(states[state]?.TimeoutSeconds, state).toBeGreaterThan(0);
        if (state !== 'RecordFailure') {
          expect(states[state]?.Catch?.[0]).toMatchObject({
            ErrorEquals: ['States.ALL'],
            Next: 'RecordFailure',
          });
        }
      }
      expect(states.RecordFailure?.Next).toBe('CopyFailed');
      expect(states.CopyFailed?.Type).toBe('Fail');
      expect(JSON.stringify(definition)).not.toContain('States.TaskFailed');
    });

    it('retries limits with full jitter for weeks, far below the history limit, within the execution timeout', () => {
      for (const state of ['StartCopy', 'CheckCopy', 'Finalize']) {
        const limit = states[state]?.Retry?.find((retry) => retry.ErrorEquals.includes('CopyLimitError'));
        expect(limit?.JitterStrategy).toBe('FULL');
        const attempts = limit?.MaxAttempts ?? 0;
        const maxDelay = limit?.MaxDelaySeconds ?? 0;
        // On average half the capped delay (full jitter): at least a week of retrying.
        expect((attempts * maxDelay) / 2).toBeGreaterThan(7 * 86_400);
        // A Lambda task retry adds about 3 history events.
        expect(attempts * 3).toBeLessThan(25_000 / 2);
      }
      // Local runners time out on a real timer, which holds at most 2^31 - 1 ms.
      expect((definition.TimeoutSeconds as number) * 1000).toBeLessThan(2 ** 31);
    });
  });
}

describe('the EC2 copy machine rendered for completion events', () => {
  for (const kind of EC2_COPY_KINDS) {
    const definition = loadDefinition(
      kind === 'snapshot' ? 'snapshot-copy' : 'image-copy',
      undefined,
      'events',
    );
    const states = definition.States as Record<string, State>;

    it(`for ${kind}s is valid ASL and waits in AwaitCopy, a .waitForTaskToken Task, instead of polling`, () => {
      const result = validator(definition, { checkArn: true, checkPaths: true });
      expect(result.errorsText()).toBe('');
      expect(states.IsCopyStarted).toMatchObject({ Default: 'AwaitCopy' });
      expect(states.IsCopyDone).toMatchObject({ Default: 'AwaitCopy' });
      // WaitForCopy stays only for copies whose event goes to another account (`$.copy.polled`).
      const polledChoice = { Variable: '$.copy.polled', IsPresent: true, Next: 'WaitForCopy' };
      const choices = (name: string) => (states[name]?.Choices ?? []) as unknown[];
      expect(choices('IsCopyStarted').at(-1)).toEqual(polledChoice);
      expect(choices('IsCopyDone').at(-1)).toEqual(polledChoice);
      expect(states.WaitForCopy).toMatchObject({
        Type: 'Wait',
        SecondsPath: '$.copy.waitSeconds',
        Next: 'CheckCopy',
      });
      expect(states.AwaitCopy).toMatchObject({
        Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
        Parameters: { Payload: { action: 'await', 'copy.$': '$.copy', 'taskToken.$': '$$.Task.Token' } },
        // The safety check from the copy itself, computed by the step before (StartCopy or CheckCopy).
        TimeoutSecondsPath: '$.copy.safetySeconds',
        ResultPath: null,
        Next: 'CheckCopy',
      });
      expect(states.AwaitCopy?.TimeoutSeconds).toBeUndefined();
    });

    it(`for ${kind}s catches the safety check's States.Timeout into CheckCopy instead of retrying it`, () => {
      const awaitCopy = states.AwaitCopy;
      expect(awaitCopy?.Retry?.flatMap((retrier) => retrier.ErrorEquals)).not.toContain('States.Timeout');
      expect(awaitCopy?.Catch?.[0]).toMatchObject({ ErrorEquals: ['States.Timeout'], Next: 'CheckCopy' });
      expect(awaitCopy?.Catch?.[1]).toMatchObject({ ErrorEquals: ['States.ALL'], Next: 'RecordFailure' });
      // The other steps keep every convention of the polling machine.
      const polling = loadDefinition('snapshot-copy').States as Record<string, State>;
      for (const state of ['StartCopy', 'CheckCopy', 'Finalize', 'RecordFailure']) {
        expect(states[state]?.Retry, state).toStrictEqual(polling[state]?.Retry);
        expect(states[state]?.Catch, state).toStrictEqual(polling[state]?.Catch);
      }
    });
  }

  describe('a copy refused for the copy limit', () => {
    const definition = loadDefinition('snapshot-copy', undefined, 'events');
    const states = definition.States as Record<string, State & Record<string, unknown>>;

    it('waits in AwaitSlot by token, its timeout the slot estimate, then starts again either way', () => {
      expect((states.IsCopyStarted?.Choices as unknown[] | undefined)?.slice(0, 2)).toEqual([
        { Variable: '$.copy.wake', IsPresent: true, Next: 'AwaitSlot' },
        // Throttled (no `wake`): the short backoff, as with polling.
        { Variable: '$.copy.state', StringEquals: 'queued', Next: 'WaitForSlot' },
      ]);
      expect(states.AwaitSlot).toMatchObject({
        Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
        Parameters: { Payload: { action: 'await-slot', 'copy.$': '$.copy', 'taskToken.$': '$$.Task.Token' } },
        TimeoutSecondsPath: '$.copy.waitSeconds',
        ResultPath: null,
        Next: 'StartCopy',
      });
      expect(states.AwaitSlot?.TimeoutSeconds).toBeUndefined();
      expect(states.AwaitSlot?.Catch?.[0]).toMatchObject({
        ErrorEquals: ['States.Timeout'],
        Next: 'StartCopy',
      });
      expect(states.AwaitSlot?.Catch?.[1]).toMatchObject({
        ErrorEquals: ['States.ALL'],
        Next: 'RecordFailure',
      });
      expect(states.AwaitSlot?.Retry?.flatMap((retrier) => retrier.ErrorEquals)).not.toContain(
        'States.Timeout',
      );
    });

    it('gives the local runner the timeout from the task input the Parameters build', () => {
      const task = taskStates(definition).find(({ state }) => state === 'AwaitSlot');
      expect(task?.waitForToken).toBe(true);
      expect(task?.timeoutOf({ FunctionName: 'f', Payload: { copy: { waitSeconds: 317 } } })).toBe(317);
      expect(() => task?.timeoutOf({ Payload: { copy: { waitSeconds: 0 } } })).toThrow(/positive integer/);
    });

    it('can wait by token, then by the clock, for the whole execution timeout within the history limit', () => {
      // Worst case: every token wait woken at once (13 events: Task 5, Choice 2, token Task 6) up to the
      // budget, then every timed wait at its floor (9 events) as if from the first attempt.
      const timeout = definition.TimeoutSeconds as number;
      let waited = 0;
      let loops = 0;
      while (waited < timeout) waited += queueFloorSeconds(loops++);
      expect(QUEUE_BOUNDS.tokenWaits * 13 + loops * 9).toBeLessThan(25_000 - 200);
    });
  });

  it('is found by the local runner as a Task calling the copy step with a token', () => {
    const tasks = taskStates(loadDefinition('snapshot-copy', undefined, 'events'));
    const awaitCopy = tasks.find((task) => task.state === 'AwaitCopy');
    expect(awaitCopy).toMatchObject({
      waitForToken: true,
      resource: 'arn:aws:lambda:us-east-1:000000000000:function:ferry-ec2-copy-step',
    });
    expect(awaitCopy?.timeoutOf({ FunctionName: 'f', Payload: { copy: { safetySeconds: 300 } } })).toBe(300);
  });

  it('can wait for a copy whose event never comes until its deadline within the history limit', () => {
    // Worst case: each safety check comes as early as any report allows (the least timeout over every
    // progress EC2 may report, 100 % still pending included), from the copy's start to its 72 h deadline;
    // each costs AwaitCopy 6, CheckCopy 5 and IsCopyDone 2 events.
    const deadline = COPY_DEADLINE_HOURS * 3600;
    let elapsed = 0;
    let checks = 0;
    while (elapsed < deadline) {
      const timeouts = Array.from({ length: 101 }, (_, progress) =>
        safetyCheckSeconds({ elapsedSeconds: elapsed, progress, secondsToDeadline: deadline - elapsed }),
      );
      elapsed += Math.min(...timeouts);
      checks += 1;
    }
    // The earliest timeouts (a copy at 100 % still pending) are 10 % of the time so far: dozens of checks.
    expect(checks).toBeGreaterThan(deadline / (12 * 3600));
    expect(checks * 13).toBeLessThan(1000);
    // With the queue's own worst case (the test above), still under the 25,000-event limit.
    const definition = loadDefinition('snapshot-copy', undefined, 'events');
    let waited = 0;
    let loops = 0;
    while (waited < (definition.TimeoutSeconds as number)) waited += queueFloorSeconds(loops++);
    expect(QUEUE_BOUNDS.tokenWaits * 13 + loops * 9 + checks * 13).toBeLessThan(25_000 - 100);
  });
});
