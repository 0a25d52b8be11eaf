// A Temporal-native agent: an activity worker on the agent type's own task queue, with one activity,
// `runAgentCommand`, that the task workflow calls directly (no Kafka round trip, Temporal's retries and
// timeouts). The answer is also published on `agent.orchestration.responses`, so the audit trail of every
// agent is in one place.
import { ApplicationFailure, Context } from '@temporalio/activity';
import { NativeConnection, Worker } from '@temporalio/worker';
import { agentCommandSchema, agentTaskQueue, failureTypes, type AgentResponse } from '../task/index.ts';
import { Topic } from '../stores/kafka/topics.ts';
import { CommandTracker, executeCommand, RecentAnswers, responseEnvelope } from './execute.ts';
import { agentLifetime } from './lifetime.ts';
import { describeProblems, problemsOf } from '../validation.ts';
import { prepareAgent } from './options.ts';
import { announce, type Presence } from './presence.ts';
import type { AgentOptions, RunningAgent } from './types.ts';
import { connectToFrontend } from '../clients/temporal.ts';
import { withPrismFailures } from '../../activities/failures.ts';

export interface TemporalAgentOptions extends AgentOptions {
  /** Default `agentTaskQueue(type)`, where the task workflow sends commands of this type. */
  taskQueue?: string;
}

// Well inside the workflow's heartbeat timeout for agents (20 s, workflows/agent-task.ts).
const heartbeatEveryMs = 5_000;

/** The activities of an agent worker: what the task workflow's `proxyActivities` call. */
export interface AgentActivities {
  runAgentCommand(command: unknown): Promise<AgentResponse>;
}

/** Starts the agent's worker; resolves once it is registered and polling its task queue. */
export async function runTemporalAgent(options: TemporalAgentOptions): Promise<RunningAgent> {
  const { env, agentId, type } = options;
  const { stores, log, heartbeatIntervalMs, concurrency, metrics } = prepareAgent(options);
  const taskQueue = options.taskQueue ?? agentTaskQueue(type);
  const responsesTopic = options.responsesTopic ?? Topic.OrchestrationResponses;
  const identity = { agentId, agentType: type };
  const tracker = new CommandTracker(identity, stores);
  const answers = new RecentAnswers();

  const activities: AgentActivities = {
    async runAgentCommand(input) {
      const parsed = agentCommandSchema.safeParse(input);
      if (!parsed.success) {
        throw ApplicationFailure.create({
          nonRetryable: true,
          type: failureTypes.invalidAgentCommand,
          message: `invalid agent command: ${describeProblems(problemsOf(parsed.error.issues))}`,
        });
      }
      const command = parsed.data;
      if (command.agentType !== type) {
        throw ApplicationFailure.create({
          nonRetryable: true,
          type: failureTypes.wrongAgentType,
          message: `the ${type} agent ${agentId} on task queue ${taskQueue} got a ${command.agentType} command: send it to ${agentTaskQueue(command.agentType)}`,
        });
      }
      // The workflow gives a step its whole budget but notices a dead agent by its missing heartbeats:
      // beat while the handler works, however long that is.
      const context = Context.current();
      const beat = setInterval(() => context.heartbeat({ commandId: command.commandId }), heartbeatEveryMs);
      let response: AgentResponse;
      try {
        response = await answers.answer(
          command.commandId,
          () =>
            executeCommand({ identity, stores, tracker, handler: options.handler, command, log, metrics }),
          () => metrics?.dedupeHits.inc({ agent_type: type }),
        );
      } finally {
        clearInterval(beat);
      }
      // The workflow gets the answer as this activity's result; the Kafka copy is for the audit trail, so
      // Kafka being down must not make Temporal retry (and re-run) the command.
      try {
        await (
          await stores.publisher()
        ).publish(responsesTopic, responseEnvelope(identity, command, response));
      } catch (err) {
        log.warn(
          `could not publish the answer to ${command.commandId} on ${responsesTopic}: ${(err as Error).message}`,
        );
      }
      log.info(`answered ${command.stepKey} of task ${command.taskId}: ${response.status}`, {
        commandId: command.commandId,
        durationMs: response.durationMs,
      });
      return response;
    },
  };

  let presence: Presence | undefined;
  let connection: NativeConnection | undefined;
  try {
    connection = await connectToFrontend(env, (target) => NativeConnection.connect({ ...target }));
    const worker = await Worker.create({
      connection,
      namespace: env.TEMPORAL_NAMESPACE,
      taskQueue,
      activities: withPrismFailures({ ...activities }),
      maxConcurrentActivityTaskExecutions: concurrency,
    });
    presence = await announce({
      stores,
      agent: options,
      transport: 'TEMPORAL',
      taskQueue,
      config: { taskQueue, namespace: env.TEMPORAL_NAMESPACE, responsesTopic },
      heartbeatIntervalMs,
      log,
    });
    const running = worker.run();
    const openConnection = connection;
    const lifetime = agentLifetime(async () => {
      // Temporal's runtime also stops workers on SIGINT/SIGTERM: shut down only a worker still running.
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running.catch(() => undefined);
      await presence?.leave();
      await Promise.allSettled([openConnection.close(), stores.close()]);
    });
    running.then(
      () => void lifetime.stop(),
      (err: Error) => {
        log.error(`worker failed: ${err.message}`);
        void lifetime.stop(err);
      },
    );
    log.info(`ready: polling task queue ${taskQueue}`);
    return {
      agentId,
      type,
      transport: 'TEMPORAL',
      source: `task queue ${taskQueue}`,
      stop: () => lifetime.stop(),
      done: lifetime.done,
    };
  } catch (err) {
    await presence?.leave();
    await Promise.allSettled([connection?.close(), stores.close()]);
    throw err;
  }
}
