import { describe, expect, it } from 'vitest';
import { s3OperationOf } from '#local/s3-operations';

const operation = (method: string, path: string, query: string) =>
  s3OperationOf(method, path, new URLSearchParams(query), {});

describe('the sandbox routes ?inventory as S3 names its operations', () => {
  it('reads, writes and deletes one configuration by id, and lists them without one', () => {
    expect(operation('PUT', '/b', 'inventory&id=daily')).toBe('PutBucketInventoryConfiguration');
    expect(operation('GET', '/b', 'inventory&id=daily')).toBe('GetBucketInventoryConfiguration');
    expect(operation('DELETE', '/b', 'inventory&id=daily')).toBe('DeleteBucketInventoryConfiguration');
    expect(operation('GET', '/b', 'inventory')).toBe('ListBucketInventoryConfigurations');
  });

  it('never mistakes it for an object or bucket operation', () => {
    expect(operation('PUT', '/b/k', 'inventory&id=daily')).toBe('PUT object ?inventory');
    expect(operation('POST', '/b', 'inventory')).toBe('POST bucket ?inventory');
  });
});
