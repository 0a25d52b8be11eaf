// Step 5 of the flow: what Weaviate knows about a step, found by the orchestrator before dispatch and sent
// in the command (`knowledge`), so that every agent — in any language, with or without a Weaviate client —
// works with it. Keyword search (BM25) over the shared knowledge: documents and manufacturing processes.
// Knowledge enriches a step; it does not decide it: when Weaviate cannot answer after a few quick tries,
// the step goes on without it, and its history says why (`knowledgeError` on its COMMAND_SENT event).
import { setTimeout as sleep } from 'node:timers/promises';
import type { KnowledgeHit } from '../src/task/index.ts';
import { prismCollection } from '../src/stores/weaviate/collections.ts';
import { search } from '../src/stores/weaviate/search.ts';
import type { ActivityDeps } from './deps.ts';

/** How many hits a command carries at most, over both collections. */
export const knowledgeLimit = 3;
const snippetChars = 280;
const attempts = 3;

export interface FoundKnowledge {
  /** The step searched for: its run's history then names the step (the task's events: src/task/events.ts). */
  stepKey?: string;
  hits: KnowledgeHit[];
  /** Why the step has no knowledge (Weaviate unreachable, a collection missing), if it has none. */
  error?: string;
}

export function knowledgeActivities(deps: ActivityDeps) {
  const { env } = deps;
  const prefix = env.WEAVIATE_COLLECTION_PREFIX;
  return {
    async searchKnowledge(input: { taskId: string; stepKey: string; text: string }): Promise<FoundKnowledge> {
      let lastError: unknown;
      for (let attempt = 1; attempt <= attempts; attempt++) {
        try {
          const client = await deps.weaviate();
          const [documents, processes] = await Promise.all([
            search(prismCollection(client, 'ExternalKnowledge', { prefix }), {
              mode: 'bm25',
              query: input.text,
              limit: knowledgeLimit,
            }),
            search(prismCollection(client, 'ManufacturingKnowledge', { prefix }), {
              mode: 'bm25',
              query: input.text,
              limit: knowledgeLimit,
            }),
          ]);
          const hits: KnowledgeHit[] = [
            ...documents.map((h) => ({
              id: h.id,
              collection: 'ExternalKnowledge',
              title: h.properties.title,
              snippet: h.properties.content.slice(0, snippetChars),
              score: h.score,
            })),
            ...processes.map((h) => ({
              id: h.id,
              collection: 'ManufacturingKnowledge',
              title: h.properties.processName,
              snippet: h.properties.description.slice(0, snippetChars),
              score: h.score,
            })),
          ];
          hits.sort((a, b) => (b.score ?? 0) - (a.score ?? 0));
          deps.metrics?.knowledgeSearches.inc({ outcome: 'ok' });
          return { stepKey: input.stepKey, hits: hits.slice(0, knowledgeLimit) };
        } catch (err) {
          lastError = err;
          deps.resetWeaviate();
          if (attempt < attempts) await sleep(250 * attempt);
        }
      }
      deps.metrics?.knowledgeSearches.inc({ outcome: 'failed' });
      return {
        stepKey: input.stepKey,
        hits: [],
        error: `Weaviate did not answer: ${(lastError as Error).message}`,
      };
    },
  };
}
