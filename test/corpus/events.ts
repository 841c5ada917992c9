import { readdirSync, readFileSync } from 'node:fs';
import { z } from 'zod';

/**
 * The bad-input corpus of events: one JSON file per case, `test/corpus/events/<entry point>/<case>.json`,
 * holding the event and what it must produce. Adding a case is adding a file; this module reads and checks
 * them all (a file that does not fit the shape below fails every test that loads the corpus).
 *
 *   { "description": "…", "handler": "object-created",
 *     "expect": { "error": "MalformedEventError", "fields": ["detail.object.size"], "message": "…",
 *                 "bus": { "fate": "dead-letter" } },
 *     "event": { … } }
 *
 * - `fields`: every path the error must name, and no other (as the handler's schema reports them).
 * - `message`: optional text the error's message must also contain.
 * - `bus` (S3 and EC2 events only): what happens to the event on the sandbox's bus, where EventBridge's
 *   patterns come first. `dead-letter`: delivered, refused, retried and kept as a dead letter (by default
 *   by the same handler with the same fields; `target` and `fields` say otherwise). `not-delivered`: no
 *   pattern matches it, so no handler sees it. `skipped`: delivered and skipped with the reason.
 *
 * `test/corpus/skips/` holds well-formed events Ferry must not copy (a failed snapshot, an AMI that is not
 * available): the handler skips them with a reason instead of failing (`expect.skip`). `test/corpus/controls/`
 * holds one valid input per entry point, which must make the copy the malformed ones must not make.
 *
 * Strings too large for a data file are written `{ "$repeat": "k", "times": 307200, "prefix": "…" }`.
 */

export const ENTRY_POINTS = [
  'object-created',
  'object-deleted',
  'snapshot-created',
  'image-available',
  'object-copy-step',
  'ec2-copy-step',
] as const;
export type EntryPoint = (typeof ENTRY_POINTS)[number];

/** The entry points EventBridge delivers to (the step handlers are invoked by the state machines). */
export const BUS_ENTRY_POINTS: readonly EntryPoint[] = [
  'object-created',
  'object-deleted',
  'snapshot-created',
  'image-available',
];

const Bus = z.strictObject({
  fate: z.enum(['dead-letter', 'not-delivered', 'skipped']),
  target: z.enum(ENTRY_POINTS).optional(),
  fields: z.array(z.string().min(1)).min(1).optional(),
});

const MalformedCase = z.strictObject({
  description: z.string().min(1),
  handler: z.enum(ENTRY_POINTS),
  expect: z.strictObject({
    error: z.literal('MalformedEventError'),
    fields: z.array(z.string().min(1)).min(1),
    message: z.string().min(1).optional(),
    bus: Bus.optional(),
  }),
  event: z.unknown(),
});

const SkipCase = z.strictObject({
  description: z.string().min(1),
  handler: z.enum(ENTRY_POINTS),
  expect: z.strictObject({ skip: z.string().min(1), bus: Bus.optional() }),
  event: z.unknown(),
});

export type MalformedEventCase = z.infer<typeof MalformedCase> & { name: string };
export type SkipEventCase = z.infer<typeof SkipCase> & { name: string };

const Repeat = z.strictObject({
  $repeat: z.string().min(1),
  times: z.number().int().positive(),
  prefix: z.string().default(''),
  suffix: z.string().default(''),
});

/** Replaces each `{ "$repeat": … }` with the string it describes. */
function expand(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(expand);
  if (typeof value !== 'object' || value === null) return value;
  if ('$repeat' in value) {
    const repeat = Repeat.parse(value);
    return `${repeat.prefix}${repeat.$repeat.repeat(repeat.times)}${repeat.suffix}`;
  }
  return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, expand(inner)]));
}

const corpusDir = (name: string) => new URL(`./${name}/`, import.meta.url);

function readCases<Case extends z.ZodType<{ handler: EntryPoint; event: unknown }>>(
  dir: string,
  schema: Case,
): (z.infer<Case> & { name: string })[] {
  const cases: (z.infer<Case> & { name: string })[] = [];
  for (const folder of readdirSync(corpusDir(dir), { withFileTypes: true })) {
    if (!folder.isDirectory()) throw new Error(`test/corpus/${dir}/${folder.name}: expected a folder`);
    for (const file of readdirSync(new URL(`${folder.name}/`, corpusDir(dir))).sort()) {
      const name = `${folder.name}/${file}`;
      if (!file.endsWith('.json')) throw new Error(`test/corpus/${dir}/${name}: expected a .json file`);
      const raw = JSON.parse(readFileSync(new URL(name, corpusDir(dir)), 'utf8'));
      const parsed = schema.safeParse(raw);
      if (!parsed.success) throw new Error(`test/corpus/${dir}/${name}: ${z.prettifyError(parsed.error)}`);
      if (parsed.data.handler !== folder.name)
        throw new Error(`test/corpus/${dir}/${name}: handler ${parsed.data.handler} is not its folder`);
      cases.push({ ...parsed.data, event: expand(parsed.data.event), name });
    }
  }
  return cases;
}

export const malformedEvents = (): MalformedEventCase[] => readCases('events', MalformedCase);
export const skippedEvents = (): SkipEventCase[] => readCases('skips', SkipCase);

/** The valid input of an entry point, a fresh copy. */
export const controlEvent = (handler: EntryPoint): Record<string, unknown> =>
  JSON.parse(readFileSync(new URL(`${handler}.json`, corpusDir('controls')), 'utf8'));

/** What the bus does with an event of the corpus: its fate, and who refuses it naming which fields. */
export function busFateOf(entry: MalformedEventCase | SkipEventCase) {
  const bus = entry.expect.bus;
  if (!bus) return undefined;
  return {
    fate: bus.fate,
    target: bus.target ?? entry.handler,
    fields: bus.fields ?? ('fields' in entry.expect ? entry.expect.fields : []),
  };
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * How MalformedEventError names a field: `malformed event: path: message; path: message`. The regex asks for
 * the path as a whole entry, so `detail.object.key` is not satisfied by `detail.object.key2`.
 */
export const namesField = (path: string): RegExp =>
  new RegExp(`(?:^malformed event: |; )${escapeRegExp(path)}: `);
