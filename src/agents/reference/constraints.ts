// Checking a proposed control action against the constraint rules (src/constraints/rule.ts evaluates each),
// and deriving a setpoint. Pure functions.
import {
  approvalRuleOf,
  constraintRuleSchema,
  satisfies,
  type ConstraintRule,
} from '../../constraints/rule.ts';

export interface ConstraintInput {
  id: string;
  name: string;
  rule: unknown;
  isBlocking: boolean;
}

export interface Violation<C extends ConstraintInput> {
  constraint: C;
  rule: ConstraintRule;
  actual: number;
}

export interface ConstraintCheck<C extends ConstraintInput> {
  violations: Violation<C>[];
  /** Constraints whose rule concerns a proposed value and holds. */
  satisfied: C[];
  /** Constraints whose rule is not of the comparison form: not checked, with the reason. */
  skipped: { constraint: C; reason: string }[];
}

/** Checks each proposed value against every rule about its parameter. */
export function checkConstraints<C extends ConstraintInput>(
  values: Readonly<Record<string, number>>,
  constraints: readonly C[],
): ConstraintCheck<C> {
  const check: ConstraintCheck<C> = { violations: [], satisfied: [], skipped: [] };
  for (const constraint of constraints) {
    // An approval rule was applied when the task was planned (its step waited for a person): nothing to check.
    if (approvalRuleOf(constraint.rule)) continue;
    const parsed = constraintRuleSchema.safeParse(constraint.rule);
    if (!parsed.success) {
      check.skipped.push({ constraint, reason: 'rule is not { parameter, operator, value }' });
      continue;
    }
    const rule = parsed.data;
    const actual = values[rule.parameter];
    if (actual === undefined) continue;
    if (satisfies(rule, actual)) check.satisfied.push(constraint);
    else check.violations.push({ constraint, rule, actual });
  }
  return check;
}

/** Approved unless a blocking constraint is violated; non-blocking violations are warnings. */
export function isApproved(violations: readonly Violation<ConstraintInput>[]): boolean {
  return violations.every((v) => !v.constraint.isBlocking);
}

export interface SetpointInput {
  setpoint?: number;
  /** The value the process should reach. */
  target?: number;
  /** The setpoint in force now. */
  currentSetpoint?: number;
  /** How much of the gap between target and expectation to correct at once. */
  gain: number;
}

export type SetpointProposal = { setpoint: number; source: string; expected?: number };

/** The value an upstream step expects the process to reach: a PREDICTION's last forecast, or a MONITORING median. */
export function expectedValue(
  upstream: Readonly<Record<string, unknown>>,
): { step: string; value: number } | undefined {
  for (const [step, result] of Object.entries(upstream).sort(([a], [b]) => a.localeCompare(b))) {
    if (typeof result !== 'object' || result === null) continue;
    const { forecast, stats } = result as { forecast?: unknown; stats?: unknown };
    if (Array.isArray(forecast) && forecast.length > 0) {
      const last = forecast[forecast.length - 1] as { value?: unknown };
      if (typeof last?.value === 'number') return { step, value: last.value };
    }
    const med = (stats as { median?: unknown } | undefined)?.median;
    if (typeof med === 'number') return { step, value: med };
  }
  return undefined;
}

/**
 * The setpoint to propose: the one given, or a proportional correction of the current setpoint by the gap
 * between the target and what an upstream step expects (`current + gain × (target − expected)`).
 * Returns a reason instead when neither is possible.
 */
export function proposeSetpoint(
  input: SetpointInput,
  upstream: Readonly<Record<string, unknown>>,
): SetpointProposal | { reason: string } {
  if (input.setpoint !== undefined) return { setpoint: input.setpoint, source: 'parameters.setpoint' };
  const expected = expectedValue(upstream);
  if (input.target === undefined || input.currentSetpoint === undefined || !expected) {
    return {
      reason:
        'parameters.setpoint: required, unless parameters.target and parameters.currentSetpoint are given and ' +
        'an upstream PREDICTION (forecast) or MONITORING (stats) step supplies the expected value',
    };
  }
  const setpoint = input.currentSetpoint + input.gain * (input.target - expected.value);
  return {
    setpoint: Math.round(setpoint * 1e6) / 1e6,
    source: `upstream:${expected.step}`,
    expected: expected.value,
  };
}
