import type { FerryConfig } from '#rules/config';
import type { InventoryReconcileInput } from './inventory/contract.ts';
import { inventoryRulesOf } from './inventory/deps.ts';
import { workLocationOf } from './inventory/work.ts';
import type { ReconcileReport } from './report.ts';

/**
 * The scheduled reconcile's split (README "Very large buckets"): object rules that name inventories are
 * reconciled by the inventory-reconcile state machine from their S3 Inventory reports, never listed; every
 * other rule is listed by the reconcile passes. Only where the deployment has the machine (it deploys it when
 * some rule names inventories, deploy/inventory-machine.ts); without it every rule is listed, as before.
 */

/** Starts one execution of the inventory-reconcile machine; gives the execution's ARN (or name). */
export interface InventoryRunStarter {
  start(input: InventoryReconcileInput): Promise<string>;
}

/** The run a scheduled reconcile started: which execution, for which rules. */
export interface InventoryRun {
  runId: string;
  execution: string;
  rules: string[];
}

/** The rules the listing passes visit: all, less those the inventory machine reconciles. */
export function listedRules(
  rules: FerryConfig['rules'],
  inventory: InventoryRunStarter | undefined,
): FerryConfig['rules'] {
  if (!inventory) return rules;
  const inventoried = new Set(inventoryRulesOf(rules).map((rule) => rule.name));
  return rules.filter((rule) => !inventoried.has(rule.name));
}

/**
 * Starts the inventory run of a scheduled reconcile, for its rules with inventories (or the one asked for, if
 * it names them). Nothing when no such rule is asked for. The run writes in the first rule's work folder, as
 * `ferry backfill --inventory` does; `runId` names the execution, so a repeated schedule is a new run.
 */
export async function startInventoryRun(
  rules: FerryConfig['rules'],
  only: string | undefined,
  starter: InventoryRunStarter,
  runId: string,
): Promise<InventoryRun | undefined> {
  const inventoried = inventoryRulesOf(rules).filter((rule) => only === undefined || rule.name === only);
  const work = inventoried[0] ? workLocationOf(inventoried[0]) : undefined;
  if (!work) return undefined;
  const execution = await starter.start({ runId, work, ...(only !== undefined ? { rule: only } : {}) });
  return { runId, execution, rules: inventoried.map((rule) => rule.name) };
}

/**
 * One scheduled reconcile: the inventory run of the rules with inventories (on a fresh run, not a resumed
 * one), and `list`'s passes over the other rules (skipped when the one rule asked for is inventoried).
 */
export async function scheduledReconcile(
  input: { rule?: string | undefined; resume?: string | undefined },
  rules: FerryConfig['rules'],
  inventory: InventoryRunStarter | undefined,
  runIdOf: () => string,
  list: (rules: FerryConfig['rules']) => Promise<ReconcileReport[]>,
): Promise<{ reports: ReconcileReport[]; inventoryRun?: InventoryRun }> {
  const inventoryRun =
    inventory && input.resume === undefined
      ? await startInventoryRun(rules, input.rule, inventory, runIdOf())
      : undefined;
  const listed = listedRules(rules, inventory);
  const asked = input.rule === undefined || listed.some((rule) => rule.name === input.rule);
  const reports = !inventoryRun || asked ? await list(listed) : [];
  return { reports, ...(inventoryRun ? { inventoryRun } : {}) };
}
