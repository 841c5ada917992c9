import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * cfn-lint on the templates given, as CI lints them (.ci/cfn-lint: errors fail, warnings print). Never
 * skipped when cfn-lint is missing: it throws and says why (.ci/cfn-lint exits 127).
 */
export async function cfnLint(templates: readonly string[]): Promise<{ status: number; output: string }> {
  const lint = await run('.ci/cfn-lint', [...templates], { maxBuffer: 16 * 1024 * 1024 }).then(
    ({ stdout, stderr }) => ({ status: 0, stdout, stderr }),
    (error: { code?: number; stdout?: string; stderr?: string }) => ({
      status: error.code ?? -1,
      stdout: error.stdout ?? '',
      stderr: error.stderr ?? '',
    }),
  );
  if (lint.status === 127) throw new Error(`cfn-lint is required for this test: ${lint.stderr.trim()}`);
  // Exactly what cfn-lint printed: empty when it found nothing, so a test may demand no warnings either.
  return { status: lint.status, output: [lint.stdout, lint.stderr].filter(Boolean).join('\n') };
}
