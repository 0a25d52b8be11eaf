// Step 6 of the flow for Kafka agents: each answer on `agent.orchestration.responses` goes to the waiting
// workflow — as the result of the step's dispatch when that dispatch still waits for it in this process
// (./inline-answers.ts), else as a signal. Exactly once: the consumer dedupes message ids, and the workflow
// accepts only the first answer to each command it is waiting for.
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { InvalidMessageError, type RunningConsumer } from '../stores/kafka/consumer.ts';
import { runFlowConsumer, type FlowConsumerDeps } from './consumers.ts';
import { Topic } from '../stores/kafka/topics.ts';
import { agentResponseSchema, agentResponseSignal } from '../task/index.ts';
import { describeProblems, problemsOf } from '../validation.ts';
import type { InlineAnswers } from './inline-answers.ts';

export const bridgeGroup = 'prism-bridge';

export async function runBridge(
  deps: FlowConsumerDeps & {
    temporal: Client;
    groupId?: string;
    log?: (message: string) => void;
    /** The dispatches of this process that wait for their answers (none: every answer is a signal). */
    inline?: InlineAnswers;
  },
): Promise<RunningConsumer> {
  const groupId = deps.groupId ?? bridgeGroup;
  const { inline } = deps;
  const running = await runFlowConsumer(deps, {
    groupId,
    topics: [Topic.OrchestrationResponses],
    handler: async (envelope) => {
      if (envelope.type !== 'agent.response') {
        throw new InvalidMessageError(`type: expected "agent.response", got "${envelope.type}"`);
      }
      const parsed = agentResponseSchema.safeParse(envelope.payload);
      if (!parsed.success) {
        throw new InvalidMessageError(
          `invalid agent response: ${describeProblems(problemsOf(parsed.error.issues, 'payload'))}`,
        );
      }
      const response = parsed.data;
      if (await inline?.deliver(response)) return;
      try {
        await deps.temporal.workflow.getHandle(response.workflowId).signal(agentResponseSignal, response);
      } catch (err) {
        // The task ended (timed out, cancelled) or never existed: a late answer has nowhere to go.
        if (err instanceof WorkflowNotFoundError) {
          deps.log?.(
            `late answer ${response.commandId} for ${response.workflowId}: the task is no longer running`,
          );
          return;
        }
        throw err;
      }
    },
  });
  if (inline) watchMembership(running, inline);
  return running;
}

/**
 * A dispatch here may wait for its answer only while this bridge is the group's one member: then every
 * answer comes through it. With several workers an answer may land on another's bridge, which signals.
 */
function watchMembership({ consumer }: RunningConsumer, inline: InlineAnswers): void {
  const check = async () => {
    try {
      const group = await consumer.describeGroup();
      inline.setSoleConsumer(group.members.length === 1);
    } catch {
      inline.setSoleConsumer(false);
    }
  };
  const { REBALANCING, GROUP_JOIN, STOP, CRASH } = consumer.events;
  consumer.on(REBALANCING, () => inline.setSoleConsumer(false));
  consumer.on(STOP, () => inline.setSoleConsumer(false));
  consumer.on(CRASH, () => inline.setSoleConsumer(false));
  consumer.on(GROUP_JOIN, () => void check());
  void check();
}
