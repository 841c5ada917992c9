import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PROOF_ACCOUNT, PROOF_DEPLOYMENT } from '#deploy/iam-proof/policies';
import {
  assertRecordedRunsProven,
  MissingPermissionsError,
  readRecordedRuns,
} from '#deploy/iam-proof/recorded-runs';
import type { IamRequest } from '#deploy/iam-proof/request';
import { configFrom } from '#test/support/fixtures';

const CONFIG = configFrom(`
rules:
  - name: docs
    objects: { bucket: src, prefix: docs/ }
    to: [{ bucket: dst, region: us-west-2 }]
`);

const read = (resource: string): IamRequest => ({
  principal: { function: 'objectCopyStep' },
  action: 's3:GetObject',
  resource,
  context: {},
  call: 's3:CopyObject',
});

let dir: string;
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A run as local/sandbox.ts `stop()` writes it. */
function writeRun(folder: string, name: string, requests: IamRequest[]) {
  mkdirSync(folder, { recursive: true });
  const base = join(folder, name);
  writeFileSync(
    `${base}.config.json`,
    JSON.stringify({ config: CONFIG, account: PROOF_ACCOUNT, deployment: PROOF_DEPLOYMENT }),
  );
  writeFileSync(`${base}.jsonl`, requests.map((request) => `${JSON.stringify(request)}\n`).join(''));
}

describe('recorded runs', () => {
  it('It should read every run of the folder and its subfolders', () => {
    dir = mkdtempSync(join(tmpdir(), 'recorded-runs-'));
    writeRun(dir, 'a', [read('arn:aws:s3:::src/docs/a')]);
    writeRun(join(dir, 'file-2'), 'b', []);
    expect(readRecordedRuns(dir).map(({ requests }) => requests.length)).toEqual([1, 0]);
  });

  it('It should pass runs whose calls the policies allow, and fail with each denied call', async () => {
    dir = mkdtempSync(join(tmpdir(), 'recorded-runs-'));
    writeRun(dir, 'allowed', [read('arn:aws:s3:::src/docs/a')]);
    await expect(assertRecordedRunsProven(dir)).resolves.toEqual([
      expect.objectContaining({ evaluated: 1, missing: [] }),
    ]);
    writeRun(dir, 'denied', [read('arn:aws:s3:::src/private/a')]);
    const failure = await assertRecordedRunsProven(dir).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(MissingPermissionsError);
    expect((failure as Error).message).toContain(
      'objectCopyStep: s3:CopyObject needs s3:GetObject on arn:aws:s3:::src/private/a',
    );
  });
});
