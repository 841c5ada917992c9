import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FerryConfig } from '#rules/config';
import type { Deployment } from '../template-parts.ts';
import { formatMissing, type MissingPermission, proveRequests } from './evaluate.ts';
import { proofRoles } from './policies.ts';
import type { IamRequest } from './request.ts';

/**
 * The runs a sandbox recorded into `FERRY_IAM_CALLS_DIR` (local/sandbox.ts `stop()`): for each sandbox,
 * `<base>.config.json` (`{ config, account, deployment }`: what it ran) beside `<base>.jsonl` (one
 * IamRequest a line), each evaluated against the policies the package deploys for that configuration.
 * This is how the proof covers every sandbox test, the demo and the soak, not only its own runs.
 */

export interface RecordedRun {
  /** `<base>` of the run's two files. */
  file: string;
  config: FerryConfig;
  account: string;
  deployment: Deployment;
  requests: IamRequest[];
}

export interface RunVerdict {
  file: string;
  evaluated: number;
  missing: MissingPermission[];
}

export class MissingPermissionsError extends Error {
  constructor(readonly verdicts: readonly RunVerdict[]) {
    const missing = verdicts.flatMap((verdict) => verdict.missing);
    super(
      `IAM would deny ${missing.length} call(s) Ferry made in the sandbox (deploy/iam-proof):\n` +
        verdicts
          .filter((verdict) => verdict.missing.length > 0)
          .map((verdict) => `${verdict.file}:\n${formatMissing(verdict.missing)}`)
          .join('\n'),
    );
    this.name = 'MissingPermissionsError';
  }
}

const CONFIG_SUFFIX = '.config.json';

/** Every run recorded under `dir` (and its subfolders), oldest file name first. */
export function readRecordedRuns(dir: string): RecordedRun[] {
  if (!existsSync(dir)) return [];
  const runs: RecordedRun[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
    a.name.localeCompare(b.name),
  )) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) runs.push(...readRecordedRuns(path));
    if (!entry.isFile() || !entry.name.endsWith(CONFIG_SUFFIX)) continue;
    const base = path.slice(0, -CONFIG_SUFFIX.length);
    const { config, account, deployment } = JSON.parse(readFileSync(path, 'utf8')) as Omit<
      RecordedRun,
      'file' | 'requests'
    >;
    const lines = existsSync(`${base}.jsonl`) ? readFileSync(`${base}.jsonl`, 'utf8').split('\n') : [];
    const requests = lines.filter((line) => line.trim() !== '').map((line) => JSON.parse(line) as IamRequest);
    runs.push({ file: base, config, account, deployment, requests });
  }
  return runs;
}

/** Each run's missing permissions, evaluated against its own configuration's policies. */
export async function proveRecordedRuns(runs: readonly RecordedRun[]): Promise<RunVerdict[]> {
  const verdicts: RunVerdict[] = [];
  for (const run of runs) {
    const report = await proveRequests(run.requests, proofRoles(run.config, run.deployment, run.account));
    verdicts.push({ file: run.file, evaluated: report.evaluated, missing: report.missing });
  }
  return verdicts;
}

/** Fails with every missing permission of the runs recorded under `dir`. */
export async function assertRecordedRunsProven(dir: string): Promise<RunVerdict[]> {
  const verdicts = await proveRecordedRuns(readRecordedRuns(dir));
  if (verdicts.some((verdict) => verdict.missing.length > 0)) throw new MissingPermissionsError(verdicts);
  return verdicts;
}
