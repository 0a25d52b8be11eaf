// `prism bench --priorities`: the mix as typed, and the order tasks of each priority are started in.
import { describe, expect, it } from 'vitest';
import { parsePriorityMix, priorityPattern } from '../../src/bench/priorities.ts';

describe('bench priority mix', () => {
  it('reads PRIORITY=N shares and interleaves them evenly', () => {
    const parsed = parsePriorityMix('HIGH=1, normal=2,LOW=1');
    expect(parsed).toEqual({ mix: { HIGH: 1, NORMAL: 2, LOW: 1 } });
    expect(priorityPattern({ HIGH: 1, NORMAL: 2, LOW: 1 })).toEqual(['HIGH', 'NORMAL', 'LOW', 'NORMAL']);
    expect(priorityPattern({ HIGH: 0, LOW: 3 })).toEqual(['LOW', 'LOW', 'LOW']);
  });

  it('names what is wrong with a mix', () => {
    expect(parsePriorityMix('URGENT=1')).toEqual({
      problem: '"URGENT=1" is not PRIORITY=N with PRIORITY one of HIGH, NORMAL, LOW',
    });
    expect(parsePriorityMix('HIGH=1,HIGH=2')).toEqual({ problem: 'HIGH is named twice' });
    expect(parsePriorityMix('HIGH=0,LOW=0')).toEqual({ problem: 'every share is 0: give one at least 1' });
    expect(parsePriorityMix('LOW=101')).toEqual({ problem: 'LOW=101: use a share from 0 to 100' });
  });
});
