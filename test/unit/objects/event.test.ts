import { describe, expect, it } from 'vitest';
import { ObjectCreatedEventSchema, sourceObjectOf } from '#objects/event';
import { s3Event } from '#test/support/fixtures';

const withObject = (object: Record<string, unknown>) => {
  const event = s3Event('object-created') as unknown as { detail: { object: Record<string, unknown> } };
  Object.assign(event.detail.object, object);
  return event;
};

describe('S3 event fields', () => {
  it.each([
    ['a plain MD5', 'b1946ac92492d2347c6235b4d2611184'],
    ['a quoted MD5', '"b1946ac92492d2347c6235b4d2611184"'],
    ['a multipart ETag', 'd41d8cd98f00b204e9800998ecf8427e-38'],
    ['an upper-case MD5', 'B1946AC92492D2347C6235B4D2611184'],
    ['an opaque token of another store', '0x8DC3A1B2C4D5E6F'],
  ])('It should accept %s as an etag', (_, etag) => {
    expect(ObjectCreatedEventSchema.safeParse(withObject({ etag })).success).toBe(true);
  });

  it.each([
    ['a wildcard', '*'],
    ['a weak tag', 'W/"b1946ac92492d2347c6235b4d2611184"'],
    ['a line feed', 'b1946ac92492d2347c6235b4d2611184\nx-amz-acl: public-read'],
    ['a space', 'b1946ac9 2492d2347c6235b4d2611184'],
    ['an unbalanced quote', '"b1946ac92492d2347c6235b4d2611184'],
  ])('It should refuse %s as an etag, naming the field', (_, etag) => {
    const result = ObjectCreatedEventSchema.safeParse(withObject({ etag }));
    expect(result.error?.issues.map((issue) => issue.path.join('.'))).toEqual(['detail.object.etag']);
  });

  it('It should accept sequencers of up to 32 hexadecimal digits, and refuse longer ones', () => {
    expect(ObjectCreatedEventSchema.safeParse(withObject({ sequencer: 'A'.repeat(32) })).success).toBe(true);
    const result = ObjectCreatedEventSchema.safeParse(withObject({ sequencer: 'A'.repeat(33) }));
    expect(result.error?.issues.map((issue) => issue.path.join('.'))).toEqual(['detail.object.sequencer']);
  });

  it('It should keep the key as the event wrote it when it differs from the decoded key', () => {
    const decoded = sourceObjectOf(ObjectCreatedEventSchema.parse(withObject({ key: 'docs/a+b%2B.txt' })));
    expect(decoded).toMatchObject({ key: 'docs/a b+.txt', eventKey: 'docs/a+b%2B.txt' });
    const plain = sourceObjectOf(ObjectCreatedEventSchema.parse(withObject({ key: 'docs/plain.txt' })));
    expect(plain.key).toBe('docs/plain.txt');
    expect(plain).not.toHaveProperty('eventKey');
  });
});
