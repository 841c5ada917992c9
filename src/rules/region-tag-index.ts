import type { Tags } from './tags.ts';

/** What the index reads of a snapshot or image rule's filter: its source Regions and required tags. */
export interface RegionTagFilter {
  regions: readonly string[];
  tags?: Tags | undefined;
}

/** Per Region: rules that require no tag, and the others under one tag they require (key, then value). */
interface RegionRules {
  untagged: number[];
  byTag: Map<string, Map<string, number[]>>;
}

/**
 * Snapshot and image rules indexed by source Region, then by one tag each rule requires: the rarest of its
 * tags in the rule set (`app: billing` rather than `dr: "true"`). A resource can only match a rule that
 * reads its Region and, when the rule requires tags, carries that one, so its candidates are the Region's
 * untagged rules plus one lookup per tag it carries. They come back in file order; the caller applies the
 * full filter to them. Built once per rule list (see `indexOf`).
 */
export class RegionTagIndex<Rule> {
  private readonly regions = new Map<string, RegionRules>();

  constructor(
    readonly rules: readonly Rule[],
    filterOf: (rule: Rule) => RegionTagFilter,
  ) {
    const filters = rules.map(filterOf);
    const rulesRequiring = new Map<string, number>();
    const tagId = (key: string, value: string) => `${key}\u0000${value}`;
    for (const { tags } of filters) {
      for (const [key, value] of Object.entries(tags ?? {}))
        rulesRequiring.set(tagId(key, value), (rulesRequiring.get(tagId(key, value)) ?? 0) + 1);
    }
    filters.forEach(({ regions, tags }, position) => {
      let rarest: [string, string] | undefined;
      for (const [key, value] of Object.entries(tags ?? {})) {
        const count = rulesRequiring.get(tagId(key, value)) ?? 0;
        if (!rarest || count < (rulesRequiring.get(tagId(...rarest)) ?? 0)) rarest = [key, value];
      }
      for (const region of regions) {
        let entry = this.regions.get(region);
        if (!entry) {
          entry = { untagged: [], byTag: new Map() };
          this.regions.set(region, entry);
        }
        if (!rarest) {
          entry.untagged.push(position);
          continue;
        }
        const [key, value] = rarest;
        let values = entry.byTag.get(key);
        if (!values) {
          values = new Map();
          entry.byTag.set(key, values);
        }
        const positions = values.get(value);
        if (positions) positions.push(position);
        else values.set(value, [position]);
      }
    });
  }

  /** The rules that may match a resource of this Region with these tags, in file order. */
  candidates(region: string, tags: Tags): Rule[] {
    const entry = this.regions.get(region);
    if (!entry) return [];
    let found: number[] = entry.untagged;
    let merged = false;
    for (const key of Object.keys(tags)) {
      const positions = entry.byTag.get(key)?.get(tags[key] as string);
      if (!positions) continue;
      if (found.length === 0) found = positions;
      else {
        // Each rule sits under one tag, so the lists never share a rule: concatenate, then restore file order.
        found = merged ? found.concat(positions) : [...found, ...positions];
        merged = true;
      }
    }
    if (merged) found.sort((a, b) => a - b);
    return found.map((position) => this.rules[position] as Rule);
  }
}

/** Below this many rules, testing each rule is as fast as the index, which then is not worth building. */
export const INDEX_MIN_RULES = 16;

/**
 * The index of a rule list, built on first use and kept while the list lives. A handler routes with the
 * same list (its deps.rules) for the life of the Lambda container, so it is built once per container.
 * Rule lists are read-only; one whose length changed since was edited in place and is indexed again.
 */
export function indexOf<Rule>(
  cache: WeakMap<readonly Rule[], RegionTagIndex<Rule>>,
  rules: readonly Rule[],
  filterOf: (rule: Rule) => RegionTagFilter,
): RegionTagIndex<Rule> {
  let index = cache.get(rules);
  if (!index || index.rules.length !== rules.length) {
    index = new RegionTagIndex([...rules], filterOf);
    cache.set(rules, index);
  }
  return index;
}
