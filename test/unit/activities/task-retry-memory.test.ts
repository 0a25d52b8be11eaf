// A retry's reused answers go back into the task's shared memory (the last run's end cleared it), shaped as an
// agent shares its own answer, so a step that runs again reads every earlier step's answer (docs/agents.md).
// The write itself needs Redis (createTask's retry branch, activities/task.ts); no unit test covers it.
import { describe, expect, it } from 'vitest';
import { reusedMemoryEntries } from '../../../activities/task.ts';
import type { AgentResponse, PlanStep } from '../../../src/task/index.ts';

const plan: PlanStep[] = [
  { key: 'gather', agentType: 'MONITORING', dependsOn: [] },
  { key: 'judge', agentType: 'ANALYSIS', dependsOn: ['gather'] },
];

describe('a retry run’s shared memory', () => {
  it('holds each reused answer as step.<key>, with its agent type, as an agent writes it', () => {
    const gathered: AgentResponse = {
      commandId: '00000000-0000-4000-8000-000000000001',
      workflowId: 'task-req-1',
      stepKey: 'gather',
      agentId: 'monitoring-1',
      status: 'SUCCESS',
      result: { readings: 12 },
      durationMs: 40,
    };
    expect(reusedMemoryEntries(plan, { gather: gathered })).toEqual({
      'step.gather': {
        agentId: 'monitoring-1',
        agentType: 'MONITORING',
        status: 'SUCCESS',
        result: { readings: 12 },
      },
    });
    expect(reusedMemoryEntries(plan, {})).toEqual({});
  });
});
