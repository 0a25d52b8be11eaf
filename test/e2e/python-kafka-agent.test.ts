// An agent in another language, written from docs/agent-protocol.md alone: the Python block of "A Python agent
// in 40 lines", run as it is (confluent-kafka, i.e. librdkafka, and psycopg from PyPI, in the tests'
// virtualenv, test/e2e/python-venv.ts), beside a TypeScript agent of the same type in the same
// consumer group. Both must get commands: the group's members agree on Kafka's `range` assignment
// (src/stores/kafka/range-assigner.ts) — with kafkajs's own assigner alone, the Python member was refused
// with INCONSISTENT_GROUP_PROTOCOL and never joined.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@temporalio/client';
import { agentConsumerGroup, runKafkaAgent } from '../../src/agents/kafka-transport.ts';
import { silentLogger } from '../../src/agents/logger.ts';
import type { RunningAgent } from '../../src/agents/types.ts';
import { createKafka, kafkaName } from '../../src/clients/kafka.ts';
import { connectTemporal } from '../../src/clients/temporal.ts';
import { createPrisma } from '../../src/db/prisma.ts';
import { startTask, waitForTask } from '../../src/task/client.ts';
import { taskIdFor } from '../../src/task/ids.ts';
import type { RunningWorker } from '../../src/worker/index.ts';
import { env, testId } from '../helpers.ts';
import { ensurePythonPackages, pythonVenv, venvBin } from './python-venv.ts';
import { startTestWorker, waitFor } from './support.ts';

const { Partitioners } = kafkajs;
const python = venvBin('python');

/** The Python block of the docs' "A Python agent" section, unchanged. */
function documentedAgent(): string {
  const doc = readFileSync(new URL('../../docs/agent-protocol.md', import.meta.url), 'utf8');
  const section = doc.slice(doc.indexOf('## A Python agent in'));
  const block = /```python\n([\s\S]*?)```/.exec(section);
  if (!block) throw new Error('docs/agent-protocol.md has no Python block under "A Python agent in …"');
  return block[1]!;
}

/** The partition of the commands topics (3 partitions) a task's command goes to: its key is the task id. */
const partitionOf = (taskId: string) =>
  Partitioners.DefaultPartitioner()({
    topic: 'commands',
    partitionMetadata: [0, 1, 2].map((partitionId) => ({
      partitionId,
      leader: 0,
      partitionErrorCode: 0,
      replicas: [0],
      isr: [0],
    })),
    message: { key: taskId, value: null },
  });

describe('a Python agent from docs/agent-protocol.md beside a TypeScript agent of its type', () => {
  const prisma = createPrisma(env);
  const kafka = createKafka(env);
  const admin = kafka.admin();
  const pythonAgentId = `py-vision-${randomUUID().slice(0, 8)}`;
  const tsAgentId = `ts-monitoring-${randomUUID().slice(0, 8)}`;
  const group = kafkaName(kafka, agentConsumerGroup('MONITORING'));
  const requestIds: string[] = [];
  let worker: RunningWorker;
  let agent: RunningAgent;
  let temporal: Client;
  let child: ChildProcess | undefined;
  let output = '';

  beforeAll(async () => {
    expect(env.POSTGRES_AGENT_PASSWORD, 'POSTGRES_AGENT_PASSWORD (the stack’s secrets.env)').toBeTruthy();
    expect(env.KAFKA_AGENT_PASSWORD, 'KAFKA_AGENT_PASSWORD (the stack’s secrets.env)').toBeTruthy();
    await ensurePythonPackages({
      confluent_kafka: 'confluent-kafka==2.16.2',
      psycopg: 'psycopg==3.3.9',
      psycopg_binary: 'psycopg-binary==3.3.9',
    });
    const script = join(pythonVenv, 'documented_agent.py');
    writeFileSync(script, documentedAgent());
    [worker, temporal] = await Promise.all([startTestWorker(), connectTemporal(env), admin.connect()]);
    agent = await runKafkaAgent({
      type: 'MONITORING',
      env,
      agentId: tsAgentId,
      log: silentLogger,
      handler: async (command) => ({ machine: command.parameters.machine ?? null, by: 'typescript' }),
    });
    child = spawn(python, [script], {
      env: {
        PATH: process.env.PATH,
        AGENT_ID: pythonAgentId,
        KAFKA_TOPIC_PREFIX: env.KAFKA_TOPIC_PREFIX,
        POSTGRES_DB: env.POSTGRES_DB,
        POSTGRES_AGENT_PASSWORD: env.POSTGRES_AGENT_PASSWORD,
        KAFKA_AGENT_PASSWORD: env.KAFKA_AGENT_PASSWORD,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (chunk: Buffer) => void (output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => void (output += chunk.toString()));
    // Both in the group, agreed on an assignment: the Python member has partitions of its own.
    await waitFor(
      `both agents in ${group}`,
      async () => {
        const [g] = (await admin.describeGroups([group])).groups;
        return g?.state === 'Stable' && g.members.length === 2 ? g : undefined;
      },
      90_000,
    );
  }, 300_000);

  afterAll(async () => {
    child?.kill('SIGTERM');
    await agent?.stop();
    await worker?.stop();
    await admin.disconnect();
    await temporal?.connection.close();
    await prisma.task.deleteMany({ where: { requestId: { in: requestIds } } });
    await prisma.agent.deleteMany({ where: { id: { in: [pythonAgentId, tsAgentId] } } });
    await prisma.$disconnect();
  });

  it('shares the group on Kafka’s range assignment, and both agents answer the commands on their partitions', async () => {
    const [described] = (await admin.describeGroups([group])).groups;
    expect(described).toMatchObject({ protocolType: 'consumer', protocol: 'range' });
    // The Python agent registered as reading its type's own topic, as the docs have it.
    expect(await prisma.agent.findUniqueOrThrow({ where: { id: pythonAgentId } })).toMatchObject({
      type: 'MONITORING',
      transport: 'KAFKA',
      config: { commandsTopic: 'agent.orchestration.commands.monitoring' },
    });

    // A task for each partition of the commands topics: with 3 partitions and 2 members, each member holds
    // at least one of every topic it reads, so both must answer.
    const byPartition = new Map<number, string>();
    while (byPartition.size < 3) {
      const requestId = testId('pyagent');
      const partition = partitionOf(taskIdFor(requestId));
      if (!byPartition.has(partition)) byPartition.set(partition, requestId);
    }
    requestIds.push(...byPartition.values());
    const outcomes = await Promise.all(
      [...byPartition.values()].map(async (requestId) => {
        const { workflowId } = await startTask(temporal, env, {
          requestId,
          query: 'check the spindle',
          agentType: 'MONITORING',
          parameters: { machine: 'cnc-py' },
          agentTimeoutMs: 60_000,
        });
        return waitForTask(temporal, workflowId);
      }),
    );
    expect(outcomes.map((o) => o.status)).toEqual(['COMPLETED', 'COMPLETED', 'COMPLETED']);
    const answeredBy = new Set(outcomes.map((o) => o.results.main?.agentId));
    expect([...answeredBy].sort(), `the Python agent's output: ${output}`).toEqual(
      [pythonAgentId, tsAgentId].sort(),
    );
    // The Python agent's answer is its documented result.
    const python = outcomes.find((o) => o.results.main?.agentId === pythonAgentId)!;
    expect(python.results.main).toMatchObject({ status: 'SUCCESS', result: { machine: 'cnc-py', ok: true } });
  }, 180_000);
});
