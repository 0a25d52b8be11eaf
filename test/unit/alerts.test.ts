// The alert handler's one rule (what an event does to the alert of its fingerprint), and Alertmanager's
// webhook read as alert events.
import { describe, expect, it } from 'vitest';
import { decide, type AlertState } from '../../src/alerts/decide.ts';
import {
  alertEventId,
  alertEventSchema,
  fromAlertmanager,
  type AlertEvent,
  type AlertmanagerWebhook,
} from '../../src/alerts/event.ts';
import { satisfies, sensorRuleOf } from '../../src/constraints/rule.ts';

const event = (over: Partial<AlertEvent> = {}): AlertEvent =>
  alertEventSchema.parse({
    fingerprint: 'prometheus.abc',
    name: 'ServiceDown',
    status: 'FIRING',
    severity: 'WARNING',
    source: 'prometheus',
    message: 'redis is down',
    startsAt: '2026-11-30T10:00:00.000Z',
    ...over,
  });
const t = (minute: number) => `2026-11-30T10:${String(minute).padStart(2, '0')}:00.000Z`;

describe('an alert event applied to its alert', () => {
  it('raises a new alert, and a repeat changes nothing', () => {
    const raised = decide(null, event(), t(1));
    expect(raised.change).toBe('raised');
    expect(raised.next).toMatchObject({ status: 'FIRING', severity: 'WARNING', changedAt: t(1), events: 1 });
    const repeat = decide(raised.next, event({ message: 'redis is still down' }), t(2));
    expect(repeat.change).toBeNull();
    expect(repeat.next).toMatchObject({
      changedAt: t(1),
      seenAt: t(2),
      events: 2,
      message: 'redis is still down',
    });
  });

  it('tells of a severity change; after an acknowledgement only a rise, which lifts it', () => {
    const raised = decide(null, event(), t(1)).next!;
    expect(decide(raised, event({ severity: 'CRITICAL' }), t(2)).change).toBe('changed');
    const acked: AlertState = { ...raised, severity: 'ERROR', acknowledgedAt: t(2), acknowledgedBy: 'ana' };
    expect(decide(acked, event({ severity: 'WARNING' }), t(3))).toMatchObject({
      change: null,
      next: { acknowledgedBy: 'ana' },
    });
    const risen = decide(acked, event({ severity: 'CRITICAL' }), t(4));
    expect(risen.change).toBe('changed');
    expect(risen.next!.acknowledgedBy).toBeUndefined();
  });

  it('resolves a firing alert once; a resolution of an unknown or resolved alert changes nothing', () => {
    const raised = decide(null, event(), t(1)).next!;
    const resolved = decide(raised, event({ status: 'RESOLVED', endsAt: t(5) }), t(5));
    expect(resolved).toMatchObject({ change: 'resolved', next: { status: 'RESOLVED', endsAt: t(5) } });
    expect(decide(resolved.next, event({ status: 'RESOLVED' }), t(6)).change).toBeNull();
    expect(decide(null, event({ status: 'RESOLVED' }), t(6))).toEqual({ change: null, next: null });
  });

  it('starts a new episode when a resolved alert fires again, forgetting the old acknowledgement', () => {
    const old: AlertState = {
      ...decide(null, event(), t(1)).next!,
      status: 'RESOLVED',
      acknowledgedAt: t(2),
      acknowledgedBy: 'ana',
    };
    const again = decide(old, event({ startsAt: t(9) }), t(9));
    expect(again.change).toBe('raised');
    expect(again.next).toMatchObject({ startsAt: t(9), events: 1 });
    expect(again.next!.acknowledgedAt).toBeUndefined();
  });
});

describe("Alertmanager's webhook", () => {
  const body: AlertmanagerWebhook = {
    version: '4',
    status: 'firing',
    receiver: 'prism',
    alerts: [
      {
        status: 'firing',
        labels: { alertname: 'ServiceDown', severity: 'critical', job: 'redis', instance: '127.0.0.1:19121' },
        annotations: { summary: 'redis is down', description: 'no scrape for 1 minute' },
        startsAt: '2026-11-30T10:00:00Z',
        endsAt: '0001-01-01T00:00:00Z',
        fingerprint: '3c1f0d2e4b5a6978',
      },
      {
        status: 'resolved',
        labels: { alertname: 'DiskFilling', severity: 'warning' },
        annotations: {},
        startsAt: '2026-11-30T09:00:00Z',
        endsAt: '2026-11-30T09:30:00Z',
        fingerprint: 'aa00',
      },
    ],
  };

  it('gives one alert event per alert, with its fingerprint, severity and end', () => {
    const [firing, resolved] = fromAlertmanager(body);
    expect(firing).toMatchObject({
      fingerprint: 'prometheus.3c1f0d2e4b5a6978',
      name: 'ServiceDown',
      status: 'FIRING',
      severity: 'CRITICAL',
      source: 'prometheus',
      message: 'redis is down',
      labels: { job: 'redis' },
      startsAt: '2026-11-30T10:00:00.000Z',
    });
    expect(firing!.endsAt).toBeUndefined(); // Alertmanager's year-1 "no end yet"
    expect(resolved).toMatchObject({
      status: 'RESOLVED',
      severity: 'WARNING',
      message: 'DiskFilling',
      endsAt: '2026-11-30T09:30:00.000Z',
    });
  });

  it('names a re-sent notification of the same change with the same id (consumers dedupe it)', () => {
    const [a] = fromAlertmanager(body);
    const [b] = fromAlertmanager(body);
    expect(alertEventId(a!)).toBe(alertEventId(b!));
    expect(alertEventId({ ...a!, status: 'RESOLVED' })).not.toBe(alertEventId(a!));
    expect(alertEventId({ ...a!, severity: 'WARNING' })).not.toBe(alertEventId(a!));
  });
});

describe('a sensor rule', () => {
  it('is a constraint rule that names a sensor, checked against the window’s extreme reading', () => {
    expect(sensorRuleOf({ parameter: 'spindle_speed_rpm', operator: '<=', value: 1 })).toBeNull();
    const rule = sensorRuleOf({ sensorType: 'spindle_temperature_c', operator: '<=', value: 85 })!;
    expect(rule).toMatchObject({ windowSeconds: 300, openTask: true });
    expect(satisfies(rule, 85)).toBe(true);
    expect(satisfies(rule, 85.1)).toBe(false);
    expect(satisfies({ ...rule, operator: '>' }, 85)).toBe(false);
  });
});
