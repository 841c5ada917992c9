import { describe, expect, it } from 'vitest';
import { FaultInjector } from '#local/faults';

/** The sandbox S3's faults aimed at one destination bucket (local/faults.ts). */
describe('FaultInjector.scriptFor', () => {
  it('It should fail only the requests into the scripted bucket, in order, then none', () => {
    const faults = new FaultInjector(() => 0.99);
    faults.scriptFor('media', 'CopyObject', 'slowdown', 'unavailable');
    expect(faults.nextFor('CopyObject', 'other')).toBeUndefined();
    expect(faults.nextFor('UploadPartCopy', 'media')).toBeUndefined();
    expect(faults.nextFor('CopyObject', 'media')).toBe('slowdown');
    expect(faults.nextFor('CopyObject', 'media')).toBe('unavailable');
    expect(faults.nextFor('CopyObject', 'media')).toBeUndefined();
    expect(faults.injected.get('slowdown')).toBe(1);
    expect(faults.injected.get('unavailable')).toBe(1);
  });

  it('It should fall back to the operation script and rates, and forget bucket scripts on clear', () => {
    const faults = new FaultInjector(() => 0);
    faults.setRates({ drop: 1 });
    faults.script('CopyObject', 'embedded');
    faults.scriptFor('media', 'CopyObject', 'slowdown');
    expect(faults.nextFor('CopyObject', 'media')).toBe('slowdown');
    expect(faults.nextFor('CopyObject', 'media')).toBe('embedded');
    expect(faults.nextFor('CopyObject', 'media')).toBe('drop');
    faults.scriptFor('media', 'CopyObject', 'slowdown');
    faults.clear();
    expect(faults.nextFor('CopyObject', 'media')).toBeUndefined();
  });
});
