import { TemplateError } from './errors.ts';

/**
 * Templates for what Ferry writes on EC2 copies (snapshot and AMI descriptions, AMI names): literal text
 * with placeholders in braces, `{sourceId} from {sourceRegion}`. Braces are reserved for placeholders, so
 * a typo (`{Name}`, `{name`) is a validation error instead of text that silently ends up on every copy.
 */

const COMMON_PLACEHOLDERS = ['sourceId', 'sourceRegion', 'rule', 'date'] as const;
export const SNAPSHOT_PLACEHOLDERS = [...COMMON_PLACEHOLDERS, 'description', 'volumeId'] as const;
export const IMAGE_PLACEHOLDERS = [...COMMON_PLACEHOLDERS, 'name', 'description'] as const;

export type SnapshotPlaceholder = (typeof SNAPSHOT_PLACEHOLDERS)[number];
export type ImagePlaceholder = (typeof IMAGE_PLACEHOLDERS)[number];
/** The value of each placeholder at copy time; `date` is the day the source was created (see `copyDate`). */
export type TemplateValues = Readonly<Partial<Record<string, string>>>;

export const DEFAULT_SNAPSHOT_DESCRIPTION = '{description} (copy of {sourceId} from {sourceRegion})';
export const DEFAULT_IMAGE_NAME = '{name}-{sourceId}';
export const DEFAULT_IMAGE_DESCRIPTION = '{description} (copy of {sourceId} from {sourceRegion})';

/** EC2's limit for snapshot and AMI descriptions. */
export const DESCRIPTION_MAX_LENGTH = 255;
export const IMAGE_NAME_MIN_LENGTH = 3;
export const IMAGE_NAME_MAX_LENGTH = 128;
const IMAGE_NAME_CHARACTER = /[a-zA-Z0-9()[\] ./'@_-]/;
const IMAGE_NAME = /^[a-zA-Z0-9()[\] ./'@_-]*$/;
const IMAGE_NAME_CHARACTERS_TEXT = `letters, digits, spaces and ( ) [ ] . / ' @ _ -`;

type Part = { text: string } | { placeholder: string };

/** Splits a template into text and placeholders, with the problems of its braces. */
function parseTemplate(template: string): { parts: Part[]; problems: string[] } {
  const parts: Part[] = [];
  const problems: string[] = [];
  let text = '';
  let index = 0;
  while (index < template.length) {
    const char = template[index] ?? '';
    if (char === '}') {
      problems.push(`"}" at position ${index} closes no placeholder (braces are reserved for placeholders)`);
      index += 1;
    } else if (char === '{') {
      const close = template.indexOf('}', index + 1);
      const reopen = template.indexOf('{', index + 1);
      if (close === -1 || (reopen !== -1 && reopen < close)) {
        problems.push(`"{" at position ${index} is not closed by "}" (braces are reserved for placeholders)`);
        index += 1;
        continue;
      }
      if (text !== '') parts.push({ text });
      text = '';
      parts.push({ placeholder: template.slice(index + 1, close) });
      index = close + 1;
    } else {
      text += char;
      index += 1;
    }
  }
  if (text !== '') parts.push({ text });
  return { parts, problems };
}

const isPlaceholder = (part: Part): part is { placeholder: string } => 'placeholder' in part;

/** The placeholders a template uses, in order (repeats included). */
export function placeholdersOf(template: string): string[] {
  return parseTemplate(template)
    .parts.filter(isPlaceholder)
    .map((part) => part.placeholder);
}

/** What is wrong with a template, given the placeholders its kind of copy offers; empty when it is valid. */
export function templateProblems(template: string, allowed: readonly string[]): string[] {
  const { parts, problems } = parseTemplate(template);
  for (const part of parts) {
    if (isPlaceholder(part) && !allowed.includes(part.placeholder)) {
      problems.push(
        `unknown placeholder {${part.placeholder}}; expected one of ${allowed.map((p) => `{${p}}`).join(', ')}`,
      );
    }
  }
  return problems;
}

/**
 * Fills a template's placeholders. Pure; throws TemplateError for a template with unbalanced braces or a
 * placeholder without a value (pass '' for an empty description), so a bug never writes "undefined".
 */
export function renderTemplate(template: string, values: TemplateValues): string {
  const { parts, problems } = parseTemplate(template);
  if (problems.length > 0) throw new TemplateError(`template "${template}": ${problems.join('; ')}`);
  return parts
    .map((part) => {
      if (!isPlaceholder(part)) return part.text;
      const value = values[part.placeholder];
      if (value === undefined)
        throw new TemplateError(`template "${template}": no value for {${part.placeholder}}`);
      return value;
    })
    .join('');
}

/**
 * The `{date}` of a copy: the UTC day its source was created, YYYY-MM-DD. Fixed per copy, so a retried
 * copy request is the same request.
 */
export const copyDate = (date: Date): string => date.toISOString().slice(0, 10);

/** A snapshot or AMI description: rendered, trimmed (an empty `{description}` leaves no stray space), at most 255. */
export function renderDescription(template: string, values: TemplateValues): string {
  return Array.from(renderTemplate(template, values).trim()).slice(0, DESCRIPTION_MAX_LENGTH).join('');
}

// Lengths a placeholder's value can have in an AMI name, for the static check of a name template.
// `{name}` and `{description}` are shortened at copy time when the name would be too long; the others never.
const NAME_VALUE_LENGTHS: Record<ImagePlaceholder, { min: number; max: number; shrinks: boolean }> = {
  sourceId: { min: 12, max: 21, shrinks: false }, // ami- and 8 or 17 hex digits
  sourceRegion: { min: 9, max: 20, shrinks: false },
  date: { min: 10, max: 10, shrinks: false },
  // Counted at the rule name's real length when it is known; otherwise only its minimum is checked.
  rule: { min: 1, max: 0, shrinks: false },
  name: { min: IMAGE_NAME_MIN_LENGTH, max: IMAGE_NAME_MAX_LENGTH, shrinks: true },
  description: { min: 0, max: DESCRIPTION_MAX_LENGTH, shrinks: true },
};

/**
 * What can be known about an AMI name template before any copy: its characters, whether it can fit in
 * 3–128 characters, and whether it names each copy apart (AMI names are unique per Region and account, so
 * a name without `{sourceId}` or `{name}` would make every copy after the first fail). Pass the rule's name
 * to count `{rule}` at its real length.
 */
export function imageNameTemplateProblems(template: string, ruleName?: string): string[] {
  const problems = templateProblems(template, IMAGE_PLACEHOLDERS);
  if (problems.length > 0) return problems;
  const parts = parseTemplate(template).parts;
  let minLength = 0;
  let fixedMaxLength = 0;
  const bad = new Set<string>();
  for (const part of parts) {
    if (!isPlaceholder(part)) {
      for (const char of part.text) if (!IMAGE_NAME_CHARACTER.test(char)) bad.add(char);
      minLength += part.text.length;
      fixedMaxLength += part.text.length;
      continue;
    }
    const key = part.placeholder as ImagePlaceholder;
    const lengths =
      key === 'rule' && ruleName !== undefined
        ? { min: ruleName.length, max: ruleName.length, shrinks: false }
        : NAME_VALUE_LENGTHS[key];
    minLength += lengths.min;
    if (!lengths.shrinks) fixedMaxLength += lengths.max;
  }
  if (bad.size > 0)
    problems.push(
      `${[...bad].map((char) => `"${char}"`).join(', ')} cannot be in an AMI name (${IMAGE_NAME_CHARACTERS_TEXT})`,
    );
  if (fixedMaxLength > IMAGE_NAME_MAX_LENGTH)
    problems.push(
      `can render ${fixedMaxLength} characters without counting {name} or {description}; an AMI name has at most ${IMAGE_NAME_MAX_LENGTH}`,
    );
  if (minLength < IMAGE_NAME_MIN_LENGTH)
    problems.push(
      `can render only ${minLength} characters; an AMI name needs at least ${IMAGE_NAME_MIN_LENGTH}`,
    );
  const placeholders = parts.filter(isPlaceholder).map((part) => part.placeholder);
  if (!placeholders.includes('sourceId') && !placeholders.includes('name'))
    problems.push(
      'must contain {sourceId} or {name}: AMI names are unique per Region and account, so a name that is the same for every source would make each copy after the first fail',
    );
  return problems;
}

/**
 * The name of an AMI copy: the template rendered with each value's disallowed characters replaced by "-",
 * and `{description}`, then `{name}`, shortened until the name fits in 128 characters (the other parts,
 * `{sourceId}` among them, are kept whole so copies stay apart). Throws TemplateError if no name that EC2
 * accepts can be made, which a template that passed validation cannot cause.
 */
export function renderImageName(template: string, values: TemplateValues): string {
  const sanitize = (value: string) =>
    Array.from(value, (char) => (IMAGE_NAME_CHARACTER.test(char) ? char : '-')).join('');
  let current: Record<string, string> = {};
  for (const [key, value] of Object.entries(values)) if (value !== undefined) current[key] = sanitize(value);

  let name = renderTemplate(template, current);
  const shrinkable = (['description', 'name'] as const).filter((key) =>
    placeholdersOf(template).includes(key),
  );
  while (name.length > IMAGE_NAME_MAX_LENGTH) {
    const key = shrinkable.find((candidate) => (current[candidate]?.length ?? 0) > 0);
    if (key === undefined) break;
    const value = current[key] ?? '';
    current = {
      ...current,
      [key]: value.slice(0, Math.max(0, value.length - (name.length - IMAGE_NAME_MAX_LENGTH))),
    };
    name = renderTemplate(template, current);
  }
  if (name.length > IMAGE_NAME_MAX_LENGTH || name.length < IMAGE_NAME_MIN_LENGTH || !IMAGE_NAME.test(name)) {
    throw new TemplateError(
      `template "${template}" renders "${name}", which is not an AMI name (${IMAGE_NAME_MIN_LENGTH}–${IMAGE_NAME_MAX_LENGTH} ${IMAGE_NAME_CHARACTERS_TEXT})`,
    );
  }
  return name;
}
