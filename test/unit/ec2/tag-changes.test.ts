import { describe, expect, it } from 'vitest';
import { tagChanges } from '#ec2/tag-follow/follow';

describe('tagChanges: the requests that bring a copy’s tags to its policy', () => {
  it('It should set what was added or changed and remove what the source lost, never a ferry: or aws: key', () => {
    const current = {
      'ferry:source-id': 'snap-0a1b2c3d4e5f60718',
      'ferry:rule': 'ebs',
      'aws:backup:source-resource': 'x',
      app: 'web',
      owner: 'ana',
      'copied-by': 'ferry',
    };
    const desired = {
      'ferry:source-id': 'snap-0a1b2c3d4e5f60718',
      'ferry:rule': 'other',
      app: 'api',
      tier: 'gold',
      'copied-by': 'ferry',
    };
    expect(tagChanges(current, desired)).toEqual({ set: { app: 'api', tier: 'gold' }, remove: ['owner'] });
  });

  it('It should ask nothing of a copy whose tags are the policy’s already', () => {
    expect(tagChanges({ a: '1', 'ferry:rule': 'r' }, { a: '1', 'ferry:rule': 'r' })).toEqual({
      set: {},
      remove: [],
    });
  });
});
