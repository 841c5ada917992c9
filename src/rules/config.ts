import { z } from 'zod';
import { checkRuleGraph } from './loop-check.ts';
import { CopySettingsSchema, type ObjectRule, ObjectRuleSchema } from './schema.ts';

export const FerryConfigSchema = z.strictObject({
  copy: CopySettingsSchema.default(CopySettingsSchema.parse({})),
  rules: z.array(ObjectRuleSchema).min(1, 'expected at least one rule'),
});

export type FerryConfig = z.infer<typeof FerryConfigSchema>;

/** Outline used to validate each rule on its own, so one bad rule does not hide the others' errors. */
const ConfigOutlineSchema = z.strictObject({
  copy: CopySettingsSchema.default(CopySettingsSchema.parse({})),
  rules: z.array(z.unknown()).min(1, 'expected at least one rule'),
});

export type RawIssue = { path: PropertyKey[]; message: string; code?: string; keys?: string[] };

/** Field errors of every rule, then the cross-rule checks (names, loops) over the rules that parsed. */
export function checkConfig(raw: unknown): { config?: FerryConfig; issues: RawIssue[] } {
  const outline = ConfigOutlineSchema.safeParse(raw);
  if (!outline.success) return { issues: outline.error.issues };

  const issues: RawIssue[] = [];
  const rules: (ObjectRule | undefined)[] = outline.data.rules.map((candidate, index) => {
    const parsed = ObjectRuleSchema.safeParse(candidate);
    if (parsed.success) return parsed.data;
    for (const issue of parsed.error.issues) issues.push({ ...issue, path: ['rules', index, ...issue.path] });
    return undefined;
  });

  const firstByName = new Map<string, number>();
  rules.forEach((rule, index) => {
    if (!rule) return;
    const first = firstByName.get(rule.name);
    if (first === undefined) firstByName.set(rule.name, index);
    else
      issues.push({
        path: ['rules', index, 'name'],
        message: `"${rule.name}" is already the name of rules[${first}]`,
      });
  });
  issues.push(...checkRuleGraph(rules));

  if (issues.length > 0) return { issues };
  return {
    config: {
      copy: outline.data.copy,
      rules: rules.filter((rule): rule is ObjectRule => rule !== undefined),
    },
    issues,
  };
}
