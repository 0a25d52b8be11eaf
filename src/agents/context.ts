// The context a handler gets: the agent's identity, the process's lazily built store clients, and helpers
// bound to the command (stable effect ids, publishing for the command's task).
import type { AgentCommand, AgentType } from '../task/index.ts';
import { taskMemoryNamespace, uuidFrom } from '../task/ids.ts';
import { createEnvelope } from '../stores/kafka/envelope.ts';
import { search } from '../stores/weaviate/search.ts';
import { createAgentStateStore } from '../stores/redis/agent-state.ts';
import { createLockManager } from '../stores/redis/locks.ts';
import { createSharedMemory } from '../stores/redis/shared-memory.ts';
import { CommandStores, retryDeadlineMs } from './resilient.ts';
import type { AgentStores } from './stores.ts';
import type { AgentContext, AgentLogger } from './types.ts';

export interface AgentIdentity {
  agentId: string;
  agentType: AgentType;
}

/**
 * The context a handler gets for one command. Its store clients retry a call that cannot reach its store
 * until the command's deadline (src/agents/resilient.ts): a store restarting while an agent works delays
 * the answer instead of failing the step.
 */
export function commandContext(
  identity: AgentIdentity,
  stores: AgentStores,
  command: AgentCommand,
  log: AgentLogger,
): AgentContext {
  const { agentId, agentType } = identity;
  const resilient = new CommandStores(stores, retryDeadlineMs(command.deadlineAt), log);
  const prefix = stores.options.redisPrefix;
  return {
    agentId,
    agentType,
    env: stores.env,
    log,
    get prisma() {
      return resilient.prisma;
    },
    get redis() {
      return resilient.redis;
    },
    get agentState() {
      return createAgentStateStore(resilient.redis, { prefix });
    },
    get taskMemory() {
      return createSharedMemory(resilient.redis, { namespace: taskMemoryNamespace(command.taskId), prefix });
    },
    sharedMemory: (namespace) => createSharedMemory(resilient.redis, { namespace, prefix }),
    get locks() {
      return createLockManager(resilient.redis, { prefix });
    },
    get influx() {
      return resilient.influx;
    },
    weaviate: () => resilient.weaviate(),
    collection: (name) => resilient.collection(name),
    memory: () => resilient.memory(agentId),
    search,
    embedder: () => stores.embedder(),
    idFor: (effect) => uuidFrom(`${effect}:${command.commandId}`),
    async publish(topic, message) {
      const envelope = createEnvelope({
        id: message.id,
        type: message.type,
        taskId: command.taskId,
        workflowId: command.workflowId,
        agentId,
        agentType,
        payload: message.payload,
      });
      await resilient.publish(topic, envelope, message.key ? { key: message.key } : {});
      return envelope;
    },
  };
}
