// Agent memory: one Weaviate tenant of AgentMemory per agent.
import { z } from 'zod';
import { memoryTypes } from '../../stores/weaviate/schema.ts';
import { nonBlankText, storable } from '../../validation.ts';
import { limitSchema, searchModeSchema, timestamp } from './common.ts';

export const memoryTypeSchema = z.enum(memoryTypes);

export const rememberBody = z.strictObject({
  id: z.uuid().optional().describe('Your id for the memory: writing the same id again replaces it'),
  memoryType: memoryTypeSchema,
  content: nonBlankText(20_000),
  context: storable(z.string().max(20_000)).optional(),
  importance: z.number().min(0).max(1).default(0.5).describe('0 (forgettable) to 1 (essential)'),
  taskId: storable(z.string().max(255)).optional(),
});
export type RememberBody = z.input<typeof rememberBody>;

export const rememberedSchema = z.object({
  id: z.uuid(),
  agentId: z.string(),
  vectorized: z.boolean(),
});
export type Remembered = z.infer<typeof rememberedSchema>;

export const recallQuery = z.strictObject({
  q: nonBlankText(1000).optional().describe('What to recall; without it, the latest memories'),
  mode: searchModeSchema.default('hybrid'),
  limit: limitSchema,
  memoryType: memoryTypeSchema.optional(),
});
export type RecallQuery = z.input<typeof recallQuery>;

export const memoryHitSchema = z.object({
  id: z.uuid(),
  score: z.number().nullable(),
  memoryType: z.string(),
  content: z.string(),
  context: z.string().nullable(),
  importance: z.number(),
  taskId: z.string().nullable(),
  createdAt: timestamp.nullable(),
  lastAccessedAt: timestamp.nullable(),
});
export type MemoryHit = z.infer<typeof memoryHitSchema>;

export const memoriesSchema = z.object({
  agentId: z.string(),
  mode: z.enum(['bm25', 'hybrid', 'vector', 'latest']),
  hits: z.array(memoryHitSchema),
  warning: z.string().optional(),
});
export type Memories = z.infer<typeof memoriesSchema>;
