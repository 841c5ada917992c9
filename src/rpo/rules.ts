import { type FerryConfig, imageRulesOf, objectRulesOf, snapshotRulesOf } from '#rules/config';
import { durationMs } from './duration.ts';

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
