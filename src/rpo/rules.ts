import { type FerryConfig, imageRulesOf, objectRulesOf, snapshotRulesOf } from '#rules/config';
import { durationMs } from './duration.ts';
import type { CopyMachine } from './in-flight.ts';

/** The names of the rules whose items are judged against an RPO (those that set `rpo`). */
export const rpoRulesOf = (config: Pick<FerryConfig, 'rules'>): string[] =>
  [...objectRulesOf(config), ...snapshotRulesOf(config), ...imageRulesOf(config)]
    .filter((rule) => rule.rpo !== undefined)
    .map((rule) => rule.name);

/** Those rules with their RPO in ms (for `ferry status` and the alarms). */
export const rulesWithRpo = (config: Pick<FerryConfig, 'rules'>): { rule: string; rpoMs: number }[] =>
  [...objectRulesOf(config), ...snapshotRulesOf(config), ...imageRulesOf(config)].flatMap((rule) =>
    rule.rpo === undefined ? [] : [{ rule: rule.name, rpoMs: durationMs(rule.rpo) }],
  );

/**
 * The copy machines whose executions hold items of rules with an RPO: object rules' copies run in
 * object-copy, snapshot rules' in snapshot-copy, image rules' in image-copy. The backlog monitor lists only
 * these, and its role may list only these (deploy/iam/policies.ts): one answer for both, so the monitor never
 * asks for what its role was not given.
 */
export function rpoMachinesOf(config: Pick<FerryConfig, 'rules'>): CopyMachine[] {
  const judged = (rules: readonly { rpo?: unknown }[]) => rules.some((rule) => rule.rpo !== undefined);
  return [
    ...(judged(objectRulesOf(config)) ? (['object-copy'] as const) : []),
    ...(judged(snapshotRulesOf(config)) ? (['snapshot-copy'] as const) : []),
    ...(judged(imageRulesOf(config)) ? (['image-copy'] as const) : []),
  ];
}
