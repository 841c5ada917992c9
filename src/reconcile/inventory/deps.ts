import type { S3Client } from '@aws-sdk/client-s3';
import { destinationTarget } from '#foundation/aws-clients';
import { type FerryConfig, objectRulesOf } from '#rules/config';
import type { ObjectRule } from '#rules/schema';
import { UnknownRuleError } from '../errors.ts';
import type { ObjectReconcileDeps } from '../objects.ts';
import type { DataFileItem } from './contract.ts';
import { NoInventoryError } from './errors.ts';

/**
 * What every step of the inventory reconcile runs on: the reconcile pass's object deps, and every rule of
 * the configuration (so a rule asked for by name that is no object rule is told apart from an unknown one).
 */
export interface InventoryDeps extends ObjectReconcileDeps {
  allRules: FerryConfig['rules'];
}

/** The object rules that name inventories (all of them, or the one asked for, which must name them). */
export function inventoryRulesOf(rules: FerryConfig['rules'], only?: string): ObjectRule[] {
  if (only !== undefined) {
    const rule = rules.find((candidate) => candidate.name === only);
    if (!rule)
      throw new UnknownRuleError(
        only,
        rules.map((candidate) => candidate.name),
      );
    const objectRule = objectRulesOf({ rules: [rule] })[0];
    if (!objectRule?.objects.inventory) throw new NoInventoryError(only);
    return [objectRule];
  }
  return objectRulesOf({ rules }).filter((rule) => rule.objects.inventory !== undefined);
}

/** The rule of an item, which the plan of this very deployment named. */
export const ruleNamed = (deps: InventoryDeps, name: string): ObjectRule =>
  inventoryRulesOf(deps.allRules, name)[0] as ObjectRule;

/**
 * The client for one side's inventory: a source inventory is in the source bucket's Region (S3 publishes an
 * inventory in its bucket's Region), a destination's in that destination's Region and account.
 */
export function inventoryClient(deps: InventoryDeps, rule: ObjectRule, side: DataFileItem['side']): S3Client {
  const destination = side === 'source' ? undefined : rule.to[side];
  return destination ? deps.s3(destinationTarget(destination)) : deps.s3({ region: deps.source.region });
}

/** The client for the run's work folder, in the home Region (ResultWriter writes only there). */
export const workClient = (deps: InventoryDeps): S3Client => deps.s3({ region: deps.source.region });
