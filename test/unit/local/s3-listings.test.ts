import { describe, expect, it } from 'vitest';
import { keysOf, pageOf } from '#local/s3/listings';

const rows = (keys: string[]) => keys.map((key) => ({ key, item: key }));
const entriesOf = (page: ReturnType<typeof pageOf<string>>) =>
  page.entries.map((entry) => (entry.kind === 'prefix' ? `PRE ${entry.prefix}` : entry.row.key));

describe('sandbox S3 listing pages', () => {
  const keys = ['a.txt', 'b/1', 'b/2', 'c/d/e/deep', 'z.txt'];

  it('rolls keys up to the first delimiter after the prefix, however deep they sit', () => {
    const page = pageOf(rows(keys), { prefix: '', delimiter: '/', max: 1000 });
    expect(entriesOf(page)).toEqual(['a.txt', 'PRE b/', 'PRE c/', 'z.txt']);
    expect(page.truncated).toBe(false);
  });

  it('counts a common prefix once against the page size, and is truncated only when an entry is left', () => {
    const page = pageOf(rows(keys), { prefix: '', delimiter: '/', max: 2 });
    expect(entriesOf(page)).toEqual(['a.txt', 'PRE b/']);
    expect(page.truncated).toBe(true);
    const exact = pageOf(rows(keys), { prefix: '', delimiter: '/', max: 4 });
    expect(exact.truncated).toBe(false);
  });

  it('does not list again a common prefix the previous page ended on', () => {
    const after = 'b/';
    const next = pageOf(rows([...keysOf(keys, '', after)]), { prefix: '', delimiter: '/', max: 1, after });
    expect(entriesOf(next)).toEqual(['PRE c/']);
  });

  it('starts after a marker and stops at the end of the prefix, in UTF-8 byte order', () => {
    const sorted = ['p/a', 'p/b', 'p/é', 'q/a'];
    expect([...keysOf(sorted, 'p/', 'p/a')]).toEqual(['p/b', 'p/é']);
    expect([...keysOf(sorted, 'p/', 'a')]).toEqual(['p/a', 'p/b', 'p/é']);
  });

  it('answers a page size of 0 with an empty page that is not truncated', () => {
    expect(pageOf(rows(keys), { prefix: '', delimiter: '', max: 0 })).toEqual({
      entries: [],
      truncated: false,
    });
  });
});
