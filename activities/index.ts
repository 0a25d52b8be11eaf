// The activities of the agent task flow: the only code that touches the stores. The worker builds the
// clients once (createActivityDeps) and injects them; workflows import the *type* of this object only.
import type { ActivityDeps } from './deps.ts';
import { alertActivities } from './alerts.ts';
import { backupActivities } from './backup.ts';
import { sensorRuleActivities } from './sensor-rules.ts';
import { dispatchActivities } from './dispatch.ts';
import { knowledgeActivities } from './knowledge.ts';
import { metricsActivities } from './metrics.ts';
import { taskActivities } from './task.ts';

export function createActivities(deps: ActivityDeps) {
  return {
    ...taskActivities(deps),
    ...knowledgeActivities(deps),
    ...dispatchActivities(deps),
    ...metricsActivities(deps),
    ...alertActivities(deps),
    ...sensorRuleActivities(deps),
    ...backupActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
export { createActivityDeps, closeActivityDeps, type ActivityDeps } from './deps.ts';
