// The reference MONITORING agent (spec 4.2): reads a machine's recent sensor readings from InfluxDB, finds
// anomalies, and raises an alert when there are — an event on `agent.monitoring.alerts`, which the alert
// handler turns into the Redis alert queue's entry, as it does Prometheus's — and resolves it when the
// series is back in line.
import { z } from 'zod';
import type { AgentCommand } from '../../task/index.ts';
import { alertEventId, alertEventSchema, type AlertEventInput } from '../../alerts/event.ts';
import { createAlertStore } from '../../alerts/store.ts';
import { Topic } from '../../stores/kafka/topics.ts';
import { parseParameters } from '../parameters.ts';
import type { AgentContext, AgentDefinition } from '../types.ts';
import { alertSeverity, detectAnomalies, seriesStats } from './anomaly.ts';
import { readSensorSeries, sensorSeriesSchema } from './sensor-parameters.ts';

export const monitoringParameters = sensorSeriesSchema
  .extend({
    /** |modified z-score| above which a reading is an anomaly. */
    threshold: z.number().positive().default(3.5),
    /** Absolute limits: a reading outside them is an anomaly whatever its score. */
    min: z.number().optional(),
    max: z.number().optional(),
  })
  .refine((p) => p.min === undefined || p.max === undefined || p.min <= p.max, {
    path: ['min'],
    message: 'must not exceed parameters.max',
  });

// Enough anomalies for a person to see the pattern; the count says how many there were.
const reportedAnomalies = 50;

export async function monitor(command: AgentCommand, ctx: AgentContext): Promise<Record<string, unknown>> {
  const p = parseParameters(command, monitoringParameters);
  const readings = await readSensorSeries(ctx, p);
  if (readings.length === 0) {
    throw new Error(
      `no ${p.sensorType} readings of machine ${p.machine} since ${p.since} in InfluxDB: check parameters.machine ` +
        'and parameters.sensorType, or widen parameters.since',
    );
  }
  const values = readings.map((r) => r.value);
  const stats = seriesStats(values);
  const found = detectAnomalies(values, { threshold: p.threshold, min: p.min, max: p.max, center: stats });
  const anomalies = found.map((a) => ({
    time: readings[a.index]!.time.toISOString(),
    value: a.value,
    score: Math.round(a.score * 1000) / 1000,
    reasons: a.reasons,
  }));
  const result: Record<string, unknown> = {
    machine: p.machine,
    sensorType: p.sensorType,
    since: p.since,
    readings: readings.length,
    window: { from: readings[0]!.time.toISOString(), to: readings[readings.length - 1]!.time.toISOString() },
    stats,
    threshold: p.threshold,
    anomalyCount: anomalies.length,
    anomalies: anomalies.slice(-reportedAnomalies),
  };
  const fingerprint = sensorAlertFingerprint(p.machine, p.sensorType);
  if (anomalies.length === 0) {
    // All clear: an alert this agent raised on the series resolves (through the same path it was raised).
    const firing = await createAlertStore(ctx.redis).get(fingerprint);
    if (firing?.status === 'FIRING') {
      await raise(ctx, command, {
        fingerprint,
        name: sensorAlertName,
        status: 'RESOLVED',
        severity: firing.severity,
        source: ctx.agentId,
        message: `${p.sensorType} of ${p.machine} is back in line: no anomaly since ${p.since}`,
        labels: firing.labels,
        startsAt: firing.startsAt,
        endsAt: readings[readings.length - 1]!.time.toISOString(),
      });
      result.resolvedAlert = fingerprint;
    }
    return result;
  }

  const severity = alertSeverity(found, p.threshold);
  const latest = anomalies[anomalies.length - 1]!;
  const message =
    `${anomalies.length} anomalous ${p.sensorType} reading(s) on ${p.machine} since ${p.since}; ` +
    `latest ${latest.value} at ${latest.time} (${latest.reasons.join(', ')}; median ${stats.median})`;
  // Dated by the readings that raised it, so a re-run of the command raises the very same event.
  const eventId = await raise(ctx, command, {
    fingerprint,
    name: sensorAlertName,
    status: 'FIRING',
    severity,
    source: ctx.agentId,
    message,
    labels: { machine: p.machine, sensorType: p.sensorType },
    startsAt: anomalies[0]!.time,
    details: {
      commandId: command.commandId,
      anomalyCount: anomalies.length,
      latest,
      median: stats.median,
      threshold: p.threshold,
      anomalies: anomalies.slice(-reportedAnomalies),
    },
  });
  return { ...result, alert: { fingerprint, eventId, severity, message } };
}

export const sensorAlertName = 'SensorAnomaly';

/** One alert per machine and sensor: every check of the series speaks of the same alert. */
export function sensorAlertFingerprint(machine: string, sensorType: string): string {
  return `sensor.${machine}.${sensorType}`.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 200);
}

/** Publishes an alert event on `agent.monitoring.alerts`, where the alert handler takes it. */
async function raise(
  ctx: AgentContext,
  command: AgentCommand,
  event: Omit<AlertEventInput, 'taskId' | 'agentId'>,
): Promise<string> {
  const payload = alertEventSchema.parse({ ...event, taskId: command.taskId, agentId: ctx.agentId });
  const envelope = await ctx.publish(Topic.MonitoringAlerts, {
    id: alertEventId(payload),
    type: 'alert',
    payload: payload as unknown as Record<string, unknown>,
    // One alert's events in one partition: the handler takes them in order.
    key: payload.fingerprint,
  });
  return envelope.id;
}

export const monitoringAgent: AgentDefinition = {
  type: 'MONITORING',
  name: 'Reference monitoring agent',
  description:
    'Finds anomalies in recent InfluxDB sensor readings (modified z-score, limits) and raises alerts',
  capabilities: ['influxdb.sensor_reading', 'anomaly-detection', 'alerts'],
  handler: monitor,
};
