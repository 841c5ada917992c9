import { z } from 'zod';
import { checkBucketRegions } from './bucket-regions.ts';
import { DeploymentSettingsSchema } from './deployment.ts';
import { type ImageRule, ImageRuleSchema, type SnapshotRule, SnapshotRuleSchema } from './ec2-schema.ts';
import { checkRuleGraph } from './loop-check.ts';
import { CopySettingsSchema, type ObjectRule, ObjectRuleSchema } from './schema.ts';
import { checkSharedReplicas, registerPrecedence } from './shared-replicas.ts';
import { explainUnknownKeys, unknownKeysMessage } from './unknown-keys.ts';

/** What a rule copies: its kind is the one of these keys it has. */
const RULE_KINDS = {
  objects: ObjectRuleSchema,
  snapshots: SnapshotRuleSchema,
  images: ImageRuleSchema,
} as const;
export type RuleKind = keyof typeof RULE_KINDS;
const KIND_NAMES = Object.keys(RULE_KINDS) as RuleKind[];
/** The keys a rule of some kind may have: what a rule of no kind is told its unknown keys could be. */
const RULE_KEYS = [...new Set(Object.values(RULE_KINDS).flatMap((schema) => Object.keys(schema.shape)))];

export const RuleSchema = z.union([ObjectRuleSchema, SnapshotRuleSchema, ImageRuleSchema]);
export type Rule = ObjectRule | SnapshotRule | ImageRule;

export const FerryConfigSchema = z.strictObject({
  copy: CopySettingsSchema.default(CopySettingsSchema.parse({})),
  deployment: DeploymentSettingsSchema.default(DeploymentSettingsSchema.parse({})),
  rules: z.array(RuleSchema).min(1, 'expected at least one rule'),
});

export type FerryConfig = z.infer<typeof FerryConfigSchema>;

export const isObjectRule = (rule: Rule): rule is ObjectRule => 'objects' in rule;
export const isSnapshotRule = (rule: Rule): rule is SnapshotRule => 'snapshots' in rule;
export const isImageRule = (rule: Rule): rule is ImageRule => 'images' in rule;

export const kindOf = (rule: Rule): RuleKind =>
  isObjectRule(rule) ? 'objects' : isSnapshotRule(rule) ? 'snapshots' : 'images';

/** The Regions a snapshot or image rule reads its sources from. */
export const sourceRegionsOf = (rule: SnapshotRule | ImageRule): string[] =>
  isSnapshotRule(rule) ? rule.snapshots.regions : rule.images.regions;

/** The Region an object rule reads its bucket in: its `objects.region`, else the stack's home Region. */
export const objectSourceRegionOf = (rule: ObjectRule, homeRegion: string): string =>
  rule.objects.region ?? homeRegion;

/** The rules of one kind, in file order. */
export const objectRulesOf = (config: Pick<FerryConfig, 'rules'>): ObjectRule[] =>
  config.rules.filter(isObjectRule);
export const snapshotRulesOf = (config: Pick<FerryConfig, 'rules'>): SnapshotRule[] =>
  config.rules.filter(isSnapshotRule);
export const imageRulesOf = (config: Pick<FerryConfig, 'rules'>): ImageRule[] =>
  config.rules.filter(isImageRule);

/** Outline used to validate each rule on its own, so one bad rule does not hide the others' errors. */
const ConfigOutlineSchema = z.strictObject({
  copy: CopySettingsSchema.default(CopySettingsSchema.parse({})),
  deployment: DeploymentSettingsSchema.default(DeploymentSettingsSchema.parse({})),
  rules: z.array(z.unknown()).min(1, 'expected at least one rule'),
});

export type RawIssue = {
  path: PropertyKey[];
  message: string;
  code?: string;
  /** Why a record's key was refused (zod reports only "Invalid key in record" itself). */
  issues?: readonly { message: string }[];
};

/**
 * Picks the schema of a rule by the one kind key it has, or says why it cannot. A rule of no kind cannot be
 * checked by a kind's schema, so its unknown keys are named here: `object:` for `objects:` is the likely
 * cause, and saying only that the rule has none would hide it.
 */
function ruleSchemaOf(candidate: unknown): { schema: z.ZodType<Rule> } | { messages: string[] } {
  if (typeof candidate !== 'object' || candidate === null || Array.isArray(candidate)) {
    return {
      messages: ['expected a rule: a mapping with name, one of objects, snapshots or images, and to'],
    };
  }
  const kinds = KIND_NAMES.filter((kind) => kind in candidate);
  const [kind] = kinds;
  if (kind === undefined || kinds.length > 1) {
    const found = kinds.length === 0 ? 'it has none' : `it has ${kinds.join(' and ')}`;
    const present = Object.keys(candidate);
    const unknown = present.filter((key) => !RULE_KEYS.includes(key));
    const known = RULE_KEYS.filter((key) => !present.includes(key));
    return {
      messages: [
        ...(kinds.length === 0 && unknown.length > 0 ? [unknownKeysMessage(unknown, known)] : []),
        `expected exactly one of objects, snapshots or images (what the rule copies); ${found}`,
      ],
    };
  }
  return { schema: RULE_KINDS[kind] };
}

/**
 * The rules are parsed once per Lambda container, at init: zod's compiled fast path (built with
 * `new Function` on a schema's first parse) costs more to build than it saves on one parse. Unknown keys
 * are told the key they were likely meant to be.
 */
const ONCE = { jitless: true, error: explainUnknownKeys } as const;

/** Field errors of every rule, then the cross-rule checks (names, loops) over the rules that parsed. */
export function checkConfig(raw: unknown): { config?: FerryConfig; issues: RawIssue[] } {
  const outline = ConfigOutlineSchema.safeParse(raw, ONCE);
  if (!outline.success) return { issues: outline.error.issues };

  const issues: RawIssue[] = [];
  const rules: (Rule | undefined)[] = outline.data.rules.map((candidate, index) => {
    const kind = ruleSchemaOf(candidate);
    if ('messages' in kind) {
      for (const message of kind.messages) issues.push({ path: ['rules', index], message });
      return undefined;
    }
    const parsed = kind.schema.safeParse(candidate, ONCE);
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
  // Only object replicas can be read again by a rule, or share keys; EC2 copies are never copied (see
  // ec2-schema.ts), and each finds its copy again by its own tags.
  const objectRules = rules.map((rule) => (rule && isObjectRule(rule) ? rule : undefined));
  issues.push(
    ...checkRuleGraph(objectRules),
    ...checkSharedReplicas(objectRules),
    ...checkBucketRegions(objectRules),
  );

  if (issues.length > 0) return { issues };
  const config = {
    copy: outline.data.copy,
    deployment: outline.data.deployment,
    rules: rules.filter((rule): rule is Rule => rule !== undefined),
  };
  registerPrecedence(objectRulesOf(config));
  return { config, issues };
}
