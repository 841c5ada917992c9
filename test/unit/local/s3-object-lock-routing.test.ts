import { describe, expect, it } from 'vitest';
import { s3OperationOf } from '#local/s3-operations';

/** Object Lock's subresources name their own operations, never the bucket's or the object's own. */
const operation = (method: string, path: string, query: string) =>
  s3OperationOf(method, path, new URLSearchParams(query), {});

describe('s3OperationOf: Object Lock subresources', () => {
  it('It should route GET and PUT of a bucket ?object-lock to the lock configuration operations', () => {
    expect(operation('GET', '/b', 'object-lock')).toBe('GetObjectLockConfiguration');
    expect(operation('PUT', '/b', 'object-lock')).toBe('PutObjectLockConfiguration');
  });

  it('It should route GET and PUT of an object ?retention and ?legal-hold, with or without a version id', () => {
    expect(operation('GET', '/b/k', 'retention')).toBe('GetObjectRetention');
    expect(operation('PUT', '/b/k', 'retention&versionId=v1')).toBe('PutObjectRetention');
    expect(operation('GET', '/b/a/k', 'legal-hold&versionId=v1')).toBe('GetObjectLegalHold');
    expect(operation('PUT', '/b/k', 'legal-hold')).toBe('PutObjectLegalHold');
  });

  it('It should never make a DELETE of a lock subresource a DeleteBucket or DeleteObject', () => {
    for (const [path, query] of [
      ['/b', 'object-lock'],
      ['/b/k', 'object-lock'],
      ['/b/k', 'retention'],
      ['/b/k', 'legal-hold'],
      ['/b', 'retention'],
    ] as const) {
      const name = operation('DELETE', path, query);
      expect(name).not.toMatch(/^Delete(Bucket|Object)$/);
      expect(name).toContain(`?${query}`);
    }
  });
});
