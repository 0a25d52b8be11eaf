// The spec's 14 Kafka topics, each agent type's own commands topic, their partitions and retention, and one
// dead-letter topic for each. `provisionKafka` creates exactly these; docs/kafka.md explains who produces and
// consumes each.
import type { AgentType } from '../../task/contract.ts';

/** The spec's topics, by role. Use these constants instead of string literals. */
export const Topic = {
  OrchestrationCommands: 'agent.orchestration.commands',
  OrchestrationResponses: 'agent.orchestration.responses',
  MonitoringEvents: 'agent.monitoring.events',
  MonitoringAlerts: 'agent.monitoring.alerts',
  PredictionRequests: 'agent.prediction.requests',
  PredictionResults: 'agent.prediction.results',
  ControlActions: 'agent.control.actions',
  ControlFeedback: 'agent.control.feedback',
  UserQueries: 'user.queries',
  UserFeedback: 'user.feedback',
  SystemMetrics: 'system.metrics',
  SystemLogs: 'system.logs',
  ConstraintsViolations: 'constraints.violations',
  KnowledgeUpdates: 'knowledge.updates',
} as const;

/**
 * Each agent type's own commands: `agent.orchestration.commands.<type in lower case>`. The orchestrator sends
 * a type's commands here once every agent of the type reads it (it says so when it registers), so a type's
 * consumer group fetches only its own commands, not every type's; otherwise on the spec's shared
 * `agent.orchestration.commands` (docs/agent-protocol.md).
 */
export const CommandsTopic = {
  MONITORING: 'agent.orchestration.commands.monitoring',
  PREDICTION: 'agent.orchestration.commands.prediction',
  CONTROL: 'agent.orchestration.commands.control',
  ANALYSIS: 'agent.orchestration.commands.analysis',
} as const satisfies Record<AgentType, string>;

export type TopicName = (typeof Topic)[keyof typeof Topic] | (typeof CommandsTopic)[AgentType];

/** Where an agent of `type` may find its commands: its type's own topic, then the shared one. */
export function commandTopicsOf(type: AgentType): [TopicName, TopicName] {
  return [CommandsTopic[type], Topic.OrchestrationCommands];
}

export interface TopicSpec {
  readonly name: string;
  readonly partitions: number;
  /** Topic-level overrides, as Kafka names them (`retention.ms`, ...). */
  readonly config: Readonly<Record<string, string>>;
}

const dayMs = 24 * 60 * 60 * 1000;

/** The suffix of every dead-letter topic: `<topic>.dlq`. */
export const deadLetterSuffix = '.dlq';

export function deadLetterTopic(topic: string): string {
  return `${topic}${deadLetterSuffix}`;
}

function topicConfig(retentionDays: number): Record<string, string> {
  return {
    // Set on the topic (not only by producers) so data written by any client is stored compressed.
    'compression.type': 'snappy',
    'retention.ms': String(retentionDays * dayMs),
    'cleanup.policy': 'delete',
  };
}

// The three high-volume streams get 5 partitions (as in the reference implementation), the rest 3.
// Retention is how long a message can be replayed from Kafka; the durable record of each kind of data
// lives in PostgreSQL or InfluxDB, so Kafka keeps only what a consumer might need to catch up or replay.
const specs: Record<TopicName, { partitions: number; retentionDays: number }> = {
  // A task's command and answer are replayable for a week: an agent that was down over a weekend catches up.
  'agent.orchestration.commands': { partitions: 3, retentionDays: 7 },
  'agent.orchestration.commands.monitoring': { partitions: 3, retentionDays: 7 },
  'agent.orchestration.commands.prediction': { partitions: 3, retentionDays: 7 },
  'agent.orchestration.commands.control': { partitions: 3, retentionDays: 7 },
  'agent.orchestration.commands.analysis': { partitions: 3, retentionDays: 7 },
  'agent.orchestration.responses': { partitions: 3, retentionDays: 7 },
  // Raw monitoring events are high-volume and also land in InfluxDB: 3 days covers a consumer outage.
  'agent.monitoring.events': { partitions: 5, retentionDays: 3 },
  // Alerts are rarer and matter in incident reviews: two weeks.
  'agent.monitoring.alerts': { partitions: 3, retentionDays: 14 },
  'agent.prediction.requests': { partitions: 3, retentionDays: 7 },
  'agent.prediction.results': { partitions: 3, retentionDays: 7 },
  // Actions on machines and their feedback are a safety trail: kept as long as alerts.
  'agent.control.actions': { partitions: 5, retentionDays: 14 },
  'agent.control.feedback': { partitions: 3, retentionDays: 14 },
  // Queries become tasks in PostgreSQL at once; a week is enough to replay a missed one.
  'user.queries': { partitions: 3, retentionDays: 7 },
  // Feedback is low-volume and feeds later re-training and review: a month.
  'user.feedback': { partitions: 3, retentionDays: 30 },
  // Metrics and logs are high-volume, and metrics are kept long-term in InfluxDB: 3 days.
  'system.metrics': { partitions: 5, retentionDays: 3 },
  'system.logs': { partitions: 3, retentionDays: 3 },
  // Violations are audited (safety, policy): a month, like the other audit-worthy topics.
  'constraints.violations': { partitions: 3, retentionDays: 30 },
  // A knowledge re-indexer may need to replay a month of updates to rebuild Weaviate.
  'knowledge.updates': { partitions: 3, retentionDays: 30 },
};

/** The 14 spec topics and the 4 agent types' commands topics. */
export const topicSpecs: readonly TopicSpec[] = Object.entries(specs).map(([name, s]) => ({
  name,
  partitions: s.partitions,
  config: topicConfig(s.retentionDays),
}));

// Every topic is consumed by someone, so each has a DLQ. Dead letters are rare and read by hand:
// one partition keeps them in arrival order, and 30 days leaves time to investigate and replay.
export const deadLetterSpecs: readonly TopicSpec[] = topicSpecs.map((spec) => ({
  name: deadLetterTopic(spec.name),
  partitions: 1,
  config: topicConfig(30),
}));

/** Everything `provisionKafka` creates by default: the 18 topics and their 18 dead-letter topics. */
export const allTopicSpecs: readonly TopicSpec[] = [...topicSpecs, ...deadLetterSpecs];
