// The task's one validation, its ids, and the workflow contract's published JSON Schemas.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { contractJsonSchemas } from '../../src/task/json-schema.ts';
import {
  normaliseSubmittedTaskRequest,
  normaliseTaskRequest,
  parseTaskRef,
  requestDefaults,
  taskIdFor,
} from '../../src/task/index.ts';
import { submitTaskBody } from '../../src/api/schemas/tasks.ts';
import { ValidationError } from '../../src/validation.ts';

const problemsOf = (input: unknown) => {
  try {
    normaliseTaskRequest(input);
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    return (err as ValidationError).problems;
  }
  throw new Error('expected the request to be refused');
};

describe('a task request', () => {
  it('gets the documented defaults', () => {
    expect(
      normaliseTaskRequest({ requestId: 'req-00000001', query: ' check ', agentType: 'ANALYSIS' }),
    ).toEqual({
      requestId: 'req-00000001',
      query: 'check',
      agentType: 'ANALYSIS',
      priority: requestDefaults.priority,
      parameters: {},
      agentTimeoutMs: requestDefaults.agentTimeoutMs,
    });
  });

  it('names every bad field, including a missing one, a wrong type and an unknown one', () => {
    expect(
      problemsOf({ query: 42, agentType: 'WELDING', agentTimeoutMs: 10, priorty: 'HIGH', parameters: [] }),
    ).toEqual(
      expect.arrayContaining([
        { field: 'requestId', message: 'required' },
        { field: 'query', message: 'expected string, received number' },
        { field: 'agentType', message: expect.stringMatching(/MONITORING.*ANALYSIS/) },
        { field: 'agentTimeoutMs', message: expect.stringMatching(/>=1000/) },
        { field: 'parameters', message: 'expected record, received array' },
        { field: 'priorty', message: 'unknown field (check its spelling)' },
      ]),
    );
  });

  it('refuses a plan with a duplicate key, an unknown dependency, a self-dependency or a cycle', () => {
    const base = { requestId: 'req-00000002', query: 'q' };
    expect(problemsOf({ ...base })).toEqual([
      { field: 'agentType', message: 'required when no plan is given' },
    ]);
    expect(
      problemsOf({
        ...base,
        plan: [
          { key: 'a', agentType: 'CONTROL' },
          { key: 'a', agentType: 'CONTROL' },
          { key: 'b', agentType: 'CONTROL', dependsOn: ['x', 'b'] },
        ],
      }),
    ).toEqual([
      { field: 'plan.1.key', message: '"a" appears twice' },
      { field: 'plan.2.dependsOn', message: 'unknown step "x"' },
      { field: 'plan.2.dependsOn', message: 'a step cannot wait for itself' },
    ]);
    expect(
      problemsOf({
        ...base,
        plan: [
          { key: 'a', agentType: 'CONTROL', dependsOn: ['b'] },
          { key: 'b', agentType: 'CONTROL', dependsOn: ['a'] },
        ],
      }),
    ).toEqual([{ field: 'plan', message: 'the steps a, b depend on each other in a cycle' }]);
    expect(problemsOf({ ...base, agentType: 'CONTROL', plan: [{ key: 'a', agentType: 'CONTROL' }] })).toEqual(
      [{ field: 'agentType', message: 'give agentType or plan, not both' }],
    );
  });

  it('carries `retry` only from a retry: a submitted one (API body, Kafka ingress, CLI) is refused', () => {
    const retried = {
      requestId: 'req-00000001',
      query: 'check',
      agentType: 'ANALYSIS',
      retry: { attempt: 2, fromStep: 'main', requestedBy: 'someone', completed: {} },
    };
    // The workflow's own validation takes it (retryTask starts the run with it)...
    expect(normaliseTaskRequest(retried).retry?.attempt).toBe(2);
    // ...but no client's submission does.
    expect(() => normaliseSubmittedTaskRequest(retried)).toThrow(ValidationError);
    try {
      normaliseSubmittedTaskRequest(retried);
    } catch (err) {
      expect((err as ValidationError).problems).toEqual([
        { field: 'retry', message: expect.stringMatching(/only by a retry/) },
      ]);
    }
    const { retry: _retry, ...plain } = retried;
    expect(normaliseSubmittedTaskRequest(plain).retry).toBeUndefined();
    expect(submitTaskBody.safeParse(retried).success).toBe(false);
    expect(submitTaskBody.safeParse(plain).success).toBe(true);
  });
});

describe('a task reference', () => {
  it('is a task id, a request id or a workflow id', () => {
    const uuid = '0b6f3a52-e1b4-4b0f-9b3e-8d2a7c1e5f90';
    expect(parseTaskRef(uuid)).toEqual({ ref: uuid, taskId: uuid, workflowId: `task-${uuid}` });
    expect(parseTaskRef('order-77')).toEqual({ ref: 'order-77', taskId: null, workflowId: 'task-order-77' });
    expect(parseTaskRef('task-order-77')).toEqual({
      ref: 'task-order-77',
      taskId: null,
      workflowId: 'task-order-77',
    });
    expect(taskIdFor('order-77')).toBe(taskIdFor('order-77'));
  });
});

describe('the workflow contract in docs/schemas', () => {
  it('is what the code validates with (regenerate with npm run docs:schemas)', () => {
    for (const [name, schema] of Object.entries(contractJsonSchemas())) {
      const file = JSON.parse(
        readFileSync(new URL(`../../docs/schemas/${name}.json`, import.meta.url), 'utf8'),
      );
      expect(file, name).toEqual(schema);
    }
  });
});
