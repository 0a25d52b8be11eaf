import { createHash } from 'node:crypto';

// A fixed namespace for the product's name-based UUIDs (RFC 9562 version 5).
const namespace = Buffer.from('6f0a3c52e1b44b0f9b3e8d2a7c1e5f90', 'hex');

/** The same name always gives the same UUID: ids of retried steps stay the same, so their effects dedupe. */
export function uuidFrom(name: string): string {
  const hash = createHash('sha1').update(namespace).update(name).digest();
  hash[6] = (hash[6]! & 0x0f) | 0x50;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const h = hash.subarray(0, 16).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** A UUID in its usual text form (any version). */
export const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const taskIdFor = (requestId: string) => uuidFrom(`task:${requestId}`);
export const planIdFor = (taskId: string) => uuidFrom(`plan:${taskId}`);
export const subtaskIdFor = (taskId: string, stepKey: string) => uuidFrom(`subtask:${taskId}:${stepKey}`);
export const commandIdFor = (taskId: string, stepKey: string) => uuidFrom(`command:${taskId}:${stepKey}`);
