// The one alert handler of spec 4.2: consumes `agent.monitoring.alerts` (from Alertmanager through the API's
// webhook, from the agents, from the sensor-rule schedule) and keeps the Redis alert queue — one alert per
// fingerprint, an entry for each time it is raised, changes severity, resolves or escalates; repeats
// change nothing. Its Kafka group resumes where it stopped, so alerts raised while it is down are handled
// when it is back; a redelivered event neither loses nor doubles a queue entry. A critical alert that
// nobody acknowledges in time is escalated by a durable workflow, on the maintenance worker's queue. (The
// handler itself stays in the task worker: it is a Kafka consumer of the worker's group, holds no backup
// secret, and takes no activity slot.)
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import type { Env } from '../config.ts';
import { alertEventSchema } from '../alerts/event.ts';
import { changeKeyOf, queueEntry } from '../alerts/queue-entry.ts';
import { createAlertStore } from '../alerts/store.ts';
import { InvalidMessageError, type RunningConsumer } from '../stores/kafka/consumer.ts';
import { Topic } from '../stores/kafka/topics.ts';
import { createAlertQueue } from '../stores/redis/alert-queue.ts';
import { describeProblems, problemsOf } from '../validation.ts';
import { runFlowConsumer, type FlowConsumerDeps } from './consumers.ts';

export const alertHandlerGroup = 'prism-alert-handler';
export const alertEscalationWorkflow = 'alertEscalation';

export async function runAlertHandler(
  deps: FlowConsumerDeps & {
    env: Pick<Env, 'TEMPORAL_MAINTENANCE_TASK_QUEUE' | 'ALERT_ESCALATION_MINUTES'>;
    temporal: Client;
    groupId?: string;
    log?: (message: string) => void;
  },
): Promise<RunningConsumer> {
  const store = createAlertStore(deps.redis);
  const queue = createAlertQueue(deps.redis);
  return runFlowConsumer(deps, {
    groupId: deps.groupId ?? alertHandlerGroup,
    topics: [Topic.MonitoringAlerts],
    // Alerts raised before the first handler ever ran are alerts too.
    fromBeginning: true,
    handler: async (envelope) => {
      if (envelope.type !== 'alert') {
        throw new InvalidMessageError(`type: expected "alert", got "${envelope.type}"`);
      }
      const parsed = alertEventSchema.safeParse(envelope.payload, { reportInput: true });
      if (!parsed.success) {
        throw new InvalidMessageError(
          `invalid alert: ${describeProblems(problemsOf(parsed.error.issues, 'payload'))}`,
        );
      }
      const { change, alert } = await store.apply(parsed.data);
      // Queue the alert's latest change unless it already was (a redelivery of the event that made it).
      if (!alert?.lastChange) return;
      await queue.enqueueOnce(queueEntry(alert), changeKeyOf(alert));
      if (change === 'raised' && alert.severity === 'CRITICAL') {
        await startEscalation(deps.temporal, deps.env, alert.fingerprint, alert.startsAt);
      }
    },
  });
}

/** A timer per critical episode: escalates it unless someone acknowledges or it resolves first. */
async function startEscalation(
  temporal: Client,
  env: Pick<Env, 'TEMPORAL_MAINTENANCE_TASK_QUEUE' | 'ALERT_ESCALATION_MINUTES'>,
  fingerprint: string,
  startsAt: string,
): Promise<void> {
  try {
    await temporal.workflow.start(alertEscalationWorkflow, {
      taskQueue: env.TEMPORAL_MAINTENANCE_TASK_QUEUE,
      workflowId: `alert-escalation-${fingerprint}-${Date.parse(startsAt)}`,
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
      args: [{ fingerprint, startsAt, afterMs: env.ALERT_ESCALATION_MINUTES * 60_000 }],
    });
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
  }
}
