import { describe, expect, it } from 'vitest';
import {
  allTopicSpecs,
  CommandsTopic,
  deadLetterSpecs,
  Topic,
  topicSpecs,
} from '../../../src/stores/kafka/topics.ts';
import { agentTypes } from '../../../src/task/contract.ts';

const dayMs = 24 * 60 * 60 * 1000;

describe('Kafka topic spec', () => {
  it('has the 14 spec topics and a commands topic per agent type, 5 partitions for the three high-volume ones and 3 for the rest', () => {
    expect(topicSpecs.map((t) => t.name).sort()).toEqual(
      [...Object.values(Topic), ...Object.values(CommandsTopic)].sort(),
    );
    expect(topicSpecs).toHaveLength(18);
    expect(agentTypes.map((type) => CommandsTopic[type])).toEqual([
      'agent.orchestration.commands.monitoring',
      'agent.orchestration.commands.prediction',
      'agent.orchestration.commands.control',
      'agent.orchestration.commands.analysis',
    ]);
    const fivePartitions = topicSpecs.filter((t) => t.partitions === 5).map((t) => t.name);
    expect(fivePartitions.sort()).toEqual([
      'agent.control.actions',
      'agent.monitoring.events',
      'system.metrics',
    ]);
    expect(topicSpecs.filter((t) => t.partitions !== 5).every((t) => t.partitions === 3)).toBe(true);
  });

  it('compresses with snappy, deletes old segments, and keeps each topic between 3 and 30 days', () => {
    for (const spec of allTopicSpecs) {
      expect(spec.config['compression.type']).toBe('snappy');
      expect(spec.config['cleanup.policy']).toBe('delete');
      const retentionMs = Number(spec.config['retention.ms']);
      expect(retentionMs).toBeGreaterThanOrEqual(3 * dayMs);
      expect(retentionMs).toBeLessThanOrEqual(30 * dayMs);
    }
    const retentionDays = (name: string) =>
      Number(allTopicSpecs.find((t) => t.name === name)!.config['retention.ms']) / dayMs;
    expect(retentionDays(Topic.OrchestrationCommands)).toBe(7);
    expect(retentionDays(CommandsTopic.CONTROL)).toBe(7);
    expect(retentionDays(Topic.SystemMetrics)).toBe(3);
    expect(retentionDays(Topic.KnowledgeUpdates)).toBe(30);
  });

  it('gives every topic a dead-letter topic with 1 partition and 30 days of retention', () => {
    expect(deadLetterSpecs.map((t) => t.name)).toEqual(topicSpecs.map((t) => `${t.name}.dlq`));
    for (const dlq of deadLetterSpecs) {
      expect(dlq.partitions).toBe(1);
      expect(Number(dlq.config['retention.ms'])).toBe(30 * dayMs);
    }
    expect(allTopicSpecs).toHaveLength(36);
    expect(new Set(allTopicSpecs.map((t) => t.name)).size).toBe(36);
  });
});
