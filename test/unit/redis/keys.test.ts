import { describe, expect, it } from 'vitest';
import { keys, redisKeys } from '../../../src/stores/redis/keys.ts';

describe('Redis key conventions', () => {
  it('namespaces every key under prism:', () => {
    expect(keys.agentState('monitor-1')).toBe('prism:agent:monitor-1:state');
    expect(keys.agentHeartbeats()).toBe('prism:agents:heartbeats');
    expect(keys.memory('plan-7', 'progress')).toBe('prism:memory:plan-7:progress');
    expect(keys.memoryIndex('task.t1')).toBe('prism:memory-index:task.t1');
    expect(keys.lock('line-3')).toBe('prism:lock:line-3');
    expect(keys.lockFence('line-3')).toBe('prism:lock:line-3:fence');
    expect(keys.metric('tasks', 'sec', 1700000000)).toBe('prism:metrics:tasks:sec:1700000000');
    expect(keys.metricEvent('tasks', 'e1')).toBe('prism:metrics:tasks:counted:e1');
    expect(keys.alerts()).toBe('prism:alerts');
    expect(keys.deadAlerts(keys.alerts())).toBe('prism:alerts:dead');
  });

  it('takes another prefix for an isolated keyspace', () => {
    expect(redisKeys('prism:test_x').lock('a')).toBe('prism:test_x:lock:a');
  });

  it('refuses ids that would make two keys collide, saying what to do', () => {
    expect(() => keys.memory('a:b', 'c')).toThrow(/memory namespace "a:b".*without ':'/);
    expect(() => keys.agentState('')).toThrow(/agent id ""/);
    expect(() => keys.lock('my lock')).toThrow(/whitespace/);
    expect(() => redisKeys('prism:')).toThrow(/trailing ':'/);
  });
});
