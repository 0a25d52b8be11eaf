import { afterAll, describe, expect, it } from 'vitest';
import { createAlertQueue, DEFAULT_ALERT_STREAM_MAXLEN } from '../../../src/stores/redis/alert-queue.ts';
import { InvalidAlertError, type AlertInput } from '../../../src/stores/redis/alert-schema.ts';
import { redisFixture, sleep } from './fixture.ts';

describe('Redis alert queue', () => {
  const { redis, prefix, cleanup } = redisFixture('alerts');
  const reader = redis.duplicate(); // blocking reads get their own connection
  const queue = createAlertQueue(redis, { prefix });
  const readerQueue = createAlertQueue(reader, { prefix });
  afterAll(async () => {
    await reader.quit();
    await cleanup(); // deletes the test's streams: <prefix>:alerts, <prefix>:alerts:dead and others below
  });

  const alert = (message: string): AlertInput => ({
    severity: 'WARNING',
    source: 'monitoring-agent',
    message,
    occurredAt: new Date('2025-01-31T08:00:00.000Z'),
    agentId: 'monitor-1',
    details: { machine: 'press-4', temperatureC: 81.5 },
  });

  it('uses its own stream, and the product default prism:alerts otherwise', () => {
    expect(queue.stream).toBe(`${prefix}:alerts`);
    expect(createAlertQueue(redis).stream).toBe('prism:alerts');
    expect(DEFAULT_ALERT_STREAM_MAXLEN).toBe(10_000);
  });

  it('enqueues, reads and acknowledges an alert', async () => {
    const id = await queue.enqueueAlert(alert('spindle temperature high'));
    const received = await queue.readAlerts('handler-1', 10, 0);
    expect(received).toEqual([
      {
        id,
        alert: {
          severity: 'WARNING',
          source: 'monitoring-agent',
          message: 'spindle temperature high',
          occurredAt: '2025-01-31T08:00:00.000Z',
          agentId: 'monitor-1',
          details: { machine: 'press-4', temperatureC: 81.5 },
        },
      },
    ]);
    expect(await queue.pendingCount()).toBe(1);
    expect(await queue.readAlerts('handler-2', 10, 0)).toEqual([]); // delivered once per group
    expect(await queue.ack([id])).toBe(1);
    expect(await queue.pendingCount()).toBe(0);
    expect(await redis.pttl(queue.stream)).toBe(-1); // a queue is never evicted by volatile-lru
  });

  it('wakes a blocked reader when an alert arrives, and returns empty after blockMs otherwise', async () => {
    const startedAt = Date.now();
    expect(await readerQueue.readAlerts('handler-1', 1, 300)).toEqual([]);
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(250);

    const waiting = readerQueue.readAlerts('handler-1', 1, 10_000);
    await sleep(100);
    const id = await queue.enqueueAlert({ ...alert('conveyor stopped'), severity: 'CRITICAL' });
    const [received] = await waiting;
    expect(received).toMatchObject({ id, alert: { severity: 'CRITICAL', message: 'conveyor stopped' } });
    await queue.ack([id]);
  });

  it('reclaims an alert a crashed consumer never acknowledged, so another consumer handles it', async () => {
    const id = await queue.enqueueAlert({
      ...alert('vibration anomaly'),
      severity: 'ERROR',
      taskId: 'task-9',
    });
    const [taken] = await queue.readAlerts('crashing-handler', 10, 0);
    expect(taken?.id).toBe(id);
    // ... the handler crashes here without acking.

    expect(await queue.readAlerts('rescuer', 10, 0)).toEqual([]); // new reads do not see it again
    expect((await queue.reclaim('rescuer', 1_000, 10)).alerts).toEqual([]); // not idle long enough yet
    await sleep(1_100);
    const reclaimed = await queue.reclaim('rescuer', 1_000, 10);
    expect(reclaimed).toEqual({ alerts: [{ id, alert: taken!.alert }], deletedIds: [] });
    expect(reclaimed.alerts[0]?.alert).toMatchObject({ message: 'vibration anomaly', taskId: 'task-9' });

    const [, , , consumers] = (await redis.xpending(queue.stream, queue.group)) as [
      number,
      string,
      string,
      string[][],
    ];
    expect(consumers).toEqual([['rescuer', '1']]); // the rescuer owns it now
    expect(await queue.ack([id])).toBe(1);
    expect(await queue.pendingCount()).toBe(0);
  });

  it('rejects invalid alerts with a message naming the field, and stores nothing', async () => {
    const lengthBefore = await redis.xlen(queue.stream);
    await expect(
      queue.enqueueAlert({ ...alert('x'), severity: 'PANIC' } as unknown as AlertInput),
    ).rejects.toThrow(/severity: .*"INFO"\|"WARNING"\|"ERROR"\|"CRITICAL"/);
    const { source: _source, ...noSource } = alert('x');
    await expect(queue.enqueueAlert(noSource as AlertInput)).rejects.toThrow(/Invalid alert: source: /);
    await expect(queue.enqueueAlert({ ...alert('x'), occurredAt: 'yesterday' })).rejects.toThrow(
      /occurredAt: must be a Date or an ISO 8601 date-time/,
    );
    await expect(queue.enqueueAlert({ ...alert(' ') })).rejects.toThrow(/message: must not be empty/);
    const error = await queue
      .enqueueAlert({ ...alert('x'), sevirity: 'INFO' } as AlertInput)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidAlertError);
    expect((error as Error).message).toMatch(/sevirity: unknown field \(check its spelling\)/);
    expect(await redis.xlen(queue.stream)).toBe(lengthBefore);
  });

  it('moves an entry that is not a valid alert to the dead-letter stream instead of choking on it', async () => {
    const badId = await redis.xadd(queue.stream, '*', 'alert', '{"severity":"LOUD"}');
    const goodId = await queue.enqueueAlert(alert('after the bad one'));
    const received = await queue.readAlerts('handler-1', 10, 0);
    expect(received.map((r) => r.id)).toEqual([goodId]);
    await queue.ack([goodId]);

    const dead = await redis.xrange(queue.deadLetterStream, '-', '+');
    expect(dead).toHaveLength(1);
    const fields = dead[0]![1];
    expect(fields.slice(0, 2)).toEqual(['id', badId]);
    expect(fields[3]).toMatch(/severity/);
    expect(await queue.pendingCount()).toBe(0);
  });

  it('bounds the stream length with MAXLEN ~', async () => {
    const small = createAlertQueue(redis, { stream: `${prefix}:bounded-alerts`, maxLen: 10 });
    for (let i = 0; i < 300; i++) await small.enqueueAlert(alert(`burst ${i}`));
    const length = await redis.xlen(small.stream);
    // `~` trims whole radix-tree nodes (100 entries by default), so the length stays near, not at, the bound.
    expect(length).toBeGreaterThanOrEqual(10);
    expect(length).toBeLessThan(200);
  });

  it('ends with nothing pending', async () => {
    expect(await queue.pendingCount()).toBe(0);
  });
});
