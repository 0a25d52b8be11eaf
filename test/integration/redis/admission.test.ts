// The fleet-wide limit per agent type (src/stores/redis/admission.ts) against the real Redis: never more
// holders than the limit, the line ordered by priority, then fair turns between keys, then age; leases and
// silent waiters that end; release admitting the next and naming the runs to wake.
import { afterAll, describe, expect, it } from 'vitest';
import { createAdmissionStore, type AdmissionRequest } from '../../../src/stores/redis/admission.ts';
import type { Priority } from '../../../src/task/contract.ts';
import { redisFixture, sleep } from './fixture.ts';

describe('agent-type admission (Redis)', () => {
  const { redis, prefix, cleanup } = redisFixture('admission');
  afterAll(cleanup);
  let n = 0;
  // Each test its own keyspace.
  const storeFor = (waiterTtlMs?: number) =>
    createAdmissionStore(redis, { prefix: `${prefix}:${n++}`, ...(waiterTtlMs ? { waiterTtlMs } : {}) });
  const req = (holder: string, over: Partial<AdmissionRequest> = {}): AdmissionRequest => ({
    agentType: 'CONTROL',
    holder,
    limit: 2,
    priority: 'NORMAL',
    fairnessKey: 'user:a',
    leaseMs: 60_000,
    workflowId: `wf-${holder}`,
    ...over,
  });

  it('admits up to the limit, keeps the rest in line, and a release admits the next (naming its run)', async () => {
    const store = storeFor();
    expect(await store.acquire(req('c1'))).toEqual({ admitted: true, wake: ['wf-c1'] });
    expect(await store.acquire(req('c2'))).toMatchObject({ admitted: true });
    expect(await store.acquire(req('c3'))).toEqual({ admitted: false, position: 0, wake: [] });
    expect(await store.acquire(req('c4'))).toEqual({ admitted: false, position: 1, wake: [] });
    // Asking again keeps the place; an admitted command asking again stays admitted.
    expect(await store.acquire(req('c3'))).toMatchObject({ admitted: false, position: 0 });
    expect(await store.acquire(req('c1'))).toEqual({ admitted: true, wake: [] });
    const state = await store.state('CONTROL');
    expect({ holders: state.holders.sort(), waiting: state.waiting }).toEqual({
      holders: ['c1', 'c2'],
      waiting: ['c3', 'c4'],
    });

    expect(await store.release(req('c1'))).toEqual(['wf-c3']);
    expect(await store.acquire(req('c3'))).toEqual({ admitted: true, wake: [] });
    expect((await store.state('CONTROL')).holders.sort()).toEqual(['c2', 'c3']);
    // Releasing twice, or a command that never asked, frees nothing more.
    expect(await store.release(req('c1'))).toEqual([]);
    expect(await store.release(req('nobody'))).toEqual([]);
    expect((await store.state('CONTROL')).holders).toHaveLength(2);
  });

  it('orders the line by priority, then fair turns between keys, then age', async () => {
    const store = storeFor();
    await store.acquire(req('busy', { limit: 1 }));
    // User a queues five NORMAL commands, then user b two, then a LOW and a HIGH arrive.
    const queued: [string, Priority, string][] = [
      ['a1', 'NORMAL', 'user:a'],
      ['a2', 'NORMAL', 'user:a'],
      ['a3', 'NORMAL', 'user:a'],
      ['a4', 'NORMAL', 'user:a'],
      ['a5', 'NORMAL', 'user:a'],
      ['b1', 'NORMAL', 'user:b'],
      ['b2', 'NORMAL', 'user:b'],
      ['low', 'LOW', 'user:c'],
      ['high', 'HIGH', 'user:a'],
    ];
    for (const [holder, priority, fairnessKey] of queued) {
      expect(await store.acquire(req(holder, { limit: 1, priority, fairnessKey }))).toMatchObject({
        admitted: false,
      });
    }
    // HIGH first; then a and b take turns (b's first right after a's first); a's rest; LOW last.
    expect((await store.state('CONTROL')).waiting).toEqual([
      'high',
      'a1',
      'b1',
      'a2',
      'b2',
      'a3',
      'a4',
      'a5',
      'low',
    ]);
    // Released one at a time, they are admitted in that order.
    const admitted: string[] = [];
    let holder = 'busy';
    for (let i = 0; i < queued.length; i++) {
      const [woken] = await store.release(req(holder, { limit: 1 }));
      holder = woken!.slice('wf-'.length);
      admitted.push(holder);
    }
    expect(admitted).toEqual(['high', 'a1', 'b1', 'a2', 'b2', 'a3', 'a4', 'a5', 'low']);
    // With nobody waiting, the turns start again from nothing.
    await store.release(req(holder, { limit: 1 }));
    expect(await store.acquire(req('later', { limit: 1, fairnessKey: 'user:b' }))).toMatchObject({
      admitted: true,
    });
  });

  it('a key arriving while another has a long line is served next but one, not last', async () => {
    const store = storeFor();
    await store.acquire(req('busy', { limit: 1 }));
    for (let i = 0; i < 20; i++) await store.acquire(req(`a${i}`, { limit: 1, fairnessKey: 'user:a' }));
    // Five of a's are admitted and done before b arrives.
    let holder = 'busy';
    for (let i = 0; i < 5; i++) holder = (await store.release(req(holder, { limit: 1 })))[0]!.slice(3);
    await store.acquire(req('b0', { limit: 1, fairnessKey: 'user:b' }));
    await store.acquire(req('b1', { limit: 1, fairnessKey: 'user:b' }));
    const line = (await store.state('CONTROL')).waiting;
    expect(line.indexOf('b0')).toBeLessThanOrEqual(1);
    expect(line.indexOf('b1')).toBeLessThanOrEqual(3);
  });

  it('frees the slot of a holder whose lease ran out, and skips a waiter that stopped asking', async () => {
    const store = storeFor(300);
    await store.acquire(req('dead', { limit: 1, leaseMs: 200 }));
    expect(await store.acquire(req('silent', { limit: 1 }))).toMatchObject({ admitted: false });
    await sleep(400);
    // dead's lease ended, silent has not asked for 400 ms (> 300): the newcomer is admitted.
    expect(await store.acquire(req('alive', { limit: 1 }))).toMatchObject({ admitted: true });
    expect(await store.state('CONTROL')).toEqual({ holders: ['alive'], waiting: [] });
    // silent asks again: it is a newcomer in line now, behind nobody, but the slot is taken.
    expect(await store.acquire(req('silent', { limit: 1 }))).toMatchObject({ admitted: false, position: 0 });
  });

  it('a waiter that gives up leaves the line', async () => {
    const store = storeFor();
    await store.acquire(req('h', { limit: 1 }));
    await store.acquire(req('w1', { limit: 1 }));
    await store.acquire(req('w2', { limit: 1 }));
    expect(await store.release(req('w1', { limit: 1 }))).toEqual([]);
    expect(await store.release(req('h', { limit: 1 }))).toEqual(['wf-w2']);
    expect(await store.state('CONTROL')).toEqual({ holders: ['w2'], waiting: [] });
  });

  it('never admits more than the limit when many workers ask at once', async () => {
    const store = storeFor();
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => store.acquire(req(`p${i}`, { limit: 3 }))),
    );
    expect(results.filter((r) => r.admitted)).toHaveLength(3);
    expect((await store.state('CONTROL')).waiting).toHaveLength(47);
  });
});
