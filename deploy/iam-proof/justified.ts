import type { FunctionName } from '../iam.ts';
import type { SurplusAction } from './evaluate.ts';

/**
 * Surplus the IAM proof accepts: actions the generated policies grant that no recorded call of the proof's
 * runs needed, each with why it stays and a test that takes the path needing it (named
 * `file > test name`, checked to exist by test/unit/deploy/iam-proof/justified.test.ts). Anything else
 * the proof reports as surplus fails test/integration/iam-proof.test.ts: remove the grant, or justify it
 * here.
 */
export interface Justification {
  /** A function, or `destination role` for deploy/cross-account-role.yml. */
  principal: FunctionName | 'destination role';
  action: string;
  reason: string;
  /** `test/…/file.test.ts > the test's name`: a test that takes the path the action is for. */
  test: string;
}

export const DESTINATION_ROLE = 'destination role';

export const JUSTIFIED: readonly Justification[] = [];

const principalOf = (surplus: SurplusAction): string =>
  surplus.principal.startsWith('arn:') ? DESTINATION_ROLE : surplus.principal;

/** The surplus no justification covers. */
export const unjustified = (
  surplus: readonly SurplusAction[],
  justified: readonly Justification[] = JUSTIFIED,
): SurplusAction[] =>
  surplus.filter(
    (item) =>
      !justified.some(
        (justification) =>
          justification.principal === principalOf(item) && justification.action === item.action,
      ),
  );
