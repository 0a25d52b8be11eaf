// Step 8 of the flow: the task's performance in InfluxDB (one point per step and one for the task) and in
// the worker's Prometheus metrics. Points carry the workflow's own timestamps, so a retry overwrites them.
import type { ActivityDeps } from './deps.ts';
import { taskPerformance } from '../src/stores/influx/points.ts';
import { createRealtimeMetrics } from '../src/stores/redis/metrics.ts';
import { finishedTasksMetric } from '../src/task/ids.ts';

export function metricsActivities({ influx, metrics, redis }: ActivityDeps) {
  const realtime = createRealtimeMetrics(redis);
  return {
    async recordMetrics(input: {
      taskId: string;
      agentType: string;
      status: 'COMPLETED' | 'FAILED' | 'CANCELLED';
      timings: Record<string, number>;
      durationMs: number;
      startedAtMs: number;
    }): Promise<void> {
      const outcome =
        input.status === 'COMPLETED' ? 'SUCCESS' : input.status === 'CANCELLED' ? 'CANCELLED' : 'FAILURE';
      // Every point of the task at the execution's start (its `step` tag tells them apart): the same
      // timestamps however often, and in whatever order of its steps, the run is executed again.
      const points = Object.entries(input.timings).map(([step, ms]) =>
        taskPerformance({
          agentType: input.agentType,
          step: step.replace(/[^A-Za-z0-9_.:/-]/g, '_').slice(0, 64),
          outcome,
          durationMs: ms,
          taskId: input.taskId,
          attempts: 1,
          time: input.startedAtMs,
        }),
      );
      points.push(
        taskPerformance({
          agentType: input.agentType,
          step: 'task',
          outcome,
          durationMs: input.durationMs,
          taskId: input.taskId,
          attempts: 1,
          time: input.startedAtMs,
        }),
      );
      influx.write(...points);
      await influx.flush();
      // Real-time, over all workers (Redis): once per task, however often this activity is retried.
      await realtime.countOnce(finishedTasksMetric(input.status), input.taskId);
      for (const [step, ms] of Object.entries(input.timings)) {
        // `dispatch:main` -> `dispatch`: the step kind, not the plan's own keys, keeps label values bounded.
        metrics?.stepDuration.observe({ step: step.replace(/:.*$/, ''), outcome }, ms / 1000);
      }
      metrics?.tasksFinished.inc({ agent_type: input.agentType, status: input.status });
      metrics?.taskDuration.observe(
        { agent_type: input.agentType, status: input.status },
        input.durationMs / 1000,
      );
    },
  };
}
