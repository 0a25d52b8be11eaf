// The alert routes' bodies and answers.
import { z } from 'zod';
import { alertStatuses } from '../../alerts/event.ts';
import { ALERT_SEVERITIES } from '../../stores/redis/alert-schema.ts';
import { nonBlankText } from '../../validation.ts';

export const alertSchema = z.object({
  fingerprint: z.string(),
  name: z.string(),
  status: z.enum(alertStatuses),
  severity: z.enum(ALERT_SEVERITIES),
  source: z.string(),
  message: z.string(),
  labels: z.record(z.string(), z.string()),
  startsAt: z.string().describe('When this episode started firing'),
  endsAt: z.string().optional(),
  changedAt: z.string().describe('When the alert queue was last told of it'),
  lastChange: z.enum(['raised', 'changed', 'resolved', 'escalated']).optional(),
  seenAt: z.string(),
  events: z.number().int(),
  acknowledgedAt: z.string().optional(),
  acknowledgedBy: z.string().optional(),
  resolvedBy: z.string().optional(),
  escalatedAt: z.string().optional(),
  taskId: z.string().optional(),
  agentId: z.string().optional(),
});
export type AlertView = z.infer<typeof alertSchema>;

export const listAlertsQuery = z.strictObject({
  status: z.enum(['FIRING', 'RESOLVED', 'all']).default('FIRING'),
});
export const alertListSchema = z.object({ alerts: z.array(alertSchema) });

export const fingerprintParams = z.strictObject({
  fingerprint: z.string().regex(/^[A-Za-z0-9._-]{1,200}$/, 'an alert fingerprint (see GET /alerts)'),
});

export const resolveAlertBody = z.strictObject({ reason: nonBlankText(1000).optional() }).default({});

export const webhookAcceptedSchema = z.object({
  accepted: z.number().int().describe('Alerts published on agent.monitoring.alerts'),
});
