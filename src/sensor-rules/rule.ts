// A sensor rule: a constraint (PostgreSQL `constraints`) whose rule names a sensor type rather than a
// control parameter, e.g. `{ "sensorType": "spindle_temperature_c", "operator": "<=", "value": 85 }` —
// every machine's readings of that sensor over the last window must keep to it. The sensor-rule scan
// (a Temporal Schedule) checks them.
import { z } from 'zod';

export const sensorRuleSchema = z.object({
  sensorType: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/),
  /** What must hold, e.g. `<=` 85: a reading above 85 breaks it. */
  operator: z.enum(['<', '<=', '>', '>=']),
  value: z.number(),
  /** The window checked, ending at the scan. Default 5 minutes. */
  windowSeconds: z.number().int().min(10).max(86_400).default(300),
  /** Only this machine; default every machine with readings. */
  machine: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,64}$/)
    .optional(),
  /** Open a MONITORING task for a CRITICAL violation (default true). */
  openTask: z.boolean().default(true),
});
export type SensorRule = z.output<typeof sensorRuleSchema>;

/** The constraint's rule, when it is a sensor rule; null otherwise (a control parameter's rule). */
export function sensorRuleOf(rule: unknown): SensorRule | null {
  if (typeof rule !== 'object' || rule === null || !('sensorType' in rule)) return null;
  const parsed = sensorRuleSchema.safeParse(rule);
  return parsed.success ? parsed.data : null;
}

/**
 * The readings that can break the rule are the extreme ones: an upper bound (`<`, `<=`) is checked
 * against the window's maximum, a lower bound against its minimum.
 */
export const aggregateFor = (rule: SensorRule): 'max' | 'min' =>
  rule.operator.startsWith('<') ? 'max' : 'min';

export function holds(rule: SensorRule, actual: number): boolean {
  switch (rule.operator) {
    case '<':
      return actual < rule.value;
    case '<=':
      return actual <= rule.value;
    case '>':
      return actual > rule.value;
    case '>=':
      return actual >= rule.value;
  }
}
