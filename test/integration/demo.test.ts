import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Narration } from '#local/demo';
import type { DemoPartResult } from '#local/demo-checks';
import { type Ec2DemoResult, runEc2Demo } from '#local/demo-ec2';
import { DEMO_EC2_OPTIONS } from '#local/demo-ec2-expectations';
import { LOCKED_SNAPSHOT_RULE, PROTECTED_IMAGE_RULE, runEc2LockDemo } from '#local/demo-ec2-locks';
import { type RpoDemoResult, runRpoDemo } from '#local/demo-rpo';
import { type Sandbox, startSandbox } from '#local/sandbox';
import { DETAIL_TYPE } from '#rpo/threshold';
import { loadConfigFile } from '#rules/load';

/**
 * The EC2 part of `npm run demo`, as CI runs it: the sandbox's own rules file and fake-EC2 settings, the
 * real handlers and state machines, then the demo's summary, verified by reading every copy back. Then the
 * RPO scene and the lock scenes, in the same sandbox (as `npm run demo` runs them after the S3 part).
 */

const CONFIG_FILE = fileURLToPath(new URL('../../local/sandbox.replication.yml', import.meta.url));

let sandbox: Sandbox;
const lines: string[] = [];
const narration = new Narration((line) => lines.push(line));

beforeAll(async () => {
  sandbox = await startSandbox({
    config: loadConfigFile(CONFIG_FILE),
    port: 0,
    onDelivery: narration.onDelivery,
    onExecutionEnd: narration.onExecutionEnd,
    ec2: DEMO_EC2_OPTIONS,
  });
});
afterAll(() => sandbox.stop());

describe('the EC2 part of the demo', () => {
  let result: Ec2DemoResult;
  beforeAll(async () => {
    result = await runEc2Demo(sandbox, narration);
  }, 60_000);

  it('verifies every copy it expects, with retention and the copy limit at work', () => {
    const failed = result.checks.filter((check) => !check.ok);
    expect(failed).toEqual([]);
    expect(result.ok).toBe(true);
    const { summary } = result;
    expect(summary.expected).toBe(summary.planned);
    expect(summary.verified).toBe(summary.expected);
    expect(summary.failed).toBe(0);
    // Two nightly copies of one volume (keep 2 of 4) and the first AMI release's copy (keep 1).
    expect(summary.pruned).toBe(3);
    expect(summary.limitHits).toBeGreaterThan(0);
    expect(summary.slotWaits).toBeGreaterThanOrEqual(summary.limitHits);
    expect(summary.peakConcurrentCopies).toBe(20);
    expect(summary.burstCopiesSeconds).toBeGreaterThanOrEqual(summary.idealSeconds);
  });

  it('shows the traced copy waiting for its completion event, as deployed, and the pruned copies', () => {
    const text = lines.join('\n');
    expect(text).toMatch(/step by step \(EC2 needs 26m40s\)/);
    expect(text).toMatch(/AwaitCopy waits for the copy's completion event/);
    // Noticed by the event: one check, at the copy's end (26m40s after its start), no polling between.
    expect(text).not.toMatch(/next check in/);
    expect(text).toMatch(/\+26m4\ds\s+CheckCopy completed 100%/);
    expect(text).toMatch(/pruned snap-/);
    expect(text).toMatch(/pruned ami-/);
    expect(text).toMatch(/Copies expected 37 · verified 37 · pruned 3 · failed 0/);
  });
});

describe('the RPO scene of the demo', () => {
  let result: RpoDemoResult;
  const from = lines.length;
  beforeAll(async () => {
    result = await runRpoDemo(sandbox, narration.print);
  }, 60_000);

  it('It should show one rule meeting its RPO and one missing it, with the two events from the bus', () => {
    expect(result.checks.filter((check) => !check.ok)).toEqual([]);
    const [missed, completed, ...others] = result.events;
    expect(others).toEqual([]);
    expect(missed?.['detail-type']).toBe(DETAIL_TYPE.missed);
    expect(completed?.['detail-type']).toBe(DETAIL_TYPE['completed-after']);
    expect(missed?.detail).toMatchObject({ rule: 'media-rpo', cause: 'SlowDown', rpo: '1m' });
    expect(completed?.detail.id).toBe(missed?.detail.id);
    expect(completed?.detail.latencySeconds).toBeGreaterThan(60);
    expect(sandbox.rpoMetrics.within.get('invoices-rpo')).toBe(1);
    expect(sandbox.rpoMetrics.over.get('invoices-rpo')).toBeUndefined();
    expect(sandbox.rpoMetrics.over.get('media-rpo')).toBe(1);
    const text = lines.slice(from).join('\n');
    expect(text).toMatch(/event {3}"Ferry Replication Missed Threshold" \[media-rpo\]/);
    expect(text).toMatch(/event {3}"Ferry Replication Completed After Threshold" \[media-rpo\]/);
  });
});

describe('the lock scenes of the demo', () => {
  let result: DemoPartResult;
  const from = lines.length;
  beforeAll(async () => {
    result = await runEc2LockDemo(sandbox, narration.print);
  }, 60_000);

  it('It should show a locked snapshot copy and a protected AMI copy refusing deletion, with the codes EC2 gives', () => {
    expect(result.checks.filter((check) => !check.ok)).toEqual([]);
    expect(result.checks).toHaveLength(4);
    const text = lines.slice(from).join('\n');
    expect(text).toContain(`[${LOCKED_SNAPSHOT_RULE}]`);
    expect(text).toContain(`[${PROTECTED_IMAGE_RULE}]`);
    expect(text).toMatch(/delete-snapshot snap-\w+ .*→ refused: SnapshotLocked/);
    expect(text).toMatch(/deregister-image ami-\w+ .*→ refused: OperationNotPermitted/);
    expect(text).toMatch(/locked compliance for 30 days/);
    expect(text).toMatch(
      /deregistration protection enabled-without-cooldown; its snapshots snap-\w+ locked governance for 14 days/,
    );
  });
});
