// The pure parts of backups: ids, the manifest's schema and comparison, and the retention policy.
import { describe, expect, it } from 'vitest';
import { backupTime, isBackupId, newBackupId } from '../../src/backup/contract.ts';
import { compareContents, parseManifest } from '../../src/backup/manifest.ts';
import { decideRetention } from '../../src/backup/retention.ts';
import { reasonOf, RestoreFailed } from '../../src/backup/backup.ts';

const idAt = (iso: string, suffix = '0000') =>
  newBackupId(new Date(iso), () => parseInt(suffix, 16) / 0x10000);

describe('backup ids', () => {
  it('sort by the time they were taken and read it back', () => {
    const id = idAt('2026-11-30T02:00:05.123Z', '3fa9');
    expect(id).toBe('20261130t020005z-3fa9');
    expect(isBackupId(id)).toBe(true);
    expect(backupTime(id).toISOString()).toBe('2026-11-30T02:00:05.000Z');
    expect(idAt('2026-01-02T00:00:00Z') < idAt('2026-11-30T00:00:00Z')).toBe(true);
    expect(isBackupId('../etc')).toBe(false);
    expect(() => backupTime('latest')).toThrow(/not a backup id/);
  });
});

describe('the manifest', () => {
  it('is refused when it is not JSON, names another backup, or misses what it must say', () => {
    expect(() => parseManifest('{', 'x')).toThrow(/not JSON/);
    expect(() => parseManifest(JSON.stringify({ format: 1, id: 'y' }), 'x')).toThrow(/invalid manifest/);
  });

  it('compares what a restore holds with what was backed up, part by part', () => {
    const expected = { counts: { tasks: 3, agents: 1 }, digests: { tasks: 'a', agents: 'b' } };
    expect(compareContents(expected, expected)).toEqual([]);
    expect(
      compareContents(expected, {
        counts: { tasks: 2, agents: 1, extra: 4 },
        digests: { tasks: 'a', agents: 'c' },
      }),
    ).toEqual(['extra: 4 instead of 0', 'tasks: 2 instead of 3', 'agents: contents differ (digest)']);
  });
});

describe('retention', () => {
  const now = new Date('2026-11-30T12:00:00Z'); // a Monday
  const complete = (iso: string, suffix = '0000') => ({ id: idAt(iso, suffix), complete: true });

  it('keeps the newest of each of the last N days and M ISO weeks, and the newest whatever its age', () => {
    const backups = [
      complete('2026-11-30T02:00:00Z'), // today
      complete('2026-11-29T02:00:00Z', '0001'), // yesterday (Sunday: last week's newest too)
      complete('2026-11-29T01:00:00Z'), // yesterday, older
      complete('2026-11-27T02:00:00Z'), // three days ago: outside 2 daily
      complete('2026-11-20T02:00:00Z'), // two weeks ago
    ];
    const decision = decideRetention(backups, { keepDaily: 2, keepWeekly: 2 }, now);
    expect(decision.keep.map((k) => k.id)).toEqual([backups[0]!.id, backups[1]!.id]);
    expect(decision.keep[1]!.why).toEqual(['daily 2026-11-29', 'weekly from 2026-11-23']);
    expect(decision.remove.map((r) => r.id)).toEqual([backups[2]!.id, backups[3]!.id, backups[4]!.id]);
  });

  it('never deletes the only backup, however old', () => {
    const only = complete('2025-01-01T00:00:00Z');
    expect(decideRetention([only], { keepDaily: 1, keepWeekly: 0 }, now).keep).toEqual([
      { id: only.id, why: ['newest'] },
    ]);
  });

  it('deletes an incomplete backup once it is older than a day, not before', () => {
    const stale = { id: idAt('2026-11-28T00:00:00Z'), complete: false };
    const fresh = { id: idAt('2026-11-30T11:00:00Z'), complete: false };
    const decision = decideRetention([stale, fresh], { keepDaily: 7, keepWeekly: 4 }, now);
    expect(decision.remove).toEqual([{ id: stale.id, why: 'incomplete (no manifest) and older than a day' }]);
    expect(decision.keep.map((k) => k.id)).toEqual([fresh.id]);
  });
});

describe('a failed restore', () => {
  it('names the store, the step and a reason that is never empty', () => {
    const silent = Object.assign(new Error(''), { code: 'ECONNRESET' });
    expect(reasonOf(silent)).toBe('Error (ECONNRESET)');
    expect(reasonOf(new Error('', { cause: new Error('socket hang up') }))).toBe('socket hang up');
    expect(reasonOf(new Error('too many connections'))).toBe('too many connections');
    const failed = new RestoreFailed('b1', 'postgres', 'replacing the live data', 'timeout', []);
    expect(failed.message).toBe(
      'restore of backup b1 failed at postgres: replacing the live data: timeout\nNothing live was changed.',
    );
    const partly = new RestoreFailed('b1', 'redis', 'replacing the live data', 'timeout', [
      'postgres: swapped',
    ]);
    expect(partly.message).toMatch(/Already replaced before the failure:\n {2}postgres: swapped$/);
  });
});
