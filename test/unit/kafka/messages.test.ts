import { describe, expect, it } from 'vitest';
import { deadLetterMessage, DeadLetterHeader } from '../../../src/stores/kafka/dead-letter.ts';
import { createEnvelope, InvalidEnvelopeError, type Envelope } from '../../../src/stores/kafka/envelope.ts';
import { MessageHeader, toKafkaMessage } from '../../../src/stores/kafka/producer.ts';

describe('Kafka message for an envelope', () => {
  it('is keyed by taskId, carries the JSON envelope and its id, type and schema version as headers', () => {
    const envelope = createEnvelope({ type: 'task.command', taskId: 'task-9', payload: { step: 1 } });
    const message = toKafkaMessage(envelope);
    expect(message.key).toBe('task-9');
    expect(JSON.parse(String(message.value))).toEqual(envelope);
    expect(message.headers).toEqual({
      [MessageHeader.id]: envelope.id,
      [MessageHeader.type]: 'task.command',
      [MessageHeader.schemaVersion]: '1',
    });
  });

  it('is keyed by the message id without a taskId, and by the given key when there is one', () => {
    const envelope = createEnvelope({ type: 'metric', payload: { cpu: 0.4 } });
    expect(toKafkaMessage(envelope).key).toBe(envelope.id);
    expect(toKafkaMessage(envelope, { key: 'line-1' }).key).toBe('line-1');
  });

  it('refuses an invalid envelope before anything is sent', () => {
    const envelope = createEnvelope({ type: 'metric', payload: { cpu: 0.4 } });
    const broken = { ...envelope, payload: null } as unknown as Envelope;
    expect(() => toKafkaMessage(broken)).toThrow(InvalidEnvelopeError);
    expect(() => toKafkaMessage(broken)).toThrow(/payload: expected object, received null/);
  });
});

describe('dead letter', () => {
  it('keeps the original key, value and headers, and adds the reason and where it came from', () => {
    const value = Buffer.from('not json');
    const message = deadLetterMessage(
      {
        topic: 'user.queries',
        partition: 2,
        groupId: 'orchestrator',
        message: { key: Buffer.from('k'), value, headers: { 'x-trace': 'abc' }, offset: '41' },
      },
      'not JSON: Unexpected token',
      new Date('2025-01-02T03:04:05.000Z'),
    );
    expect(message.key).toEqual(Buffer.from('k'));
    expect(message.value).toBe(value);
    expect(message.headers).toEqual({
      'x-trace': 'abc',
      [DeadLetterHeader.reason]: 'not JSON: Unexpected token',
      [DeadLetterHeader.topic]: 'user.queries',
      [DeadLetterHeader.partition]: '2',
      [DeadLetterHeader.offset]: '41',
      [DeadLetterHeader.groupId]: 'orchestrator',
      [DeadLetterHeader.failedAt]: '2025-01-02T03:04:05.000Z',
    });
  });
});
