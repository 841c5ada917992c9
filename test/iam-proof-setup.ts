import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';

/**
 * The IAM proof over every sandbox test (issue 13): each test file gets its own FERRY_IAM_CALLS_DIR, where
 * each sandbox's `stop()` writes the IAM requests of the calls its functions made, with its configuration;
 * after the file's own hooks, every run is evaluated against the policies the package deploys for that
 * configuration, and any call IAM would deny fails the file with `MissingPermissionsError` (the function,
 * the call, the action, the resource and why).
 *
 * Why here and not in a globalSetup teardown: vitest only logs an error thrown at global teardown ("error
 * during close") and still exits 0, while a failing `afterAll` fails its file, in every pool. Hooks of a
 * setup file are registered first, so with vitest's default `sequence.hooks: 'stack'` this `afterAll` runs
 * after the test file's own, when its sandboxes have stopped. A FERRY_IAM_CALLS_DIR given from outside is
 * kept (each file writes a subfolder of it) so that a run's requests can be read afterwards.
 */
const given = process.env.FERRY_IAM_CALLS_DIR;
if (given) mkdirSync(given, { recursive: true });
const dir = mkdtempSync(join(given ?? tmpdir(), 'ferry-iam-proof-'));
process.env.FERRY_IAM_CALLS_DIR = dir;

afterAll(async () => {
  try {
    // Only files that ran a sandbox pay for loading the evaluator.
    if (existsSync(dir) && readdirSync(dir).length > 0) {
      const { assertRecordedRunsProven } = await import('#deploy/iam-proof/recorded-runs');
      await assertRecordedRunsProven(dir);
    }
  } finally {
    if (!given) rmSync(dir, { recursive: true, force: true });
  }
}, 120_000);
