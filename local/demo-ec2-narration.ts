import type { Ec2CopyJob } from '#ec2/copy-machine/contract';
import type { Tags } from '#ec2/markers';
import type { StartOutcome } from '#ec2/start-copies';
import { total } from './demo-checks.ts';
import { copySeconds } from './demo-ec2-expectations.ts';
import type { Delivery } from './event-bus.ts';
import type { Execution } from './step-functions.ts';

/**
 * What the EC2 pipeline does, line by line, as `npm start` shows it (local/demo.ts routes the sandbox's
 * deliveries and executions here), and the formats the EC2 part of the demo writes times and tags in.
 */

/** 45s, 26m40s, 2h05m10s. */
export function duration(totalSeconds: number): string {
  const seconds = Math.round(totalSeconds);
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  const pad = (n: number) => String(n).padStart(2, '0');
  if (h > 0) return `${h}h${pad(m)}m${pad(s)}s`;
  if (m > 0) return `${m}m${pad(s)}s`;
  return `${s}s`;
}

/** backup=dr,team=data. */
export const tagText = (tags: Tags) =>
  Object.entries(tags)
    .map(([key, value]) => `${key}=${value}`)
    .join(',');

/** The copy job a snapshot-copy or image-copy execution runs. */
export const jobOf = (execution: Execution) => execution.input as Ec2CopyJob;

const machineOf = (target: string) => (target === 'image-available' ? 'image-copy' : 'snapshot-copy');

/**
 * One line per source an EC2 handler saw: handed to a state machine per destination, or skipped (why).
 * (A failed invocation's line is the narration's, for S3 and EC2 alike.)
 */
export function describeEc2Delivery(delivery: Delivery, print: (line: string) => void): void {
  if (!Array.isArray(delivery.result)) return;
  for (const outcome of delivery.result as StartOutcome[]) {
    if (outcome.status === 'skipped')
      print(`    ↳ ${delivery.target} ${outcome.source} skipped: ${outcome.reason}`);
    else
      print(
        `    ↳ ${delivery.target} ${outcome.source} [${outcome.rule}] ${outcome.status === 'started' ? 'handed to' : 'already in'} ${machineOf(delivery.target)} → ${outcome.region}`,
      );
  }
}

interface StepState {
  copy?: {
    id: string;
    state: string;
    progress: number;
    waitSeconds: number;
    safetySeconds?: number;
    message?: string;
  };
  result?: { copy: string; archived: boolean; tagged: string[]; pruned: string[] };
}

/**
 * One line per finished snapshot-copy or image-copy execution; for a traced one, first each of its steps
 * (`describeSteps`).
 */
export function describeEc2Execution(
  execution: Execution,
  print: (line: string) => void,
  traced: boolean,
): void {
  const job = jobOf(execution);
  const size = job.source.sizeGiB !== undefined ? `, ${job.source.sizeGiB} GiB` : '';
  if (traced) describeSteps(execution, print);
  const head = `    ↳ ${execution.stateMachine} ${job.source.id} → ${job.destination.region} [${job.rule}]`;
  if (execution.status !== 'SUCCEEDED') {
    print(`${head} ${execution.status} (${execution.error?.Error}: ${execution.error?.Cause})`);
    return;
  }
  const checks = execution.events.filter(
    (e) => e.type === 'StateExited' && e.state.name === 'CheckCopy',
  ).length;
  const retries = total(execution.retries);
  const took = duration((execution.virtualDurationMs ?? 0) / 1000);
  const result = (execution.output as StepState | undefined)?.result;
  print(
    `${head} ${result?.copy ?? '?'} completed after ${took}${size}, ${checks} checks` +
      `${retries ? `, ${retries} retries` : ''}${result?.archived ? ', archived' : ''}` +
      `${result?.pruned.length ? `, pruned ${result.pruned.join(', ')}` : ''}`,
  );
}

/**
 * Each step of an execution: the time since the execution started (virtual, as the runner logged each
 * event), what EC2 reported, and what the machine did next: the next wait the Check step chose
 * (src/ec2/copy-machine/adaptive-wait.ts) where it polls, or the wait for the copy's event (AwaitCopy) or a
 * freed slot (AwaitSlot) where it waits by event, as deployed.
 */
function describeSteps(execution: Execution, print: (line: string) => void): void {
  const job = jobOf(execution);
  const size = job.source.sizeGiB !== undefined ? `, ${job.source.sizeGiB} GiB` : '';
  print(
    `    ↳ ${execution.stateMachine} of ${job.source.id}${size} → ${job.destination.region} [${job.rule}], step by step ` +
      `(${job.source.sizeGiB !== undefined ? `EC2 needs ${duration(copySeconds(job.source.sizeGiB))}` : ''}):`,
  );
  let elapsed = 0;
  const step = (what: string) => print(`        ${`+${duration(elapsed)}`.padEnd(9)} ${what}`);
  for (const [index, event] of execution.events.entries()) {
    elapsed = (execution.eventsAt[index] ?? 0) / 1000;
    if (event.type === 'StateEntered' && event.state.name === 'AwaitCopy') {
      const safety = (event.state.input as StepState).copy?.safetySeconds;
      step(
        `AwaitCopy waits for the copy's completion event${safety ? ` (safety check in ${duration(safety)})` : ''}`,
      );
    } else if (event.type === 'StateRetried') {
      step(`${event.state.name} retried (attempt ${event.retry.attempt})`);
    } else if (
      event.type === 'StateExited' &&
      (event.state.name === 'StartCopy' || event.state.name === 'CheckCopy')
    ) {
      const copy = (event.state.output as StepState).copy;
      if (!copy) continue;
      if (copy.state === 'queued') {
        const refusal = copy.message?.split(':')[0] ?? 'refused';
        step(
          (copy as { wake?: boolean }).wake
            ? `StartCopy queued (${refusal}) → AwaitSlot until a copy ends (at most ${duration(copy.waitSeconds)})`
            : `StartCopy queued (${refusal}) → next try in ${duration(copy.waitSeconds)}`,
        );
        continue;
      }
      // Polled (as the sandbox can run it, or a copy another account makes): the next check's wait; by
      // event, AwaitCopy's own line follows.
      const next =
        copy.state === 'pending' && nextStateOf(execution, index) === 'WaitForCopy'
          ? ` → next check in ${duration(copy.waitSeconds)}`
          : '';
      const what =
        event.state.name === 'StartCopy' ? `started ${copy.id}` : `${copy.state} ${copy.progress}%`;
      step(`${event.state.name.padEnd(9)} ${what}${next}`);
    } else if (event.type === 'StateExited' && event.state.name === 'Finalize') {
      const result = (event.state.output as StepState).result;
      if (!result) continue;
      step(
        `Finalize  tags read back${result.tagged.length ? ` (set ${result.tagged.join(', ')})` : ''}` +
          `${result.archived ? ', archived' : ''}${result.pruned.length ? `, pruned ${result.pruned.join(', ')}` : ''}`,
      );
    }
  }
}

/** The first state other than a Choice that the execution entered after its event `index`. */
function nextStateOf(execution: Execution, index: number): string | undefined {
  for (const event of execution.events.slice(index + 1))
    if (event.type === 'StateEntered' && event.state.type !== 'Choice') return event.state.name;
  return undefined;
}
