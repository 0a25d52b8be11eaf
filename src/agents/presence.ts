// An agent's presence: its row in PostgreSQL `agents` (what dispatch looks up), its state in Redis, and a
// heartbeat in both every few seconds, so operators and the orchestrator can tell a live agent from a dead one.
import {
  markAgentOffline,
  recordHeartbeat,
  registerAgent,
  type AgentTransport,
} from '../stores/postgres/agents.ts';
import type { AgentStores } from './stores.ts';
import type { AgentDefinition, AgentLogger } from './types.ts';

// Redis keys, Weaviate tenants and the agents.id column all accept this.
const agentIdPattern = /^[A-Za-z0-9_-]{1,64}$/;

export function checkAgentId(agentId: string): void {
  if (!agentIdPattern.test(agentId)) {
    throw new Error(
      `agent id "${agentId}" is invalid: use 1 to 64 letters, digits, _ or - (it names a Redis key and a Weaviate tenant)`,
    );
  }
}

export interface Presence {
  /** Marks the agent OFFLINE in PostgreSQL and Redis. */
  leave(): Promise<void>;
}

export async function announce(options: {
  stores: AgentStores;
  agent: AgentDefinition & { agentId: string };
  transport: AgentTransport;
  taskQueue?: string;
  config: Record<string, string>;
  heartbeatIntervalMs: number;
  log: AgentLogger;
}): Promise<Presence> {
  const { stores, agent, transport, log } = options;
  const { agentId } = agent;
  await registerAgent(stores.prisma, {
    id: agentId,
    name: agent.name ?? `${agent.type} agent ${agentId}`,
    type: agent.type,
    transport,
    taskQueue: options.taskQueue ?? null,
    capabilities: agent.capabilities ?? [],
    description: agent.description ?? null,
    config: options.config,
    version: agent.version ?? null,
  });
  await stores.agentState.setState(agentId, {
    status: 'IDLE',
    currentTask: null,
    fields: { agentType: agent.type, transport },
  });
  await recordHeartbeat(stores.prisma, agentId);

  let beating: Promise<void> | undefined;
  const timer = setInterval(() => {
    // A slow store must not pile up heartbeats: skip a beat while the previous one is still out.
    beating ??= Promise.all([stores.agentState.heartbeat(agentId), recordHeartbeat(stores.prisma, agentId)])
      .then(
        () => undefined,
        (err: unknown) => log.warn(`heartbeat failed: ${(err as Error).message}`),
      )
      .finally(() => {
        beating = undefined;
      });
  }, options.heartbeatIntervalMs);
  timer.unref();

  return {
    async leave() {
      clearInterval(timer);
      await beating;
      const results = await Promise.allSettled([
        markAgentOffline(stores.prisma, agentId),
        stores.agentState.setState(agentId, { status: 'OFFLINE', currentTask: null }),
      ]);
      for (const r of results)
        if (r.status === 'rejected')
          log.warn(`could not mark the agent OFFLINE: ${(r.reason as Error).message}`);
    },
  };
}
