/**
 * One-shot crashes of the sandbox's Lambda functions, as a runtime that dies (out of memory, killed, an
 * exit) looks to Step Functions: the invocation ends without an answer and the Task fails with
 * `Lambda.Unknown` ("Unhandled errors in Lambda are reported as Lambda.Unknown", Step Functions best
 * practices), its cause naming the runtime's `Runtime.ExitError`. What the invocation did before it died
 * stays done: with `after: 'work'` (the default) the real handler runs first, so the requests it made (part
 * copies, say) reached S3, and only its answer is lost.
 */

export interface CrashPlan {
  /** The function's logical id in the definitions, e.g. `ObjectCopyStepLambdaFunction`. */
  function: string;
  /** Which invocation dies: the first whose input this accepts. */
  when: (input: unknown) => boolean;
  /** `work`: the handler runs, then the runtime dies before answering; `start`: it dies at once. */
  after?: 'work' | 'start';
  /** What changes while the function is down, before Step Functions sees the crash (a source deleted). */
  whileDown?: () => Promise<void>;
}

export interface Crash {
  function: string;
  input: unknown;
  error: { name: string; message: string };
}

export class LambdaRuntimeExit extends Error {
  constructor(requestId: string) {
    super(
      `RequestId: ${requestId} Error: Runtime exited with error: signal: killed (Runtime.ExitError, injected by the Ferry sandbox)`,
    );
    this.name = 'Lambda.Unknown';
  }
}

export class LambdaCrashes {
  private readonly plans: CrashPlan[] = [];
  /** Every crash that happened, in order. */
  readonly crashed: Crash[] = [];

  /** The next invocation of `plan.function` that `plan.when` accepts dies (once). */
  crashOnce(plan: CrashPlan): void {
    this.plans.push(plan);
  }

  /** How many planned crashes have not happened yet. */
  get pending(): number {
    return this.plans.length;
  }

  /** Wraps a function's handler so planned crashes happen to it. */
  wrap(name: string, handler: (input: unknown) => Promise<unknown>): (input: unknown) => Promise<unknown> {
    return async (input) => {
      const index = this.plans.findIndex((plan) => plan.function === name && plan.when(input));
      if (index < 0) return handler(input);
      const [plan] = this.plans.splice(index, 1);
      if (plan?.after !== 'start') {
        // The work is done (or failed) before the runtime dies: either way, no answer comes back.
        await handler(input).catch(() => undefined);
      }
      await plan?.whileDown?.();
      const error = new LambdaRuntimeExit(crypto.randomUUID());
      this.crashed.push({ function: name, input, error: { name: error.name, message: error.message } });
      throw error;
    };
  }
}
