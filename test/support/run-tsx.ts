import { type SpawnSyncReturns, spawnSync } from 'node:child_process';

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
