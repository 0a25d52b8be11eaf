// The one message envelope of every topic. Producers validate before sending, consumers after receiving:
// a message that fails goes to the topic's DLQ with the reason this module writes.
import { PrismError } from '../../errors.ts';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { describeProblems, problemsOf } from '../../validation.ts';
import { agentTypes } from '../../task/contract.ts';

/** Who may send an envelope: an agent of one of the types, or the orchestrator itself. */
const senderTypes = [...agentTypes, 'ORCHESTRATOR'] as const;

const id = z.string().min(1);

export const envelopeSchema = z.object({
  /** Unique per message; consumers dedupe on it, so a re-sent message must keep its id. */
  id: z.uuid(),
  /** What the payload is, e.g. `task.command`; consumers dispatch on it. */
  type: z.string().min(1),
  taskId: id.optional(),
  workflowId: id.optional(),
  agentId: id.optional(),
  agentType: z.enum(senderTypes).optional(),
  payload: z.looseObject({}),
  // Offsets are accepted: an agent in Seoul may send +09:00.
  createdAt: z.iso.datetime({ offset: true }),
  schemaVersion: z.literal(1),
});

export type Envelope = z.infer<typeof envelopeSchema>;

export type EnvelopeInput = Omit<Envelope, 'id' | 'createdAt' | 'schemaVersion'> &
  Partial<Pick<Envelope, 'id' | 'createdAt'>>;

/**
 * The largest message value (bytes) a consumer reads, and a producer sends: the broker's default
 * `message.max.bytes` (1 MiB), which a compressed batch may exceed uncompressed. Larger is a dead letter.
 */
export const maxEnvelopeBytes = 1024 * 1024;

export type EnvelopeCheck = { ok: true; envelope: Envelope } | { ok: false; reason: string };

export class InvalidEnvelopeError extends PrismError {
  constructor(readonly reason: string) {
    super(
      'INVALID_ENVELOPE',
      `Invalid message envelope: ${reason}. Fix the message so that it matches envelopeSchema.`,
    );
    this.name = 'InvalidEnvelopeError';
  }
}

/** Validates any value as an envelope; the reason names each failing field (`payload: expected object`). */
export function checkEnvelope(value: unknown): EnvelopeCheck {
  const result = envelopeSchema.safeParse(value, { reportInput: true });
  if (result.success) return { ok: true, envelope: result.data };
  return { ok: false, reason: describeProblems(problemsOf(result.error.issues, '', 'envelope')) };
}

class ProtoKeyError extends PrismError {
  constructor(message: string) {
    super('INVALID_ENVELOPE', message);
    this.name = 'ProtoKeyError';
  }
}

/**
 * A `__proto__` key is refused, as the API's JSON parser refuses it: a JavaScript object cannot hold it as
 * data (the schemas would drop it without a word, and elsewhere it would set the object's prototype).
 */
function refuseProtoKeys(key: string, value: unknown): unknown {
  if (key === '__proto__')
    throw new ProtoKeyError('a key "__proto__" is refused (it cannot be kept as data); rename it');
  return value;
}

/** Decodes a Kafka message value. Never throws: a bad message is a reason, not an exception. */
export function parseEnvelope(raw: Buffer | string | null): EnvelopeCheck {
  if (raw === null || raw.length === 0) return { ok: false, reason: 'empty message (no value)' };
  const bytes = typeof raw === 'string' ? Buffer.byteLength(raw, 'utf8') : raw.length;
  if (bytes > maxEnvelopeBytes) {
    return {
      ok: false,
      reason: `message too large: ${bytes} bytes, at most ${maxEnvelopeBytes}; send large data by reference`,
    };
  }
  let value: unknown;
  try {
    value = JSON.parse(typeof raw === 'string' ? raw : raw.toString('utf8'), refuseProtoKeys);
  } catch (error) {
    if (error instanceof ProtoKeyError) return { ok: false, reason: error.message };
    return { ok: false, reason: `not JSON: ${(error as Error).message}` };
  }
  return checkEnvelope(value);
}

/** A new, valid envelope: fills in id, createdAt and schemaVersion. Throws InvalidEnvelopeError. */
export function createEnvelope(input: EnvelopeInput): Envelope {
  const checked = checkEnvelope({
    ...input,
    id: input.id ?? randomUUID(),
    createdAt: input.createdAt ?? new Date().toISOString(),
    schemaVersion: 1,
  });
  if (!checked.ok) throw new InvalidEnvelopeError(checked.reason);
  return checked.envelope;
}
