import { describe, expect, it } from 'vitest';
import type { ObjectLockSettings } from '#objects/object-lock';
import { compareReplicaLock, MINIMUM_WRITE_SLACK_MS, needsRepair } from '#reconcile/lock-compare';
import type { ObjectLockPolicy } from '#rules/schema';

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 11, 2, 12);
const at = (ms: number) => new Date(ms);

const compare = (
  policy: ObjectLockPolicy,
  source: ObjectLockSettings,
  replica: ObjectLockSettings,
  written = NOW - DAY,
) => compareReplicaLock({ policy, source, replica, written, now: NOW });

const MINIMUM: ObjectLockPolicy = { copy: true, mode: 'COMPLIANCE', days: 30 };
const CARRY: ObjectLockPolicy = { copy: true };

describe('compareReplicaLock: what a replica lacks against the lock computation, raised and never lowered', () => {
  it('It should ask for the whole wanted retention where the replica has none in force', () => {
    const written = NOW - DAY;
    expect(compare(MINIMUM, {}, {}, written)).toEqual({
      raise: { mode: 'COMPLIANCE', retainUntil: at(written + 30 * DAY) },
      hold: false,
      stronger: false,
      modeKept: false,
    });
    const lapsed = { mode: 'GOVERNANCE' as const, retainUntil: at(NOW - 1) };
    const source = { mode: 'GOVERNANCE' as const, retainUntil: at(NOW + 5 * DAY) };
    expect(compare(CARRY, source, lapsed).raise).toEqual({
      mode: 'GOVERNANCE',
      retainUntil: at(NOW + 5 * DAY),
    });
  });

  it('It should take the minimum as met when the replica was written up to a day before its Last-Modified', () => {
    const written = NOW - 2 * DAY;
    const replica = { mode: 'COMPLIANCE' as const, retainUntil: at(written - 3 * 3_600_000 + 30 * DAY) };
    const comparison = compare(MINIMUM, {}, replica, written);
    expect(needsRepair(comparison)).toBe(false);
    expect(comparison.stronger).toBe(false);
    const tooShort = {
      mode: 'COMPLIANCE' as const,
      retainUntil: at(written - MINIMUM_WRITE_SLACK_MS - 1 + 30 * DAY),
    };
    expect(compare(MINIMUM, {}, tooShort, written).raise).toEqual({
      mode: 'COMPLIANCE',
      retainUntil: at(written + 30 * DAY),
    });
  });

  it("It should compare the source's own date exactly, and extend a shorter replica to it in the replica's mode", () => {
    const source = { mode: 'GOVERNANCE' as const, retainUntil: at(NOW + 60 * DAY) };
    const replica = { mode: 'COMPLIANCE' as const, retainUntil: at(NOW + 60 * DAY - 1000) };
    expect(compare(MINIMUM, source, replica)).toEqual({
      raise: { mode: 'COMPLIANCE', retainUntil: at(NOW + 60 * DAY) },
      hold: false,
      stronger: false,
      modeKept: false,
    });
    // COMPLIANCE on the replica where GOVERNANCE is wanted: extended, still COMPLIANCE, and stronger.
    const carried = compare(CARRY, source, replica);
    expect(carried.raise).toEqual({ mode: 'COMPLIANCE', retainUntil: at(NOW + 60 * DAY) });
    expect(carried.stronger).toBe(true);
  });

  it('It should keep a GOVERNANCE replica in GOVERNANCE where COMPLIANCE is wanted, and say so', () => {
    const written = NOW - DAY;
    const replica = { mode: 'GOVERNANCE' as const, retainUntil: at(NOW + DAY) };
    expect(compare(MINIMUM, {}, replica, written)).toEqual({
      raise: { mode: 'GOVERNANCE', retainUntil: at(written + 30 * DAY) },
      hold: false,
      stronger: false,
      modeKept: true,
    });
    const longEnough = { mode: 'GOVERNANCE' as const, retainUntil: at(written + 40 * DAY) };
    const kept = compare(MINIMUM, {}, longEnough, written);
    expect(kept.raise).toBeUndefined();
    expect(kept.modeKept).toBe(true);
  });

  it('It should never shorten: a longer replica is left and counted as stronger', () => {
    const source = { mode: 'GOVERNANCE' as const, retainUntil: at(NOW + 5 * DAY) };
    const replica = { mode: 'GOVERNANCE' as const, retainUntil: at(NOW + 40 * DAY) };
    const comparison = compare(CARRY, source, replica);
    expect(needsRepair(comparison)).toBe(false);
    expect(comparison.stronger).toBe(true);
    // Nothing wanted at all (the source unlocked), the replica still locked: stronger, left.
    expect(compare(CARRY, {}, replica)).toEqual({ hold: false, stronger: true, modeKept: false });
  });

  it('It should set a legal hold the source has where the lock is carried, and leave one it released', () => {
    expect(compare(CARRY, { legalHold: 'ON' }, { legalHold: 'OFF' })).toEqual({
      hold: true,
      stronger: false,
      modeKept: false,
    });
    expect(compare(CARRY, { legalHold: 'ON' }, {}).hold).toBe(true);
    expect(compare(CARRY, { legalHold: 'ON' }, { legalHold: 'ON' }).hold).toBe(false);
    expect(compare(CARRY, { legalHold: 'OFF' }, { legalHold: 'ON' })).toEqual({
      hold: false,
      stronger: true,
      modeKept: false,
    });
    // copy: false carries nothing of the source's, its hold included.
    const own: ObjectLockPolicy = { copy: false, mode: 'GOVERNANCE', days: 1 };
    expect(
      compare(own, { legalHold: 'ON' }, { mode: 'GOVERNANCE', retainUntil: at(NOW + DAY) }, NOW).hold,
    ).toBe(false);
  });

  it('It should not renew a minimum that has run out, nor a source retention already past', () => {
    const written = NOW - 31 * DAY;
    expect(compare(MINIMUM, {}, {}, written)).toEqual({ hold: false, stronger: false, modeKept: false });
    const past = { mode: 'COMPLIANCE' as const, retainUntil: at(NOW - 1) };
    expect(needsRepair(compare(CARRY, past, {}))).toBe(false);
  });
});
