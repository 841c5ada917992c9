import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type FerryConfig, objectRulesOf } from '#rules/config';
import type { ObjectRule } from '#rules/schema';
import { configFrom } from './fixtures.ts';

/** What a test changes of the shared inventory rule: its buckets' prefix, the destination's own settings. */
export interface InventoryRuleOptions {
  /** Each test's own bucket names: `<buckets>-source`, `<buckets>-dr`, `<buckets>-reports(-dr)`. */
  buckets: string;
  /** The destination inventory's configuration id. */
  destinationConfigId: string;
  /** Further destination keys (e.g. `replicateDeletes`), as YAML values. */
  destination?: Record<string, string | boolean>;
}

export interface InventoryRule {
  yaml: string;
  config: FerryConfig;
  rule: ObjectRule;
}

/**
 * The rule the inventory tests run on the sandbox: `docs/` of the us-east-1 source to `mirror/` of the
 * us-west-2 replica, an S3 Inventory on each side (the source's reports under `inventories`), so its
 * configuration checks and its reconcile read the same two sides.
 */
export function inventoryRule(options: InventoryRuleOptions): InventoryRule {
  const { buckets, destinationConfigId, destination = {} } = options;
  const extra = Object.entries(destination).map(([key, value]) => `        ${key}: ${value}\n`);
  const yaml = `
rules:
  - name: docs
    objects:
      bucket: ${buckets}-source
      prefix: docs/
      inventory: { bucket: ${buckets}-reports, prefix: inventories, configId: daily }
    to:
      - bucket: ${buckets}-dr
        region: us-west-2
        keyPrefix: mirror/
${extra.join('')}        inventory: { bucket: ${buckets}-reports-dr, configId: ${destinationConfigId} }
`;
  const config = configFrom(yaml);
  const [rule] = objectRulesOf(config);
  if (!rule) throw new Error('the inventory rule is missing');
  return { yaml, config, rule };
}

/** The rules file the CLI commands read: `yaml` in a fresh temporary folder, as `replication.yml`. */
export function writeConfigFile(yaml: string, folderPrefix: string): string {
  const file = join(mkdtempSync(join(tmpdir(), folderPrefix)), 'replication.yml');
  writeFileSync(file, yaml);
  return file;
}
