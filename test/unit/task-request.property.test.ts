// Bad task requests, generated: whatever a client sends (the HTTP API, Kafka `user.queries`, a Temporal SDK
// in another language), normaliseTaskRequest answers a valid, normalised request or a ValidationError naming
// each bad field — never another exception. Plans: cycles, unknown dependencies, duplicate keys, more than
// 20 steps; huge strings; any Unicode.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  maxParametersBytes,
  normaliseTaskRequest,
  planLayers,
  planOf,
  type PlanStep,
  type ValidTaskRequest,
} from '../../src/task/index.ts';
import { ValidationError, type FieldProblem } from '../../src/validation.ts';
import { anyJson, anyString, anyValue, hugeString, loneSurrogate, mutated } from './arbitraries.ts';

const runs = { numRuns: 300 };
const agentType = fc.constantFrom('MONITORING', 'PREDICTION', 'CONTROL', 'ANALYSIS');
const stepKey = fc.stringMatching(/^[a-z][a-z0-9_-]{0,62}$/);

/** A valid plan: 1 to `maxSteps` steps with unique keys, each depending only on steps before it (a DAG). */
const dag = (maxSteps = 20) =>
  fc.uniqueArray(stepKey, { minLength: 1, maxLength: maxSteps }).chain((keys) =>
    fc.tuple(
      ...keys.map((key, i) =>
        fc.record({
          key: fc.constant(key),
          agentType,
          dependsOn: fc.subarray(keys.slice(0, i)),
        }),
      ),
    ),
  );

const base = { requestId: 'request-0001', query: 'check cnc-02' };

/** Runs normaliseTaskRequest: the valid request, or the problems of its ValidationError (anything else fails). */
function normalise(
  input: unknown,
): { ok: true; value: ValidTaskRequest } | { ok: false; problems: FieldProblem[] } {
  try {
    return { ok: true, value: normaliseTaskRequest(input) };
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    expect(error.problems.length).toBeGreaterThan(0);
    for (const p of error.problems) {
      expect(typeof p.field).toBe('string');
      expect(p.message).toMatch(/\S/);
    }
    return { ok: false, problems: error.problems };
  }
}

const fieldsOf = (result: ReturnType<typeof normalise>) =>
  result.ok ? [] : result.problems.map((p) => p.field);

describe('a task request, on generated input', () => {
  it('is a valid request or a ValidationError naming fields, for any value at all', () => {
    fc.assert(
      fc.property(anyValue, (input) => void normalise(input)),
      runs,
    );
  });

  it('is a valid request or names the changed field, for a valid request with one field changed', () => {
    const valid = { ...base, agentType: 'MONITORING', priority: 'HIGH', parameters: { machine: 'cnc-02' } };
    fc.assert(
      fc.property(mutated(valid, ['plan', 'userId', 'agentTimeoutMs', 'agent_type']), ({ key, value }) => {
        const result = normalise(value);
        if (!result.ok) expect(fieldsOf(result).some((f) => f === key || f.startsWith(`${key}.`))).toBe(true);
      }),
      runs,
    );
  });

  it('accepts every acyclic plan of up to 20 steps, normalised once and for all, in layers', () => {
    fc.assert(
      fc.property(dag(), (plan) => {
        const result = normalise({ ...base, plan });
        if (!result.ok) throw new Error(`refused: ${JSON.stringify(result.problems)}`);
        // Normalising a normalised request changes nothing.
        expect(normaliseTaskRequest(result.value)).toEqual(result.value);
        const layers = planLayers(planOf(result.value));
        expect(
          layers
            .flat()
            .map((s) => s.key)
            .sort(),
        ).toEqual(plan.map((s) => s.key).sort());
        const layerOf = new Map(layers.flatMap((layer, i) => layer.map((s) => [s.key, i] as const)));
        for (const step of plan)
          for (const dep of step.dependsOn) expect(layerOf.get(dep)!).toBeLessThan(layerOf.get(step.key)!);
      }),
      runs,
    );
  });

  it('refuses a plan with a cycle, naming the steps in it', () => {
    fc.assert(
      fc.property(
        dag().filter((plan) => plan.length >= 2),
        fc.nat(),
        (plan, pick) => {
          // The last step depends (directly or not) on nothing after it; make a chosen earlier step wait for it.
          const last = plan.at(-1)!;
          const i = pick % (plan.length - 1);
          const cyclic: PlanStep[] = plan.map((s) => ({ ...s, dependsOn: [...s.dependsOn] }));
          cyclic[i]!.dependsOn.push(last.key);
          cyclic.at(-1)!.dependsOn = [...new Set([...last.dependsOn, plan[i]!.key])];
          const result = normalise({ ...base, plan: cyclic });
          expect(result.ok).toBe(false);
          const problem = !result.ok && result.problems.find((p) => p.field === 'plan');
          expect(problem && problem.message).toMatch(/depend on each other in a cycle/);
          expect(problem && problem.message).toContain(last.key);
        },
      ),
      runs,
    );
  });

  it('refuses a dependency on an unknown step, and on the step itself, naming the step', () => {
    fc.assert(
      fc.property(dag(), fc.nat(), stepKey, fc.boolean(), (plan, pick, unknown, self) => {
        const i = pick % plan.length;
        const dep = self ? plan[i]!.key : unknown;
        if (!self && plan.some((s) => s.key === unknown)) return;
        const broken = plan.map((s, j) => (j === i ? { ...s, dependsOn: [...s.dependsOn, dep] } : s));
        const result = normalise({ ...base, plan: broken });
        expect(result.ok).toBe(false);
        expect(!result.ok && result.problems).toContainEqual({
          field: `plan.${i}.dependsOn`,
          message: self ? 'a step cannot wait for itself' : `unknown step "${dep}"`,
        });
      }),
      runs,
    );
  });

  it('refuses duplicate step keys, naming the second', () => {
    fc.assert(
      fc.property(dag(19), fc.nat(), (plan, pick) => {
        const twin = plan[pick % plan.length]!;
        const result = normalise({ ...base, plan: [...plan, { key: twin.key, agentType: 'ANALYSIS' }] });
        expect(result.ok).toBe(false);
        expect(!result.ok && result.problems).toContainEqual({
          field: `plan.${plan.length}.key`,
          message: `"${twin.key}" appears twice`,
        });
      }),
      runs,
    );
  });

  it('refuses plans of more than 20 steps, naming the plan', () => {
    fc.assert(
      fc.property(fc.integer({ min: 21, max: 200 }), (n) => {
        const plan = Array.from({ length: n }, (_, i) => ({ key: `s${i}`, agentType: 'ANALYSIS' }));
        expect(fieldsOf(normalise({ ...base, plan }))).toContain('plan');
      }),
      { numRuns: 30 },
    );
  });

  it('refuses huge strings, naming the field', () => {
    fc.assert(
      fc.property(hugeString, fc.constantFrom('query', 'instruction', 'requestId'), (huge, where) => {
        const request =
          where === 'instruction'
            ? { ...base, plan: [{ key: 'a', agentType: 'ANALYSIS', instruction: huge }] }
            : { ...base, agentType: 'ANALYSIS', [where]: huge };
        const field = where === 'instruction' ? 'plan.0.instruction' : where;
        expect(fieldsOf(normalise(request))).toContain(field);
      }),
      { numRuns: 50 },
    );
  });

  it('refuses parameters larger than the limit, naming them', () => {
    const parameters = { blob: 'x'.repeat(maxParametersBytes) };
    expect(fieldsOf(normalise({ ...base, agentType: 'ANALYSIS', parameters }))).toEqual(['parameters']);
  });

  it('accepts any Unicode text, and refuses NUL and lone surrogates (no store keeps them) naming the field', () => {
    const text = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 200 }).filter((t) => t.trim() !== '');
    fc.assert(
      fc.property(text, text, anyJson, (query, instruction, value) => {
        const result = normalise({
          ...base,
          query,
          plan: [{ key: 'a', agentType: 'ANALYSIS', instruction }],
          parameters: { [instruction]: value },
        });
        // The only thing refused is what no store can keep: a NUL or lone surrogate in `parameters`.
        if (!result.ok) expect(fieldsOf(result).every((f) => f.startsWith('parameters.'))).toBe(true);
        else expect(result.value.query).toBe(query.trim());
      }),
      runs,
    );
    fc.assert(
      fc.property(anyString(), fc.oneof(fc.constant('\u0000'), loneSurrogate), (text, bad) => {
        const query = `q${text}${bad}${text}q`;
        expect(fieldsOf(normalise({ ...base, agentType: 'ANALYSIS', query }))).toContain('query');
        const parameters = { nested: [{ [bad]: 1 }] };
        expect(fieldsOf(normalise({ ...base, agentType: 'ANALYSIS', parameters }))).toEqual([
          `parameters.nested.0.${bad}`,
        ]);
      }),
      runs,
    );
  });
});
