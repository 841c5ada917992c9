import { describe, expect, it } from 'vitest';
import { isReplicaOf, keyMarker, markersFor, readMarkers } from '#objects/markers';

const source = { bucket: 'acme-prod', versionId: undefined, sequencer: '00617F08299329D189', rule: 'docs' };

describe('replica markers', () => {
  it('It should recognise a replica by either form of its key marker, readable or compact', () => {
    const key = `docs/${'a b/'.repeat(30)}file.pdf`;
    const readable = readMarkers(markersFor({ ...source, key }));
    const compact = readMarkers(markersFor({ ...source, key }, { compact: true }));
    expect(readable?.sourceKey).toBe(encodeURIComponent(key));
    expect(compact?.sourceKey).toMatch(/^sha256:[0-9a-f]{64}$/);
    for (const markers of [readable, compact]) {
      if (!markers) throw new Error('markers must be read back');
      expect(isReplicaOf(markers, { bucket: 'acme-prod', key })).toBe(true);
      expect(isReplicaOf(markers, { bucket: 'acme-prod', key: `${key}x` })).toBe(false);
    }
  });

  it('It should keep a short key readable even when compact, as the digest would be no shorter', () => {
    expect(keyMarker('docs/a.pdf', { compact: true })).toBe('docs%2Fa.pdf');
  });
});
