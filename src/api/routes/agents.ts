// Agents: registration (an upsert: an agent re-registers on every start) and listing.
import type { FastifyInstance } from 'fastify';
import { listAgents, registerAgent, type Agent } from '../../stores/postgres/agents.ts';
import type { ApiDeps } from '../deps.ts';
import { defineRoute } from '../route.ts';
import { agentListSchema, agentSchema, listAgentsQuery, registerAgentBody } from '../schemas/agents.ts';
import type { AgentInfo } from '../schemas/agents.ts';

export function agentInfo(agent: Agent): AgentInfo {
  return {
    id: agent.id,
    name: agent.name,
    type: agent.type,
    transport: agent.transport,
    taskQueue: agent.taskQueue,
    capabilities: agent.capabilities,
    description: agent.description,
    config: agent.config,
    status: agent.status,
    version: agent.version,
    lastHeartbeatAt: agent.lastHeartbeatAt?.toISOString() ?? null,
    createdAt: agent.createdAt.toISOString(),
    updatedAt: agent.updatedAt.toISOString(),
  };
}

export function agentRoutes(app: FastifyInstance, deps: ApiDeps): void {
  defineRoute(app, {
    method: 'POST',
    url: '/agents',
    permission: 'agents:register',
    tags: ['agents'],
    summary: 'Register an agent (or update its registration)',
    description:
      'Registering the same id again updates it. The orchestrator dispatches only to registered agent types; ' +
      'the agent reports liveness with heartbeats.',
    body: registerAgentBody,
    responses: { 200: { description: 'The agent as registered', schema: agentSchema } },
    handler: async (request) => {
      const { config, ...agent } = request.body;
      return agentInfo(await registerAgent(deps.prisma, { ...agent, config: config as object | undefined }));
    },
  });

  defineRoute(app, {
    method: 'GET',
    url: '/agents',
    permission: 'agents:read',
    tags: ['agents'],
    summary: 'List registered agents',
    query: listAgentsQuery,
    responses: { 200: { description: 'The agents, by type and id', schema: agentListSchema } },
    handler: async (request) => {
      const { type, status } = request.query;
      const agents = await listAgents(deps.prisma, { type, status });
      return { agents: agents.map(agentInfo) };
    },
  });
}
