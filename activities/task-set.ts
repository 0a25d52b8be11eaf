// The task worker's activities (TEMPORAL_TASK_QUEUE). Apart from the maintenance set so that the task worker's
// code, and so its configuration (src/config.ts componentVariables), holds nothing of the backups.
import type { ActivityDeps } from './deps.ts';
import { withPrismFailures } from './failures.ts';
import { dispatchActivities } from './dispatch.ts';
import { finishActivities } from './finish.ts';
import { admissionActivities } from './admission.ts';
import { knowledgeActivities } from './knowledge.ts';
import { metricsActivities } from './metrics.ts';
import { taskActivities } from './task.ts';

/** The steps of the agent task flow (workflows/agent-task.ts); a PrismError fails one as its code says. */
export function createTaskActivities(deps: ActivityDeps) {
  const task = taskActivities(deps);
  const metrics = metricsActivities(deps);
  return withPrismFailures({
    ...task,
    ...knowledgeActivities(deps),
    // Step 3 behind the per-type limit (PRISM_AGENT_LIMITS), and the release of its slot: ./admission.ts.
    ...admissionActivities(deps, dispatchActivities(deps)),
    ...metrics,
    // Steps 7 and 8 at the end of a run in one: ./finish.ts.
    ...finishActivities({ ...task, ...metrics }),
  });
}
