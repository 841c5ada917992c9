import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Ec2CopyJobSchema } from '#ec2/copy-machine/contract';
import { planImageCopies } from '#ec2/images/router';
import { planSnapshotCopies } from '#ec2/snapshots/router';
import { planCopies } from '#objects/router';
import { imageRulesOf, objectRulesOf, snapshotRulesOf } from '#rules/config';
import type { ImageRule, SnapshotRule } from '#rules/ec2-schema';
import { compileRules, parseConfig } from '#rules/load';
import type { ObjectRule } from '#rules/schema';
import { tagsMatch } from '#rules/tags';
import { loadCompiledRules } from '#rules/validate';

/**
 * Maps read from replication.yml keep every key exactly: `__proto__`, `constructor`, `toString` and
 * `hasOwnProperty` are tag keys S3 and EC2 accept, so a rule that names them must require (or set) them,
 * and the routers must find them only as the resource's own tags.
 */

const TRICKY = `{ __proto__: "y", constructor: "x", toString: "t", hasOwnProperty: "h" }`;

const YAML = `rules:
  - name: tricky-objects
    objects: { bucket: acme-prod, tags: ${TRICKY} }
    to:
      - bucket: acme-dr
        region: us-west-2
        metadata: { set: { constructor: "m", tostring: "s", hasownproperty: "o" } }
        tags: { set: ${TRICKY} }
  - name: tricky-snapshots
    snapshots: { regions: [us-east-1], tags: ${TRICKY} }
    to:
      - { region: us-west-2, tags: ${TRICKY} }
  - name: tricky-images
    images: { regions: [us-east-1], tags: ${TRICKY} }
    to:
      - { region: us-west-2 }
`;

// Entries, not an object literal: in a literal, `__proto__: 'y'` sets the prototype and adds no key.
const ENTRIES: [string, string][] = [
  ['__proto__', 'y'],
  ['constructor', 'x'],
  ['toString', 't'],
  ['hasOwnProperty', 'h'],
];
const EXPECTED_KEYS = ENTRIES.map(([key]) => key);

/** A tag map as Ferry builds it from a TagSet (src/objects/source-reads.ts, src/ec2/markers.ts). */
const tagsOf = (entries: [string, string][]): Record<string, string> => Object.fromEntries(entries);
const allTags = () => tagsOf(ENTRIES);
const withoutProto = () => tagsOf(ENTRIES.slice(1));

const config = parseConfig(YAML, 'tricky.yml');
const [objectRule] = objectRulesOf(config) as [ObjectRule];
const [snapshotRule] = snapshotRulesOf(config) as [SnapshotRule];
const [imageRule] = imageRulesOf(config) as [ImageRule];

const snapshot = (tags: Record<string, string>) => ({
  snapshotId: 'snap-0a1b2c3d4e5f60718',
  region: 'us-east-1',
  encrypted: false,
  description: '',
  tags,
});
const image = (tags: Record<string, string>) => ({
  imageId: 'ami-0b1c2d3e4f5a60718',
  region: 'us-east-1',
  name: 'web-1',
  encrypted: false,
  tags,
});

describe('maps read from replication.yml', () => {
  it('It should keep __proto__, constructor, toString and hasOwnProperty as keys of every tag map', () => {
    for (const tags of [
      objectRule.objects.tags,
      objectRule.to[0]?.tags.set,
      snapshotRule.snapshots.tags,
      snapshotRule.to[0]?.tags,
      imageRule.images.tags,
    ]) {
      expect(Object.keys(tags ?? {})).toEqual(EXPECTED_KEYS);
      expect(Object.hasOwn(tags ?? {}, '__proto__')).toBe(true);
      expect(Object.getOwnPropertyDescriptor(tags, '__proto__')?.value).toBe('y');
    }
  });

  it('It should keep constructor, tostring and hasownproperty as metadata keys', () => {
    expect(Object.entries(objectRule.to[0]?.metadata.set ?? {})).toEqual([
      ['constructor', 'm'],
      ['tostring', 's'],
      ['hasownproperty', 'o'],
    ]);
  });

  it('It should keep every key through the JSON the functions load (npm run package)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ferry-exact-keys-'));
    const yaml = join(dir, 'tricky.yml');
    writeFileSync(yaml, YAML);
    const json = join(dir, 'rules.json');
    writeFileSync(json, compileRules(yaml));
    const [compiled] = objectRulesOf(loadCompiledRules(json));
    expect(Object.keys(compiled?.objects.tags ?? {})).toEqual(EXPECTED_KEYS);
    expect(Object.keys(compiled?.to[0]?.tags.set ?? {})).toEqual(EXPECTED_KEYS);
  });
});

describe('routers read tags as own properties', () => {
  const object = { bucket: 'acme-prod', key: 'a.txt', size: 1 };

  it('It should require the __proto__ tag of an object filter: an object without it is not copied', () => {
    expect(planCopies([objectRule], object, allTags())).toHaveLength(1);
    expect(planCopies([objectRule], object, withoutProto())).toEqual([]);
    expect(planCopies([objectRule], object, tagsOf([...ENTRIES.slice(1), ['__proto__', 'other']]))).toEqual(
      [],
    );
  });

  it('It should require the __proto__ tag of a snapshot filter, with and without the rule index', () => {
    expect(planSnapshotCopies([snapshotRule], snapshot(allTags()))).toHaveLength(1);
    expect(planSnapshotCopies([snapshotRule], snapshot(withoutProto()))).toEqual([]);
    // Sixteen rules and more are routed through the Region and tag index.
    const many = Array.from({ length: 20 }, () => snapshotRule);
    expect(planSnapshotCopies(many, snapshot(allTags()))).toHaveLength(20);
    expect(planSnapshotCopies(many, snapshot(withoutProto()))).toEqual([]);
  });

  it('It should require the __proto__ tag of an image filter, with and without the rule index', () => {
    expect(planImageCopies([imageRule], image(allTags()))).toHaveLength(1);
    expect(planImageCopies([imageRule], image(withoutProto()))).toEqual([]);
    const many = Array.from({ length: 20 }, () => imageRule);
    expect(planImageCopies(many, image(allTags()))).toHaveLength(20);
    expect(planImageCopies(many, image(withoutProto()))).toEqual([]);
  });

  it('It should not take a tag inherited from the map’s prototype for a tag of the resource', () => {
    const inherited = Object.create({ constructor: 'x', dr: 'true' }) as Record<string, string>;
    expect(tagsMatch({ dr: 'true' }, inherited)).toBe(false);
    expect(tagsMatch({ constructor: 'x' }, inherited)).toBe(false);
    expect(tagsMatch({ constructor: 'x' }, tagsOf([['constructor', 'x']]))).toBe(true);
    expect(tagsMatch({ toString: 't' }, {})).toBe(false);
  });
});

describe('maps in an EC2 copy job (the state machine input)', () => {
  it('It should keep a __proto__ tag of the source and of the destination through the job', () => {
    const json = JSON.stringify({
      kind: 'snapshot',
      rule: 'tricky-snapshots',
      destinationIndex: 0,
      destination: { region: 'us-west-2', copyTags: true, tags: allTags() },
      source: {
        id: 'snap-0a1b2c3d4e5f60718',
        region: 'us-east-1',
        account: '111122223333',
        encrypted: false,
        description: '',
        tags: allTags(),
      },
      eventTime: '2026-01-01T00:00:00Z',
    });
    const job = Ec2CopyJobSchema.parse(JSON.parse(json));
    expect(Object.keys(job.source.tags)).toEqual(EXPECTED_KEYS);
    expect(Object.keys(job.destination.tags)).toEqual(EXPECTED_KEYS);
  });
});
