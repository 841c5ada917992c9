import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // test/iam-proof-setup.ts: every sandbox run of a file is checked against the generated IAM (issue 13).
    setupFiles: ['test/setup.ts', 'test/iam-proof-setup.ts'],
    // Integration tests start their own sandbox on a free port. Each file runs in its own process (forks),
    // one at a time on a 2-core machine (vitest keeps a core for itself); with no results cache, as in CI,
    // the largest file first.
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 30_000,
    restoreMocks: true,
  },
});
