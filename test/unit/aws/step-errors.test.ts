import { describe, expect, it } from 'vitest';
import { causeOf } from '#foundation/errors/step-errors';

describe('causeOf', () => {
  it('reads the cause Ferry put before the message of its own step errors', () => {
    expect(causeOf({ Error: 'PermanentCopyError', Cause: 'AccessDenied: Access Denied' })).toBe(
      'AccessDenied',
    );
    expect(
      causeOf({ Error: 'RetryableCopyError', Cause: '{"errorMessage":"SlowDown: Please reduce"}' }),
    ).toBe('SlowDown');
  });

  it('names a crashed function or a timeout by its error, not by the first word of the runtime text', () => {
    expect(
      causeOf({
        Error: 'Lambda.Unknown',
        Cause: 'RequestId: 1f2e Error: Runtime exited with error: signal: killed',
      }),
    ).toBe('Lambda.Unknown');
    expect(causeOf({ Error: 'States.Timeout', Cause: 'Task: timed out' })).toBe('States.Timeout');
  });
});
