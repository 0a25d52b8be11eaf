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
