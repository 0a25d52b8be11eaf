// `prism bench` on a small run: warm-up tasks first, then every task through the whole flow and through the
// floor, latencies per step, the ratio, the CPU breakdown, and the benchmark's tasks (warm-up ones too)
// removed afterwards.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runKafkaAgent } from '../../src/agents/kafka-transport.ts';
import { silentLogger } from '../../src/agents/logger.ts';
import { monitoringAgent } from '../../src/agents/reference/monitoring.ts';
import type { RunningAgent } from '../../src/agents/types.ts';
import { createKafka, kafkaName } from '../../src/clients/kafka.ts';
import { formatReport, runBench, type BenchReport } from '../../src/bench/index.ts';
import { createPrisma } from '../../src/db/prisma.ts';
import { silentProgress } from '../../src/progress.ts';
import { sensorReading } from '../../src/stores/influx/points.ts';
import { createInfluxWriter } from '../../src/stores/influx/writer.ts';
import type { RunningWorker } from '../../src/worker/index.ts';
import { env, testId } from '../helpers.ts';
import { startTestWorker } from './support.ts';

describe('prism bench', () => {
  const prisma = createPrisma(env);
  const machine = testId('bench').replaceAll('_', '-');
  const agentId = `bench-monitoring-${randomUUID().slice(0, 8)}`;
  let worker: RunningWorker;
  let agent: RunningAgent;
  let report: BenchReport;

  beforeAll(async () => {
    const writer = createInfluxWriter(env);
    for (let i = 0; i < 12; i++) {
      writer.write(
        sensorReading({
          line: 'line-bench',
          machine,
          sensorType: 'spindle_temperature_c',
          value: 60 + (i % 4),
          quality: 'GOOD',
          time: Date.now() - (12 - i) * 60_000,
        }),
      );
    }
    await writer.close();
    worker = await startTestWorker();
    agent = await runKafkaAgent({
      ...monitoringAgent,
      env,
      agentId,
      log: silentLogger,
      heartbeatIntervalMs: 2_000,
    });
    report = await runBench(
      env,
      {
        tasks: 6,
        concurrency: 3,
        warmup: 4,
        agentType: 'MONITORING',
        parameters: { machine, sensorType: 'spindle_temperature_c', since: '-30m' },
      },
      silentProgress,
    );
  }, 180_000);

  afterAll(async () => {
    await agent?.stop();
    await worker?.stop();
    await prisma.agent.deleteMany({ where: { id: agentId } });
    await prisma.$disconnect();
  });

  it('runs every task through Temporal and through the floor, timing each step', () => {
    const steps = [
      'createTask',
      'knowledge',
      'dispatch',
      'agent',
      'recordStep',
      'recordResult',
      'recordMetrics',
    ];
    for (const run of [report.temporal, report.floor!]) {
      expect(run.tasks).toBe(6);
      expect(run.failed).toBe(0);
      expect(run.endToEnd.count).toBe(6);
      expect(run.endToEnd.p50).toBeGreaterThan(0);
      expect(run.endToEnd.p50).toBeLessThanOrEqual(run.endToEnd.p95);
      expect(run.endToEnd.p95).toBeLessThanOrEqual(run.endToEnd.max);
      expect(run.throughputPerSec).toBeCloseTo((6 / run.wallMs) * 1000, 5);
      expect(Object.keys(run.steps).sort()).toEqual([...steps].sort());
      for (const step of steps) expect(run.steps[step]!.count).toBe(6);
    }
    expect(report.ratio!.throughput).toBeCloseTo(
      report.temporal.throughputPerSec / report.floor!.throughputPerSec,
      5,
    );
  });

  it('runs the warm-up tasks first, through Temporal, and leaves them out of the figures', () => {
    expect(report.warmup).toMatchObject({ tasks: 4, failed: 0 });
    expect(report.warmup!.throughputPerSec).toBeCloseTo((4 / report.warmup!.wallMs) * 1000, 5);
    // The measured run counts its own 6 alone.
    expect(report.temporal.endToEnd.count).toBe(6);
    expect(formatReport(report)).toMatch(
      /^Through Temporal \(after 4 warm-up tasks, not measured\): 6\/6 tasks/,
    );
  });

  it('measures the engine alone with as many no-op workflows', () => {
    const engine = report.engine!;
    expect(engine.tasks).toBe(6);
    expect(engine.failed).toBe(0);
    expect(engine.endToEnd.count).toBe(6);
    expect(engine.steps).toEqual({});
    expect(formatReport(report)).toMatch(/Engine: no-op workflows alone reach [\d.]+ tasks\/s here/);
  });

  it('says where the CPU time went, per process', () => {
    const cpu = report.temporal.cpu!;
    const names = cpu.perProcess.map((p) => p.name);
    // The worker and agent run inside this test process; the stack's services have pid files.
    for (const name of ['bench (this process)', 'temporal', 'postgres', 'kafka'])
      expect(names).toContain(name);
    expect(cpu.perProcess.find((p) => p.name === 'bench (this process)')!.msPerTask).toBeGreaterThan(0);
    expect(cpu.perProcess.find((p) => p.name === 'temporal')!.msPerTask).toBeGreaterThan(0);
    const sum = cpu.perProcess.reduce((s, p) => s + p.msPerTask, 0);
    expect(cpu.totalMsPerTask).toBeCloseTo(sum, 0);
    expect(cpu.perProcess.reduce((s, p) => s + p.share, 0)).toBeCloseTo(1, 1);
    expect(cpu.cpuBoundTasksPerSec).toBeCloseTo((cpu.cores * 1000) / cpu.totalMsPerTask, 0);
    expect(formatReport(report)).toMatch(/CPU: [\d.]+ ms per task over all processes/);
  });

  it('removes its tasks from PostgreSQL afterwards', async () => {
    expect(report.runId).toMatch(/^[0-9a-f]{8}$/);
    const left = await prisma.task.count({ where: { requestId: { contains: report.runId } } });
    expect(left).toBe(0);
    const kafka = createKafka(env);
    const admin = kafka.admin();
    await admin.connect();
    const { groups } = await admin.listGroups();
    await admin.disconnect();
    expect(groups.map((g) => g.groupId)).not.toContain(kafkaName(kafka, `bench-floor-${report.runId}`));
  });
});
