import type { Ec2CopyJob } from '#ec2/copy-machine/contract';
import { type Check, type Narrator, printChecks } from './demo-checks.ts';
import { type Ec2DemoSummary, runEc2Demo } from './demo-ec2.ts';
import { runEc2LockDemo } from './demo-ec2-locks.ts';
import { describeEc2Delivery, describeEc2Execution } from './demo-ec2-narration.ts';
import type { DemoFaults } from './demo-faults.ts';
import {
  describeObjectDelivery,
  describeObjectExecution,
  printObjectSummary,
  runObjectDemo,
} from './demo-objects.ts';
import { runRpoDemo } from './demo-rpo.ts';
import type { Delivery } from './event-bus.ts';
import type { Sandbox } from './sandbox.ts';
import type { Execution } from './step-functions.ts';

/**
 * The scripted demo of `npm start` / `npm run demo`: the S3 part (local/demo-objects.ts), the RPO scene
 * (local/demo-rpo.ts: one rule meeting its RPO, one missing it under throttling, with the bus's events),
 * the EC2 part (local/demo-ec2.ts and its -expectations, -verify and -narration modules), then the lock
 * scenes (local/demo-ec2-locks.ts), each ending with checks made by reading every replica or copy back.
 */

export type { Check } from './demo-checks.ts';

export interface DemoResult {
  checks: Check[];
  ok: boolean;
  ec2: Ec2DemoSummary;
}

/**
 * What the sandbox's pipeline did, as lines: pass `onDelivery` and `onExecutionEnd` to `startSandbox`.
 * A failed handler invocation is one line whatever the target; other object events and executions are
 * described by the S3 part, EC2 ones by the EC2 part.
 */
export class Narration implements Narrator {
  private held: string[] | undefined;
  private muted = false;
  private readonly traced = new Set<string>();

  constructor(private readonly out: (line: string) => void) {}

  print = (line = ''): void => {
    if (this.held) this.held.push(line);
    else this.out(line);
  };

  hold(): void {
    this.held ??= [];
  }

  release(first: readonly string[] = []): void {
    const held = this.held ?? [];
    this.held = undefined;
    for (const line of [...first, ...held]) this.out(line);
  }

  mute(muted: boolean): void {
    this.muted = muted;
  }

  trace(volumeId: string): void {
    this.traced.add(volumeId);
  }

  onDelivery = (delivery: Delivery): void => {
    if (this.muted && !delivery.error) return;
    this.safely(() => {
      if (delivery.error)
        this.print(`    ↳ ${delivery.target} attempt ${delivery.attempt} failed: ${delivery.error.message}`);
      else if (delivery.target.startsWith('object-')) describeObjectDelivery(delivery, this.print);
      else describeEc2Delivery(delivery, this.print);
    });
  };

  onExecutionEnd = (execution: Execution): void => {
    if (this.muted && execution.status === 'SUCCEEDED') return;
    this.safely(() => {
      if (execution.stateMachine === 'object-copy') {
        describeObjectExecution(execution, this.print);
        return;
      }
      const volumeId = (execution.input as Ec2CopyJob).source.volumeId;
      describeEc2Execution(execution, this.print, volumeId !== undefined && this.traced.has(volumeId));
    });
  };

  /** A line that cannot be written never stops the pipeline it describes. */
  private safely(describe: () => void): void {
    try {
      describe();
    } catch (error) {
      this.print(`    ↳ (not described: ${(error as Error).message})`);
    }
  }
}

export async function runDemo(
  sandbox: Sandbox,
  narration: Narration,
  faults: DemoFaults = { s3: {}, ec2: {} },
): Promise<DemoResult> {
  const print = narration.print;
  const objects = await runObjectDemo(sandbox, print);
  print();
  printObjectSummary(sandbox, objects, print);
  print();
  const rpo = await runRpoDemo(sandbox, print);
  printChecks(rpo.checks, print);
  print();
  const ec2 = await runEc2Demo(sandbox, narration, { faults: faults.ec2 });
  print();
  const locks = await runEc2LockDemo(sandbox, print);
  printChecks(locks.checks, print);
  const parts = [objects, rpo, ec2, locks];
  return {
    checks: parts.flatMap((part) => part.checks),
    ok: parts.every((part) => part.ok),
    ec2: ec2.summary,
  };
}
