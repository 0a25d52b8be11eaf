// Agent definitions: registration is an upsert (an agent re-registers on every start), heartbeats keep
// `last_heartbeat_at` and the status current, leaving marks it OFFLINE: the one writer of the `agents` table.
import type { PrismaClient } from '../../db/prisma.ts';
import type { Agent, AgentStatus, AgentTransport, AgentType, Prisma } from '../../generated/prisma/client.ts';

export type { Agent, AgentStatus, AgentTransport };

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

/** Marks the agent OFFLINE (it is leaving); an id with no row changes nothing. */
export async function markAgentOffline(prisma: PrismaClient, agentId: string) {
  return prisma.agent.updateMany({ where: { id: agentId }, data: { status: 'OFFLINE' } });
}

export async function isAgentRegistered(prisma: PrismaClient, agentId: string): Promise<boolean> {
  return (await prisma.agent.findUnique({ where: { id: agentId }, select: { id: true } })) !== null;
}

/** The registered agents, by type and id, optionally of one type or status. */
export async function listAgents(prisma: PrismaClient, filter: { type?: AgentType; status?: AgentStatus }) {
  return prisma.agent.findMany({
    where: {
      ...(filter.type ? { type: filter.type } : {}),
      ...(filter.status ? { status: filter.status } : {}),
    },
    orderBy: [{ type: 'asc' }, { id: 'asc' }],
  });
}

/** How many agents of each type are up (ONLINE or DEGRADED) and heard from within `aliveWithinMs`. */
export async function countAliveAgents(
  prisma: PrismaClient,
  aliveWithinMs: number,
): Promise<{ type: string; alive: bigint }[]> {
  return prisma.$queryRaw<{ type: string; alive: bigint }[]>`
    SELECT type::text AS type, count(*) AS alive FROM agents
    WHERE status IN ('ONLINE', 'DEGRADED')
      AND last_heartbeat_at >= now() - make_interval(secs => ${aliveWithinMs / 1000}::float8)
    GROUP BY type`;
}
