// The agent runtime. For every command, whichever transport brought it (spec 4.1, steps 4–6):
//   4. the agent's state in Redis becomes BUSY, with the task as currentTask;
//   5. the handler does the work with the stores (searching Weaviate, reading InfluxDB, ...);
//   6. the answer is an AgentResponse, SUCCESS with the handler's result or FAILED with its reason, and is
//      published on `agent.orchestration.responses` (Kafka agents; Temporal agents also return it);
// then the state goes back to IDLE. Both transports register the agent in PostgreSQL on start, heartbeat in
// Redis and PostgreSQL every few seconds, and mark it OFFLINE when stopped.
//   - runKafkaAgent:    consumes `agent.orchestration.commands` (group `prism-agents-<type>`);
//   - runTemporalAgent: an activity worker on `prism-agent-<type>` with the activity `runAgentCommand`.
export { executeCommand, responseEnvelope, responseIdFor, CommandTracker } from './execute.ts';
export { commandContext, type AgentIdentity } from './context.ts';
export { runKafkaAgent, agentConsumerGroup, type KafkaAgentOptions } from './kafka-transport.ts';
export { runTemporalAgent, type TemporalAgentOptions, type AgentActivities } from './temporal-transport.ts';
export { AgentStores } from './stores.ts';
export type { AgentContext, AgentHandler, AgentOptions, RunningAgent } from './types.ts';
