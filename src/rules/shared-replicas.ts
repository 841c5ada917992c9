import {
  describeSpace,
  exampleKey,
  type KeySpace,
  keySpacesOverlap,
  replicaSpace,
  spaceContains,
} from './key-spaces.ts';
import type { RuleGraphIssue } from './loop-check.ts';
import type { ObjectRule } from './schema.ts';

/**
 * Two rules must never share a replica. When the key spaces two destinations write overlap in one bucket
 * (`acme-a/docs/` and `acme-b/docs/`, both to `acme-dr` under `mirror/`; a whole-bucket rule and an
 * `invoices/` rule, both to one bucket), whichever copy lands last replaces the other's replica, and both
 * handlers report `copied`. Validation refuses that, unless both rules say which one wins.
 *
 * The opt-in is `priority` on both rules, as S3 Replication does it: the rule with the higher priority owns
 * every key of its replica space in that bucket, and the lower rule never writes (or deletes) a replica
 * there, whether or not the higher one has an object for that key. Chosen over a pairwise
 * `sharedReplica: <other rule>` because a pair that agrees to share still needs a winner for each key (two
 * writers of one key is the bug), and an order between rules states that winner once, for any number of
 * rules. Equal priorities state nothing and are refused; so is an overlap between two destinations of one
 * rule, which no priority can order. The router honours the order (`isOutranked`, src/objects/router.ts).
 */

interface Writer {
  ruleIndex: number;
  destinationIndex: number;
  rule: ObjectRule;
  space: KeySpace;
}

const writersOf = (rules: readonly (ObjectRule | undefined)[]): Writer[] =>
  rules.flatMap((rule, ruleIndex) =>
    rule
      ? rule.to.map((destination, destinationIndex) => ({
          ruleIndex,
          destinationIndex,
          rule,
          space: replicaSpace(rule, destination),
        }))
      : [],
  );

/** Whether `a` outranks `b`: both set a priority, and a's is higher. */
const outranks = (a: ObjectRule, b: ObjectRule): boolean =>
  a.priority !== undefined && b.priority !== undefined && a.priority > b.priority;

/**
 * Refuses every pair of destinations whose replica spaces overlap, unless their rules are ordered by
 * priority. The issue sits at the later destination and names both rules, both destinations and a key both
 * would write. Rules that failed validation are passed as `undefined` so indexes stay those of the file.
 */
export function checkSharedReplicas(rules: readonly (ObjectRule | undefined)[]): RuleGraphIssue[] {
  const issues: RuleGraphIssue[] = [];
  const writers = writersOf(rules);
  writers.forEach((later, position) => {
    for (const earlier of writers.slice(0, position)) {
      if (!keySpacesOverlap(earlier.space, later.space)) continue;
      const example = `s3://${later.space.bucket}/${exampleKey(earlier.space, later.space)}`;
      const path = ['rules', later.ruleIndex, 'to', later.destinationIndex];
      if (earlier.rule === later.rule) {
        issues.push({
          path,
          message:
            `writes the same replica keys as to[${earlier.destinationIndex}] of this rule ` +
            `(${describeSpace(later.space)} and ${describeSpace(earlier.space)}), such as ${example}: ` +
            'one copy would replace the other; give each destination its own bucket or keyPrefix',
        });
        continue;
      }
      if (outranks(earlier.rule, later.rule) || outranks(later.rule, earlier.rule)) continue;
      const tie =
        earlier.rule.priority !== undefined && earlier.rule.priority === later.rule.priority
          ? ` Both have priority ${later.rule.priority}, which orders nothing.`
          : '';
      issues.push({
        path,
        message:
          `rule "${later.rule.name}" to[${later.destinationIndex}] (${describeSpace(later.space)}) and ` +
          `rule "${earlier.rule.name}" to[${earlier.destinationIndex}] (rules[${earlier.ruleIndex}], ` +
          `${describeSpace(earlier.space)}) would share replicas, such as ${example}: the copy that lands last ` +
          'would silently replace the other. Give one a keyPrefix or bucket apart, or give both rules a priority ' +
          `(the higher one's replicas win the shared keys).${tie}`,
      });
    }
  });
  return issues;
}

/**
 * For each rule of a validated configuration, per destination, the replica spaces of higher-priority rules
 * that overlap it: the keys that destination must leave to them. Keyed by the rule objects themselves,
 * because the router is handed subsets of the rules (the candidates for one object), while precedence
 * depends on all of them. Registered by checkConfig; a rule list that was never validated has no entry, and
 * could not have had overlapping destinations accepted either.
 */
const yieldsTo = new WeakMap<ObjectRule, KeySpace[][]>();

export function registerPrecedence(rules: readonly ObjectRule[]): void {
  const writers = writersOf(rules);
  for (const rule of rules) {
    if (rule.priority === undefined) continue;
    const spaces = rule.to.map((destination) => {
      const own = replicaSpace(rule, destination);
      return writers
        .filter((other) => outranks(other.rule, rule) && keySpacesOverlap(other.space, own))
        .map((other) => other.space);
    });
    if (spaces.some((list) => list.length > 0)) yieldsTo.set(rule, spaces);
  }
}

/** Whether a higher-priority rule owns this replica key, so this rule's destination must not write it. */
export function isOutranked(
  rule: ObjectRule,
  destinationIndex: number,
  bucket: string,
  key: string,
): boolean {
  const spaces = yieldsTo.get(rule)?.[destinationIndex];
  return spaces?.some((space) => spaceContains(space, bucket, key)) ?? false;
}
