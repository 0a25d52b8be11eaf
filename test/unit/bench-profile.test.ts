// prism bench --profile: a V8 profile's samples counted only inside the measured window, by package and by
// function, idle samples left out.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { summarizeProfile, summarizeProfiles } from '../../src/bench/profile.ts';

const dir = mkdtempSync(join(tmpdir(), 'prism-profile-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const frame = (functionName: string, url: string, lineNumber = 9) => ({ functionName, url, lineNumber });
// Samples every 1000 µs from t=1000: nodes 2 (kafkajs), 3 (ours), 4 (idle), 5 (GC).
const profile = {
  nodes: [
    { id: 1, callFrame: frame('(root)', '', -1) },
    { id: 2, callFrame: frame('decode', 'file:///repo/node_modules/kafkajs/src/protocol/decoder.js') },
    { id: 3, callFrame: frame('dispatchCommand', 'file:///repo/activities/dispatch.ts', 40) },
    { id: 4, callFrame: frame('(idle)', '', -1) },
    { id: 5, callFrame: frame('(garbage collector)', '', -1) },
  ],
  startTime: 0,
  samples: [2, 2, 3, 4, 4, 5, 2, 3, 3, 3, 2],
  timeDeltas: [1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000],
};
const file = join(dir, 'CPU.20261206.220000.4242.3.001.cpuprofile');
writeFileSync(file, JSON.stringify(profile));
writeFileSync(join(dir, 'not-a-profile.txt'), 'x');

describe('summarizeProfile', () => {
  it('counts the samples inside the window only, leaves idle out, and splits by package and function', () => {
    // Samples stamped 1000..11000 µs; the window 2000..9000 holds samples 2..9: 2,3,4,4,5,2,3,3.
    const p = summarizeProfile(file, { fromUs: 2000, toUs: 9000 }, 2, '/repo')!;
    expect(p.pid).toBe(4242);
    expect(p.thread).toBe(3);
    // 6 samples not idle (2,3,5,2,3,3) of 1 ms each, over 2 tasks.
    expect(p.busyMsPerTask).toBe(3);
    expect(p.byPackage).toEqual([
      { name: 'activities/dispatch.ts', ms: 3, share: 0.5 },
      { name: 'kafkajs', ms: 2, share: 0.333 },
      { name: '(garbage collector)', ms: 1, share: 0.167 },
    ]);
    expect(p.byFunction[0]).toEqual({ name: 'dispatchCommand activities/dispatch.ts:41', ms: 3, share: 0.5 });
  });

  it('is null for a window with no samples, and for a file not named as node names profiles', () => {
    expect(summarizeProfile(file, { fromUs: 50_000, toUs: 60_000 }, 1, '/repo')).toBeNull();
    expect(summarizeProfile(join(dir, 'not-a-profile.txt'), { fromUs: 0, toUs: 1e9 }, 1, '/repo')).toBeNull();
  });

  it('summarizes every profile of a folder, busiest thread first', () => {
    const threads = summarizeProfiles(dir, { fromUs: 0, toUs: 1e9 }, 1, '/repo');
    expect(threads.map((t) => t.thread)).toEqual([3]);
    // Nine samples not idle; the last stands for no time (no sample after it).
    expect(threads[0]!.busyMsPerTask).toBe(8);
  });
});
