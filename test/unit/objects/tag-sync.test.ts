import { describe, expect, it } from 'vitest';
import { markersFor } from '#objects/markers';
import type { CopyPlan } from '#objects/router';
import { replicaOfVersion } from '#objects/tag-sync';
import { objectRulesOf } from '#rules/config';
import { configFrom } from '#test/support/fixtures';

const [rule] = objectRulesOf(
  configFrom(
    'rules:\n  - name: docs\n    objects: { bucket: src-bucket }\n    to: [ { bucket: dr-bucket, region: us-west-2 } ]\n',
  ),
);
if (!rule) throw new Error('no rule');
const plan: CopyPlan = {
  rule,
  destination: rule.to[0] as CopyPlan['destination'],
  destinationIndex: 0,
  destinationKey: 'a.txt',
};
const source = { bucket: 'src-bucket', key: 'a.txt', etag: 'abc', versionId: 'v2' };
const replica = (marks: Parameters<typeof markersFor>[0], etag = '"abc"') => ({
  ETag: etag,
  Metadata: markersFor(marks),
});

describe('replicaOfVersion: a tag change reaches only the replica of the tagged version', () => {
  it('It should accept Ferry’s replica of that very version by this rule', () => {
    expect(replicaOfVersion(replica({ ...source, rule: 'docs' }), plan, source, true)).toBeUndefined();
  });

  it('It should refuse a replica of another version, of another source or rule, or not Ferry’s', () => {
    expect(replicaOfVersion(replica({ ...source, versionId: 'v1', rule: 'docs' }), plan, source, true)).toBe(
      'other-version',
    );
    expect(replicaOfVersion(replica({ ...source, key: 'b.txt', rule: 'docs' }), plan, source, true)).toBe(
      'not-a-replica',
    );
    expect(replicaOfVersion(replica({ ...source, rule: 'other' }), plan, source, true)).toBe('not-a-replica');
    expect(replicaOfVersion({ ETag: '"abc"', Metadata: {} }, plan, source, true)).toBe('not-a-replica');
  });

  it('It should tell an unversioned source’s version by its ETag only where the ETags must be equal', () => {
    const unversioned = { ...source, versionId: undefined };
    const older = replica({ ...unversioned, rule: 'docs' }, '"def"');
    expect(replicaOfVersion(older, plan, unversioned, true)).toBe('other-version');
    expect(replicaOfVersion(older, plan, unversioned, false)).toBeUndefined();
  });
});
