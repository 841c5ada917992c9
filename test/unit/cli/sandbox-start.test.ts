import { connect, createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { runTsx, startTsx } from '#test/support/run-tsx';

/** `npm start` (local/main.ts) as people use it: a line at once, a wrong option named, --help. */

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });

/** Whether something accepts connections on the port: the sandbox, once it has started. */
const listening = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

describe('npm start', () => {
  it('It should print its first line before the sandbox listens, then say where it listens', async () => {
    const port = await freePort();
    const { child, exited, stop } = startTsx('local/main.ts', ['--port', String(port)]);
    try {
      const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
      const first = await lines.next();
      expect(first.value).toBe(
        `Starting the Ferry sandbox on port ${port}: loading the AWS SDK, the handlers and the fake services…`,
      );
      // Ordering, not timing: when the first line comes, the sandbox has not started listening yet.
      expect(await listening(port)).toBe(false);
      let line = await lines.next();
      while (!line.done && !String(line.value).startsWith('Ferry sandbox: S3 and EC2 on'))
        line = await lines.next();
      expect(line.value).toBe(`Ferry sandbox: S3 and EC2 on http://127.0.0.1:${port}`);
      // The probe does see a listening sandbox: the check above can fail.
      expect(await listening(port)).toBe(true);
    } finally {
      stop();
      await exited;
    }
  }, 120_000);

  it('It should name an unknown option and the one meant above its usage, exit 2, without a stack trace', () => {
    const run = runTsx('local/main.ts', ['--prot', '4567']);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('npm start: unknown option --prot (did you mean --port?)');
    expect(run.stderr).toContain('Usage: npm start [-- --port N');
    expect(run.stderr).not.toMatch(/\n\s+at /);
    expect(run.stdout).toBe('');
  });

  it('It should print its usage for --help and exit 0 without starting anything', () => {
    const run = runTsx('local/main.ts', ['--help']);
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('Usage: npm start [-- --port N');
    expect(run.stdout).not.toContain('Starting the Ferry sandbox');
  });
});
