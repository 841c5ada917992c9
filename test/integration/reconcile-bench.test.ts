import { describe, expect, it } from 'vitest';
import { reconcileReport, runReconcileBench } from '../../bench/reconcile.ts';

/** `npm run bench -- reconcile` on a tiny input: what it counts is what the two checks request. */
describe('the reconcile benchmark', () => {
  it('counts a HEAD per replica before, and LISTs only for a dense key space with the listing join', async () => {
    const rows = await runReconcileBench({ objects: 40 });
    const row = (scenario: string, check: string) =>
      rows.find((candidate) => candidate.scenario.startsWith(scenario) && candidate.check === check);
    for (const scenario of ['dense', 'interleaved', 'sparse']) {
      const before = row(scenario, 'HEAD per replica');
      expect(before?.requests).toEqual({ HeadObject: before?.objects });
      expect(before?.current).toBe(before?.objects);
    }
    expect(row('dense', 'listing join')?.requests).toEqual({ ListObjectsV2: 1 });
    expect(row('interleaved', 'listing join')?.requests).toEqual({ ListObjectsV2: 1 });
    expect(row('dense', 'listing join')?.current).toBe(40);
    // 4 sources: fewer than one LIST is worth, so HEADed.
    expect(row('sparse', 'listing join')?.requests).toEqual({ HeadObject: 4 });
    const tagged = row('a destination that copies tags', 'listing join');
    expect(tagged?.requests).toEqual({ HeadObject: 40, GetObjectTagging: 40 });
    expect(reconcileReport(rows)).toContain(
      '| dense: only the replicas | listing join | ListObjectsV2 25.0 |',
    );
  }, 120_000);
});
