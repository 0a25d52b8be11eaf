// Schemas shared by every route.
import { z } from 'zod';
import { storable } from '../../validation.ts';

export const errorSchema = z
  .object({
    error: z.string().describe('The HTTP status text, e.g. "Bad Request"'),
    code: z
      .string()
      .describe('What went wrong as a stable code, e.g. `TASK_NOT_FOUND` (docs/errors.md lists them)'),
    message: z.string().describe('What went wrong and what to do about it'),
    fields: z
      .array(z.object({ field: z.string(), message: z.string() }))
      .optional()
      .describe('Invalid input only: each failing field, e.g. `body.query`'),
    requestId: z
      .string()
      .optional()
      .describe('Server errors only: the id under which the server logged what went wrong'),
  })
  .describe('An error');

/** A task is found by its task id (UUID), its request id or its workflow id (`task-<requestId>`). */
export const taskIdParams = z.strictObject({
  id: storable(z.string().min(1).max(255)).describe('Task id (UUID), request id, or workflow id'),
});

// Agent ids name the agent's Weaviate memory tenant, so they follow Weaviate's tenant-name rule.
export const agentIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, '1 to 64 letters, digits, _ or -')
  .describe('Stable agent id, e.g. `monitoring-agent-1`');

export const agentIdParams = z.strictObject({ id: agentIdSchema });

export const searchModeSchema = z
  .enum(['bm25', 'hybrid', 'vector'])
  .describe('bm25: keywords; vector: meaning (GloVe word vectors); hybrid: both fused');

// Query strings are text: coerced, but typed as the number clients pass.
export const limitSchema = z.coerce.number<number>().int().min(1).max(100).default(10);

/** A timestamp in JSON: ISO 8601. */
export const timestamp = z.iso.datetime({ offset: true });
