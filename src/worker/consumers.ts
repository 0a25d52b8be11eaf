// What the flow's Kafka consumers (ingress, bridge) share: Redis dedupe per group, dead letters, three
// partitions at once, and their outcomes counted in the process's metrics.
import type { Kafka, Producer } from 'kafkajs';
import type { Redis } from 'ioredis';
import type { Metrics } from '../metrics.ts';
import { runConsumer, type RunConsumerOptions, type RunningConsumer } from '../stores/kafka/consumer.ts';
import { redisDedupeStore } from '../stores/kafka/dedupe.ts';
import type { Tracer } from '../tracing.ts';

export interface FlowConsumerDeps {
  kafka: Kafka;
  redis: Redis;
  dlqProducer: Producer;
  metrics?: Metrics;
  /** Each message handled is a span that continues its sender's trace (src/tracing.ts). */
  tracer?: Tracer;
}

export function runFlowConsumer(
  deps: FlowConsumerDeps,
  options: Pick<RunConsumerOptions, 'groupId' | 'topics' | 'handler' | 'fromBeginning'>,
): Promise<RunningConsumer> {
  return runConsumer({
    kafka: deps.kafka,
    dedupe: redisDedupeStore(deps.redis, { groupId: options.groupId }),
    dlqProducer: deps.dlqProducer,
    partitionsConsumedConcurrently: 3,
    tracer: deps.tracer,
    onOutcome: (o) =>
      deps.metrics?.messagesConsumed.inc({ topic: o.topic, outcome: o.kind.replace('-', '_') }),
    ...options,
  });
}
