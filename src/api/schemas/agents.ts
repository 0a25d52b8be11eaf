// Agent registration and listing.
import { z } from 'zod';
import { agentTypes } from '../../task/index.ts';
import { jsonObject, storable } from '../../validation.ts';
import { agentIdSchema, timestamp } from './common.ts';

export const agentTypeSchema = z.enum(agentTypes);
export const agentTransportSchema = z
  .enum(['TEMPORAL', 'KAFKA'])
  .describe('TEMPORAL: an activity worker on its own task queue; KAFKA: any process on the command topics');
export const agentStatusSchema = z.enum(['ONLINE', 'OFFLINE', 'DEGRADED', 'DISABLED']);

export const registerAgentBody = z.strictObject({
  id: agentIdSchema,
  name: storable(z.string().min(1).max(200)),
  type: agentTypeSchema,
  transport: agentTransportSchema,
  taskQueue: storable(z.string().min(1).max(200))
    .optional()
    .describe('Temporal agents only; default `prism-agent-<type>`'),
  capabilities: z
    .array(storable(z.string().min(1).max(100)))
    .max(100)
    .optional(),
  description: storable(z.string().max(4000)).optional(),
  config: jsonObject(64 * 1024).optional(),
  version: storable(z.string().max(50)).optional(),
});
export type RegisterAgentBody = z.input<typeof registerAgentBody>;

export const agentSchema = z.object({
  id: z.string(),
  name: z.string(),
  type: agentTypeSchema,
  transport: agentTransportSchema,
  taskQueue: z.string().nullable(),
  capabilities: z.array(z.string()),
  description: z.string().nullable(),
  config: z.unknown(),
  status: agentStatusSchema,
  version: z.string().nullable(),
  lastHeartbeatAt: timestamp.nullable(),
  createdAt: timestamp,
  updatedAt: timestamp,
});
export type AgentInfo = z.infer<typeof agentSchema>;

export const listAgentsQuery = z.strictObject({
  type: agentTypeSchema.optional(),
  status: agentStatusSchema.optional(),
});
export type ListAgentsQuery = z.input<typeof listAgentsQuery>;

export const agentListSchema = z.object({ agents: z.array(agentSchema) });
