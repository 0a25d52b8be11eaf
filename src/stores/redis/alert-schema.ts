import { z } from 'zod';
import { problemsOf, ValidationError, type FieldProblem } from '../../validation.ts';

export const ALERT_SEVERITIES = ['INFO', 'WARNING', 'ERROR', 'CRITICAL'] as const;

const OCCURRED_AT_PROBLEM = 'must be a Date or an ISO 8601 date-time such as 2025-01-31T08:00:00Z';

/** An alert as it travels through the alert queue. Unknown properties are refused (they are usually typos). */
export const alertSchema = z.strictObject({
  severity: z.enum(ALERT_SEVERITIES),
  source: z.string().trim().min(1, 'must name the service or agent that raised the alert'),
  message: z.string().trim().min(1, 'must not be empty'),
  occurredAt: z
    .union([z.date(), z.iso.datetime({ offset: true, error: OCCURRED_AT_PROBLEM })], {
      error: OCCURRED_AT_PROBLEM,
    })
    .transform((value) => new Date(value).toISOString()),
  taskId: z.string().min(1).optional(),
  agentId: z.string().min(1).optional(),
  details: z.record(z.string(), z.json()).optional(),
  /** Set by the alert handler: which alert (one per fingerprint), what it is, and what just happened. */
  fingerprint: z.string().min(1).optional(),
  name: z.string().min(1).optional(),
  status: z.enum(['FIRING', 'RESOLVED']).optional(),
  change: z.enum(['raised', 'changed', 'resolved', 'escalated']).optional(),
  labels: z.record(z.string(), z.string()).optional(),
});

/** What `enqueueAlert` accepts: `occurredAt` may be a Date. */
export type AlertInput = z.input<typeof alertSchema>;
/** What readers get: `occurredAt` is an ISO 8601 string in UTC. */
export type Alert = z.output<typeof alertSchema>;

export class InvalidAlertError extends ValidationError {
  constructor(problems: FieldProblem[]) {
    super(problems, 'Invalid alert', 'INVALID_ALERT');
    this.name = 'InvalidAlertError';
  }
}

/** The alert, normalised; throws InvalidAlertError naming every bad field. */
export function parseAlert(input: unknown): Alert {
  const result = alertSchema.safeParse(input, { reportInput: true });
  if (result.success) return result.data;
  throw new InvalidAlertError(problemsOf(result.error.issues, '', '(alert)'));
}
