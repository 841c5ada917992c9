/**
 * Attempts of one copy under deterministic execution names. Step Functions keeps a name taken for 90 days,
 * whatever became of its execution: a copy whose execution failed for good could never be made again under
 * its own name. Attempt 1 is the deterministic name (so a duplicate event still finds the copy under way);
 * attempt n > 1 is that name, cut to fit, with `-a<n>`. A start walks the attempts: a name taken by a
 * running or succeeded execution is the same copy (not started again); one taken by a failed, timed-out or
 * aborted execution moves on to the next attempt; when every attempt failed, the copy is given up with a
 * named error.
 */

/** Step Functions' limit on execution names. */
export const MAX_EXECUTION_NAME = 80;

/** How many executions one copy gets before it is given up. */
export const MAX_ATTEMPTS = 3;

/** An execution's status as DescribeExecution reports it. */
export type AttemptStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED' | 'PENDING_REDRIVE';

/** The statuses of an execution that ended without its copy: the next attempt may start. */
const ENDED_WITHOUT_COPY: ReadonlySet<string> = new Set(['FAILED', 'TIMED_OUT', 'ABORTED']);

/** The execution name of attempt `attempt` (1-based): at most 80 characters. */
export function attemptName(name: string, attempt: number): string {
  if (!Number.isInteger(attempt) || attempt < 1) throw new RangeError(`attempt ${attempt} is not 1, 2, …`);
  if (attempt === 1) return name;
  const suffix = `-a${attempt}`;
  return `${name.slice(0, MAX_EXECUTION_NAME - suffix.length)}${suffix}`;
}

/**
 * The execution input of an attempt: the job, and from attempt 2 on its number, so what the copy asks of
 * EC2 by idempotency token (CopyImage's ClientToken) is not answered with the failed attempt's copy.
 */
export const inputOf = <Job extends object>(job: Job, attempt: number): Job & { attempt?: number } =>
  attempt === 1 ? job : { ...job, attempt };

/** Every attempt of the copy ended without it: the copy is given up, and the cause says so. */
export class CopyAttemptsExhaustedError extends Error {
  constructor(readonly attempts: readonly { name: string; status: string }[]) {
    super(
      `copy attempts exhausted: gave up after ${attempts.length} attempts, each ended without the copy (${attempts
        .map(({ name, status }) => `${name}: ${status}`)
        .join(', ')}): see those executions for the causes`,
    );
    this.name = 'CopyAttemptsExhaustedError';
  }
}

export interface AttemptStarter {
  /**
   * Starts attempt `attempt` under `name` (its input: `inputOf(job, attempt)`): `taken` when the name already
   * exists, whatever its input.
   */
  tryStart(name: string, attempt: number): Promise<{ taken: false; execution: string } | { taken: true }>;
  /** The status of the existing execution `name`. */
  statusOf(name: string): Promise<string>;
  /** Default 3. */
  maxAttempts?: number;
}

/**
 * Starts the first attempt whose name is free, after attempts that ended without the copy. An attempt
 * running or succeeded is the copy: `started: false` with that attempt's name.
 */
export async function startAttempt(
  name: string,
  starter: AttemptStarter,
): Promise<{ execution: string; started: boolean; attempt: number }> {
  const maxAttempts = starter.maxAttempts ?? MAX_ATTEMPTS;
  const ended: { name: string; status: string }[] = [];
  for (let attempt = 1; attempt <= maxAttempts; attempt += 1) {
    const current = attemptName(name, attempt);
    const result = await starter.tryStart(current, attempt);
    if (!result.taken) return { execution: result.execution, started: true, attempt };
    const status = await starter.statusOf(current);
    if (!ENDED_WITHOUT_COPY.has(status)) return { execution: current, started: false, attempt };
    ended.push({ name: current, status });
  }
  throw new CopyAttemptsExhaustedError(ended);
}
