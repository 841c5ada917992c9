import 'aws-sdk-client-mock-vitest/extend';
import { relative } from 'node:path';
import { allCustomMatcher } from 'aws-sdk-client-mock-vitest';
import { afterEach, beforeEach, expect } from 'vitest';
import { startStallWatchdog } from '#test/support/stall-watchdog';

expect.extend(allCustomMatcher);

// The Lambda environment the handlers expect, without X-Ray or CloudWatch.
process.env.AWS_REGION ??= 'us-east-1';
process.env.AWS_ACCESS_KEY_ID ??= 'test';
process.env.AWS_SECRET_ACCESS_KEY ??= 'test';
process.env.POWERTOOLS_SERVICE_NAME ??= 'ferry';
process.env.POWERTOOLS_METRICS_NAMESPACE ??= 'Ferry';
process.env.POWERTOOLS_TRACE_ENABLED = 'false';
process.env.POWERTOOLS_METRICS_DISABLED = 'true';
process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';

// A test file whose thread stops turning fails with its stack instead of hanging the run. The limit is
// far above the longest synchronous step a test takes on purpose (a packaging run, 180 s at most).
const file = relative(process.cwd(), expect.getState().testPath ?? 'a test file');
const watchdog = startStallWatchdog({
  limitMs: Number(process.env.FERRY_TEST_STALL_LIMIT_S ?? 300) * 1000,
});
watchdog.running(`${file} (collecting, or in a beforeAll hook)`);
beforeEach((context) => watchdog.running(context.task.fullName));
afterEach(() => watchdog.running(`${file} (between tests, or in an afterAll hook)`));
