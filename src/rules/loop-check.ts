import { describeSpace as describe, keySpacesOverlap, replicaSpace, sourceSpace } from './key-spaces.ts';
import type { ObjectRule } from './schema.ts';

// The loop check's tests exercise the overlap rule through this module.
export { keySpacesOverlap };

/** A problem found in the rule graph, with the path of the field to change. */
export interface RuleGraphIssue {
  path: (string | number)[];
  message: string;
}

/**
 * Rejects rule sets in which a replica could be replicated again without the reading rule opting in,
 * destinations that are their own source, and loops through rules that chain replicas onward.
 * Rules that failed validation are passed as `undefined` so indexes stay those of the file.
 */
export function checkRuleGraph(rules: readonly (ObjectRule | undefined)[]): RuleGraphIssue[] {
  const issues: RuleGraphIssue[] = [];
  const chainEdges = new Map<number, number[]>();

  rules.forEach((writer, writerIndex) => {
    writer?.to.forEach((destination, destinationIndex) => {
      const written = replicaSpace(writer, destination);
      const source = sourceSpace(writer);
      if (written.bucket === source.bucket && written.prefix === source.prefix) {
        issues.push({
          path: ['rules', writerIndex, 'to', destinationIndex],
          message: `destination equals its source (${describe(source)}); set another bucket or a keyPrefix`,
        });
        return;
      }
      rules.forEach((reader, readerIndex) => {
        if (!reader || !keySpacesOverlap(written, sourceSpace(reader))) return;
        const replicas = reader.objects.replicas;
        if (replicas === undefined) {
          issues.push({
            path: ['rules', readerIndex, 'objects'],
            message:
              `replicas that rule "${writer.name}" writes to ${describe(written)} would match this rule again; ` +
              'set objects.replicas to "skip" (ignore them) or "chain" (copy them onward)',
          });
        } else if (replicas === 'chain') {
          chainEdges.set(writerIndex, [...(chainEdges.get(writerIndex) ?? []), readerIndex]);
        }
      });
    });
  });

  for (const cycle of findCycles(chainEdges)) {
    const first = cycle[0] ?? 0;
    const names = [...cycle, first].map((index) => `"${rules[index]?.name}"`).join(' → ');
    issues.push({
      path: ['rules', first, 'objects', 'replicas'],
      message: `rules ${names} form a replication loop; a rule in it must use replicas: skip`,
    });
  }
  return issues;
}

/** Each elementary cycle once, as the list of rule indexes on it (depth-first; rule sets are small). */
function findCycles(edges: Map<number, number[]>): number[][] {
  const cycles: number[][] = [];
  const seen = new Set<string>();
  const visit = (start: number, node: number, path: number[]) => {
    for (const next of edges.get(node) ?? []) {
      if (next === start) {
        const key = [...path].sort((a, b) => a - b).join(',');
        if (!seen.has(key)) {
          seen.add(key);
          cycles.push([...path]);
        }
      } else if (!path.includes(next) && next > start) {
        visit(start, next, [...path, next]);
      }
    }
  };
  for (const start of edges.keys()) visit(start, start, [start]);
  return cycles;
}
