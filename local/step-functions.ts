import { randomUUID } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';
import { ExecutionError, StateMachine } from 'aws-local-stepfunctions';
import type { Ec2CompletionMode } from '../statemachines/ec2-copy.ts';
import {
  type ChildRun,
  DISTRIBUTED_MAP_RESOURCE,
  type DistributedMapState,
  runDistributedMap,
  withDistributedMapsAsTasks,
} from './distributed-map.ts';
import {
  loadDefinition,
  localFunctionArn,
  type StateMachineName,
  TASK_FUNCTIONS,
  type TaskFunction,
  type TaskStateInfo,
  taskStates,
  type WaitDuration,
  waitStates,
  withoutTaskTimeouts,
} from './state-machines.ts';
import type { VirtualClock } from './virtual-clock.ts';

/** The runner's event log entries and run overrides (their types are not exported by name). */
type Overrides = NonNullable<NonNullable<Parameters<StateMachine['run']>[1]>['overrides']>;
type EventLog = ReturnType<StateMachine['run']>['eventLogs'] extends AsyncGenerator<infer E> ? E : never;

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED';

export interface Execution {
  name: string;
  stateMachine: StateMachineName;
  input: unknown;
  status: ExecutionStatus;
  output?: unknown;
  error?: { Error: string; Cause: string };
  events: EventLog[];
  /** When each of `events` was logged: virtual milliseconds since the execution started. */
  eventsAt: number[];
  /** Retries the runner made, by state name. */
  retries: Map<string, number>;
  /** Seconds spent in Wait states (on the virtual clock). */
  waitedSeconds: number;
  /** Virtual milliseconds from start to end: real run time plus every skipped wait and backoff. */
  virtualDurationMs?: number;
  done: Promise<void>;
}

/** The states an execution entered, in order: a state entered again (a loop, a retry's re-entry) again. */
export const statesEnteredOf = (execution: Pick<Execution, 'events'>): string[] =>
  execution.events.flatMap((event) => (event.type === 'StateEntered' ? [event.state.name] : []));

/** A Task whose handler outran the state's `TimeoutSeconds`. */
export class TaskTimeoutError extends Error {
  constructor() {
    super('The task did not end within its TimeoutSeconds');
    this.name = 'States.Timeout';
  }
}

/**
 * A Task's handler run under its TimeoutSeconds: a timed-out invocation goes on running (its work may still
 * land), while the state fails with States.Timeout.
 */
async function withinTimeout(
  handler: (input: unknown) => Promise<unknown>,
  input: unknown,
  timeoutSeconds: number,
): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TaskTimeoutError()), timeoutSeconds * 1000);
  });
  try {
    return await Promise.race([handler(input), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** What Step Functions answers when a name is reused with another input. */
export class ExecutionAlreadyExistsError extends Error {
  constructor(name: string) {
    super(`Execution already exists: '${name}' was started with a different input`);
    this.name = 'ExecutionAlreadyExists';
  }
}

/** SendTaskSuccess/SendTaskFailure's refusals, named as Step Functions names them. */
export class TaskCallbackError extends Error {
  constructor(
    readonly type: 'TaskDoesNotExist' | 'InvalidToken' | 'TaskTimedOut' | 'InvalidOutput',
    message: string,
  ) {
    super(message);
    this.name = type;
  }
}

/** A failure sent with SendTaskFailure: the task fails with this error and cause. */
export class TaskFailedByCallback extends Error {
  constructor(error: string, cause: string) {
    super(cause);
    this.name = error;
  }
}

/** What the runner resolves `$$.Task.Token` to; each task entered replaces it with a token of its own. */
const TOKEN_PLACEHOLDER = 'ferry-local-task-token';
const TOKEN_PREFIX = 'ferry-local-token-';

/** The execution's ARN, as `$$.Execution.Id` gives it. */
const localExecutionArn = (stateMachine: StateMachineName, name: string) =>
  `arn:aws:states:us-east-1:000000000000:execution:ferry-sandbox-${stateMachine}:${name}`;

const withToken = (node: unknown, token: string): unknown => {
  if (node === TOKEN_PLACEHOLDER) return token;
  if (Array.isArray(node)) return node.map((value) => withToken(value, token));
  if (typeof node !== 'object' || node === null) return node;
  return Object.fromEntries(Object.entries(node).map(([key, value]) => [key, withToken(value, token)]));
};

export interface LocalStepFunctionsOptions {
  /** The Lambda handlers the Task states call, by the logical id the definitions reference. */
  functions: Partial<Record<TaskFunction, (input: unknown) => Promise<unknown>>>;
  clock: VirtualClock;
  /** Full jitter draws from this (seeded in the sandbox, so schedules repeat). */
  random: () => number;
  onExecutionEnd?: (execution: Execution) => void;
  /** Work under way outside the executions (event deliveries…): time does not jump while it runs. */
  busy?: () => boolean;
  /**
   * Validate definitions when loading them (default). A one-shot process may skip it: AWS validates once,
   * at deploy time, and the test suite validates every definition.
   */
  validate?: boolean;
  /** How the EC2 copy machines wait for a copy (statemachines/ec2-copy.ts); polling by default. */
  ec2Completion?: Ec2CompletionMode;
  /** The sandbox's S3 in the machines' Region: what a Distributed Map reads items from and writes results to. */
  s3?: () => S3Client;
  /** A machine's ARN, for the ARNs of map runs and their children. */
  stateMachineArnOf?: (name: StateMachineName) => string;
  /** The authorizations a machine's Distributed Maps need from its role (local/distributed-map.ts). */
  recordMachine?: (
    stateMachine: StateMachineName,
    authorization: { action: string; resource: string; call: string },
  ) => void;
}

/**
 * Step Functions for the sandbox: the real state machines (`local/state-machines.ts`) run in `aws-local-stepfunctions`,
 * their Task states call the real handlers in-process, names are unique per state machine (the same name
 * and input returns the running execution; another input is refused), and neither Wait states nor retry
 * backoff sleep: the execution's next task waits on the virtual clock for the time Step Functions would
 * have waited, and the clock jumps ahead once every execution is waiting and nothing else is under way.
 */
export class LocalStepFunctions {
  readonly executions = new Map<string, Execution>();
  private readonly machines = new Map<
    StateMachineName,
    {
      machine: StateMachine;
      tasks: TaskStateInfo[];
      waits: Map<string, WaitDuration>;
      /** Distributed Map states, run by local/distributed-map.ts in place of the Task that stands for each. */
      maps: Map<string, DistributedMapState>;
    }
  >();
  /** Per running execution: tasks running a handler, and tasks waiting on the clock. */
  private readonly activity = new Map<Execution, { active: number; asleep: number }>();
  private idleCheck: NodeJS.Immediate | undefined;
  /** Open task tokens (`.waitForTaskToken` tasks waiting), and those already closed. */
  private readonly tokens = new Map<
    string,
    { succeed: (output: unknown) => void; fail: (error: Error) => void }
  >();
  private readonly closedTokens = new Set<string>();

  constructor(private readonly options: LocalStepFunctionsOptions) {
    options.clock.onSleep = () => this.poke();
  }

  /** Something may have become idle: look, on the next turn, whether time can jump. */
  poke(): void {
    this.idleCheck ??= setImmediate(() => {
      this.idleCheck = undefined;
      if (this.idle()) this.options.clock.wakeNext();
    });
  }

  /** Every running execution is waiting on the clock, and nothing else is under way. */
  private idle(): boolean {
    if (this.options.clock.sleepers === 0 || this.options.busy?.()) return false;
    for (const [execution, { active, asleep }] of this.activity) {
      if (execution.status === 'RUNNING' && (active > 0 || asleep === 0)) return false;
    }
    return true;
  }

  /**
   * Loads and parses a definition now rather than at its first execution: in AWS a definition is loaded at
   * deploy time, so a one-shot process that measures an execution keeps this out of what it measures.
   */
  preload(name: StateMachineName): void {
    this.machine(name);
  }

  private machine(name: StateMachineName) {
    let entry = this.machines.get(name);
    if (!entry) {
      const { definition, maps } = withDistributedMapsAsTasks(
        loadDefinition(name, undefined, this.options.ec2Completion),
      );
      entry = {
        tasks: taskStates(definition),
        waits: waitStates(definition),
        maps,
        // JSONPath is validated; the local ARNs are not real, so their format is not.
        // Task timeouts are enforced below on the handler's run, not on the wait before it.
        machine: new StateMachine(withoutTaskTimeouts(definition) as never, {
          validationOptions: this.options.validate === false ? { noValidate: true } : { checkArn: false },
        }),
      };
      this.machines.set(name, entry);
    }
    return entry;
  }

  private handlerFor(resource: string): (input: unknown) => Promise<unknown> {
    for (const logicalId of Object.keys(TASK_FUNCTIONS) as TaskFunction[]) {
      const handler = this.options.functions[logicalId];
      if (localFunctionArn(logicalId) === resource && handler) return handler;
    }
    throw new Error(`no local function for ${resource}`);
  }

  start(
    stateMachine: StateMachineName,
    name: string,
    input: unknown,
  ): { execution: Execution; started: boolean } {
    const key = `${stateMachine}:${name}`;
    const existing = this.executions.get(key);
    if (existing) {
      if (JSON.stringify(existing.input) !== JSON.stringify(input))
        throw new ExecutionAlreadyExistsError(name);
      return { execution: existing, started: false };
    }

    const { machine, tasks, waits, maps } = this.machine(stateMachine);
    const clock = this.options.clock;
    const startedAt = clock.now();
    const execution: Execution = {
      name,
      stateMachine,
      input,
      status: 'RUNNING',
      events: [],
      eventsAt: [],
      retries: new Map(),
      waitedSeconds: 0,
      done: Promise.resolve(),
    };
    this.activity.set(execution, { active: 0, asleep: 0 });
    /** When the execution's next task may run: after its Wait or retry backoff, on the virtual clock. */
    let resumeAt = startedAt;
    const overrides: Overrides = {
      taskResourceLocalHandlers: Object.fromEntries(
        tasks.map(({ state, resource, timeoutOf, waitForToken }) => {
          const map = resource.startsWith(`${DISTRIBUTED_MAP_RESOURCE}:`) ? maps.get(state) : undefined;
          const handler = map
            ? (mapInput: unknown) => this.runMap(stateMachine, name, map, mapInput)
            : this.handlerFor(resource);
          return [
            state,
            async (taskInput: unknown) => {
              const activity = this.activity.get(execution);
              if (activity) activity.asleep += 1;
              await clock.until(resumeAt);
              if (activity) {
                activity.asleep -= 1;
                activity.active += 1;
              }
              if (waitForToken)
                return (await this.awaitToken(execution, taskInput, handler, timeoutOf(taskInput))) as never;
              // The task's TimeoutSeconds counts from here, as in AWS.
              try {
                return (await withinTimeout(handler, taskInput, timeoutOf(taskInput))) as never;
              } finally {
                if (activity) activity.active -= 1;
                this.poke();
              }
            },
          ];
        }),
      ),
      // Waits and backoff take a real millisecond: enough for the event log below to set `resumeAt`
      // before the next task runs.
      retryIntervalOverrides: Object.fromEntries(tasks.map(({ state }) => [state, 1])),
      waitTimeOverrides: Object.fromEntries([...waits.keys()].map((state) => [state, 1])),
    };
    const run = machine.run(input as never, {
      overrides,
      context: {
        Execution: { Id: localExecutionArn(stateMachine, name) },
        Task: { Token: TOKEN_PLACEHOLDER },
      },
    });

    const collect = (async () => {
      for await (const event of run.eventLogs) {
        execution.events.push(event);
        execution.eventsAt.push(clock.now() - startedAt);
        if (event.type === 'StateEntered') {
          const duration = waits.get(event.state.name);
          if (duration) {
            const seconds = duration(event.state.input);
            execution.waitedSeconds += seconds;
            resumeAt = clock.now() + seconds * 1000;
          }
        }
        if (event.type === 'StateRetried') {
          execution.retries.set(event.state.name, (execution.retries.get(event.state.name) ?? 0) + 1);
          resumeAt = clock.now() + this.backoffMs(event.retry.retrier, event.retry.attempt);
        }
      }
    })();
    execution.done = run.result
      .then((output) => {
        execution.status = 'SUCCEEDED';
        execution.output = output;
      })
      .catch((error: unknown) => {
        execution.status = 'FAILED';
        const cause =
          error instanceof ExecutionError ? (error.cause as { name?: string; message?: string }) : undefined;
        execution.error = {
          Error: cause?.name ?? (error as Error).name,
          Cause: cause?.message ?? (error as Error).message,
        };
      })
      .then(() => collect)
      .finally(() => {
        execution.virtualDurationMs = clock.now() - startedAt;
        this.activity.delete(execution);
        this.poke();
        this.options.onExecutionEnd?.(execution);
      });
    this.executions.set(key, execution);
    return { execution, started: true };
  }

  /**
   * A `.waitForTaskToken` task: a token of its own in the payload, the function invoked with it (its answer
   * is not the result; its failure is the task's), then a wait on the virtual clock for SendTaskSuccess or
   * SendTaskFailure, or States.Timeout at TimeoutSeconds. The wait counts as asleep: the clock may jump.
   */
  private async awaitToken(
    execution: Execution,
    taskInput: unknown,
    handler: (input: unknown) => Promise<unknown>,
    timeoutSeconds: number,
  ): Promise<unknown> {
    const activity = this.activity.get(execution);
    const token = `${TOKEN_PREFIX}${randomUUID()}`;
    const callback = new Promise<unknown>((succeed, fail) => this.tokens.set(token, { succeed, fail }));
    const timeout = this.options.clock.cancellableUntil(this.options.clock.now() + timeoutSeconds * 1000);
    const close = () => {
      timeout.cancel();
      this.tokens.delete(token);
      this.closedTokens.add(token);
    };
    try {
      const { Payload } = withToken(taskInput, token) as { Payload?: unknown };
      await handler(Payload);
    } catch (error) {
      close();
      throw error;
    } finally {
      if (activity) {
        activity.active -= 1;
        activity.asleep += 1;
      }
      this.poke();
    }
    try {
      return await Promise.race([
        callback,
        timeout.done.then(() => {
          throw new TaskTimeoutError();
        }),
      ]);
    } finally {
      close();
      if (activity) activity.asleep -= 1;
      this.poke();
    }
  }

  /** The task waiting on `token`, or the refusal Step Functions answers with. */
  private openTask(token: string) {
    const task = this.tokens.get(token);
    if (task) return task;
    if (this.closedTokens.has(token))
      throw new TaskCallbackError('TaskTimedOut', 'Task Timed Out: the task has already been closed');
    if (!token.startsWith(TOKEN_PREFIX)) throw new TaskCallbackError('InvalidToken', 'Invalid Token');
    throw new TaskCallbackError('TaskDoesNotExist', 'Task does not exist anymore');
  }

  /** SendTaskSuccess: the waiting task succeeds with `output` (JSON text, as the API takes it). */
  sendTaskSuccess(token: string, output: string): void {
    const task = this.openTask(token);
    let parsed: unknown;
    try {
      parsed = JSON.parse(output);
    } catch {
      throw new TaskCallbackError('InvalidOutput', 'The output is not valid JSON');
    }
    task.succeed(parsed);
  }

  /** SendTaskFailure: the waiting task fails with `error` and `cause`. */
  sendTaskFailure(token: string, error: string, cause: string): void {
    this.openTask(token).fail(new TaskFailedByCallback(error, cause));
  }

  /** One Distributed Map state of an execution, its children running the real ItemProcessor's handlers. */
  private runMap(stateMachine: StateMachineName, name: string, map: DistributedMapState, input: unknown) {
    const s3 = this.options.s3?.();
    if (!s3) throw new Error(`${stateMachine}: a Distributed Map needs the sandbox's S3 (option s3)`);
    return runDistributedMap(map, input, {
      s3,
      runChild: (childInput) => this.runChild(map, childInput),
      stateMachineArn:
        this.options.stateMachineArnOf?.(stateMachine) ??
        `arn:aws:states:us-east-1:000000000000:stateMachine:${stateMachine}`,
      executionName: name,
      now: this.options.clock.now,
      record: (authorization) => this.options.recordMachine?.(stateMachine, authorization),
    });
  }

  /**
   * A child of a Distributed Map: its ItemProcessor as a state machine of its own, whose Task states call the
   * real handlers under their TimeoutSeconds. Retry backoff takes a millisecond: a child's retries are not
   * counted on the virtual clock (Ferry's children have no Wait states).
   */
  private async runChild(map: DistributedMapState, input: unknown): Promise<ChildRun> {
    const { ProcessorConfig: _, ...processor } = map.body.ItemProcessor as Record<string, unknown>;
    const tasks = taskStates(processor);
    const machine = new StateMachine(withoutTaskTimeouts(processor) as never, {
      validationOptions: { noValidate: true },
    });
    const overrides: Overrides = {
      taskResourceLocalHandlers: Object.fromEntries(
        tasks.map(({ state, resource, timeoutSeconds }) => {
          const handler = this.handlerFor(resource);
          return [state, (taskInput: unknown) => withinTimeout(handler, taskInput, timeoutSeconds) as never];
        }),
      ),
      retryIntervalOverrides: Object.fromEntries(tasks.map(({ state }) => [state, 1])),
    };
    try {
      // The child's input crosses a JSON boundary in AWS, as the execution's does.
      const output = await machine.run(JSON.parse(JSON.stringify(input)) as never, { overrides }).result;
      return { status: 'SUCCEEDED', output };
    } catch (error) {
      const cause =
        error instanceof ExecutionError ? (error.cause as { name?: string; message?: string }) : undefined;
      return {
        status: 'FAILED',
        error: {
          Error: cause?.name ?? (error as Error).name,
          Cause: cause?.message ?? (error as Error).message,
        },
      };
    }
  }

  /** The wait Step Functions would make before this retry: exponential, capped, with full jitter. */
  private backoffMs(
    retrier: {
      IntervalSeconds?: number;
      BackoffRate?: number;
      MaxDelaySeconds?: number;
      JitterStrategy?: string;
    },
    attempt: number,
  ): number {
    const exponential =
      (retrier.IntervalSeconds ?? 1) * (retrier.BackoffRate ?? 2) ** Math.max(0, attempt - 1);
    const capped = Math.min(exponential, retrier.MaxDelaySeconds ?? Number.POSITIVE_INFINITY);
    const seconds = retrier.JitterStrategy === 'FULL' ? capped * this.options.random() : capped;
    return Math.round(seconds * 1000);
  }

  /** The status of the execution `name` of a state machine, or undefined when there is none. */
  status(stateMachine: StateMachineName, name: string): ExecutionStatus | undefined {
    return this.executions.get(`${stateMachine}:${name}`)?.status;
  }

  get running(): number {
    return [...this.executions.values()].filter((execution) => execution.status === 'RUNNING').length;
  }

  /** Resolves when every execution started so far has ended. */
  async settle(): Promise<void> {
    await Promise.all([...this.executions.values()].map((execution) => execution.done));
  }
}
