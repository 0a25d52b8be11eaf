// An agent process's own Prometheus metrics (served on /metrics by `prism agent run --metrics-port`): the
// commands it handled and how long they took, by agent type and outcome, and the commands it did not run
// again because it had answered them already (a redelivery, a retry).
import { Counter, Histogram, type Registry } from 'prom-client';
import { createMetrics } from '../metrics.ts';

const durationBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

export function createAgentMetrics(registry: Registry = createMetrics('agent').registry) {
  return {
    registry,
    commands: new Counter({
      name: 'prism_agent_commands_total',
      help: 'Commands an agent answered, by agent type and outcome (SUCCESS, FAILED)',
      labelNames: ['agent_type', 'outcome'] as const,
      registers: [registry],
    }),
    commandDuration: new Histogram({
      name: 'prism_agent_command_duration_seconds',
      help: "Time an agent's handler took for a command, by agent type and outcome",
      labelNames: ['agent_type', 'outcome'] as const,
      buckets: durationBuckets,
      registers: [registry],
    }),
    dedupeHits: new Counter({
      name: 'prism_agent_dedupe_hits_total',
      help: 'Commands delivered again that the agent answered from memory instead of running twice',
      labelNames: ['agent_type'] as const,
      registers: [registry],
    }),
  };
}

export type AgentMetrics = ReturnType<typeof createAgentMetrics>;
