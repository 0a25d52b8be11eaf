import { afterAll, describe, expect, it } from 'vitest';
import { createAgentStateStore } from '../../../src/stores/redis/agent-state.ts';
import { redisKeys } from '../../../src/stores/redis/keys.ts';
import { redisFixture, sleep } from './fixture.ts';

describe('Redis agent state', () => {
  const { redis, prefix, cleanup } = redisFixture('agents');
  const agents = createAgentStateStore(redis, { prefix, livenessThresholdMs: 600 });
  const keys = redisKeys(prefix);
  afterAll(cleanup);

  it('stores status, current task, timestamps and extra fields in a hash without TTL', async () => {
    const writtenAt = await agents.setState('monitor-1', {
      status: 'BUSY',
      currentTask: 'task-42',
      fields: { type: 'MONITORING', line: 'L3' },
    });
    const state = await agents.get('monitor-1');
    expect(state).toEqual({
      agentId: 'monitor-1',
      status: 'BUSY',
      currentTask: 'task-42',
      updatedAtMs: writtenAt,
      heartbeatAtMs: writtenAt,
      alive: true,
      fields: { type: 'MONITORING', line: 'L3' },
    });
    expect(Math.abs(writtenAt - Date.now())).toBeLessThan(5_000); // Redis server time, in ms
    expect(await redis.hget(keys.agentState('monitor-1'), 'status')).toBe('BUSY');
    expect(await redis.pttl(keys.agentState('monitor-1'))).toBe(-1); // never evicted by volatile-lru

    await agents.setState('monitor-1', { status: 'IDLE', fields: { line: null, shift: 'night' } });
    expect(await agents.get('monitor-1')).toMatchObject({
      status: 'IDLE',
      currentTask: null,
      fields: { type: 'MONITORING', shift: 'night' },
    });
  });

  it('flips liveness when the heartbeat gets older than the threshold, and back on a heartbeat', async () => {
    await agents.setState('predict-1', { status: 'IDLE' });
    expect((await agents.get('predict-1'))?.alive).toBe(true);
    expect((await agents.listLive()).map((a) => a.agentId)).toContain('predict-1');

    await sleep(400);
    const beat = await agents.heartbeat('predict-1');
    await sleep(300); // 700 ms since setState, 300 ms since the heartbeat
    const state = await agents.get('predict-1');
    expect(state).toMatchObject({ alive: true, heartbeatAtMs: beat });
    expect(state!.updatedAtMs).toBeLessThan(beat); // a heartbeat is not a state change

    await sleep(400); // 700 ms since the heartbeat
    expect((await agents.get('predict-1'))?.alive).toBe(false);
    expect((await agents.listLive()).map((a) => a.agentId)).not.toContain('predict-1');
    expect(await redis.exists(keys.agentState('predict-1'))).toBe(1); // dead, but its state is kept

    await agents.heartbeat('predict-1');
    expect((await agents.get('predict-1'))?.alive).toBe(true);
    expect((await agents.listLive()).map((a) => a.agentId)).toContain('predict-1');
  });

  it('lists only the live agents, with their state', async () => {
    await agents.setState('old-1', { status: 'IDLE' });
    await sleep(650);
    await agents.setState('new-1', { status: 'BUSY', currentTask: 't-1' });
    await agents.setState('new-2', { status: 'IDLE' });
    const live = await agents.listLive();
    const ids = live.map((a) => a.agentId);
    expect(ids).toEqual(expect.arrayContaining(['new-1', 'new-2']));
    expect(ids).not.toContain('old-1');
    expect(live.find((a) => a.agentId === 'new-1')).toMatchObject({
      status: 'BUSY',
      currentTask: 't-1',
      alive: true,
    });
  });

  it('removes an agent and refuses a heartbeat from an unknown agent', async () => {
    await agents.setState('gone-1', { status: 'IDLE' });
    expect(await agents.remove('gone-1')).toBe(true);
    expect(await agents.get('gone-1')).toBeNull();
    expect(await redis.zscore(keys.agentHeartbeats(), 'gone-1')).toBeNull();
    await expect(agents.heartbeat('gone-1')).rejects.toThrow(/gone-1 is not registered: call setState/);
    expect(await redis.exists(keys.agentState('gone-1'))).toBe(0);
  });

  it('refuses reserved field names', async () => {
    await expect(agents.setState('x-1', { status: 'IDLE', fields: { heartbeatAt: '0' } })).rejects.toThrow(
      /"heartbeatAt" is empty or reserved/,
    );
  });
});
