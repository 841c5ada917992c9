import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Narration } from '#local/demo';
import { type Ec2DemoResult, runEc2Demo } from '#local/demo-ec2';
import { DEMO_EC2_OPTIONS } from '#local/demo-ec2-expectations';
import { type Sandbox, startSandbox } from '#local/sandbox';
import { loadConfigFile } from '#rules/load';

/**
 * The EC2 part of `npm run demo`, as CI runs it: the sandbox's own rules file and fake-EC2 settings, the
 * real handlers and state machines, then the demo's summary, verified by reading every copy back.
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

  it('shows the adaptive wait of the traced copy and the pruned copies', () => {
    const text = lines.join('\n');
    expect(text).toMatch(/step by step \(EC2 needs 26m40s\)/);
    expect(text).toMatch(/CheckCopy pending \d+% → next check in/);
    expect(text).toMatch(/CheckCopy completed 100%/);
    expect(text).toMatch(/pruned snap-/);
    expect(text).toMatch(/pruned ami-/);
    expect(text).toMatch(/Copies expected 37 · verified 37 · pruned 3 · failed 0/);
  });
});
