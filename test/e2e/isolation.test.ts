// The tests run beside a system that `deploy.sh` / `prism up` may have started on the same services. They
// must not take its work nor give it theirs: a task of the tests' deployment (test/environment.ts) runs with
// a worker and an agent of its own, and nothing of it reaches the system's Temporal namespace or topics.
// (Before the tests had a deployment of their own, the system's worker and agents took their tasks.)
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { agentConsumerGroup, runKafkaAgent } from '../../src/agents/kafka-transport.ts';
import { silentLogger } from '../../src/agents/logger.ts';
import type { RunningAgent } from '../../src/agents/types.ts';
import { createKafka, kafkaName } from '../../src/clients/kafka.ts';
import { connectTemporal } from '../../src/clients/temporal.ts';
import { parseConfig, rawEnvironment, type Env } from '../../src/config.ts';
import { createPrisma } from '../../src/db/prisma.ts';
import { commandIdFor, taskIdFor } from '../../src/task/ids.ts';
import { startTask, waitForTask } from '../../src/task/client.ts';
import { silentProgress } from '../../src/progress.ts';
import { provisionKafka } from '../../src/stores/kafka/provision.ts';
import {
  CommandsTopic,
  commandTopicsOf,
  Topic,
  topicSpecs,
  type TopicName,
} from '../../src/stores/kafka/topics.ts';
import type { RunningWorker } from '../../src/worker/index.ts';
import { testEnvironment } from '../environment.ts';
import { tailTopic, type TopicTail } from '../integration/agents/support.ts';
import { env, testId } from '../helpers.ts';
import { startTestWorker } from './support.ts';

/** The configuration a `prism up` on this machine uses: this process's, without the tests' own values. */
function systemConfig(): Env {
  const raw = rawEnvironment();
  for (const name of Object.keys(testEnvironment)) delete raw[name];
  return parseConfig(raw);
}

/** Every live resource a deployment owns on the shared services. */
const resourcesOf = (e: Env) => ({
  temporalNamespace: e.TEMPORAL_NAMESPACE,
  kafkaTopic: kafkaName(createKafka(e), Topic.OrchestrationCommands),
  kafkaTypedTopic: kafkaName(createKafka(e), CommandsTopic.ANALYSIS),
  kafkaGroup: kafkaName(createKafka(e), agentConsumerGroup('MONITORING')),
  postgresDatabase: e.POSTGRES_DB,
  redisDatabase: e.REDIS_DB,
  influxDatabase: e.INFLUX_BUCKET,
  weaviateCollection: `${e.WEAVIATE_COLLECTION_PREFIX}AgentMemory`,
  apiPort: e.API_PORT,
  workerMetricsPort: e.WORKER_METRICS_PORT,
  maintenanceMetricsPort: e.MAINTENANCE_METRICS_PORT,
  taskQueue: e.TEMPORAL_TASK_QUEUE,
  maintenanceQueue: e.TEMPORAL_MAINTENANCE_TASK_QUEUE,
  agentMetricsPort: e.AGENT_METRICS_PORT,
});

describe('the tests and a running system share the services, never the work', () => {
  const system = systemConfig();

  it('own a namespace, topics, groups, databases, collections and ports apart from the system', () => {
    const mine = resourcesOf(env);
    const theirs = resourcesOf(system);
    for (const key of Object.keys(mine) as (keyof typeof mine)[]) {
      expect(mine[key], key).not.toEqual(theirs[key]);
    }
  });

  describe('a task of the tests', () => {
    const prisma = createPrisma(env);
    const agentId = `isolation-${randomUUID().slice(0, 8)}`;
    const requestId = testId('isolation');
    let worker: RunningWorker;
    let agent: RunningAgent;
    let temporal: Client;
    let systemTemporal: Client;
    let mineTail: TopicTail;
    let systemTail: TopicTail;

    beforeAll(async () => {
      // The system's topics exist once `prism up` has run; provisioning is idempotent, so make sure.
      await provisionKafka(system, silentProgress, {
        topics: topicSpecs.filter((s) => commandTopicsOf('ANALYSIS').includes(s.name as TopicName)),
      });
      [temporal, systemTemporal, worker, mineTail, systemTail] = await Promise.all([
        connectTemporal(env),
        connectTemporal(system),
        startTestWorker(),
        // The command goes on the type's own topic or the shared one (docs/kafka.md): watch both.
        tailTopic(createKafka(env), commandTopicsOf('ANALYSIS')),
        tailTopic(createKafka(system), commandTopicsOf('ANALYSIS')),
      ]);
      agent = await runKafkaAgent({
        type: 'ANALYSIS',
        env,
        agentId,
        log: silentLogger,
        handler: async () => ({ summary: 'isolated' }),
      });
    }, 120_000);

    afterAll(async () => {
      await agent?.stop();
      await worker?.stop();
      await Promise.all([mineTail?.stop(), systemTail?.stop()]);
      await Promise.all([temporal?.connection.close(), systemTemporal?.connection.close()]);
      await prisma.task.deleteMany({ where: { requestId } });
      await prisma.agent.deleteMany({ where: { id: agentId } });
      await prisma.$disconnect();
    });

    it('runs on the tests’ worker and agent, and nothing of it reaches the system', async () => {
      const { workflowId } = await startTask(temporal, env, {
        requestId,
        query: 'summarise the isolation check',
        agentType: 'ANALYSIS',
      });
      const outcome = await waitForTask(temporal, workflowId);
      expect(outcome.status).toBe('COMPLETED');
      expect(outcome.results.main).toMatchObject({ agentId, result: { summary: 'isolated' } });

      const commandId = commandIdFor(taskIdFor(requestId), 'main');
      await mineTail.byId(commandId, 10_000);
      expect(systemTail.envelopes.filter((e) => e.id === commandId)).toEqual([]);
      await expect(systemTemporal.workflow.getHandle(workflowId).describe()).rejects.toBeInstanceOf(
        WorkflowNotFoundError,
      );
      const database = await prisma.$queryRaw<{ db: string }[]>`SELECT current_database() AS db`;
      expect(database).toEqual([{ db: env.POSTGRES_DB }]);
      expect(await prisma.task.count({ where: { requestId } })).toBe(1);
    });
  });
});
