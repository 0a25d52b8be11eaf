// The context a handler gets: the agent's identity, the process's lazily built store clients, and helpers
// bound to the command (stable effect ids, publishing for the command's task).
import type { AgentCommand, AgentType } from '../task/index.ts';
import { taskMemoryNamespace, uuidFrom } from '../task/ids.ts';
import { createEnvelope } from '../stores/kafka/envelope.ts';
import { search } from '../stores/weaviate/search.ts';
import type { AgentStores } from './stores.ts';
import type { AgentContext, AgentLogger } from './types.ts';

export interface AgentIdentity {
  agentId: string;
  agentType: AgentType;
}

/** The context a handler gets for one command. */
export function commandContext(
  identity: AgentIdentity,
  stores: AgentStores,
  command: AgentCommand,
  log: AgentLogger,
): AgentContext {
  const { agentId, agentType } = identity;
  return {
    agentId,
    agentType,
    env: stores.env,
    log,
    get prisma() {
      return stores.prisma;
    },
    get redis() {
      return stores.redis;
    },
    get agentState() {
      return stores.agentState;
    },
    get taskMemory() {
      return stores.sharedMemory(taskMemoryNamespace(command.taskId));
    },
    sharedMemory: (namespace) => stores.sharedMemory(namespace),
    get locks() {
      return stores.locks;
    },
    get influx() {
      return stores.influx;
    },
    weaviate: () => stores.weaviate(),
    collection: (name) => stores.collection(name),
    memory: () => stores.memory(agentId),
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
      await (await stores.publisher()).publish(topic, envelope, message.key ? { key: message.key } : {});
      return envelope;
    },
  };
}
