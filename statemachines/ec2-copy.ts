/**
 * Ferry's EC2 copy machine: one EBS snapshot or one AMI to one destination (Region, and possibly account).
 * One definition, rendered for each kind at package time (deploy/parts.cjs → serverless.yml) and by the
 * sandbox (local/state-machines.ts), so a change to a retry or a state is made once for both.
 *
 *   Enqueue → StartCopy → IsCopyStarted ─ queued (EC2 refused: limit, throttling) → WaitForSlot → StartCopy
 *                                     ├ (events) refused for the limit → AwaitSlot (woken, or its timeout) → StartCopy
 *                                     └ started → WaitForCopy → CheckCopy → IsCopyDone ─ done → Finalize
 *                                                      ▲                        │ failed → CopyErrored → RecordFailure
 *                                                      └──────── pending ───────┘
 * "done" is the step's `completed` state: a snapshot `completed`, an image `available` (src/ec2/copy-machine/copy-steps.ts);
 * the step inputs and the state it carries are the contract's (src/ec2/copy-machine/contract.ts).
 * Finalize: tags, locks and protection, the archive tier (snapshots), retention
 * (src/ec2/copy-machine/finalize-step.ts). RecordFailure removes what the copy left, then CopyFailed.
 * The wait is computed by the Check step from the elapsed time and the reported progress (see
 * src/ec2/copy-machine/adaptive-wait.ts): a copy of any length costs a few dozen transitions, and completion is noticed
 * within max(60 s, 10 % of the copy's duration). Every Task calls the ec2-copy-step function; its errors are
 * named so Retry and Catch classify them (`STEP_RETRY`, `STEP_CATCH`).
 * The execution input is the copy job; every step reads it from $$.Execution.Input.
 */

import type { Ec2CopyStepInput } from '#ec2/copy-machine/contract';

export const EC2_COPY_KINDS = ['snapshot', 'image'] as const;
export type Ec2CopyKind = (typeof EC2_COPY_KINDS)[number];

/** What differs between the two machines: the words, and the error a failed copy ends with. */
const KIND = {
  snapshot: { noun: 'snapshot', copyFailed: 'SnapshotCopyFailed' },
  image: { noun: 'image', copyFailed: 'ImageCopyFailed' },
} as const satisfies Record<Ec2CopyKind, { noun: string; copyFailed: string }>;

/** The copy-step function, bound by the deployment template (the sandbox resolves it to a local ARN). */
const stepFunction = () => ({ 'Fn::GetAtt': ['Ec2CopyStepLambdaFunction', 'Arn'] });

/**
 * Every step Task's retries:
 *   CopyLimitError      throttling that outlived the SDK's retries on any other call: retried for as long as
 *                       it lasts (1 min growing to 15 min, full jitter, 4,000 tries: about three weeks, at ~3
 *                       history events each), nothing is dropped. A refused copy call does not raise: it queues;
 *   RetryableCopyError  5xx, lost answers (and the Lambda service's own transient errors): about an hour.
 *   Lambda.Unknown      the function died without answering (a crash, out of memory, its own timeout), maybe
 *                       after its work reached EC2. Every step here may run again: StartCopy finds the copy it
 *                       made by Ferry's tags, CheckCopy only reads, Finalize reads back before it writes.
 *                       ("Unhandled errors in Lambda are reported as Lambda.Unknown": Step Functions' best
 *                       practices, https://docs.aws.amazon.com/step-functions/latest/dg/sfn-best-practices.html)
 * Retrier fields: https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html
 */
const STEP_RETRY = [
  {
    ErrorEquals: ['CopyLimitError'],
    IntervalSeconds: 60,
    BackoffRate: 1.5,
    MaxDelaySeconds: 900,
    MaxAttempts: 4000,
    JitterStrategy: 'FULL',
  },
  {
    ErrorEquals: [
      'RetryableCopyError',
      'States.Timeout',
      'Lambda.Unknown',
      'Lambda.ServiceException',
      'Lambda.AWSLambdaException',
      'Lambda.SdkClientException',
      'Lambda.TooManyRequestsException',
    ],
    IntervalSeconds: 5,
    BackoffRate: 2,
    MaxDelaySeconds: 600,
    MaxAttempts: 12,
    JitterStrategy: 'FULL',
  },
];

/** Everything else a step raises is recorded with its cause (RecordFailure removes what the copy left). */
const STEP_CATCH = [{ ErrorEquals: ['States.ALL'], ResultPath: '$.failure', Next: 'RecordFailure' }];

/** A Task calling the copy step with `action`, the job and the copy so far, retried and caught as above. */
function stepTask(
  action: Ec2CopyStepInput['action'],
  timeoutSeconds: number,
  resultPath: string,
  then: Record<string, unknown>,
) {
  return {
    Type: 'Task',
    Resource: stepFunction(),
    Parameters: { action, 'job.$': '$$.Execution.Input', 'copy.$': '$.copy' },
    TimeoutSeconds: timeoutSeconds,
    ResultPath: resultPath,
    // Fresh copies per Task: a definition is plain data its readers may change (withoutTaskTimeouts).
    Retry: structuredClone(STEP_RETRY),
    Catch: structuredClone(STEP_CATCH),
    ...then,
  };
}

/**
 * How a started copy's end is noticed:
 *   polling  WaitForCopy → CheckCopy → IsCopyDone, the wait adaptive (a few dozen transitions per copy);
 *   events   AwaitCopy (a `.waitForTaskToken` Task: the copy step stores the task token, keyed by the copy's
 *            id, in DynamoDB and looks at the copy once) → CheckCopy → IsCopyDone. The ec2CopyCompleted
 *            function completes the token when EBS's `copySnapshot` result or "EC2 AMI State Change" arrives
 *            (src/ec2/copy-machine/completion.ts); a lost event ends the task at its timeout
 *            (States.Timeout, caught: the safety check, src/ec2/copy-machine/safety-check.ts), and
 *            CheckCopy looks; before that, the hourly ec2CopySweep ends it as the event would
 *            (src/ec2/copy-machine/sweep.ts).
 *            A copy made by a destination's role (another account) cannot be signalled: its event goes to
 *            that account. The step marks it `polled`, and it takes WaitForCopy as with polling.
 * Deployed with events (deploy/parts.cjs), and so run by the sandbox unless a test or benchmark chooses
 * polling for a comparison.
 */
export type Ec2CompletionMode = 'polling' | 'events';

/** The mode the deployment renders (deploy/parts.cjs) and the sandbox runs by default (local/sandbox.ts). */
export const DEPLOYED_EC2_COMPLETION: Ec2CompletionMode = 'events';

/**
 * The states a copy refused by EC2 waits in before StartCopy tries again: the timed wait, and (events) the
 * wait for a freed slot by token. Counted by the demo, the burst benchmark and the tests.
 */
export const SLOT_WAIT_STATES: readonly string[] = ['WaitForSlot', 'AwaitSlot'];

/** The Lambda service integration that waits for a task token (the function's answer is not the result). */
export const LAMBDA_WAIT_FOR_TOKEN = 'arn:aws:states:::lambda:invoke.waitForTaskToken';

/**
 * A `.waitForTaskToken` Task invoking the copy step with `action`, the task token and the execution's id:
 * it waits for SendTaskSuccess or, at its timeout, ends with States.Timeout, caught and sent to `next` as
 * the callback would be. Retries as every step, except States.Timeout, which here is the safety check.
 * Callback pattern: https://docs.aws.amazon.com/step-functions/latest/dg/connect-to-resource.html#connect-wait-token
 */
function tokenTask(
  action: 'await' | 'await-slot',
  timeout: { TimeoutSeconds: number } | { TimeoutSecondsPath: string },
  next: string,
) {
  const retry = structuredClone(STEP_RETRY).map((retrier) => ({
    ...retrier,
    ErrorEquals: retrier.ErrorEquals.filter((name) => name !== 'States.Timeout'),
  }));
  return {
    Type: 'Task',
    Resource: LAMBDA_WAIT_FOR_TOKEN,
    Parameters: {
      FunctionName: stepFunction(),
      Payload: {
        action,
        'job.$': '$$.Execution.Input',
        'copy.$': '$.copy',
        'taskToken.$': '$$.Task.Token',
        'execution.$': '$$.Execution.Id',
      },
    },
    ...timeout,
    // What the callback sends is only a signal: the next step reads what it needs from EC2.
    ResultPath: null,
    Retry: retry,
    Catch: [
      { ErrorEquals: ['States.Timeout'], ResultPath: null, Next: next },
      ...structuredClone(STEP_CATCH),
    ],
    Next: next,
  };
}

/**
 * AwaitCopy: the copy step (`await`) stores the token under the copy's id; without its event, CheckCopy
 * looks at the safety check. Its timeout comes from the copy itself (TimeoutSecondsPath, a positive
 * integer, https://docs.aws.amazon.com/step-functions/latest/dg/state-task.html): the step before it
 * (StartCopy, or CheckCopy looping back) computes `safetySeconds` from the copy's elapsed time and progress,
 * 5 min up to the copy's deadline (src/ec2/copy-machine/safety-check.ts). The hourly sweep ends the wait of a
 * copy whose event was lost within the hour (src/ec2/copy-machine/sweep.ts); the timeout is its backstop.
 */
const awaitTask = () => tokenTask('await', { TimeoutSecondsPath: '$.copy.safetySeconds' }, 'CheckCopy');

/**
 * AwaitSlot: a copy refused for the copy limit (`$.copy.wake`, set by the start step) stores its token in
 * its destination's slot queue (`await-slot`, src/ec2/copy-machine/slot-queue.ts); the next copy to end
 * there wakes the oldest waiter, which goes back to StartCopy at once. Its timeout is the slot estimate the
 * polling machine sleeps for (TimeoutSecondsPath, a positive integer: the Task state reference,
 * https://docs.aws.amazon.com/step-functions/latest/dg/state-task.html), so a lost wake-up costs no more
 * than the timed wait.
 */
const awaitSlotTask = () =>
  tokenTask('await-slot', { TimeoutSecondsPath: '$.copy.waitSeconds' }, 'StartCopy');

/** The ASL definition of the `kind` copy machine, with `Fn::GetAtt` left for the template to bind. */
export function ec2CopyDefinition(
  kind: Ec2CopyKind,
  completion: Ec2CompletionMode = 'polling',
): Record<string, unknown> {
  const { noun, copyFailed } = KIND[kind];
  const waitState = completion === 'events' ? 'AwaitCopy' : 'WaitForCopy';
  const waitForCopy = { Type: 'Wait', SecondsPath: '$.copy.waitSeconds', Next: 'CheckCopy' };
  // With events, a copy whose event goes to another account (`$.copy.polled`, set by the step) still polls.
  const waiting =
    completion === 'events'
      ? { AwaitCopy: awaitTask(), WaitForCopy: waitForCopy, AwaitSlot: awaitSlotTask() }
      : { WaitForCopy: waitForCopy };
  // With events, a copy refused for the limit waits for a wake-up; throttled, it backs off in WaitForSlot.
  const woken =
    completion === 'events' ? [{ Variable: '$.copy.wake', IsPresent: true, Next: 'AwaitSlot' }] : [];
  const polled =
    completion === 'events' ? [{ Variable: '$.copy.polled', IsPresent: true, Next: 'WaitForCopy' }] : [];
  return {
    Comment: `Ferry ${noun} copy (${completion === 'events' ? 'completion events' : 'adaptive wait'}, limits, retention)`,
    StartAt: 'Enqueue',
    // A backstop over the copy deadline the Check step enforces (72 h from the copy's start): a copy may
    // first queue behind the copy limit for as long as a burst needs (21 days; the local runner times out
    // on a real timer, which cannot exceed 24.8 days).
    TimeoutSeconds: 1814400,
    States: {
      // Every copy enters queued. StartCopy starts it, or, when EC2 refuses (the copy limit, throttling),
      // keeps it queued with the time to wait: until the earliest estimated end among the copies in flight,
      // or a short backoff when throttled (src/ec2/copy-machine/copy-queue.ts).
      Enqueue: {
        Type: 'Pass',
        Result: { state: 'queued', attempts: 0, waitSeconds: 1 },
        ResultPath: '$.copy',
        Next: 'StartCopy',
      },
      StartCopy: stepTask('start', 60, '$.copy', { Next: 'IsCopyStarted' }),
      IsCopyStarted: {
        Type: 'Choice',
        Choices: [
          ...woken,
          { Variable: '$.copy.state', StringEquals: 'queued', Next: 'WaitForSlot' },
          ...polled,
        ],
        Default: waitState,
      },
      WaitForSlot: { Type: 'Wait', SecondsPath: '$.copy.waitSeconds', Next: 'StartCopy' },
      ...waiting,
      CheckCopy: stepTask('check', 60, '$.copy', { Next: 'IsCopyDone' }),
      IsCopyDone: {
        Type: 'Choice',
        Choices: [
          { Variable: '$.copy.state', StringEquals: 'completed', Next: 'Finalize' },
          { Variable: '$.copy.state', StringEquals: 'failed', Next: 'CopyErrored' },
          ...structuredClone(polled),
        ],
        Default: waitState,
      },
      // EC2 put the copy in a failed state (snapshot `error`, image `failed`: a key it cannot use, an
      // internal failure): its StateMessage or StateReason, reported by the Check step, is the cause.
      CopyErrored: {
        Type: 'Pass',
        Parameters: { Error: copyFailed, 'Cause.$': '$.copy.message' },
        ResultPath: '$.failure',
        Next: 'RecordFailure',
      },
      Finalize: stepTask('finalize', 120, '$.result', { End: true }),
      RecordFailure: {
        Type: 'Task',
        Resource: stepFunction(),
        Parameters: { action: 'record-failure', 'job.$': '$$.Execution.Input', 'state.$': '$' },
        TimeoutSeconds: 60,
        ResultPath: '$.recorded',
        Retry: [{ ErrorEquals: ['States.ALL'], IntervalSeconds: 2, BackoffRate: 2, MaxAttempts: 5 }],
        Next: 'CopyFailed',
      },
      CopyFailed: { Type: 'Fail', ErrorPath: '$.failure.Error', CausePath: '$.failure.Cause' },
    },
  };
}
