// Which steps wait for a person, and what their rejection does: an approval rule's decision wins over the
// request's (a request cannot lift a policy), and onReject comes from the step, then the rule, then the
// request (docs/workflows.md, "Approval steps"). Reading the rules from PostgreSQL is createTask's.
import { describe, expect, it } from 'vitest';
import { approvalsOf } from '../../../activities/task.ts';
import { normaliseTaskRequest, planOf } from '../../../src/task/index.ts';

const rules = [
  {
    name: 'press-3',
    agent_type: 'CONTROL',
    rule: { requiresApproval: true, machine: 'press-3', onReject: 'skip' },
  },
];

describe('approval steps of a task', () => {
  it('a step both requested and covered by a rule waits as the policy says', () => {
    const request = normaliseTaskRequest({
      requestId: 'req-00000001',
      query: 'adjust',
      parameters: { machine: 'press-3' },
      plan: [
        { key: 'act', agentType: 'CONTROL' },
        { key: 'look', agentType: 'MONITORING' },
      ],
      approval: { steps: ['act', 'look'], onReject: 'fail', timeoutMs: 60_000 },
    });
    expect(approvalsOf(request, planOf(request), rules)).toEqual({
      act: { source: 'policy', constraint: 'press-3', onReject: 'skip', timeoutMs: 60_000 },
      look: { source: 'request', onReject: 'fail', timeoutMs: 60_000 },
    });
  });

  it("the step's own onReject still comes first", () => {
    const request = normaliseTaskRequest({
      requestId: 'req-00000002',
      query: 'adjust',
      parameters: { machine: 'press-3' },
      plan: [{ key: 'act', agentType: 'CONTROL', requiresApproval: true, onReject: 'fail' }],
    });
    expect(approvalsOf(request, planOf(request), rules).act).toMatchObject({
      source: 'policy',
      onReject: 'fail',
    });
  });
});
