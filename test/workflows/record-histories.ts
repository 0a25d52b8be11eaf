// Records workflow histories for the replay test (test/workflows/replay.test.ts). Run it after a change
// to the workflow that is *meant* to change its histories (and version the workflow if runs are in flight):
//   npx tsx test/workflows/record-histories.ts [suffix]
// With a suffix, each history is written as <case>.<suffix>.json beside the others, so that histories of
// an earlier version of the workflow are kept and replayed too (the markers' versions: docs/workflows.md).
// It runs real tasks through a worker, with a minimal Kafka agent that answers every command (FAILED when
// the query asks it to fail, never when it asks it to hold), in the tests' own deployment so that a
// running system is not disturbed.
import { writeFileSync } from 'node:fs';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { createKafka } from '../../src/clients/kafka.ts';
import { createRedis } from '../../src/clients/redis.ts';
import { connectTemporal } from '../../src/clients/temporal.ts';
import { loadConfig } from '../../src/config.ts';
import { agentResponseSchema, workflowType, type TaskRequest } from '../../src/task/index.ts';
import { uuidFrom } from '../../src/task/ids.ts';
import { startTask, waitForTask } from '../../src/task/client.ts';
import { runConsumer } from '../../src/stores/kafka/consumer.ts';
import { redisDedupeStore } from '../../src/stores/kafka/dedupe.ts';
import { createEnvelope } from '../../src/stores/kafka/envelope.ts';
import { createPublisher } from '../../src/stores/kafka/producer.ts';
import { CommandsTopic, Topic } from '../../src/stores/kafka/topics.ts';
import { startWorker } from '../../src/worker/index.ts';
import { useTestEnvironment } from '../environment.ts';

useTestEnvironment();
const env = loadConfig();
const suffix = process.argv[2];
if (suffix !== undefined && !/^[a-z0-9-]+$/.test(suffix)) {
  throw new Error(`suffix "${suffix}": lowercase letters, digits and dashes only`);
}
const stamp = Date.now();
interface Case {
  request: TaskRequest;
  /** Start the workflow without the client's validation, as any Temporal SDK may. */
  unchecked?: boolean;
  cancelAfterMs?: number;
}
const cases: Record<string, Case> = {
  'single-step-completed': {
    request: { requestId: `replay-single-${stamp}`, query: 'check line 1', agentType: 'MONITORING' },
  },
  'dag-completed': {
    request: {
      requestId: `replay-dag-${stamp}`,
      query: 'plan a setpoint change',
      plan: [
        { key: 'monitor', agentType: 'MONITORING' },
        { key: 'predict', agentType: 'PREDICTION' },
        { key: 'control', agentType: 'CONTROL', dependsOn: ['monitor', 'predict'] },
      ],
    },
  },
  'step-failed': {
    request: { requestId: `replay-fail-${stamp}`, query: 'please fail', agentType: 'ANALYSIS' },
  },
  cancelled: {
    request: { requestId: `replay-cancel-${stamp}`, query: 'please hold', agentType: 'CONTROL' },
    cancelAfterMs: 1_000,
  },
  'invalid-request-failed': {
    request: {
      requestId: `replay-invalid-${stamp}`,
      query: 'weld it',
      agentType: 'WELDING' as 'MONITORING',
    },
    unchecked: true,
  },
};

const worker = await startWorker(env, { metricsPort: null, withIngress: false });
const kafka = createKafka(env);
const redis = createRedis(env);
const publisher = createPublisher(kafka);
await publisher.connect();
const groupId = `replay-recorder-${stamp}`;
const agent = await runConsumer({
  kafka,
  groupId,
  // The commands of every type, on their own topics or the shared one (docs/kafka.md).
  topics: [Topic.OrchestrationCommands, ...Object.values(CommandsTopic)],
  dedupe: redisDedupeStore(redis, { groupId }),
  dlqProducer: publisher.producer,
  fromBeginning: false,
  handler: async (envelope) => {
    const c = envelope.payload as {
      commandId: string;
      workflowId: string;
      stepKey: string;
      taskId: string;
      instruction: string;
    };
    if (!c.workflowId.startsWith('task-replay-')) return;
    if (c.instruction.includes('hold')) return;
    const fail = c.instruction.includes('fail');
    const response = agentResponseSchema.parse({
      commandId: c.commandId,
      workflowId: c.workflowId,
      stepKey: c.stepKey,
      agentId: 'replay-recorder',
      status: fail ? 'FAILED' : 'SUCCESS',
      result: { step: c.stepKey },
      ...(fail ? { error: 'asked to fail' } : {}),
    });
    await publisher.publish(
      Topic.OrchestrationResponses,
      createEnvelope({
        id: uuidFrom(`response:${c.commandId}`),
        type: 'agent.response',
        taskId: c.taskId,
        workflowId: c.workflowId,
        agentId: 'replay-recorder',
        payload: response,
      }),
    );
  },
});
const client = await connectTemporal(env);
try {
  for (const [name, { request, unchecked, cancelAfterMs }] of Object.entries(cases)) {
    const workflowId = `task-${request.requestId}`;
    if (unchecked) {
      await client.workflow.start(workflowType, {
        taskQueue: env.TEMPORAL_TASK_QUEUE,
        workflowId,
        args: [request],
      });
    } else {
      await startTask(client, env, request);
    }
    if (cancelAfterMs) {
      await new Promise((r) => setTimeout(r, cancelAfterMs));
      await client.workflow.getHandle(workflowId).cancel();
    }
    const outcome = await waitForTask(client, workflowId).catch((err: Error) => ({ status: err.message }));
    // The canonical JSON form (as `temporal workflow show --output json` writes it) that
    // Worker.runReplayHistory reads.
    const history = historyToJSON(await client.workflow.getHandle(workflowId).fetchHistory());
    writeFileSync(new URL(`./histories/${name}${suffix ? `.${suffix}` : ''}.json`, import.meta.url), history);
    console.log(`${name}: ${outcome.status} (${workflowId})`);
  }
} finally {
  await agent.stop();
  await publisher.disconnect();
  redis.disconnect();
  await client.connection.close();
  await worker.stop();
}
