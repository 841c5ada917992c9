import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { EVERY_FUNCTION, JUSTIFIED, surplusAcross, unjustified } from '#deploy/iam-proof/justified';

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

describe('surplusAcross', () => {
  it('It should count an action surplus only when no run used it, destination roles as one', () => {
    const grant = (principal: string, sid: string, action: string) => ({
      principal,
      policy: 'p',
      sid,
      action,
    });
    const surplus = surplusAcross([
      {
        surplus: [grant('reconcile', 'R1', 's3:PutObject'), grant('reconcile', 'R2', 's3:DeleteObject')],
        used: [{ principal: 'arn:aws:iam::1:role/a', action: 'ec2:CopySnapshot' }],
      },
      {
        surplus: [
          grant('reconcile', 'R3', 's3:PutObject'),
          grant('arn:aws:iam::2:role/b', 'B', 'ec2:CopySnapshot'),
          grant('arn:aws:iam::2:role/b', 'B', 'ec2:CopyImage'),
        ],
        used: [{ principal: 'reconcile', action: 's3:DeleteObject' }],
      },
    ]);
    expect(surplus).toEqual([
      { principal: 'reconcile', action: 's3:PutObject', sids: ['R1', 'R3'] },
      { principal: 'destination role', action: 'ec2:CopyImage', sids: ['B'] },
    ]);
    const logs = { principal: EVERY_FUNCTION, action: 's3:PutObject', reason: 'r', test: 't' };
    expect(unjustified(surplus, [logs])).toEqual([surplus[1]]);
  });
});
