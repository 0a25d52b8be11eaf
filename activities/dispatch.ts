// Step 3 of the flow: find who serves the step's agent type, and send the command. Kafka agents get it on
// their type's own topic (`agent.orchestration.commands.<type>`) when every agent of the type reads it, else on
// the shared `agent.orchestration.commands`; Temporal-native agents get it as an activity on their own task
// queue.
import {
  agentTaskQueue,
  failureTypes,
  type AgentCommand,
  type KnowledgeHit,
  type PlanStep,
} from '../src/task/index.ts';
import { commandIdFor, subtaskIdFor } from '../src/task/ids.ts';
import { createEnvelope } from '../src/stores/kafka/envelope.ts';
import { CommandsTopic, Topic } from '../src/stores/kafka/topics.ts';
import { chooseAgent, markCommandSent, sentCommand } from '../src/stores/postgres/flow.ts';
import type { ActivityDeps } from './deps.ts';
import { nonRetryable } from './task.ts';

export interface DispatchedCommand {
  command: AgentCommand;
  transport: 'KAFKA' | 'TEMPORAL';
  taskQueue: string | null;
}

export function dispatchActivities({ prisma, publisher }: ActivityDeps) {
  return {
    async dispatchCommand(input: {
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
    }): Promise<DispatchedCommand> {
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
      // Sent before, by a run of this activity whose completion was lost (a killed worker, a workflow
      // task Temporal could not store): the command is in Kafka (it is recorded only once sent), and the
      // agent may have answered it already. Sending it again would only make a second copy.
      if (sent?.transport) {
        return {
          command,
          transport: sent.transport,
          taskQueue: sent.transport === 'TEMPORAL' ? (sent.taskQueue ?? agentTaskQueue(agentType)) : null,
        };
      }
      if (!agent) {
        throw nonRetryable(
          failureTypes.noAgentRegistered,
          `no ${agentType} agent is registered: start one with \`prism agent run --type ${agentType}\``,
        );
      }
      const taskQueue =
        agent.transport === 'TEMPORAL' ? (agent.taskQueue ?? agentTaskQueue(agentType)) : null;
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
    },
  };
}
