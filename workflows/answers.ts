// The agents' answers a run keeps, by command id and step key: the first answer to each counts, kept from the
// moment it arrives — even before the plan is known, when a replayed run meets an answer ahead of createTask.
// Three rules came in later than the runs they would change, so each is behind a patch() marker and runs that
// began before it replay as they ran (docs/workflows.md, "Retiring patches", says when a marker may go).
// Workflow code: no I/O; `patched` is a parameter so that the rules are tested outside a workflow too.
import { patched as workflowPatched } from '@temporalio/workflow';
import { isAgentResponse, type AgentResponse } from '../src/task/contract.ts';

/** Answers that arrive before the plan is known are kept (before it, they were dropped). */
export const earlyAnswersPatch = 'keep-answers-before-plan';
/** Answers that are not AgentResponses are dropped (before it, they were kept). */
export const validAnswersPatch = 'drop-malformed-answers';
/**
 * Answers are kept by command id *and* step key. Before it, an answer that carried a step's command id with
 * another step key took that command's place (kept before the plan and dropped when the plan was known, or
 * read by the step although it named another), so the real answer could be lost or a later duplicate counted.
 */
export const answersByStepPatch = 'answers-by-command-and-step';
/** At most this many answers before the plan (a task has at most 20 steps; more are not this task's). */
export const maxEarlyAnswers = 100;

export interface Answers {
  /** The agentResponse signal: keeps the answer if it is the first for its command and step, and may be this run's. */
  receive(response: AgentResponse): void;
  /** The plan is known: answers for steps it does not have are dropped, and later ones are not kept. */
  planKnown(stepKeys: readonly string[]): void;
  has(commandId: string, stepKey: string): boolean;
  get(commandId: string, stepKey: string): AgentResponse | undefined;
}

/**
 * The run's answers. Call once, where the run starts (it asks for the by-step marker at once; the other two
 * only when an answer needs them — the order and the conditions of the patched() calls are part of the
 * run's history, so they stay as they were recorded).
 */
export function createAnswers(patched: (patchId: string) => boolean = workflowPatched): Answers {
  const answers = new Map<string, AgentResponse>();
  let steps: readonly string[] = [];
  const byStep = patched(answersByStepPatch);
  const keyOf = (commandId: string, stepKey: unknown) =>
    byStep ? `${commandId}\u0000${String(stepKey)}` : commandId;
  return {
    // The bridge may deliver an answer twice (Kafka is at-least-once), or one for another command (late, or
    // foreign): only the first answer to each command of this task's steps is kept, and a step reads only
    // the answer that names both its command and itself.
    receive(response) {
      if (typeof response?.commandId !== 'string') return;
      const key = keyOf(response.commandId, response.stepKey);
      if (answers.has(key)) return;
      // Any Temporal client may signal a run: a malformed answer is no answer, its step waits for a valid one.
      if (!isAgentResponse(response) && patched(validAnswersPatch)) return;
      if (steps.length > 0) {
        if (!steps.includes(response.stepKey)) return;
      } else if (answers.size >= maxEarlyAnswers || !patched(earlyAnswersPatch)) {
        // Before the plan is known. That happens when the workflow task that created the task and sent the
        // command was lost (its worker killed, its completion not stored while Temporal or its database was
        // down): the run is replayed with the answer in its history ahead of createTask, and the agent, which
        // dedupes the re-sent command, never answers again. Kept, checked against the plan once it is known.
        // (Runs that began before this rule replay as they ran: they dropped such an answer.)
        return;
      }
      answers.set(key, response);
    },
    planKnown(stepKeys) {
      steps = [...stepKeys];
      for (const [key, answer] of answers) {
        if (!steps.includes(answer.stepKey)) answers.delete(key);
      }
    },
    has: (commandId, stepKey) => answers.has(keyOf(commandId, stepKey)),
    get: (commandId, stepKey) => answers.get(keyOf(commandId, stepKey)),
  };
}
