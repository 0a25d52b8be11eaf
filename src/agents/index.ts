// The agent SDK: write an agent as a handler, run it on Kafka or as a Temporal-native worker.
//
//   const agent = defineAgent({ type: 'MONITORING', handler: async (command, ctx) => ({ ... }) });
//   await runAgent({ ...agent, transport: 'temporal' });
//
// docs/agents.md shows a complete agent; docs/agent-protocol.md the Kafka protocol for other languages.
import { hostname } from 'node:os';
import { loadConfig, type Env } from '../config.ts';
import { agentTypes, isAgentType, type AgentType } from '../task/index.ts';
import { runKafkaAgent } from './kafka-transport.ts';
import { runTemporalAgent } from './temporal-transport.ts';
import type { AgentDefinition, AgentOptions, RunningAgent } from './types.ts';

export * from './types.ts';
export { parseParameters, effectiveParameters, InvalidParametersError } from './parameters.ts';
export { consoleLogger, silentLogger } from './logger.ts';
export { runKafkaAgent, agentConsumerGroup, type KafkaAgentOptions } from './kafka-transport.ts';
export { runTemporalAgent, type TemporalAgentOptions } from './temporal-transport.ts';
export { responseIdFor } from './execute.ts';

export const transports = ['kafka', 'temporal'] as const;
export type Transport = (typeof transports)[number];

/** Checks an agent definition once, where it is written, and returns it. */
export function defineAgent(definition: AgentDefinition): AgentDefinition {
  if (!isAgentType(definition.type)) {
    throw new Error(
      `agent type "${String(definition.type)}" is unknown: use one of ${agentTypes.join(', ')}`,
    );
  }
  if (typeof definition.handler !== 'function')
    throw new Error(`the ${definition.type} agent needs a handler function`);
  return { ...definition };
}

/** `<type>-agent-<host>`, e.g. `monitoring-agent-line1-pc`: stable across restarts of the same machine. */
export function defaultAgentId(type: AgentType, host = hostname()): string {
  const safeHost = host.replace(/[^A-Za-z0-9_-]+/g, '-').replace(/^-+|-+$/g, '') || 'host';
  return `${type.toLowerCase()}-agent-${safeHost}`.slice(0, 64);
}

export type RunAgentOptions = Omit<AgentOptions, 'env' | 'agentId'> & {
  transport: Transport;
  /** Default: the configuration of this process (environment, .env). */
  env?: Env;
  /** Default `defaultAgentId(type)`. */
  agentId?: string;
  /** Kafka: the consumer group. Temporal: ignored. */
  groupId?: string;
  /** Temporal: the task queue (default `prism-agent-<type>`). Kafka: ignored. */
  taskQueue?: string;
  /** Stop the agent on SIGINT and SIGTERM. Default true. */
  handleSignals?: boolean;
};

/** Runs an agent until it is stopped (by default on SIGINT or SIGTERM). Resolves once it is ready. */
export async function runAgent(options: RunAgentOptions): Promise<RunningAgent> {
  if (!(transports as readonly string[]).includes(options.transport)) {
    throw new Error(`transport "${String(options.transport)}" is unknown: use kafka or temporal`);
  }
  const { transport, handleSignals, ...rest } = options;
  const common = {
    ...rest,
    env: options.env ?? loadConfig('agent'),
    agentId: options.agentId ?? defaultAgentId(options.type),
  };
  const agent = transport === 'kafka' ? await runKafkaAgent(common) : await runTemporalAgent(common);
  if (handleSignals !== false) stopOnSignals(agent);
  return agent;
}

/**
 * Stops a running agent (or worker) gracefully on SIGINT or SIGTERM — an agent finishes the command in
 * hand, then goes OFFLINE — and stops listening once it is done.
 */
export function stopOnSignals(agent: Pick<RunningAgent, 'stop' | 'done'>): void {
  const stop = () => void agent.stop();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const remove = () => {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  };
  agent.done.then(remove, remove);
}
