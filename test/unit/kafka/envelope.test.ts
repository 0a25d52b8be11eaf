import { describe, expect, it } from 'vitest';
import {
  checkEnvelope,
  createEnvelope,
  InvalidEnvelopeError,
  parseEnvelope,
} from '../../../src/stores/kafka/envelope.ts';

const good = {
  id: '3b241101-e2bb-4255-8caf-4136c566a962',
  type: 'task.command',
  taskId: 'task-1',
  workflowId: 'wf-1',
  agentId: 'monitor-7',
  agentType: 'MONITORING',
  payload: { machine: 'press-3', temperature: 81.5 },
  createdAt: '2025-01-02T03:04:05.000Z',
  schemaVersion: 1,
};

function reasonFor(value: unknown): string {
  const result = checkEnvelope(value);
  if (result.ok) throw new Error('expected the envelope to be rejected');
  return result.reason;
}

describe('message envelope', () => {
  it('accepts a complete envelope, and one with only the required fields', () => {
    expect(checkEnvelope(good)).toEqual({ ok: true, envelope: good });
    const { taskId: _t, workflowId: _w, agentId: _a, agentType: _at, ...minimal } = good;
    expect(checkEnvelope(minimal).ok).toBe(true);
  });

  it('accepts a timestamp with an offset', () => {
    expect(checkEnvelope({ ...good, createdAt: '2025-01-02T12:04:05+09:00' }).ok).toBe(true);
  });

  it('rejects bad fields, naming each one', () => {
    expect(reasonFor({ ...good, payload: [1, 2] })).toBe('payload: expected object, received array');
    expect(reasonFor({ ...good, id: 'not-a-uuid' })).toMatch(/^id: /);
    expect(reasonFor({ ...good, agentType: 'JANITOR' })).toMatch(/^agentType: .*MONITORING/);
    expect(reasonFor({ ...good, createdAt: 'yesterday' })).toMatch(/^createdAt: /);
    expect(reasonFor({ ...good, schemaVersion: 2 })).toMatch(/^schemaVersion: expected 1/);
    expect(reasonFor({ ...good, type: '' })).toMatch(/^type: /);
    const { payload: _p, type: _ty, ...noPayload } = good;
    expect(reasonFor(noPayload)).toBe('type: required; payload: required');
    expect(reasonFor([good])).toBe('envelope: expected object, received array');
  });

  it('parses a Kafka value, and explains values that are not JSON or are empty', () => {
    expect(parseEnvelope(Buffer.from(JSON.stringify(good)))).toEqual({ ok: true, envelope: good });
    expect(parseEnvelope(JSON.stringify(good)).ok).toBe(true);
    const notJson = parseEnvelope(Buffer.from('temperature=81.5'));
    expect(notJson.ok).toBe(false);
    expect(!notJson.ok && notJson.reason).toMatch(/^not JSON: /);
    expect(parseEnvelope(null)).toEqual({ ok: false, reason: 'empty message (no value)' });
    expect(parseEnvelope(JSON.stringify({ ...good, payload: 'x' }))).toEqual({
      ok: false,
      reason: 'payload: expected object, received string',
    });
  });

  it('creates envelopes with a fresh id and timestamp, and refuses invalid ones', () => {
    const a = createEnvelope({ type: 'task.command', taskId: 'task-1', payload: { step: 1 } });
    const b = createEnvelope({ type: 'task.command', taskId: 'task-1', payload: { step: 2 } });
    expect(a.id).not.toBe(b.id);
    expect(a.schemaVersion).toBe(1);
    expect(Date.parse(a.createdAt)).toBeGreaterThan(Date.now() - 60_000);
    expect(checkEnvelope(a)).toEqual({ ok: true, envelope: a });
    expect(() => createEnvelope({ type: 'x', payload: { a: 1 }, agentType: 'ROBOT' as never })).toThrow(
      InvalidEnvelopeError,
    );
    expect(() => createEnvelope({ type: 'x', payload: { a: 1 }, agentType: 'ROBOT' as never })).toThrow(
      /agentType/,
    );
  });
});
