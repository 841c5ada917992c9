/**
 * Orders two S3 event sequencers of the same key. AWS: sequencers may differ in length; right-pad the
 * shorter with zeros, then compare lexicographically. Returns <0, 0 or >0 like a sort comparator.
 */
export function compareSequencers(a: string, b: string): number {
  const width = Math.max(a.length, b.length);
  const left = a.toUpperCase().padEnd(width, '0');
  const right = b.toUpperCase().padEnd(width, '0');
  return left < right ? -1 : left > right ? 1 : 0;
}
