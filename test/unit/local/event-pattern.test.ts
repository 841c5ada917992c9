import { describe, expect, it } from 'vitest';
import { matchesPattern } from '#local/event-pattern';
import { type EventPattern, objectEventPatterns } from '#rules/event-patterns';
import { configFrom, s3Event } from '#test/support/fixtures';

describe('EventBridge patterns generated from the rules', () => {
  const config = configFrom(`
rules:
  - name: invoices
    objects: { bucket: acme-prod, prefix: invoices/ }
    to: [ { bucket: acme-dr, region: us-west-2, replicateDeletes: true } ]
  - name: reports
    objects: { bucket: acme-prod, prefix: reports/ }
    to: [ { bucket: acme-dr, region: us-west-2 } ]
  - name: spaces
    objects: { bucket: acme-media, prefix: "raw footage/" }
    to: [ { bucket: acme-media-dr, region: us-west-2 } ]
`);
  const patterns = objectEventPatterns(config);

  it('It should merge the buckets into one pattern under $or, each with its exact key prefixes', () => {
    expect(patterns.objectCreated).toEqual([
      {
        source: ['aws.s3'],
        'detail-type': ['Object Created'],
        detail: {
          $or: [
            { bucket: { name: ['acme-media'] } },
            {
              bucket: { name: ['acme-prod'] },
              object: { key: [{ prefix: 'invoices/' }, { prefix: 'reports/' }] },
            },
          ],
        },
      },
    ]);
  });

  it('It should subscribe deletes only for rules that replicate them', () => {
    expect(patterns.objectDeleted).toEqual([
      {
        source: ['aws.s3'],
        'detail-type': ['Object Deleted'],
        detail: { bucket: { name: ['acme-prod'] }, object: { key: [{ prefix: 'invoices/' }] } },
      },
    ]);
  });

  it('It should match the events of covered keys and no others', () => {
    const event = s3Event('object-created');
    expect(patterns.objectCreated.some((p) => matchesPattern(event, p))).toBe(true);
    event.detail.object.key = 'other/x.pdf';
    expect(patterns.objectCreated.some((p) => matchesPattern(event, p))).toBe(false);
    event.detail.bucket.name = 'acme-media';
    expect(patterns.objectCreated.some((p) => matchesPattern(event, p))).toBe(true);
    expect(patterns.objectDeleted.some((p) => matchesPattern(event, p))).toBe(false);
  });

  it('It should implement prefix, suffix, exists and value-list matching as EventBridge does', () => {
    const event = { a: 'abc', n: 3, list: ['x', 'y'], nested: { b: true } };
    expect(matchesPattern(event, { a: [{ prefix: 'ab' }] })).toBe(true);
    expect(matchesPattern(event, { a: [{ suffix: 'bc' }], n: [1, 3] })).toBe(true);
    expect(matchesPattern(event, { list: ['y'] })).toBe(true);
    expect(matchesPattern(event, { missing: [{ exists: false }], nested: { b: [true] } })).toBe(true);
    expect(matchesPattern(event, { missing: [{ exists: true }] })).toBe(false);
    expect(matchesPattern(event, { nested: { b: [false] } })).toBe(false);
    expect(matchesPattern(event, { a: { deeper: ['x'] } })).toBe(false);
  });

  it('It should read $or as alternatives at its level, and as a field name where EventBridge does', () => {
    const event = { a: 'x', nested: { b: 1, c: 'y' } };
    const either: EventPattern = { nested: { $or: [{ b: [2] }, { c: ['y'] }] } };
    expect(matchesPattern(event, either)).toBe(true);
    const neither: EventPattern = { nested: { $or: [{ b: [2] }, { c: ['z'] }] } };
    expect(matchesPattern(event, neither)).toBe(false);
    // Other fields at the level still all have to match.
    expect(matchesPattern(event, { a: ['w'], $or: [{ a: ['x'] }, { nested: { b: [1] } }] })).toBe(false);
    expect(matchesPattern(event, { a: ['x'], $or: [{ a: ['x'] }, { nested: { b: [9] } }] })).toBe(true);
    // One alternative, or matchers in the array: an ordinary field called "$or", absent from the event.
    expect(matchesPattern(event, { $or: [{ a: ['x'] }] })).toBe(false);
    const matchers = { nested: { $or: [{ prefix: 'y' }, { c: ['y'] }] } } as unknown as EventPattern;
    expect(matchesPattern(event, matchers)).toBe(false);
  });
});
