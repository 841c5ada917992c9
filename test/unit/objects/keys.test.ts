import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MalformedEventKeyError } from '#objects/errors';
import { copySourceOf, decodeEventKey, encodeEventKey } from '#objects/keys';
import { keyMarker } from '#objects/markers';
import { compareSequencers } from '#objects/sequencer';

describe('event keys', () => {
  it.each([
    ['red+flower.jpg', 'red flower.jpg'],
    ['a%2Bb.txt', 'a+b.txt'],
    ['100%25+done', '100% done'],
    ['x%3Dy%26z', 'x=y&z'],
    ['docs/%C3%BCbersicht.pdf', 'docs/übersicht.pdf'],
    ['emoji/%F0%9F%9A%A2.txt', 'emoji/🚢.txt'],
    ['plain/key.txt', 'plain/key.txt'],
  ])('It should decode %s as %s', (encoded, key) => {
    expect(decodeEventKey(encoded)).toBe(key);
  });

  it('It should name a key that is not valid URL encoding', () => {
    expect(() => decodeEventKey('bad%E0%A4%A.txt')).toThrow(MalformedEventKeyError);
    expect(() => decodeEventKey('bad%zz')).toThrow(/"bad%zz" is not valid URL-encoded text/);
  });

  it('It should decode what the sandbox encodes, for any key up to S3 length', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (key) => {
        // Lone surrogates cannot be UTF-8 encoded, and S3 keys are UTF-8.
        fc.pre(!/\p{Surrogate}/u.test(key));
        expect(decodeEventKey(encodeEventKey(key))).toBe(key);
      }),
    );
  });

  it('It should keep slashes readable in copy sources and add the version', () => {
    expect(copySourceOf('b', 'a dir/x+y ü.txt')).toBe('b/a%20dir/x%2By%20%C3%BC.txt');
    expect(copySourceOf('b', 'k', 'v 1')).toBe('b/k?versionId=v%201');
  });

  it('It should keep key markers short enough for the 2 KB metadata limit', () => {
    expect(keyMarker('a/b c')).toBe('a%2Fb%20c');
    const long = keyMarker('ü'.repeat(500));
    expect(long).toMatch(/^sha256:[0-9a-f]{64}$/);
  });
});

describe('sequencers', () => {
  it.each([
    ['0055AED6DCD90281E5', '0055AED6DCD90281E6', -1],
    ['0055AED6DCD90281E5', '0055AED6DCD90281E5', 0],
    ['0055AED6DCD9028', '0055AED6DCD90281E5', -1],
    ['0055AED6DCD9029', '0055AED6DCD90281E5', 1],
    ['00617f08299329d189', '00617F08299329D189', 0],
  ])('It should order %s against %s as %i (right-padded, as AWS documents)', (a, b, expected) => {
    expect(Math.sign(compareSequencers(a, b))).toBe(expected);
    expect(Math.sign(compareSequencers(b, a)) === -expected).toBe(true);
  });
});
