import { type Cfn, keyOf, unique } from './cfn.ts';
import type { Condition, FunctionName, PolicyStatement } from './types.ts';

/** One function's statements as they are drafted, merged and given Sids unique across functions. */

/** A statement before its Sid is made unique: named by what it lets the function do. */
interface Draft {
  sid: string;
  actions: readonly string[];
  resources: '*' | readonly Cfn[];
  condition?: Condition;
}

/**
 * Collects one function's drafts, then merges those that differ only in their resources (same actions and
 * conditions) and gives each a Sid unique across all functions (`ObjectCreatedReadSourceObjects`).
 */
export class StatementList {
  private readonly drafts: Draft[] = [];
  private readonly describes = new Map<string, Set<string>>();

  add(draft: Draft): void {
    if (draft.resources !== '*' && draft.resources.length === 0) return;
    this.drafts.push(draft);
  }

  /** A Describe* action in these Regions: reads without resource-level permissions, scoped by Region. */
  describe(action: string, regions: Iterable<string>): void {
    const set = this.describes.get(action) ?? new Set<string>();
    for (const region of regions) set.add(region);
    this.describes.set(action, set);
  }

  /** `fn` names whose statements they are: a function, or a state machine's role (its Sids' prefix). */
  build(fn: FunctionName | 'inventoryReconcile'): PolicyStatement[] {
    // Describe actions asked for in the same Regions share one statement.
    const byRegions = new Map<string, { regions: string[]; actions: string[] }>();
    for (const [action, set] of this.describes) {
      const regions = [...set].sort();
      const group = byRegions.get(keyOf(regions)) ?? { regions, actions: [] };
      group.actions.push(action);
      byRegions.set(keyOf(regions), group);
    }
    const describeDrafts: Draft[] = [...byRegions.values()].map(({ regions, actions }) => ({
      sid: 'DescribeInRuleRegions',
      actions: actions.sort(),
      resources: '*',
      condition: { StringEquals: { 'aws:RequestedRegion': regions } },
    }));

    const merged = new Map<string, Draft & { resources: '*' | Cfn[] }>();
    // The resources each merged draft holds, by their JSON: a thousand rules add thousands of drafts, and
    // re-deduplicating the whole list on each would be quadratic.
    const held = new Map<string, Set<string>>();
    for (const draft of [...describeDrafts, ...this.drafts]) {
      const actions = [...new Set(draft.actions)].sort();
      const key = keyOf({ actions, condition: draft.condition ?? null, wildcard: draft.resources === '*' });
      const existing = merged.get(key);
      if (existing && existing.resources !== '*' && draft.resources !== '*') {
        const seen = held.get(key) ?? new Set(existing.resources.map(keyOf));
        held.set(key, seen);
        for (const resource of draft.resources) {
          if (seen.has(keyOf(resource))) continue;
          seen.add(keyOf(resource));
          existing.resources.push(resource);
        }
      } else if (!existing) {
        merged.set(key, {
          ...draft,
          actions,
          resources: draft.resources === '*' ? '*' : unique(draft.resources),
        });
      }
    }

    const prefix = fn.charAt(0).toUpperCase() + fn.slice(1);
    const used = new Map<string, number>();
    return [...merged.values()].map((draft) => {
      const base = `${prefix}${draft.sid}`;
      const count = (used.get(base) ?? 0) + 1;
      used.set(base, count);
      return {
        Sid: count === 1 ? base : `${base}${count}`,
        Effect: 'Allow' as const,
        Action: [...draft.actions],
        Resource: draft.resources === '*' ? '*' : [...draft.resources],
        ...(draft.condition ? { Condition: draft.condition } : {}),
      };
    });
  }
}
