// The rules of the `constraints` table and their one evaluator. A rule is the JSON of a row: a control
// parameter's (`{ "parameter": "spindle_speed_rpm", "operator": "<=", "value": 12000 }`, or `"between"` and
// `[min, max]`), checked against a proposed action by the CONTROL agent; or a sensor rule (`{ "sensorType":
// "spindle_temperature_c", "operator": "<=", "value": 85 }`), which every machine's readings over the last
// window must keep to, checked by the sensor-rule scan (a Temporal Schedule). Pure functions.
import { z } from 'zod';

export const comparisonOperators = ['<', '<=', '>', '>=', '==', '!='] as const;

export const constraintRuleSchema = z.union([
  z.object({ parameter: z.string().min(1), operator: z.enum(comparisonOperators), value: z.number() }),
  z.object({
    parameter: z.string().min(1),
    operator: z.literal('between'),
    value: z
      .tuple([z.number(), z.number()])
      .refine(([lo, hi]) => lo <= hi, 'the minimum must not exceed the maximum'),
  }),
]);
export type ConstraintRule = z.infer<typeof constraintRuleSchema>;

/** Whether the value satisfies the rule: the one evaluator of control-parameter and sensor rules alike. */
export function satisfies(rule: ConstraintRule | SensorRule, actual: number): boolean {
  switch (rule.operator) {
    case '<':
      return actual < rule.value;
    case '<=':
      return actual <= rule.value;
    case '>':
      return actual > rule.value;
    case '>=':
      return actual >= rule.value;
    case '==':
      return actual === rule.value;
    case '!=':
      return actual !== rule.value;
    case 'between':
      return actual >= rule.value[0] && actual <= rule.value[1];
  }
}

/** The rule as a person reads it: `<= 12000`, `between 10 and 20`. */
export function expectation(rule: ConstraintRule | SensorRule): string {
  return rule.operator === 'between'
    ? `between ${rule.value[0]} and ${rule.value[1]}`
    : `${rule.operator} ${rule.value}`;
}

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

/**
 * An approval rule: `{ "requiresApproval": true, "machine": "press-3" }` — every step of the constraint's
 * agent type (every type when the row names none) that acts on this machine (its `machine` parameter; any
 * machine when the rule names none) waits for a person's approval before its command is sent. Read by the
 * createTask activity when it plans a task; not a value the CONTROL agent checks.
 */
export const approvalRuleSchema = z.strictObject({
  requiresApproval: z.literal(true),
  machine: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,64}$/)
    .optional(),
  /** What a rejection does (default: fail the task). */
  onReject: z.enum(['fail', 'skip']).optional(),
});
export type ApprovalRule = z.infer<typeof approvalRuleSchema>;

/** The constraint's rule, when it is an approval rule; null otherwise. */
export function approvalRuleOf(rule: unknown): ApprovalRule | null {
  if (typeof rule !== 'object' || rule === null || !('requiresApproval' in rule)) return null;
  const parsed = approvalRuleSchema.safeParse(rule);
  return parsed.success ? parsed.data : null;
}
