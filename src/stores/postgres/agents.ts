// Agent definitions: registration is an upsert (an agent re-registers on every start), heartbeats keep
// `last_heartbeat_at` and the status current.
import type { PrismaClient } from '../../db/prisma.ts';
import type { AgentTransport, AgentType, Prisma } from '../../generated/prisma/client.ts';

export interface AgentRegistration {
  id: string;
  name: string;
  type: AgentType;
  transport: AgentTransport;
  taskQueue?: string | null;
  capabilities?: string[];
  description?: string | null;
  config?: Prisma.InputJsonValue;
  version?: string | null;
}

export async function registerAgent(prisma: PrismaClient, agent: AgentRegistration) {
  const data = {
    name: agent.name,
    type: agent.type,
    transport: agent.transport,
    taskQueue: agent.taskQueue ?? null,
    capabilities: agent.capabilities ?? [],
    description: agent.description ?? null,
    config: agent.config ?? {},
    version: agent.version ?? null,
  };
  return prisma.agent.upsert({ where: { id: agent.id }, create: { id: agent.id, ...data }, update: data });
}

export async function recordHeartbeat(prisma: PrismaClient, agentId: string, at = new Date()) {
  return prisma.agent.update({ where: { id: agentId }, data: { lastHeartbeatAt: at, status: 'ONLINE' } });
}

/** Agents of a type that can take work: enabled and heard from within `freshMs`. */
export async function availableAgents(prisma: PrismaClient, type: AgentType, freshMs = 60_000) {
  return prisma.agent.findMany({
    where: {
      type,
      status: { in: ['ONLINE', 'DEGRADED'] },
      lastHeartbeatAt: { gte: new Date(Date.now() - freshMs) },
    },
    orderBy: { lastHeartbeatAt: 'desc' },
  });
}
