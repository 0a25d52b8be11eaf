// Maintenance on a worker of its own: `prism maintenance-worker`, started as `prism up` starts it (a process
// with its component's secrets only), runs what the schedules and `prism backup` start on its queue while no
// task worker runs; and each worker takes only its own workflows — one on the other's queue is not run.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { componentProcessEnv } from '../../src/app/index.ts';
import { connectTemporal } from '../../src/clients/temporal.ts';
import { createPrisma } from '../../src/db/prisma.ts';
import { isSecretVariable } from '../../src/identity.ts';
import { silentProgress } from '../../src/progress.ts';
import { sensorReading } from '../../src/stores/influx/points.ts';
import { createInfluxWriter } from '../../src/stores/influx/writer.ts';
import { moveMaintenanceRuns } from '../../src/stores/temporal/maintenance-runs.ts';
import { provisionSchedules } from '../../src/stores/temporal/schedules.ts';
import { workflowType } from '../../src/task/contract.ts';
import { startWorker, type RunningWorker } from '../../src/worker/index.ts';
import { startMaintenanceWorker } from '../../src/worker/maintenance.ts';
import { env, freePorts, testId, waitFor } from '../helpers.ts';

const run = promisify(execFile);

/** The failure of the workflow tasks of a run no worker of its queue can run, once there is one. */
async function workflowTaskFailure(handle: WorkflowHandle): Promise<string> {
  return waitFor(
    `a failed workflow task of ${handle.workflowId}`,
    async () => {
      const history = await handle.fetchHistory();
      const failed = history.events?.find((e) => e.workflowTaskFailedEventAttributes);
      return failed?.workflowTaskFailedEventAttributes?.failure?.message ?? undefined;
    },
    30_000,
  );
}

describe('the maintenance worker', () => {
  const prisma = createPrisma(env);
  const machine = testId('maint').replaceAll('_', '-');
  const sensorType = 'coolant_temperature_c';
  let temporal: Client;
  let child: ChildProcess;
  let output = '';
  let metricsPort: number;
  let backupDir: string;
  let constraintId: string;

  beforeAll(async () => {
    temporal = await connectTemporal(env);
    backupDir = await mkdtemp(join(tmpdir(), 'prism-maintenance-test-'));
    [metricsPort] = (await freePorts(1)) as [number];
    // The schedules of the tests' deployment target its maintenance queue (provisioning moves older ones).
    await provisionSchedules(env, silentProgress);
    // A rule this test alone breaks; no task for it (none would run: no task worker here).
    const constraint = await prisma.constraint.create({
      data: {
        name: testId('maint_rule'),
        constraintType: 'SAFETY',
        agentType: 'MONITORING',
        rule: { sensorType, operator: '<=', value: 40, windowSeconds: 60, machine, openTask: false },
        severity: 'WARNING',
      },
    });
    constraintId = constraint.id;
    // Too hot for three minutes around now, whichever minute the scheduled scan's window ends at.
    const writer = createInfluxWriter(env);
    const now = Date.now();
    for (let s = -120; s <= 90; s += 5) {
      writer.write(
        sensorReading({
          line: 'line-maint',
          machine,
          sensorType,
          value: 55,
          quality: 'GOOD',
          time: now + s * 1000,
        }),
      );
    }
    await writer.close();
    // As `prism up` starts it: its own secrets only, from the launcher's environment.
    const processEnv = {
      ...componentProcessEnv('maintenance'),
      MAINTENANCE_METRICS_PORT: String(metricsPort),
      PRISM_BACKUP_DIR: backupDir,
    };
    child = spawn(process.execPath, ['bin/prism.js', 'maintenance-worker'], {
      env: processEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (d: Buffer) => void (output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => void (output += d.toString()));
    await waitFor('the maintenance worker to be ready', async () => /\bready\b/.test(output), 120_000);
  }, 180_000);

  afterAll(async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      await new Promise((resolve) => {
        child.once('exit', resolve);
        child.kill('SIGTERM');
      });
    }
    await prisma.constraintViolation.deleteMany({ where: { constraintId } });
    await prisma.constraint.deleteMany({ where: { id: constraintId } });
    await prisma.$disconnect();
    await temporal?.connection.close();
    await rm(backupDir, { recursive: true, force: true });
  });

  it('runs as its own component, on its queue, with its own /metrics', async () => {
    expect(output).toContain(`ready: task queue ${env.TEMPORAL_MAINTENANCE_TASK_QUEUE}`);
    const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    expect(metrics).toMatch(/component="maintenance"/);
    // It was given the backup secrets and no admin's.
    const given = Object.keys(componentProcessEnv('maintenance')).filter(isSecretVariable);
    expect(given).toEqual(expect.arrayContaining(['POSTGRES_BACKUP_PASSWORD', 'REDIS_BACKUP_PASSWORD']));
    expect(given).not.toContain('POSTGRES_PASSWORD');
    expect(given).not.toContain('REDIS_PASSWORD');
  });

  it('runs the sensor-rule schedule with no task worker running: a violation recorded', async () => {
    const schedule = temporal.schedule.getHandle('sensor-rule-scan');
    const before = await schedule.describe();
    expect(before.action.taskQueue).toBe(env.TEMPORAL_MAINTENANCE_TASK_QUEUE);
    const seen = new Set(before.info.recentActions.map((a) => a.action.workflow.workflowId));
    // Paused in the tests' deployment: a trigger still starts one run now.
    await schedule.trigger();
    const workflowId = await waitFor(
      'the triggered run',
      async () =>
        (await schedule.describe()).info.recentActions
          .map((a) => a.action.workflow.workflowId)
          .find((id) => !seen.has(id)),
      30_000,
    );
    const result = (await temporal.workflow.getHandle(workflowId).result()) as {
      windowEnd: string;
      violations: number;
    };
    expect(result.violations).toBeGreaterThanOrEqual(1);
    const rows = await prisma.constraintViolation.findMany({ where: { constraintId } });
    expect(rows.map((r) => r.detectedAt.toISOString())).toContain(result.windowEnd);
    expect(rows[0]).toMatchObject({ actualValue: '55', expectedValue: `${sensorType} <= 40` });
  }, 120_000);

  it('takes `prism backup run` on its queue: the backup completed, and recorded', async () => {
    const { stdout } = await run('node', ['bin/prism.js', 'backup', 'run', '--store', 'redis', '--json'], {
      env: { ...process.env, PRISM_BACKUP_DIR: backupDir },
      maxBuffer: 16 * 1024 * 1024,
    });
    const { backupId } = JSON.parse(stdout) as { backupId: string };
    const row = await prisma.backupRun.findFirstOrThrow({ where: { backupId, kind: 'BACKUP' } });
    expect(row.ok).toBe(true);
    expect(row.runKey).toMatch(/^backup-manual-/);
    // The run key is the workflow's id and run.
    const [workflowId, runId] = row.runKey.split('/') as [string, string];
    const described = await temporal.workflow.getHandle(workflowId, runId).describe();
    expect(described.taskQueue).toBe(env.TEMPORAL_MAINTENANCE_TASK_QUEUE);
    await prisma.backupRun.deleteMany({ where: { id: row.id } });
  }, 180_000);
});

describe('each worker runs only its own workflows', () => {
  let temporal: Client;
  const queue = `workers-${randomUUID().slice(0, 8)}`;
  const queues = { TEMPORAL_TASK_QUEUE: `${queue}-tasks`, TEMPORAL_MAINTENANCE_TASK_QUEUE: `${queue}-maint` };
  const workers: RunningWorker[] = [];

  beforeAll(async () => {
    temporal = await connectTemporal(env);
    workers.push(
      await startWorker(
        { ...env, ...queues },
        { metricsPort: null, withIngress: false, withBridge: false, withAlertHandler: false, log: () => {} },
      ),
      await startMaintenanceWorker({ ...env, ...queues }, { metricsPort: null, log: () => {} }),
    );
  }, 120_000);

  afterAll(async () => {
    await Promise.all(workers.map((w) => w.stop()));
    await temporal?.connection.close();
  });

  it('the task worker does not run a maintenance workflow, nor the maintenance worker an agent task', async () => {
    const scan = await temporal.workflow.start('sensorRuleScan', {
      taskQueue: queues.TEMPORAL_TASK_QUEUE,
      workflowId: `misplaced-scan-${randomUUID()}`,
      args: [{}],
    });
    const task = await temporal.workflow.start(workflowType, {
      taskQueue: queues.TEMPORAL_MAINTENANCE_TASK_QUEUE,
      workflowId: `misplaced-task-${randomUUID()}`,
      args: [{ requestId: `misplaced-${randomUUID()}`, query: 'never run', agentType: 'MONITORING' }],
    });
    try {
      expect(await workflowTaskFailure(scan)).toMatch(/sensorRuleScan/);
      expect(await workflowTaskFailure(task)).toMatch(new RegExp(workflowType));
      expect((await scan.describe()).status.name).toBe('RUNNING');
    } finally {
      await Promise.allSettled([scan.terminate('test'), task.terminate('test')]);
    }
  });

  it('moves maintenance runs still open on the task queue (from before the split) to the maintenance queue', async () => {
    const escalation = await temporal.workflow.start('alertEscalation', {
      taskQueue: queues.TEMPORAL_TASK_QUEUE,
      workflowId: `stranded-escalation-${randomUUID()}`,
      args: [{ fingerprint: `stranded-${randomUUID()}`, startsAt: new Date().toISOString(), afterMs: 4_000 }],
    });
    try {
      // Visibility lists a new run a moment later; moving again finds nothing left to move.
      await waitFor(
        'the stranded escalation to be moved',
        async () =>
          (await moveMaintenanceRuns({ ...env, ...queues }, silentProgress)).moved.includes(
            escalation.workflowId,
          ),
        30_000,
      );
      const moved = temporal.workflow.getHandle(escalation.workflowId);
      expect((await moved.describe()).taskQueue).toBe(queues.TEMPORAL_MAINTENANCE_TASK_QUEUE);
      const stranded = temporal.workflow.getHandle(escalation.workflowId, escalation.firstExecutionRunId);
      expect((await stranded.describe()).status.name).toBe('TERMINATED');
      // It keeps its deadline (no alert by that fingerprint: nothing to escalate).
      expect(await moved.result()).toEqual({ escalated: false });
    } finally {
      await temporal.workflow
        .getHandle(escalation.workflowId)
        .terminate('test')
        .catch(() => undefined);
    }
  }, 60_000);
});
