// Step 3 of the flow: find who serves the step's agent type, and send the command. Kafka agents get it on
// their type's own topic (`agent.orchestration.commands.<type>`) when every agent of the type reads it, else on
// the shared `agent.orchestration.commands`; Temporal-native agents get it as an activity on their own task
// queue.
import { Context } from '@temporalio/activity';
import {
  agentTaskQueue,
  failureTypes,
  type AgentCommand,
  type AgentResponse,
  type KnowledgeHit,
  type PlanStep,
} from '../src/task/index.ts';
import { commandIdFor, subtaskIdFor } from '../src/task/ids.ts';
import { createEnvelope } from '../src/stores/kafka/envelope.ts';
import { CommandsTopic, Topic } from '../src/stores/kafka/topics.ts';
import {
  chooseAgent,
  markCommandSent,
  recordedStepResponse,
  recordStepResponse,
  sentCommand,
} from '../src/stores/postgres/flow.ts';
import type { PendingAnswer } from '../src/worker/inline-answers.ts';
import type { ActivityDeps } from './deps.ts';
import { nonRetryable } from './task.ts';

export interface DispatchedCommand {
  command: AgentCommand;
  transport: 'KAFKA' | 'TEMPORAL';
  taskQueue: string | null;
  /**
   * The agent's answer, when it came while the dispatch waited for it (flow version 3): already recorded as
   * the step's result in PostgreSQL; the run takes it as the answer and waits for no signal.
   */
  answer?: AgentResponse;
  /** Of the dispatch's time, the wait for `answer` (the step's agent time) and its record (the step's recordStep). */
  answerTimings?: { waitMs: number; recordMs: number };
}

type DispatchInput = {
  taskId: string;
  workflowId: string;
  step: PlanStep;
  instruction: string;
  parameters: Record<string, unknown>;
  /** What step 5 found (and why it found nothing, if it could not search). */
  knowledge: KnowledgeHit[];
  knowledgeError?: string;
  upstream: Record<string, unknown>;
  deadlineAt: string;
  /** The run's number within the task (a retry's; absent for the first run): a new command id. */
  attempt?: number;
  /**
   * Flow version 3: wait up to PRISM_INLINE_ANSWER_MS for a Kafka agent's answer here, when this process's
   * bridge receives every answer (src/worker/inline-answers.ts).
   */
  inlineAnswer?: boolean;
};

export function dispatchActivities({ env, prisma, publisher, inlineAnswers }: ActivityDeps) {
  /**
   * The answer, recorded as the step's result before the bridge may commit it: a dispatch run again (its
   * worker killed after this) finds it in PostgreSQL.
   */
  const awaitAnswer = async (
    dispatched: DispatchedCommand,
    pending: PendingAnswer | undefined,
    maxWaitMs: number,
    attempt: number | undefined,
  ): Promise<DispatchedCommand> => {
    if (!pending) return dispatched;
    const started = Date.now();
    // The run stopped waiting for the step (it was cancelled, a sibling step failed): neither wait on nor
    // record an answer it will not take; a late one goes to the bridge, which signals it to no avail.
    const taken = await pending.next(maxWaitMs, Context.current().cancellationSignal);
    if (!taken) return dispatched;
    const waitMs = Date.now() - started;
    try {
      await recordStepResponse(prisma, {
        taskId: dispatched.command.taskId,
        stepKey: dispatched.command.stepKey,
        response: taken.response,
        ...(attempt ? { attempt } : {}),
      });
    } catch (err) {
      taken.recorded(false); // the bridge signals it instead
      throw err;
    }
    taken.recorded(true);
    const recordMs = Date.now() - started - waitMs;
    return { ...dispatched, answer: taken.response, answerTimings: { waitMs, recordMs } };
  };

  /** Sends the command to the chosen agent (Kafka) or names its task queue (Temporal), and records it. */
  const send = async (
    input: DispatchInput,
    command: AgentCommand,
    agent: Awaited<ReturnType<typeof chooseAgent>>,
  ): Promise<DispatchedCommand> => {
    const { taskId, workflowId, step, attempt } = input;
    const agentType = step.agentType;
    if (!agent) {
      throw nonRetryable(
        failureTypes.noAgentRegistered,
        `no ${agentType} agent is registered: start one with \`prism agent run --type ${agentType}\``,
      );
    }
    const taskQueue = agent.transport === 'TEMPORAL' ? (agent.taskQueue ?? agentTaskQueue(agentType)) : null;
    const kafkaTopic = agent.typedTopic ? CommandsTopic[agentType] : Topic.OrchestrationCommands;
    const topic = agent.transport === 'KAFKA' ? kafkaTopic : null;
    if (topic) {
      // The envelope id is the command id: a retried dispatch re-sends the same message, which agents dedupe.
      await publisher.publish(
        topic,
        createEnvelope({
          id: command.commandId,
          type: 'agent.command',
          taskId,
          workflowId,
          agentType,
          payload: command,
        }),
      );
    }
    await markCommandSent(prisma, {
      taskId,
      subtaskId: subtaskIdFor(taskId, step.key),
      stepKey: step.key,
      details: {
        commandId: command.commandId,
        agentType,
        transport: agent.transport,
        ...(topic ? { topic } : {}),
        ...(taskQueue ? { taskQueue } : {}),
        knowledge: input.knowledge.map((k) => k.id),
        ...(input.knowledgeError ? { knowledgeError: input.knowledgeError } : {}),
        ...(attempt ? { attempt } : {}),
      },
      ...(attempt ? { attempt } : {}),
    });
    return { command, transport: agent.transport, taskQueue };
  };

  return {
    async dispatchCommand(input: DispatchInput): Promise<DispatchedCommand> {
      const { taskId, workflowId, step, attempt } = input;
      const agentType = step.agentType;
      // Prefer an agent that is up and heard from recently; otherwise a registered agent that is down
      // still gets the command on Kafka and answers when it is back (or the step times out, saying why).
      const [agent, sent] = await Promise.all([
        chooseAgent(prisma, agentType, 30_000, CommandsTopic[agentType]),
        sentCommand(prisma, { taskId, stepKey: step.key, ...(attempt ? { attempt } : {}) }),
      ]);
      const command: AgentCommand = {
        commandId: commandIdFor(taskId, step.key, attempt),
        taskId,
        workflowId,
        stepKey: step.key,
        agentType,
        instruction: input.instruction,
        parameters: input.parameters,
        knowledge: input.knowledge,
        upstream: input.upstream,
        deadlineAt: input.deadlineAt,
      };
      const transport = sent?.transport ?? agent?.transport;
      const waitMs =
        input.inlineAnswer && transport === 'KAFKA' && inlineAnswers?.available
          ? Math.min(env.PRISM_INLINE_ANSWER_MS, Date.parse(input.deadlineAt) - Date.now())
          : 0;
      // Registered before the command is sent: an answer cannot come before its wait.
      const pending = waitMs > 0 ? inlineAnswers!.expect(command.commandId) : undefined;
      try {
        // Sent before, by a run of this activity whose completion was lost (a killed worker, a workflow
        // task Temporal could not store): the command is in Kafka (it is recorded only once sent), and the
        // agent may have answered it already — here, recorded by that run. Sending it again would only make
        // a second copy.
        if (sent?.transport) {
          const dispatched: DispatchedCommand = {
            command,
            transport: sent.transport,
            taskQueue: sent.transport === 'TEMPORAL' ? (sent.taskQueue ?? agentTaskQueue(agentType)) : null,
          };
          const recorded =
            input.inlineAnswer && sent.transport === 'KAFKA'
              ? await recordedStepResponse(prisma, { workflowId, command, ...(attempt ? { attempt } : {}) })
              : null;
          if (recorded) return { ...dispatched, answer: recorded, answerTimings: { waitMs: 0, recordMs: 0 } };
          return await awaitAnswer(dispatched, pending, waitMs, attempt);
        }
        return await awaitAnswer(await send(input, command, agent), pending, waitMs, attempt);
      } finally {
        pending?.cancel();
      }
    },
  };
}
