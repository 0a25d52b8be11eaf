// A Kafka agent: commands arrive on its type's own topic, `agent.orchestration.commands.<type>`, and on the
// shared `agent.orchestration.commands` (one consumer group per agent type, so each command reaches one agent
// of its type; the orchestrator uses the type's topic once every agent of the type reads it), answers leave on `agent.orchestration.responses`, where the
// bridge turns them into signals to the waiting workflow. docs/agent-protocol.md describes the same protocol
// for agents written in other languages.
import { createKafka } from '../clients/kafka.ts';
import { agentCommandSchema, type AgentCommand, type AgentType } from '../task/index.ts';
import { InvalidMessageError, runConsumer, type MessageContext } from '../stores/kafka/consumer.ts';
import { redisDedupeStore } from '../stores/kafka/dedupe.ts';
import type { Envelope } from '../stores/kafka/envelope.ts';
import type { Publisher } from '../stores/kafka/producer.ts';
import { commandTopicsOf, Topic } from '../stores/kafka/topics.ts';
import { CommandTracker, executeCommand, RecentAnswers, responseEnvelope } from './execute.ts';
import { describeProblems, problemsOf } from '../validation.ts';
import { prepareAgent } from './options.ts';
import { agentLifetime } from './lifetime.ts';
import { announce, type Presence } from './presence.ts';
import type { AgentLogger, AgentOptions, RunningAgent } from './types.ts';

/** The consumer group of the agents of one type: `prism-agents-<type in lower case>`. */
export function agentConsumerGroup(type: AgentType): string {
  return `prism-agents-${type.toLowerCase()}`;
}

export interface KafkaAgentOptions extends AgentOptions {
  /** Default `agentConsumerGroup(type)`; every agent of a type must share it, or each gets every command. */
  groupId?: string;
  /**
   * The one topic to read commands from, registered as the agent's `commandsTopic`. By default the agent
   * reads its type's own topic (`CommandsTopic[type]`, which it registers) and the shared
   * `agent.orchestration.commands` (where the orchestrator sends while an agent of the type reads only it).
   */
  commandsTopic?: string;
}

// How often a long-running handler tells the group it is alive (kafkajs's session timeout is 30 s).
const keepAliveMs = 3_000;

/** Starts consuming commands of `type`; resolves once the agent is registered and has joined its group. */
export async function runKafkaAgent(options: KafkaAgentOptions): Promise<RunningAgent> {
  const { env, agentId, type } = options;
  const { stores, log, heartbeatIntervalMs, concurrency, metrics } = prepareAgent(options);
  const dedupeHit = () => metrics?.dedupeHits.inc({ agent_type: type });
  const groupId = options.groupId ?? agentConsumerGroup(type);
  // The first is the one it registers as reading.
  const commandsTopics: string[] = options.commandsTopic ? [options.commandsTopic] : commandTopicsOf(type);
  const commandsTopic = commandsTopics[0]!;
  const responsesTopic = options.responsesTopic ?? Topic.OrchestrationResponses;
  const identity = { agentId, agentType: type };
  const tracker = new CommandTracker(identity, stores);
  const answers = new RecentAnswers();

  let presence: Presence | undefined;
  try {
    const publisher = await stores.publisher();
    presence = await announce({
      stores,
      agent: options,
      transport: 'KAFKA',
      config: { groupId, commandsTopic, responsesTopic },
      heartbeatIntervalMs,
      log,
    });

    const answer = async (command: AgentCommand, context: MessageContext) => {
      const response = await answers.answer(
        command.commandId,
        async () => {
          const keepAlive = setInterval(() => void context.heartbeat().catch(() => undefined), keepAliveMs);
          try {
            return await executeCommand({
              identity,
              stores,
              tracker,
              handler: options.handler,
              command,
              log,
              metrics,
            });
          } finally {
            clearInterval(keepAlive);
          }
        },
        dedupeHit,
      );
      await publisher.publish(responsesTopic, responseEnvelope(identity, command, response));
      log.info(`answered ${command.stepKey} of task ${command.taskId}: ${response.status}`, {
        commandId: command.commandId,
        durationMs: response.durationMs,
      });
    };

    const consumer = await runConsumer({
      kafka: createKafka(env),
      groupId,
      topics: commandsTopics,
      dedupe: redisDedupeStore(stores.redis, { groupId }),
      dlqProducer: publisher.producer,
      partitionsConsumedConcurrently: concurrency,
      // Each command handled continues the trace of the workflow that sent it (its traceparent header).
      tracer: stores.tracer,
      // The shared topic carries every type's commands; the other types' are theirs to handle.
      accept: (envelope) => envelope.agentType === type,
      acceptAgentType: type,
      // A command delivered again after it was handled: its answer stands, the work is not redone.
      onOutcome: (outcome) => {
        if (outcome.kind === 'duplicate') dedupeHit();
      },
      handler: async (envelope, context) => {
        if (envelope.type !== 'agent.command') {
          throw new InvalidMessageError(`type: expected "agent.command", got "${envelope.type}"`);
        }
        const parsed = agentCommandSchema.safeParse(envelope.payload);
        if (!parsed.success) {
          const reason = `invalid agent command: ${describeProblems(problemsOf(parsed.error.issues, 'payload'))}`;
          await answerInvalid(publisher, responsesTopic, identity, envelope, reason, log);
          throw new InvalidMessageError(reason);
        }
        const command = parsed.data;
        if (command.agentType !== type) {
          throw new InvalidMessageError(
            `payload.agentType: "${command.agentType}" differs from the envelope's agentType "${type}"`,
          );
        }
        // The workflow stopped waiting at the deadline: doing the work now (a week-old control action
        // replayed by a new consumer group) could only do harm.
        if (Date.parse(command.deadlineAt) < Date.now()) {
          log.warn(`skipped command ${command.commandId}: its deadline ${command.deadlineAt} has passed`);
          return;
        }
        await answer(command, context);
      },
    });

    const lifetime = agentLifetime(async () => {
      await consumer.stop().catch((err: Error) => log.warn(`consumer stop failed: ${err.message}`));
      await presence?.leave();
      await stores.close();
    });
    // kafkajs restarts the consumer after most errors; when it gives up, the agent is gone: say so.
    consumer.consumer.on(consumer.consumer.events.CRASH, (event) => {
      if (event.payload.restart) return;
      log.error(`consumer crashed: ${event.payload.error.message}`);
      void lifetime.stop(event.payload.error);
    });
    log.info(`ready: consuming ${commandsTopics.join(' and ')} as group ${groupId}`);
    return {
      agentId,
      type,
      transport: 'KAFKA',
      source: `${commandsTopics.length > 1 ? 'topics' : 'topic'} ${commandsTopics.join(', ')}, group ${groupId}`,
      stop: () => lifetime.stop(),
      done: lifetime.done,
    };
  } catch (err) {
    await presence?.leave();
    await stores.close();
    throw err;
  }
}

/** A FAILED answer to a command that cannot be run, when it names enough for the workflow to receive it. */
async function answerInvalid(
  publisher: Publisher,
  topic: string,
  identity: { agentId: string; agentType: AgentType },
  envelope: Envelope,
  reason: string,
  log: AgentLogger,
): Promise<void> {
  const ids = agentCommandSchema
    .pick({ commandId: true, workflowId: true, stepKey: true })
    .safeParse(envelope.payload);
  if (!ids.success) return;
  const response = {
    ...ids.data,
    agentId: identity.agentId,
    status: 'FAILED' as const,
    result: {},
    error: reason,
  };
  try {
    await publisher.publish(
      topic,
      responseEnvelope(identity, { ...ids.data, taskId: envelope.taskId }, response),
    );
  } catch (err) {
    log.warn(`could not answer the invalid command ${ids.data.commandId}: ${(err as Error).message}`);
  }
}
