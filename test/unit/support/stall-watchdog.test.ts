import { execFile } from 'node:child_process';
import { describe, expect, it } from 'vitest';

/** Runs the stall subject in its own process and reports how it ended. */
function runSubject(mode: string) {
  return new Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }>(
    (resolve) => {
      execFile(
        'npx',
        ['tsx', 'test/support/stall-subject.ts', mode],
        { encoding: 'utf8', timeout: 60_000 },
        (error, stdout, stderr) => {
          const failure = error as (Error & { code?: number; signal?: string }) | null;
          resolve({
            code: failure ? (typeof failure.code === 'number' ? failure.code : null) : 0,
            signal: failure?.signal ?? null,
            stdout,
            stderr,
          });
        },
      );
    },
  );
}

describe('the stall watchdog every test file runs under', () => {
  it.each([
    { mode: 'spin', stalls: 'in a JavaScript loop', culprit: 'spinsForever' },
    { mode: 'microtasks', stalls: 'on resolved promises', culprit: 'awaitsForever' },
  ])(
    'kills a process whose thread stalls $stalls, naming the test and the function',
    async ({ mode, culprit }) => {
      const run = await runSubject(mode);
      expect(run.signal ?? run.code).not.toBe(0);
      expect(run.stderr).toContain('has not turned its event loop');
      expect(run.stderr).toContain(`in: stall-subject › ${mode}`);
      expect(run.stderr).toMatch(new RegExp(`JavaScript stack[^\\n]*:\\n[\\s\\S]*${culprit}`));
    },
    60_000,
  );

  it('kills a process blocked in a synchronous call, saying that no JavaScript stack is to be had', async () => {
    const run = await runSubject('syscall');
    expect(run.signal ?? run.code).not.toBe(0);
    expect(run.stderr).toContain('in: stall-subject › syscall');
    expect(run.stderr).toContain('blocked outside JavaScript');
  }, 60_000);

  it('leaves alone a process that waits asynchronously longer than the limit', async () => {
    const run = await runSubject('await');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('waited 3 s without a stall');
    expect(run.stderr).not.toContain('stall watchdog');
  }, 60_000);
});
