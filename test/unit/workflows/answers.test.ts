// The answers a run keeps (workflows/answers.ts), outside a workflow: patched() is a fake that answers as a
// run would — true for a run that began after the patch, false for one replaying from before it — and keeps
// the order of the calls, which is part of a run's history.
import { describe, expect, it } from 'vitest';
import type { AgentResponse } from '../../../src/task/index.ts';
import {
  answersByStepPatch,
  createAnswers,
  earlyAnswersPatch,
  maxEarlyAnswers,
  validAnswersPatch,
} from '../../../workflows/answers.ts';

function fakePatched(applies: boolean) {
  const calls: string[] = [];
  const patched = (id: string) => {
    calls.push(id);
    return applies;
  };
  return { patched, calls };
}

const commandId = '6f1c2a3b-1111-4222-8333-444455556666';
const otherCommandId = '7a2d3b4c-2222-4333-9444-555566667777';

function answer(overrides: Partial<AgentResponse> = {}): AgentResponse {
  return {
    commandId,
    workflowId: 'task-answers',
    stepKey: 'watch',
    agentId: 'monitoring-1',
    status: 'SUCCESS',
    result: {},
    ...overrides,
  };
}

describe('answers of a run that began after every patch', () => {
  it('asks for the by-step marker once, at once, and the others only when an answer needs them', () => {
    const { patched, calls } = fakePatched(true);
    const answers = createAnswers(patched);
    expect(calls).toEqual([answersByStepPatch]);
    answers.planKnown(['watch']);
    answers.receive(answer());
    expect(calls).toEqual([answersByStepPatch]); // a valid answer after the plan needs no other
    answers.receive({ commandId: otherCommandId, stepKey: 'watch' } as AgentResponse);
    expect(calls).toEqual([answersByStepPatch, validAnswersPatch]);
  });

  it('keeps the first answer to each command and step, and tells steps apart by key', () => {
    const answers = createAnswers(fakePatched(true).patched);
    answers.planKnown(['watch', 'forecast']);
    answers.receive(answer({ agentId: 'first' }));
    answers.receive(answer({ agentId: 'second' }));
    answers.receive(answer({ stepKey: 'forecast', agentId: 'other-step' }));
    expect(answers.get(commandId, 'watch')?.agentId).toBe('first');
    expect(answers.get(commandId, 'forecast')?.agentId).toBe('other-step');
    expect(answers.has(otherCommandId, 'watch')).toBe(false);
  });

  it('drops malformed answers and answers for steps the plan does not have', () => {
    const answers = createAnswers(fakePatched(true).patched);
    answers.planKnown(['watch']);
    answers.receive(answer({ agentId: '' }));
    answers.receive(answer({ stepKey: 'elsewhere' }));
    answers.receive(undefined as unknown as AgentResponse);
    expect(answers.has(commandId, 'watch')).toBe(false);
    expect(answers.has(commandId, 'elsewhere')).toBe(false);
  });

  it('keeps answers that come before the plan, then only those for its steps', () => {
    const { patched, calls } = fakePatched(true);
    const answers = createAnswers(patched);
    answers.receive(answer());
    answers.receive(answer({ commandId: otherCommandId, stepKey: 'not-in-plan' }));
    expect(calls).toEqual([answersByStepPatch, earlyAnswersPatch, earlyAnswersPatch]);
    answers.planKnown(['watch']);
    expect(answers.has(commandId, 'watch')).toBe(true);
    expect(answers.has(otherCommandId, 'not-in-plan')).toBe(false);
  });

  it(`keeps at most ${maxEarlyAnswers} answers before the plan, without asking for the marker beyond`, () => {
    const { patched, calls } = fakePatched(true);
    const answers = createAnswers(patched);
    for (let i = 0; i <= maxEarlyAnswers; i++) answers.receive(answer({ stepKey: `step-${i}` }));
    expect(calls.filter((c) => c === earlyAnswersPatch)).toHaveLength(maxEarlyAnswers);
    answers.planKnown([`step-${maxEarlyAnswers - 1}`, `step-${maxEarlyAnswers}`]);
    expect(answers.has(commandId, `step-${maxEarlyAnswers - 1}`)).toBe(true);
    expect(answers.has(commandId, `step-${maxEarlyAnswers}`)).toBe(false);
  });
});

describe('answers of a run replaying from before the patches', () => {
  it('keys answers by command id alone: an answer naming another step takes the command’s place', () => {
    const answers = createAnswers(fakePatched(false).patched);
    answers.planKnown(['watch', 'forecast']);
    answers.receive(answer({ stepKey: 'forecast', agentId: 'wrong-step' }));
    answers.receive(answer({ agentId: 'right-step' }));
    expect(answers.get(commandId, 'watch')?.agentId).toBe('wrong-step');
  });

  it('keeps a malformed answer, and drops an answer that comes before the plan', () => {
    const answers = createAnswers(fakePatched(false).patched);
    answers.receive(answer());
    answers.planKnown(['watch']);
    expect(answers.has(commandId, 'watch')).toBe(false);
    answers.receive(answer({ agentId: '' }));
    expect(answers.get(commandId, 'watch')?.agentId).toBe('');
  });
});
