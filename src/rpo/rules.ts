import { type FerryConfig, imageRulesOf, objectRulesOf, snapshotRulesOf } from '#rules/config';

/** The names of the rules whose items are judged against an RPO (those that set `rpo`). */
export const rpoRulesOf = (config: Pick<FerryConfig, 'rules'>): string[] =>
  [...objectRulesOf(config), ...snapshotRulesOf(config), ...imageRulesOf(config)]
    .filter((rule) => rule.rpo !== undefined)
    .map((rule) => rule.name);
