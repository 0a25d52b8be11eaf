// Bad messages, generated: whatever bytes arrive on a topic, the envelope parser answers an envelope or a
// reason (which the consumer writes to the dead-letter topic); it never throws. And each payload a consumer
// of ours reads either parses or names the failing field.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { alertEventSchema, fromAlertmanager, alertmanagerWebhookSchema } from '../../../src/alerts/event.ts';
import {
  checkEnvelope,
  createEnvelope,
  InvalidEnvelopeError,
  maxEnvelopeBytes,
  parseEnvelope,
} from '../../../src/stores/kafka/envelope.ts';
import { toKafkaMessage } from '../../../src/stores/kafka/producer.ts';
import {
  agentCommandSchema,
  agentResponseSchema,
  normaliseTaskRequest,
  userFeedbackSchema,
} from '../../../src/task/index.ts';
import { problemsOf, ValidationError } from '../../../src/validation.ts';
import { anyJson, anyString, anyValue, mutated } from '../arbitraries.ts';

const runs = { numRuns: 300 };

const isoDate = fc
  .date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2100-01-01T00:00:00Z'), noInvalidDate: true })
  .map((d) => d.toISOString());

const validEnvelope = fc
  .record(
    {
      id: fc.uuid(),
      type: anyString().filter((t) => t.length > 0),
      taskId: anyString().filter((t) => t.length > 0),
      workflowId: anyString().filter((t) => t.length > 0),
      agentId: anyString().filter((t) => t.length > 0),
      agentType: fc.constantFrom('MONITORING', 'PREDICTION', 'CONTROL', 'ANALYSIS', 'ORCHESTRATOR'),
      payload: fc.dictionary(anyString(), anyJson, { maxKeys: 5 }),
      createdAt: isoDate,
      schemaVersion: fc.constant(1 as const),
    },
    { requiredKeys: ['id', 'type', 'payload', 'createdAt', 'schemaVersion'] },
    // (`__proto__` keys are refused: below.)
  )
  .filter((envelope) => !JSON.stringify(envelope).includes('"__proto__":'));

/** What the parser answers must be one of its two shapes, with a reason a person can read. */
function expectAnswer(result: ReturnType<typeof parseEnvelope>): void {
  if (result.ok) expect(result.envelope.schemaVersion).toBe(1);
  else expect(result.reason).toMatch(/\S/);
}

describe('the envelope parser, on generated input', () => {
  it('answers an envelope or a reason for any bytes, never an exception', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 4096 }), (bytes) =>
        expectAnswer(parseEnvelope(Buffer.from(bytes))),
      ),
      runs,
    );
  });

  it('answers an envelope or a reason for any JSON text and any JSON value', () => {
    fc.assert(
      fc.property(fc.json(), (text) => expectAnswer(parseEnvelope(text))),
      runs,
    );
    fc.assert(
      fc.property(anyJson, (value) => expectAnswer(parseEnvelope(Buffer.from(JSON.stringify(value))))),
      runs,
    );
  });

  it('reads back every valid envelope as it was sent', () => {
    fc.assert(
      fc.property(validEnvelope, (envelope) => {
        const sent = JSON.stringify(envelope);
        expect(parseEnvelope(Buffer.from(sent))).toEqual({ ok: true, envelope: JSON.parse(sent) });
      }),
      runs,
    );
  });

  it('refuses a `__proto__` key anywhere in an envelope, as the API does, saying so', () => {
    fc.assert(
      fc.property(validEnvelope, fc.jsonValue({ maxDepth: 2 }), (envelope, value) => {
        const others = JSON.stringify(envelope.payload).slice(1, -1);
        const payload = `{"__proto__":${JSON.stringify(value)}${others ? `,${others}` : ''}}`;
        const sent = JSON.stringify({ ...envelope, payload: '@payload@' }).replace(
          '"@payload@"',
          () => payload,
        );
        expect(parseEnvelope(Buffer.from(sent))).toEqual({
          ok: false,
          reason: expect.stringMatching(/__proto__/),
        });
      }),
      runs,
    );
  });

  it('names the field of an envelope with one field wrong', () => {
    const base = createEnvelope({ type: 'user.query', taskId: 't-1', payload: { query: 'x' } });
    fc.assert(
      fc.property(mutated(base), ({ key, value }) => {
        const result = checkEnvelope(value);
        if (!result.ok) expect(result.reason).toMatch(new RegExp(`(^|; )${key}[.:]`));
      }),
      runs,
    );
  });

  it('refuses every schemaVersion but 1, naming it', () => {
    const base = createEnvelope({ type: 'user.query', payload: {} });
    fc.assert(
      fc.property(
        // (A value with a `__proto__` key is refused for that first: another test.)
        anyValue.filter((v) => v !== 1 && !String(JSON.stringify(v)).includes('"__proto__":')),
        (schemaVersion) => {
          const result = parseEnvelope(JSON.stringify({ ...base, schemaVersion }));
          expect(result).toEqual({ ok: false, reason: expect.stringMatching(/^schemaVersion: /) });
        },
      ),
      runs,
    );
  });

  it('refuses a message over the size limit before parsing it, and the producer refuses to send one', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 64 * 1024 }), (extra) => {
        const payload = { blob: 'x'.repeat(maxEnvelopeBytes + extra) };
        const envelope = JSON.stringify({ ...createEnvelope({ type: 'user.query', payload: {} }), payload });
        const result = parseEnvelope(Buffer.from(envelope));
        expect(result).toEqual({ ok: false, reason: expect.stringMatching(/^message too large: \d+ bytes/) });
      }),
      { numRuns: 5 },
    );
    const big = createEnvelope({ type: 'user.query', payload: { blob: 'x'.repeat(maxEnvelopeBytes) } });
    expect(() => toKafkaMessage(big)).toThrow(InvalidEnvelopeError);
  });
});

// Each payload a consumer of ours reads (src/worker, src/agents/kafka-transport.ts), by envelope type.
const now = '2026-01-01T00:00:00.000Z';
const uuid = '3b241101-e2bb-4255-8caf-4136c566a962';
const payloads = {
  'user.query (ingress)': {
    parse: (v: unknown) => normaliseTaskRequest(v),
    valid: { requestId: 'request-0001', query: 'check cnc-02', agentType: 'MONITORING' },
  },
  'agent.response (bridge)': {
    parse: (v: unknown) => agentResponseSchema.parse(v),
    valid: {
      commandId: uuid,
      workflowId: 'task-1',
      stepKey: 'main',
      agentId: 'a-1',
      status: 'SUCCESS',
      result: { ok: true },
    },
  },
  'alert (alert handler)': {
    parse: (v: unknown) => alertEventSchema.parse(v),
    valid: {
      fingerprint: 'sensor.cnc-02',
      name: 'SensorAnomaly',
      status: 'FIRING',
      severity: 'WARNING',
      source: 'monitoring-1',
      message: 'too hot',
      startsAt: now,
    },
  },
  'agent.command (Kafka agents)': {
    parse: (v: unknown) => agentCommandSchema.parse(v),
    valid: {
      commandId: uuid,
      taskId: uuid,
      workflowId: 'task-1',
      stepKey: 'main',
      agentType: 'MONITORING',
      instruction: 'check',
      deadlineAt: now,
    },
  },
  'userFeedback (signal)': {
    parse: (v: unknown) => userFeedbackSchema.parse(v),
    valid: { feedbackType: 'APPROVAL', content: 'fine' },
  },
} as const;

/** The field problems of a failed parse: a ValidationError's, or a ZodError's as the consumers render them. */
function problemsOfFailure(error: unknown): { field: string; message: string }[] {
  if (error instanceof ValidationError) return error.problems;
  if (error instanceof Error && 'issues' in error)
    return problemsOf((error as never as { issues: [] }).issues);
  throw error;
}

describe.each(Object.entries(payloads))('the %s payload, on generated input', (_name, { parse, valid }) => {
  it('parses its valid example', () => {
    expect(() => parse(valid)).not.toThrow();
  });

  it('parses any value or names what is wrong, never another exception', () => {
    fc.assert(
      fc.property(anyValue, (value) => {
        try {
          parse(value);
        } catch (error) {
          const problems = problemsOfFailure(error);
          expect(problems.length).toBeGreaterThan(0);
          for (const p of problems) expect(p.message).toMatch(/\S/);
        }
      }),
      runs,
    );
  });

  it('names the field that was changed when a valid payload with one field changed fails', () => {
    fc.assert(
      fc.property(mutated(valid), ({ key, value }) => {
        try {
          parse(value);
        } catch (error) {
          const fields = problemsOfFailure(error).map((p) => p.field);
          expect(fields.some((f) => f === key || f.startsWith(`${key}.`))).toBe(true);
        }
      }),
      runs,
    );
  });
});

describe("Alertmanager's webhook, on generated input", () => {
  const alert = {
    status: 'firing',
    labels: { alertname: 'HighCpu', severity: 'critical' },
    annotations: { summary: 'cpu' },
    startsAt: now,
    fingerprint: 'a1b2c3d4e5f60718',
  };

  it('turns every notification its schema accepts into valid alert events, never throwing', () => {
    const labels = fc.dictionary(fc.constantFrom('alertname', 'severity', 'instance', 'job'), anyString(300));
    fc.assert(
      fc.property(
        fc.record({
          status: fc.constantFrom('firing', 'resolved'),
          labels,
          annotations: fc.dictionary(fc.constantFrom('summary', 'description'), anyString(5000)),
          startsAt: fc.oneof(isoDate, fc.constant('0001-01-01T00:00:00Z'), anyString()),
          endsAt: fc.option(fc.oneof(isoDate, anyString()), { nil: undefined }),
          fingerprint: fc.oneof(fc.stringMatching(/^[a-f0-9]{16}$/), anyString(250)),
        }),
        (a) => {
          const body = alertmanagerWebhookSchema.safeParse({
            version: '4',
            status: 'firing',
            receiver: 'prism',
            alerts: [{ ...alert, ...a }],
          });
          if (!body.success) return;
          for (const event of fromAlertmanager(body.data))
            expect(alertEventSchema.parse(event)).toEqual(event);
        },
      ),
      runs,
    );
  });
});
