import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { closest, editDistance } from '#rules/closest';
import { unknownKeysMessage } from '#rules/unknown-keys';

/** The distance by its definition, recursively: the oracle for the three-row version. */
function definitionDistance(a: string, b: string): number {
  if (a === '') return b.length;
  if (b === '') return a.length;
  const options = [
    definitionDistance(a.slice(1), b) + 1,
    definitionDistance(a, b.slice(1)) + 1,
    definitionDistance(a.slice(1), b.slice(1)) + (a[0] === b[0] ? 0 : 1),
  ];
  if (a.length > 1 && b.length > 1 && a[0] === b[1] && a[1] === b[0])
    options.push(definitionDistance(a.slice(2), b.slice(2)) + 1);
  return Math.min(...options);
}

describe('editDistance', () => {
  it('It should count one edit for a letter dropped, added, changed or two swapped', () => {
    expect(editDistance('object', 'objects')).toBe(1);
    expect(editDistance('prefix', 'prefx')).toBe(1);
    expect(editDistance('bucket', 'bocket')).toBe(1);
    expect(editDistance('prot', 'port')).toBe(1);
    expect(editDistance('', 'to')).toBe(2);
    expect(editDistance('tags', 'tags')).toBe(0);
  });

  it('It should agree with the definition on short strings of a small alphabet', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: fc.constantFrom('a', 'b', 'c'), maxLength: 6 }),
        fc.string({ unit: fc.constantFrom('a', 'b', 'c'), maxLength: 6 }),
        (a, b) => {
          expect(editDistance(a, b)).toBe(definitionDistance(a, b));
          expect(editDistance(b, a)).toBe(editDistance(a, b));
        },
      ),
    );
  });
});

describe('closest', () => {
  const DESTINATION_KEYS = ['bucket', 'region', 'keyPrefix', 'storageClass', 'tags', 'to'];

  it('It should name the key a typo or a wrong case was meant to be', () => {
    expect(closest('keyprefix', DESTINATION_KEYS)).toBe('keyPrefix');
    expect(closest('storagclass', DESTINATION_KEYS)).toBe('storageClass');
    expect(closest('bukcet', DESTINATION_KEYS)).toBe('bucket');
    expect(closest('ot', DESTINATION_KEYS)).toBe('to');
  });

  it('It should suggest nothing for a word that is not close to any', () => {
    expect(closest('version', ['copy', 'deployment', 'rules'])).toBeUndefined();
    expect(closest('ta', DESTINATION_KEYS)).toBe('to');
    expect(closest('tx', ['tags'])).toBeUndefined();
    expect(closest('anything', [])).toBeUndefined();
  });
});

describe('unknownKeysMessage', () => {
  it('It should name every unknown key and the key meant for each that has one', () => {
    expect(unknownKeysMessage(['object'], ['objects', 'snapshots', 'images'])).toBe(
      'unknown key "object" (keys are case-sensitive); did you mean `objects`?',
    );
    expect(unknownKeysMessage(['__proto__'], ['priority'])).toBe(
      'unknown key "__proto__" (keys are case-sensitive)',
    );
    expect(unknownKeysMessage(['keyprefix', 'zzz', 'regoin'], ['keyPrefix', 'region'])).toBe(
      'unknown keys "keyprefix", "zzz", "regoin" (keys are case-sensitive); ' +
        'did you mean `keyPrefix` for "keyprefix", `region` for "regoin"?',
    );
  });
});
