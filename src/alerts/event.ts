// An alert as it travels on Kafka `agent.monitoring.alerts` (envelope type `alert`): from Prometheus through
// Alertmanager and the API's webhook, from the agents (sensor anomalies), from the sensor-rule schedule.
// One shape for every source, identified by its fingerprint: the same condition on the same thing always
// has the same fingerprint, so the alert handler keeps one alert per fingerprint and dedupes the rest.
import { z } from 'zod';
import { createEnvelope } from '../stores/kafka/envelope.ts';
import { uuidFrom } from '../task/ids.ts';
import { ALERT_SEVERITIES } from '../stores/redis/alert-schema.ts';

export const alertStatuses = ['FIRING', 'RESOLVED'] as const;
export type AlertStatus = (typeof alertStatuses)[number];
export type AlertSeverity = (typeof ALERT_SEVERITIES)[number];

export const alertEventSchema = z.strictObject({
  /** Same condition, same thing → same fingerprint (Alertmanager's, or `<kind>.<subject>` for ours). */
  fingerprint: z.string().regex(/^[A-Za-z0-9._-]{1,200}$/, 'letters, digits, . _ - (at most 200)'),
  /** What kind of alert: the Prometheus alert name, or e.g. `SensorAnomaly`. */
  name: z.string().min(1).max(200),
  status: z.enum(alertStatuses),
  severity: z.enum(ALERT_SEVERITIES),
  /** Who raised it: `prometheus`, an agent id, `sensor-rules`. */
  source: z.string().min(1).max(200),
  message: z.string().min(1).max(4000),
  labels: z.record(z.string(), z.string()).default({}),
  startsAt: z.iso.datetime({ offset: true }),
  endsAt: z.iso.datetime({ offset: true }).optional(),
  taskId: z.string().min(1).optional(),
  agentId: z.string().min(1).optional(),
  details: z.record(z.string(), z.json()).optional(),
});
export type AlertEvent = z.output<typeof alertEventSchema>;
export type AlertEventInput = z.input<typeof alertEventSchema>;

/** The envelope id of an alert event: a re-sent notification of the same change is one message. */
export function alertEventId(
  event: Pick<AlertEvent, 'fingerprint' | 'status' | 'severity' | 'startsAt'>,
): string {
  return uuidFrom(`alert:${event.fingerprint}:${event.status}:${event.severity}:${event.startsAt}`);
}

/** Alertmanager's webhook body (version 4), the fields we read. */
export const alertmanagerWebhookSchema = z.object({
  version: z.literal('4'),
  status: z.enum(['firing', 'resolved']),
  receiver: z.string(),
  alerts: z
    .array(
      z.object({
        status: z.enum(['firing', 'resolved']),
        labels: z.record(z.string(), z.string()),
        annotations: z.record(z.string(), z.string()).default({}),
        startsAt: z.iso.datetime({ offset: true }),
        endsAt: z.iso.datetime({ offset: true }).optional(),
        // Ours is `prometheus.<fingerprint>`, at most 200 characters (Alertmanager's are 16 hex digits).
        fingerprint: z.string().regex(/^[A-Za-z0-9._-]{1,189}$/),
      }),
    )
    .max(1000),
});
export type AlertmanagerWebhook = z.infer<typeof alertmanagerWebhookSchema>;

const severityOf = (label: string | undefined): AlertSeverity => {
  const upper = (label ?? 'warning').toUpperCase();
  return (ALERT_SEVERITIES as readonly string[]).includes(upper) ? (upper as AlertSeverity) : 'WARNING';
};

// Alertmanager sends "0001-01-01T00:00:00Z" as the end of an alert that is still firing.
const realTime = (t: string | undefined) =>
  t && !t.startsWith('0001-') ? new Date(t).toISOString() : undefined;

/** Each alert of an Alertmanager notification as an alert event. */
export function fromAlertmanager(body: AlertmanagerWebhook): AlertEvent[] {
  return body.alerts.map((a) => {
    // Whatever the labels say, the event is valid: a name and a message within their limits.
    const name = (a.labels.alertname || 'PrometheusAlert').slice(0, 200);
    const endsAt = realTime(a.endsAt);
    return alertEventSchema.parse({
      fingerprint: `prometheus.${a.fingerprint}`,
      name,
      status: a.status === 'firing' ? 'FIRING' : 'RESOLVED',
      severity: severityOf(a.labels.severity),
      source: 'prometheus',
      message: (a.annotations.summary || a.annotations.description || name).slice(0, 4000),
      labels: a.labels,
      startsAt: new Date(a.startsAt).toISOString(),
      ...(endsAt && a.status === 'resolved' ? { endsAt } : {}),
      details: { annotations: a.annotations },
    });
  });
}

/** The event that resolves an alert by hand (an operator's, through the API or the CLI). */
export function manualResolution(
  alert: Pick<AlertEvent, 'fingerprint' | 'name' | 'severity' | 'labels' | 'startsAt'>,
  by: string,
  reason?: string,
  now = new Date(),
): AlertEvent {
  return alertEventSchema.parse({
    fingerprint: alert.fingerprint,
    name: alert.name,
    status: 'RESOLVED',
    severity: alert.severity,
    source: `operator:${by}`,
    message: reason ?? `resolved by ${by}`,
    labels: alert.labels,
    startsAt: alert.startsAt,
    endsAt: now.toISOString(),
  });
}

/** The envelope of an alert event on `agent.monitoring.alerts`. */
export function alertEnvelope(event: AlertEvent) {
  return createEnvelope({
    id: alertEventId(event),
    type: 'alert',
    payload: event as unknown as Record<string, unknown>,
  });
}
