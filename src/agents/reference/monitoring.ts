// The reference MONITORING agent (spec 4.2): reads a machine's recent sensor readings from InfluxDB, finds
// anomalies, and raises an alert — in the Redis alert queue and on `agent.monitoring.alerts` — when there are.
import { z } from 'zod';
import type { AgentCommand } from '../../task/index.ts';
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
  if (anomalies.length === 0) return result;

  const severity = alertSeverity(found, p.threshold);
  const alertId = ctx.idFor('alert');
  const latest = anomalies[anomalies.length - 1]!;
  const message =
    `${anomalies.length} anomalous ${p.sensorType} reading(s) on ${p.machine} since ${p.since}; ` +
    `latest ${latest.value} at ${latest.time} (${latest.reasons.join(', ')}; median ${stats.median})`;
  const details = {
    alertId,
    commandId: command.commandId,
    machine: p.machine,
    sensorType: p.sensorType,
    anomalyCount: anomalies.length,
    latest,
    median: stats.median,
    threshold: p.threshold,
  };
  // The alert is dated by the reading that raised it, so a re-run of the command produces the same alert.
  const entryId = await ctx.alertQueue.enqueueAlert({
    severity,
    source: ctx.agentId,
    message,
    occurredAt: latest.time,
    taskId: command.taskId,
    agentId: ctx.agentId,
    details,
  });
  await ctx.publish(Topic.MonitoringAlerts, {
    id: alertId,
    type: 'monitoring.alert',
    payload: {
      severity,
      message,
      occurredAt: latest.time,
      ...details,
      anomalies: anomalies.slice(-reportedAnomalies),
    },
  });
  return { ...result, alert: { alertId, severity, message, redisEntryId: entryId } };
}

export const monitoringAgent: AgentDefinition = {
  type: 'MONITORING',
  name: 'Reference monitoring agent',
  description:
    'Finds anomalies in recent InfluxDB sensor readings (modified z-score, limits) and raises alerts',
  capabilities: ['influxdb.sensor_reading', 'anomaly-detection', 'alerts'],
  handler: monitor,
};
