// Checks shared by both transports before an agent starts, so a typo fails at once with what to fix.
import { agentTypes, isAgentType } from '../task/index.ts';
import { consoleLogger } from './logger.ts';
import { checkAgentId } from './presence.ts';
import { AgentStores } from './stores.ts';
import type { AgentMetrics } from './metrics.ts';
import type { AgentLogger, AgentOptions } from './types.ts';
import { tracingFor } from '../tracing.ts';

export interface PreparedAgent {
  stores: AgentStores;
  log: AgentLogger;
  heartbeatIntervalMs: number;
  concurrency: number;
  metrics?: AgentMetrics;
}

export function prepareAgent(options: AgentOptions): PreparedAgent {
  checkAgentId(options.agentId);
  if (!isAgentType(options.type)) {
    throw new Error(`agent type "${String(options.type)}" is unknown: use one of ${agentTypes.join(', ')}`);
  }
  if (typeof options.handler !== 'function')
    throw new Error(`the ${options.type} agent has no handler function`);
  const heartbeatIntervalMs = options.heartbeatIntervalMs ?? 5_000;
  const concurrency = options.concurrency ?? 1;
  if (!Number.isInteger(heartbeatIntervalMs) || heartbeatIntervalMs < 100) {
    throw new Error(
      `heartbeatIntervalMs ${heartbeatIntervalMs} is invalid: use a whole number of ms, at least 100`,
    );
  }
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 100) {
    throw new Error(`concurrency ${concurrency} is invalid: use a whole number from 1 to 100`);
  }
  return {
    stores: new AgentStores(options.env, {
      redisPrefix: options.redisPrefix,
      weaviatePrefix: options.weaviatePrefix,
      // Each agent type is a service of its own in the trace store.
      tracing: tracingFor(options.env, `prism-agent-${options.type.toLowerCase()}`),
    }),
    log: options.log ?? consoleLogger(options.agentId),
    heartbeatIntervalMs,
    concurrency,
    ...(options.metrics ? { metrics: options.metrics } : {}),
  };
}
