import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { JUSTIFIED, unjustified } from '#deploy/iam-proof/justified';

const ROOT = new URL('../../../../', import.meta.url);

describe('JUSTIFIED', () => {
  it('It should name, for each accepted surplus, a test that exists and takes that path', () => {
    for (const { test, principal, action } of JUSTIFIED) {
      const [file = '', name = ''] = test.split(' > ');
      const path = new URL(file, ROOT);
      expect(existsSync(path), `${principal} ${action}: ${file}`).toBe(true);
      expect(readFileSync(path, 'utf8'), `${principal} ${action}: ${test}`).toContain(name);
      expect(name.length).toBeGreaterThan(0);
    }
  });

  it('It should justify each principal and action once, with a reason', () => {
    const keys = JUSTIFIED.map(({ principal, action }) => `${principal} ${action}`);
    expect(keys.length).toBe(new Set(keys).size);
    for (const { reason } of JUSTIFIED) expect(reason.length).toBeGreaterThan(20);
  });
});

describe('unjustified', () => {
  const surplus = [
    { principal: 'objectCopyStep', policy: 'ferry', sid: 'A', action: 's3:AbortMultipartUpload' },
    { principal: 'objectCopyStep', policy: 'ferry', sid: 'A', action: 's3:PutObjectTagging' },
    {
      principal: 'arn:aws:iam::222233334444:role/w',
      policy: 'ferry-writer',
      sid: 'B',
      action: 's3:DeleteObject',
    },
  ];
  it('It should keep only the surplus no justification covers, destination roles under one name', () => {
    const justified = [
      { principal: 'objectCopyStep' as const, action: 's3:AbortMultipartUpload', reason: 'r', test: 't' },
      { principal: 'destination role' as const, action: 's3:DeleteObject', reason: 'r', test: 't' },
    ];
    expect(unjustified(surplus, justified).map(({ action }) => action)).toEqual(['s3:PutObjectTagging']);
    expect(unjustified(surplus, [])).toHaveLength(3);
  });
});
