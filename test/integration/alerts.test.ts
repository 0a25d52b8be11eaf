// The alert path of spec 4.2 after Prometheus: Alertmanager's webhook (the API) and the agents publish alert
// events on `agent.monitoring.alerts`; the one alert handler (in the worker) keeps the Redis alert queue —
// one alert per fingerprint, an entry per raise, severity change, resolution and escalation, nothing for a
// repeat or a redelivery — and operators list, acknowledge and resolve alerts (API by role, CLI).
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AlertState } from '../../src/alerts/decide.ts';
import { alertEnvelope, alertEventSchema, type AlertEventInput } from '../../src/alerts/event.ts';
import { createAlertStore } from '../../src/alerts/store.ts';
import { createKafka } from '../../src/clients/kafka.ts';
import { createRedis } from '../../src/clients/redis.ts';
import { createPublisher } from '../../src/stores/kafka/producer.ts';
import { Topic } from '../../src/stores/kafka/topics.ts';
import { parseAlert, type Alert } from '../../src/stores/redis/alert-schema.ts';
import { keys } from '../../src/stores/redis/keys.ts';
import type { RunningWorker } from '../../src/worker/index.ts';
import { startTestMaintenanceWorker, startTestWorker } from '../e2e/support.ts';
import { env, testId, waitFor } from '../helpers.ts';
import { apiFixture, type ApiFixture } from './api/fixture.ts';

const run = promisify(execFile);

describe('alerts: the handler, the webhook, and what operators do', () => {
  const redis = createRedis(env);
  const publisher = createPublisher(createKafka(env));
  const store = createAlertStore(redis);
  const token = randomBytes(24).toString('base64url');
  const fingerprints: string[] = [];
  let worker: RunningWorker;
  // Escalations run on the maintenance worker (the handler in the task worker starts them on its queue).
  let maintenance: RunningWorker;
  let api: ApiFixture;

  beforeAll(async () => {
    await publisher.connect();
    [worker, maintenance, api] = await Promise.all([
      startTestWorker(),
      startTestMaintenanceWorker(),
      apiFixture({ ALERTMANAGER_WEBHOOK_TOKEN: token }),
    ]);
  }, 120_000);
  afterAll(async () => {
    await Promise.all([worker?.stop(), maintenance?.stop()]);
    await api?.close();
    await publisher.disconnect();
    // Only this test's alerts: their state and their queue entries.
    const memoryKeys = fingerprints.map((fp) => keys.memory('alerts', fp));
    if (memoryKeys.length) await redis.del(...memoryKeys);
    if (fingerprints.length) await redis.srem(keys.memoryIndex('alerts'), ...fingerprints);
    const entries = await entriesOf(...fingerprints);
    if (entries.length) await redis.xdel(keys.alerts(), ...entries.map((e) => e.id));
    redis.disconnect();
  });

  const newFingerprint = (kind: string) => {
    const fp = `test.${testId(kind)}`;
    fingerprints.push(fp);
    return fp;
  };
  const raise = (over: Partial<AlertEventInput> & { fingerprint: string }) =>
    publisher.publish(
      Topic.MonitoringAlerts,
      alertEnvelope(
        alertEventSchema.parse({
          name: 'TestCondition',
          status: 'FIRING',
          severity: 'WARNING',
          source: 'alerts-test',
          message: 'the test condition holds',
          startsAt: '2026-11-30T10:00:00.000Z',
          ...over,
        }),
      ),
      { key: over.fingerprint },
    );

  /** This fingerprint's entries in the Redis alert queue, oldest first. */
  async function entriesOf(...fps: string[]): Promise<{ id: string; alert: Alert }[]> {
    const all = (await redis.xrange(keys.alerts(), '-', '+')) as [string, string[]][];
    return all
      .map(([id, fields]) => ({ id, alert: parseAlert(JSON.parse(fields[fields.indexOf('alert') + 1]!)) }))
      .filter((e) => fps.includes(e.alert.fingerprint ?? ''));
  }
  const changesOf = async (fp: string) => (await entriesOf(fp)).map((e) => e.alert.change);

  it('keeps one alert per fingerprint: raised once, a repeat or redelivery adds nothing, a change or resolution adds one', async () => {
    const fp = newFingerprint('alert');
    await raise({ fingerprint: fp });
    await waitFor('the raise', async () => (await changesOf(fp)).length === 1);
    await raise({ fingerprint: fp }); // the very same event again: Kafka redelivery
    await raise({ fingerprint: fp, message: 'still holds', startsAt: '2026-11-30T10:05:00.000Z' }); // a repeat
    await raise({ fingerprint: fp, severity: 'ERROR' });
    await raise({ fingerprint: fp, status: 'RESOLVED', endsAt: '2026-11-30T10:30:00.000Z' });
    await waitFor('the resolution', async () => (await changesOf(fp)).includes('resolved'));
    expect(await changesOf(fp)).toEqual(['raised', 'changed', 'resolved']);
    const [raised, changed, resolved] = (await entriesOf(fp)).map((e) => e.alert);
    expect(raised).toMatchObject({
      fingerprint: fp,
      status: 'FIRING',
      severity: 'WARNING',
      name: 'TestCondition',
    });
    expect(changed).toMatchObject({ status: 'FIRING', severity: 'ERROR' });
    expect(resolved).toMatchObject({ status: 'RESOLVED' });
    expect(await store.get(fp)).toMatchObject({
      status: 'RESOLVED',
      events: 4,
      startsAt: '2026-11-30T10:00:00.000Z',
    });
  });

  it('escalates a critical alert nobody acknowledges in time, and not one that was acknowledged', async () => {
    const ignored = newFingerprint('crit');
    const seen = newFingerprint('crit');
    const operator = await api.keyFor('operator');
    await raise({ fingerprint: ignored, severity: 'CRITICAL' });
    await raise({ fingerprint: seen, severity: 'CRITICAL' });
    await waitFor('both raised', async () => (await entriesOf(ignored, seen)).length === 2);
    const ack = await api.call<AlertState>('POST', `/alerts/${seen}/ack`, { key: operator.key });
    expect(ack.status).toBe(200);
    expect(ack.body).toMatchObject({ fingerprint: seen, acknowledgedBy: operator.username });
    // ALERT_ESCALATION_MINUTES is 0.05 (3 s) in the tests' deployment.
    await waitFor('the escalation', async () => (await changesOf(ignored)).includes('escalated'), 30_000);
    expect(await changesOf(ignored)).toEqual(['raised', 'escalated']);
    expect((await store.get(ignored))?.escalatedAt).toBeDefined();
    await new Promise((r) => setTimeout(r, 3_000));
    expect(await changesOf(seen)).toEqual(['raised']);
    expect((await store.get(seen))?.escalatedAt).toBeUndefined();
  });

  it("takes Alertmanager's notifications with its token only, each alert once however often it is sent", async () => {
    const fingerprint = randomBytes(8).toString('hex');
    fingerprints.push(`prometheus.${fingerprint}`);
    const notification = {
      version: '4',
      status: 'firing',
      receiver: 'prism',
      groupKey: '{}:{alertname="ServiceDown"}',
      alerts: [
        {
          status: 'firing',
          labels: {
            alertname: 'ServiceDown',
            severity: 'critical',
            job: 'redis',
            instance: '127.0.0.1:19121',
          },
          annotations: { summary: 'redis is down' },
          startsAt: '2026-11-30T11:00:00Z',
          endsAt: '0001-01-01T00:00:00Z',
          fingerprint,
        },
      ],
    };
    const post = (auth?: string) =>
      api.call('POST', '/alerts/alertmanager', {
        body: notification,
        ...(auth ? { headers: { authorization: `Bearer ${auth}` } } : {}),
      });
    expect((await post()).status).toBe(401);
    expect((await post('not-the-token')).status).toBe(401);
    expect(await post(token)).toMatchObject({ status: 202, body: { accepted: 1 } });
    expect((await post(token)).status).toBe(202); // Alertmanager repeats a notification
    const fp = `prometheus.${fingerprint}`;
    await waitFor('the alert in the queue', async () => (await changesOf(fp)).length > 0);
    await new Promise((r) => setTimeout(r, 1_000));
    expect(await entriesOf(fp)).toEqual([
      {
        id: expect.any(String),
        alert: expect.objectContaining({
          fingerprint: fp,
          name: 'ServiceDown',
          severity: 'CRITICAL',
          source: 'prometheus',
          message: 'redis is down',
          change: 'raised',
          labels: expect.objectContaining({ job: 'redis' }),
        }),
      },
    ]);
  });

  it('lets operators list, acknowledge and resolve alerts, and viewers only list them', async () => {
    const fp = newFingerprint('ops');
    await raise({ fingerprint: fp, severity: 'ERROR' });
    await waitFor('the raise', async () => (await changesOf(fp)).length === 1);
    const viewer = await api.keyFor('viewer');
    const operator = await api.keyFor('operator');

    const listed = await api.call<{ alerts: AlertState[] }>('GET', '/alerts', { key: viewer.key });
    expect(listed.status).toBe(200);
    expect(listed.body.alerts.find((a) => a.fingerprint === fp)).toMatchObject({ status: 'FIRING' });
    expect((await api.call('GET', '/alerts')).status).toBe(401);
    expect((await api.call('POST', `/alerts/${fp}/ack`, { key: viewer.key })).status).toBe(403);
    expect((await api.call('POST', '/alerts/test.nosuchalert/ack', { key: operator.key })).status).toBe(404);

    const { stdout } = await run(process.execPath, ['bin/prism.js', 'alerts', 'list', '--json'], {
      env: process.env,
    });
    expect((JSON.parse(stdout) as { alerts: AlertState[] }).alerts.map((a) => a.fingerprint)).toContain(fp);
    await run(process.execPath, ['bin/prism.js', 'alerts', 'ack', fp, '--by', 'cli-operator'], {
      env: process.env,
    });
    expect(await store.get(fp)).toMatchObject({ acknowledgedBy: 'cli-operator' });

    const resolved = await api.call('POST', `/alerts/${fp}/resolve`, {
      key: operator.key,
      body: { reason: 'the pump was replaced' },
    });
    expect(resolved.status).toBe(202);
    await waitFor('the resolution', async () => (await changesOf(fp)).includes('resolved'));
    expect((await entriesOf(fp)).at(-1)!.alert).toMatchObject({
      status: 'RESOLVED',
      message: 'the pump was replaced',
      details: { resolvedBy: `operator:${operator.username}` },
    });
    expect((await api.call('POST', `/alerts/${fp}/resolve`, { key: operator.key })).status).toBe(409);
  });
});
