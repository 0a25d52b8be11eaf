// Replays recorded histories through the current workflow code: a non-deterministic change (a new, removed
// or reordered activity, timer or signal wait) fails here instead of breaking running tasks in production.
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Worker } from '@temporalio/worker';
import { workflowsPath } from '../../src/worker/index.ts';
import { workflowInterceptors } from '../../src/worker/tracing.ts';

const dir = new URL('./histories/', import.meta.url);
const files = readdirSync(dir).filter((f) => f.endsWith('.json'));

describe('workflow replay', () => {
  it('has recorded histories to replay', () => {
    expect(files.length).toBeGreaterThanOrEqual(3);
  });

  for (const file of files) {
    it(`replays ${file} deterministically`, async () => {
      const history = JSON.parse(readFileSync(new URL(file, dir), 'utf8'));
      await expect(
        Worker.runReplayHistory({ workflowsPath, replayName: file }, history),
      ).resolves.toBeUndefined();
    });
  }

  // As the task worker runs them with tracing on: the sandbox's span interceptors (workflows/tracing.ts)
  // change no command, whether the run was recorded with tracing or without.
  it('replays every history with the tracing interceptors too', async () => {
    const histories = files.map((file) => ({
      workflowId: file,
      history: JSON.parse(readFileSync(new URL(file, dir), 'utf8')),
    }));
    const results = [];
    for await (const result of Worker.runReplayHistories(
      { workflowsPath, interceptors: { workflowModules: [workflowInterceptors] }, replayName: 'traced' },
      histories,
    ))
      results.push(result);
    expect(results.map((r) => [r.workflowId, r.error?.message])).toEqual(files.map((f) => [f, undefined]));
  }, 120_000);
});
