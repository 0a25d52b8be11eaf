// The reference ANALYSIS agent (spec 4.1 step 5): searches the knowledge in Weaviate (ExternalKnowledge,
// ManufacturingKnowledge) and its own memory, reads what the task's other steps found (the task's shared
// memory in Redis: siblings running in parallel too, not only the steps it depends on), and remembers the
// analysis as an EPISODIC memory in its tenant.
// Keyword search (BM25) by default; hybrid search loads the GloVe embedder on first use.
import { z } from 'zod';
import type { AgentCommand } from '../../task/index.ts';
import { importObjects } from '../../stores/weaviate/import.ts';
import type { SearchMode } from '../../stores/weaviate/search.ts';
import { parseParameters } from '../parameters.ts';
import type { AgentContext, AgentDefinition } from '../types.ts';
import { rankHits, type KnowledgeHit } from './ranking.ts';

export const analysisParameters = z.object({
  /** What to look for; default the step's instruction. */
  query: z.string().trim().min(1).max(2000).optional(),
  /** Hits per source, and in the combined list. */
  limit: z.number().int().min(1).max(50).default(5),
  searchMode: z.enum(['bm25', 'hybrid']).default('bm25'),
  /** Hybrid only: 0 keyword, 1 vector. */
  alpha: z.number().min(0).max(1).default(0.5),
});

const snippet = (text: string | undefined) => (text ?? '').replace(/\s+/g, ' ').trim().slice(0, 240);

export async function analyse(command: AgentCommand, ctx: AgentContext): Promise<Record<string, unknown>> {
  const p = parseParameters(command, analysisParameters);
  const query = p.query ?? command.instruction;
  const mode: SearchMode = p.searchMode;
  const embedder = mode === 'hybrid' ? await ctx.embedder() : undefined;
  const options = { mode, query, limit: p.limit, alpha: p.alpha, embedder };
  const memoryId = ctx.idFor('memory');

  const [external, manufacturing, memory, sharedKeys] = await Promise.all([
    ctx.collection('ExternalKnowledge'),
    ctx.collection('ManufacturingKnowledge'),
    ctx.memory(),
    ctx.taskMemory.keys(),
  ]);
  const otherSteps: Record<string, unknown> = {};
  for (const key of sharedKeys.filter((k) => k.startsWith('step.') && k !== `step.${command.stepKey}`)) {
    const entry = await ctx.taskMemory.read<{ agentType: string; status: string; result: unknown }>(key);
    if (entry) otherSteps[key.slice('step.'.length)] = entry.value;
  }
  const [externalHits, processHits, allMemoryHits] = await Promise.all([
    ctx.search(external, options),
    ctx.search(manufacturing, options),
    ctx.search(memory, options),
  ]);
  // A re-run of this command must not find the memory its first run stored.
  const memoryHits = allMemoryHits.filter((h) => h.id !== memoryId);
  const hits: KnowledgeHit[] = [
    ...externalHits.map((h) => ({
      id: h.id,
      collection: 'ExternalKnowledge',
      title: h.properties.title,
      snippet: snippet(h.properties.content),
      score: h.score,
    })),
    ...processHits.map((h) => ({
      id: h.id,
      collection: 'ManufacturingKnowledge',
      title: h.properties.processName,
      snippet: snippet(h.properties.description),
      score: h.score,
    })),
    ...memoryHits.map((h) => ({
      id: h.id,
      collection: 'AgentMemory',
      title: `${h.properties.memoryType} memory`,
      snippet: snippet(h.properties.content),
      score: h.score,
    })),
  ];
  const top = rankHits(hits, p.limit);

  const now = new Date();
  const content =
    `Analysis of "${query}" for step ${command.stepKey}: ${top.length} hit(s)` +
    (top.length > 0 ? `: ${top.map((h) => h.title).join('; ')}` : '');
  // Stored under an id derived from the command: a retry overwrites this memory instead of adding one.
  const report = await importObjects(memory, [
    {
      id: memoryId,
      properties: {
        memoryType: 'EPISODIC',
        content,
        context: command.instruction,
        importance: top.length > 0 ? 0.6 : 0.3,
        createdAt: now,
        lastAccessedAt: now,
        taskId: command.taskId,
      },
      ...(embedder ? { vector: (await embedder.embed([content]))[0] } : {}),
    },
  ]);
  if (report.failures.length > 0) {
    throw new Error(`could not store the episodic memory in Weaviate: ${report.failures[0]!.message}`);
  }
  return {
    query,
    searchMode: mode,
    hits: top,
    bySource: {
      ExternalKnowledge: externalHits.length,
      ManufacturingKnowledge: processHits.length,
      AgentMemory: memoryHits.length,
    },
    memoryId,
    /** The task's other steps that have answered so far, by step key. */
    otherSteps,
  };
}

export const analysisAgent: AgentDefinition = {
  type: 'ANALYSIS',
  name: 'Reference analysis agent',
  description: 'Searches Weaviate knowledge and its own memory, and remembers each analysis',
  capabilities: ['weaviate.bm25', 'weaviate.hybrid', 'memory.episodic'],
  handler: analyse,
};
