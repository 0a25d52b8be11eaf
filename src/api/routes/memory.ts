// Agent memory: each registered agent has its own tenant of AgentMemory in Weaviate; what one agent
// remembers is invisible to every other.
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { isAgentRegistered } from '../../stores/postgres/agents.ts';
import { agentMemory } from '../../stores/weaviate/collections.ts';
import { importObjects } from '../../stores/weaviate/import.ts';
import { agentMemorySpec, type AgentMemory } from '../../stores/weaviate/schema.ts';
import type { ApiDeps } from '../deps.ts';
import { PrismError } from '../../errors.ts';
import { defineRoute } from '../route.ts';
import { agentIdParams, errorSchema } from '../schemas/common.ts';
import {
  memoriesSchema,
  recallQuery,
  rememberBody,
  rememberedSchema,
  type MemoryHit,
} from '../schemas/memory.ts';
import { searchText, vectorOf, weaviateRefused } from '../vectors.ts';

const iso = (d: Date | string | undefined) => (d ? new Date(d).toISOString() : null);

function memoryHit(id: string, score: number | null, p: AgentMemory): MemoryHit {
  return {
    id,
    score,
    memoryType: p.memoryType,
    content: p.content,
    context: p.context ?? null,
    importance: p.importance,
    taskId: p.taskId ?? null,
    createdAt: iso(p.createdAt),
    lastAccessedAt: iso(p.lastAccessedAt),
  };
}

export function memoryRoutes(app: FastifyInstance, deps: ApiDeps): void {
  // Tenants are never created for an unknown agent, so a mistyped id cannot invent a memory.
  const memoryOf = async (agentId: string) => {
    if (!(await isAgentRegistered(deps.prisma, agentId)))
      throw new PrismError(
        'AGENT_NOT_REGISTERED',
        `agent "${agentId}" is not registered: register it first (POST /agents)`,
      );
    return agentMemory(deps.weaviate, agentId, { prefix: deps.env.WEAVIATE_COLLECTION_PREFIX });
  };
  const unknownAgent = { description: 'The agent is not registered', schema: errorSchema };

  defineRoute(app, {
    method: 'POST',
    url: '/agents/:id/memory',
    permission: 'memory:write',
    tags: ['memory'],
    summary: "Add to an agent's memory",
    params: agentIdParams,
    body: rememberBody,
    responses: {
      201: { description: 'Remembered', schema: rememberedSchema },
      404: unknownAgent,
      502: { description: 'Weaviate refused the memory' },
    },
    handler: async (request, reply) => {
      const agentId = request.params.id;
      const { id = randomUUID(), memoryType, content, context, importance, taskId } = request.body;
      const collection = await memoryOf(agentId);
      const now = new Date();
      const properties: AgentMemory = {
        memoryType,
        content,
        ...(context !== undefined ? { context } : {}),
        importance,
        createdAt: now,
        lastAccessedAt: now,
        ...(taskId !== undefined ? { taskId } : {}),
      };
      const { vector } = await vectorOf(deps, agentMemorySpec.embeddingText(properties));
      const report = await importObjects(collection, [{ id, properties, ...(vector ? { vector } : {}) }]);
      if (report.failures.length > 0) throw weaviateRefused('memory', report.failures[0]!.message);
      return reply.code(201).send({ id, agentId, vectorized: vector !== null });
    },
  });

  defineRoute(app, {
    method: 'GET',
    url: '/agents/:id/memory',
    permission: 'memory:read',
    tags: ['memory'],
    summary: "Recall from an agent's memory",
    description:
      'With `q`: the memories that best match it (hybrid by default). Without: the latest memories.',
    params: agentIdParams,
    query: recallQuery,
    responses: { 200: { description: 'Best (or latest) first', schema: memoriesSchema }, 404: unknownAgent },
    handler: async (request) => {
      const agentId = request.params.id;
      const { q, mode, limit, memoryType } = request.query;
      const collection = await memoryOf(agentId);
      if (!q) {
        const latest = await collection.query.fetchObjects({
          limit,
          sort: collection.sort.byProperty('createdAt', false),
          ...(memoryType ? { filters: collection.filter.byProperty('memoryType').equal(memoryType) } : {}),
        });
        return {
          agentId,
          mode: 'latest',
          hits: latest.objects.map((o) => memoryHit(o.uuid, null, o.properties)),
        };
      }
      const result = await searchText(deps, collection, {
        mode,
        query: q,
        limit,
        ...(memoryType ? { filters: { memoryType } } : {}),
      });
      return {
        agentId,
        mode: result.mode,
        hits: result.hits.map((h) => memoryHit(h.id, h.score, h.properties)),
        ...(result.warning ? { warning: result.warning } : {}),
      };
    },
  });
}
