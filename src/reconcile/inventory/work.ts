import type { ObjectRule } from '#rules/schema';
import type { WorkLocation } from './contract.ts';

/**
 * Where a run writes its plan, shards and the join map's results: beside the rule's source inventory (a
 * bucket in the source Region, which is the state machine's: ResultWriter writes only to a bucket in the
 * machine's account and Region, https://docs.aws.amazon.com/step-functions/latest/dg/input-output-resultwriter.html),
 * under this prefix. The deployment grants exactly this (deploy/iam/inventory-statements.ts).
 */
export const WORK_PREFIX = 'ferry-inventory-reconcile/';

export const workLocationOf = (rule: ObjectRule): WorkLocation | undefined =>
  rule.objects.inventory ? { bucket: rule.objects.inventory.bucket, prefix: WORK_PREFIX } : undefined;
