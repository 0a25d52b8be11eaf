// Steps 7 and 8 at the task's end as one local activity — one marker in the run's history and one activation
// of the workflow where a run once had three: the answer of a single-step task's step (kept back by the run
// until now), the task's outcome, and its metrics. Each part is idempotent on its own (one-statement SQL with
// deterministic ids, a message with the same id, points with the same timestamps), so a retry of the whole is.
import type { AgentResponse } from '../src/task/index.ts';
import type { metricsActivities } from './metrics.ts';
import type { taskActivities } from './task.ts';

type Parts = Pick<ReturnType<typeof taskActivities>, 'recordStepResult' | 'recordResult'> &
  Pick<ReturnType<typeof metricsActivities>, 'recordMetrics'>;
type ResultInput = Parameters<Parts['recordResult']>[0];

export interface FinishTaskInput extends ResultInput {
  /** Steps whose answers the run kept back to record here (a single-step task's step). */
  steps: { stepKey: string; response: AgentResponse }[];
  /** Step 8: `timings` are the run's own; this activity adds those of its parts. */
  metrics: { agentType: string; timings: Record<string, number>; durationMs: number; startedAtMs: number };
}

export function finishActivities(parts: Parts) {
  return {
    async finishTask(input: FinishTaskInput): Promise<{ timings: Record<string, number> }> {
      const { steps, metrics, ...result } = input;
      const started = Date.now();
      const timings: Record<string, number> = {};
      const timed = async (name: string, work: () => Promise<void>) => {
        const t0 = Date.now();
        await work();
        timings[name] = Date.now() - t0;
      };
      for (const { stepKey, response } of steps) {
        await timed(`recordStep:${stepKey}`, () =>
          parts.recordStepResult({
            taskId: result.taskId,
            stepKey,
            response,
            ...(result.attempt ? { attempt: result.attempt } : {}),
          }),
        );
      }
      await timed('recordResult', () => parts.recordResult(result));
      await timed('recordMetrics', () =>
        parts.recordMetrics({
          taskId: result.taskId,
          agentType: metrics.agentType,
          status: result.status,
          timings: { ...metrics.timings, ...timings },
          durationMs: metrics.durationMs + (Date.now() - started),
          startedAtMs: metrics.startedAtMs,
        }),
      );
      return { timings };
    },
  };
}
