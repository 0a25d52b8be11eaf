// Step 6 of the flow for Kafka agents: each answer on `agent.orchestration.responses` becomes a signal to
// the waiting workflow. Exactly once: the consumer dedupes message ids, and the workflow accepts only the
// first answer to each command it is waiting for.
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { InvalidMessageError, type RunningConsumer } from '../stores/kafka/consumer.ts';
import { runFlowConsumer, type FlowConsumerDeps } from './consumers.ts';
import { Topic } from '../stores/kafka/topics.ts';
import { agentResponseSchema, agentResponseSignal } from '../task/index.ts';
import { describeProblems, problemsOf } from '../validation.ts';

export const bridgeGroup = 'prism-bridge';

export async function runBridge(
  deps: FlowConsumerDeps & { temporal: Client; groupId?: string; log?: (message: string) => void },
): Promise<RunningConsumer> {
  const groupId = deps.groupId ?? bridgeGroup;
  return runFlowConsumer(deps, {
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
}
