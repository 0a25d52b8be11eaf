// Kafka's RangeAssignor arithmetic, as the Java client and librdkafka compute it: the group's leader may be
// any of them, so ours must hand out the same ranges.
import { describe, expect, it } from 'vitest';
import { rangeAssignment } from '../../../src/stores/kafka/range-assigner.ts';

describe('rangeAssignment', () => {
  it('splits partitions into contiguous ranges, the first members taking one more each', () => {
    expect(rangeAssignment(['a', 'b'], [0, 1, 2])).toEqual([[0, 1], [2]]);
    expect(rangeAssignment(['a', 'b', 'c'], [0, 1, 2, 3, 4, 5, 6])).toEqual([
      [0, 1, 2],
      [3, 4],
      [5, 6],
    ]);
    expect(rangeAssignment(['a'], [0, 1, 2])).toEqual([[0, 1, 2]]);
  });

  it('leaves the members past the partitions empty', () => {
    expect(rangeAssignment(['a', 'b', 'c', 'd'], [0, 1])).toEqual([[0], [1], [], []]);
  });
});
