// The two workers' registrations: the task worker's bundle has the agent task flow alone, the maintenance
// worker's everything that is not a user's task, and no workflow is in both; the upgrade step knows them all.
import { describe, expect, it } from 'vitest';
import * as maintenance from '../../workflows/maintenance.ts';
import * as tasks from '../../workflows/index.ts';
import { maintenanceWorkflowTypes } from '../../src/stores/temporal/maintenance-runs.ts';
import { productSchedules } from '../../src/stores/temporal/schedules.ts';
import { workflowType } from '../../src/task/contract.ts';
import { parseConfig } from '../../src/config.ts';

const functions = (module: object) =>
  Object.entries(module)
    .filter(([, value]) => typeof value === 'function')
    .map(([name]) => name)
    .sort();

describe('what each worker registers', () => {
  it('the task worker: agentTask and the bench’s no-op, no maintenance workflow', () => {
    expect(functions(tasks)).toEqual([workflowType, 'benchNoop'].sort());
  });

  it('the maintenance worker: backups, retention, drill, scans and escalation, no agent task', () => {
    expect(functions(maintenance)).toEqual([...maintenanceWorkflowTypes].sort());
    expect(functions(maintenance)).not.toContain(workflowType);
  });

  it('schedules only maintenance workflows', () => {
    const env = parseConfig({ INFLUX_PASSWORD: 'secret-1', POSTGRES_APP_PASSWORD: 'secret-2' });
    for (const schedule of productSchedules(env))
      expect(maintenanceWorkflowTypes, schedule.id).toContain(schedule.workflowType);
  });
});
