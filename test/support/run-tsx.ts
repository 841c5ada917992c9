import { type SpawnSyncReturns, spawn, spawnSync } from 'node:child_process';

/**
 * Runs a TypeScript entry of the repository in its own Node process (`npx tsx <file> <args>`), as a user
 * or the Lambda runtime would, and returns its exit status and output. The deadline keeps a child that
 * never ends from blocking the test thread (spawnSync waits for it and for every process holding its output).
 */
export function runTsx(
  file: string,
  args: string[] = [],
  env: NodeJS.ProcessEnv = process.env,
): SpawnSyncReturns<string> {
  return spawnSync('npx', ['tsx', file, ...args], { encoding: 'utf8', env, timeout: 90_000 });
}

/**
 * The same in a process of its own group, not waited for: for a test that reads the output as it comes, or
 * whose child talks to a server in the test's own process (spawnSync would block that server's answers).
 * `stop()` ends the whole group: npx, tsx and the Node process tsx starts.
 */
export function startTsx(file: string, args: string[] = [], env: NodeJS.ProcessEnv = process.env) {
  const child = spawn('npx', ['tsx', file, ...args], { env, detached: true });
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  const stop = () => {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGTERM');
    } catch {
      // Already gone.
    }
  };
  return { child, exited, stop };
}

/** Runs to the end like runTsx, without blocking the test's own event loop; stopped at the deadline. */
export async function runTsxAsync(
  file: string,
  args: string[] = [],
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const { child, exited, stop } = startTsx(file, args, env);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: string) => {
    stdout += chunk;
  });
  child.stderr.on('data', (chunk: string) => {
    stderr += chunk;
  });
  const deadline = setTimeout(stop, 90_000);
  try {
    return { status: await exited, stdout, stderr };
  } finally {
    clearTimeout(deadline);
  }
}
