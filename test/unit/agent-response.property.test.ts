// isAgentResponse (the workflow's check of a signalled answer: workflow code cannot load zod) is a hand copy of
// agentResponseSchema (what the bridge, the agents and the docs use). These properties bind the two, so that a
// rule changed in one and not the other fails here. They agree on every value but in two ways, both pinned:
//   - the commandId: the workflow takes any 8-4-4-4-12 hex string; the schema also wants an RFC 9562
//     version and variant. Command ids are always RFC UUIDs (src/task/ids.ts), so an answer with another
//     id is kept by the workflow but can be no step's; narrowing the check would change running tasks.
//   - text no store can keep (NUL, a lone surrogate): the workflow refuses it anywhere in the answer; the
//     schema in `result` and `error` only (the other fields name things that must exist already).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { agentResponseSchema, isAgentResponse } from '../../src/task/index.ts';
import { unstorableJson } from '../../src/validation.ts';
import { anyJson, anyString, anyValue, mutated } from './arbitraries.ts';

const hex = (length: number) =>
  fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEF'), minLength: length, maxLength: length });

/** Any 8-4-4-4-12 hex string: RFC UUIDs and others. */
const uuidShaped = fc.tuple(hex(8), hex(4), hex(4), hex(4), hex(12)).map((parts) => parts.join('-'));

const validAnswer = fc.record(
  {
    commandId: fc.oneof(fc.uuid(), uuidShaped),
    workflowId: anyString(),
    stepKey: anyString(),
    agentId: anyString(),
    status: fc.constantFrom('SUCCESS', 'FAILED'),
    result: fc.dictionary(anyString(8), anyJson, { maxKeys: 3 }),
    error: anyString(),
    durationMs: fc.oneof(fc.nat(), fc.integer(), fc.double()),
  },
  { requiredKeys: ['commandId', 'workflowId', 'stepKey', 'agentId', 'status'] },
);

/** Answers near the rules' edges: valid ones, ones with one field replaced or removed, and anything. */
const candidate: fc.Arbitrary<unknown> = fc.oneof(
  validAnswer,
  validAnswer.chain((a) => mutated(a as Record<string, unknown>).map((m) => m.value)),
  anyValue,
);

/** The commandId made an RFC UUID (version 4, variant 8) when it is 8-4-4-4-12 hex: the first difference. */
function withRfcCommandId(value: unknown): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  const { commandId } = value as { commandId?: unknown };
  if (typeof commandId !== 'string' || !/^[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}$/i.test(commandId)) {
    return value;
  }
  const rfc = `${commandId.slice(0, 14)}4${commandId.slice(15, 19)}8${commandId.slice(20)}`;
  return Object.assign(Object.create(Object.getPrototypeOf(value) as object | null) as object, value, {
    commandId: rfc,
  });
}

const runs = { numRuns: 2_000 };

describe('isAgentResponse and agentResponseSchema', () => {
  it('agree on every value, but for the two differences named above', () => {
    fc.assert(
      fc.property(candidate, (value) => {
        const schema = agentResponseSchema.safeParse(withRfcCommandId(value)).success;
        const storable = unstorableJson(value).length === 0;
        expect(isAgentResponse(value)).toBe(schema && storable);
      }),
      runs,
    );
  });

  it('let the workflow keep every answer the bridge passes on (the schema’s output) whose text is storable', () => {
    fc.assert(
      fc.property(candidate, (value) => {
        const parsed = agentResponseSchema.safeParse(value);
        fc.pre(parsed.success && unstorableJson(parsed.data).length === 0);
        expect(isAgentResponse(parsed.data)).toBe(true);
      }),
      runs,
    );
  });

  it('differ exactly as named', () => {
    const answer = {
      commandId: '6f1c2a3b-1111-4222-8333-444455556666',
      workflowId: 'task-x',
      stepKey: 'main',
      agentId: 'monitoring-1',
      status: 'SUCCESS',
    };
    const nonRfc = { ...answer, commandId: '6f1c2a3b-1111-0222-0333-444455556666' };
    expect([isAgentResponse(nonRfc), agentResponseSchema.safeParse(nonRfc).success]).toEqual([true, false]);
    const nul = { ...answer, agentId: 'monitoring-\u0000' };
    expect([isAgentResponse(nul), agentResponseSchema.safeParse(nul).success]).toEqual([false, true]);
  });
});
