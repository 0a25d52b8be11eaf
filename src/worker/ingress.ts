// Step 1 of the flow: user requests arrive on Kafka `user.queries` (from any producer, the HTTP API and
// the SDK included) and start their task's workflow. The workflow id derives from the request id, so a
// request delivered twice starts one run. An invalid request goes to `user.queries.dlq` with the reason, and
// so does one that carries `retry` (only a retry, POST /tasks/:id/retry, starts such a run: startTask refuses it).
import type { Client } from '@temporalio/client';
import type { Env } from '../config.ts';
import { InvalidMessageError, type RunningConsumer } from '../stores/kafka/consumer.ts';
import { runFlowConsumer, type FlowConsumerDeps } from './consumers.ts';
import { Topic } from '../stores/kafka/topics.ts';
import type { TaskRequest } from '../task/index.ts';
import { ValidationError } from '../validation.ts';
import { startTask } from '../task/client.ts';

export const ingressGroup = 'prism-ingress';

export async function runIngress(
  deps: FlowConsumerDeps & { env: Env; temporal: Client; groupId?: string },
): Promise<RunningConsumer> {
  const groupId = deps.groupId ?? ingressGroup;
  return runFlowConsumer(deps, {
    groupId,
    topics: [Topic.UserQueries],
    // A new ingress group starts at the end of the topic: replaying days of old requests would start
    // stale tasks. (An existing group resumes where it committed, so nothing is lost across restarts.)
    fromBeginning: false,
    handler: async (envelope) => {
      if (envelope.type !== 'user.query') {
        throw new InvalidMessageError(`type: expected "user.query", got "${envelope.type}"`);
      }
      try {
        const { started } = await startTask(
          deps.temporal,
          deps.env,
          envelope.payload as unknown as TaskRequest,
        );
        if (started)
          deps.metrics?.tasksStarted.inc({
            agent_type: String(envelope.payload.agentType ?? 'PLAN'),
            priority: String(envelope.payload.priority ?? 'NORMAL'),
          });
      } catch (err) {
        if (err instanceof ValidationError) throw new InvalidMessageError(err.under('payload').message);
        throw err;
      }
    },
  });
}
