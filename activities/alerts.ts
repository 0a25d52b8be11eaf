// The alert escalation's one step: escalate the episode if it still fires unacknowledged, and queue it.
import { changeKeyOf, queueEntry } from '../src/alerts/queue-entry.ts';
import { createAlertStore } from '../src/alerts/store.ts';
import { createAlertQueue } from '../src/stores/redis/alert-queue.ts';
import type { ActivityDeps } from './deps.ts';

export function alertActivities({ redis }: ActivityDeps) {
  const store = createAlertStore(redis);
  const queue = createAlertQueue(redis);
  return {
    async escalateAlert(input: { fingerprint: string; startsAt: string }): Promise<{ escalated: boolean }> {
      // A retry after the escalation was recorded finds it recorded, and still queues it once.
      const escalated =
        (await store.escalate(input.fingerprint, input.startsAt)) ?? (await store.get(input.fingerprint));
      if (!escalated || escalated.lastChange !== 'escalated' || escalated.startsAt !== input.startsAt) {
        return { escalated: false };
      }
      await queue.enqueueOnce(queueEntry(escalated), changeKeyOf(escalated));
      return { escalated: true };
    },
  };
}
