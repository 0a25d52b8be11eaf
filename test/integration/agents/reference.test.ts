// The four reference agents against the real stores, through the runtime's command execution: each reads its
// primary data from a store, returns a deterministic result, and leaves its side effects (Redis alert queue,
// Kafka messages, PostgreSQL violation rows, Weaviate memory) exactly once per command.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Kafka } from 'kafkajs';
import { CommandTracker, executeCommand } from '../../../src/agents/execute.ts';
import { silentLogger } from '../../../src/agents/logger.ts';
import {
  analysisAgent,
  controlAgent,
  monitoringAgent,
  predictionAgent,
} from '../../../src/agents/reference/index.ts';
import {
  recordMachineSetpoint,
  StaleFenceError,
  type MachineSetpoint,
} from '../../../src/agents/reference/control.ts';
import { sensorAlertFingerprint, sensorAlertName } from '../../../src/agents/reference/monitoring.ts';
import { AgentStores } from '../../../src/agents/stores.ts';
import type { AgentHandler } from '../../../src/agents/types.ts';
import { createKafka } from '../../../src/clients/kafka.ts';
import type { AgentCommand, AgentType } from '../../../src/task/index.ts';
import { taskMemoryNamespace, uuidFrom } from '../../../src/task/ids.ts';
import { silentProgress } from '../../../src/progress.ts';
import { createInfluxWriter, provisionInflux, sensorReading } from '../../../src/stores/influx/index.ts';
import { Topic } from '../../../src/stores/kafka/topics.ts';
import { importObjects, prismCollection, provisionWeaviate } from '../../../src/stores/weaviate/index.ts';
import { testId } from '../../helpers.ts';
import { influxTestDatabase } from '../influx/fixtures.ts';
import { vibrationWatch } from './fixtures/example-agent.ts';
import { makeCommand, tailTopic, type TopicTail } from './support.ts';

const tid = testId('agref');
const redisPrefix = `prism:${tid}`;
const weaviatePrefix = `Test_${tid.slice(-12)}_`;
const db = influxTestDatabase('agents');
const stores = new AgentStores(db.env, { redisPrefix, weaviatePrefix });
const kafka: Kafka = createKafka(db.env);

/** Runs a command as the runtime does, as agent `<tid>-<type>`. */
function run(type: AgentType, handler: AgentHandler, command: AgentCommand) {
  const identity = { agentId: `${tid}-${type.toLowerCase()}`, agentType: type };
  return executeCommand({
    identity,
    stores,
    tracker: new CommandTracker(identity, stores),
    handler,
    command,
    log: silentLogger,
  });
}

// Loosely typed views of results, for assertions.
type Result = Record<string, unknown> & {
  alert?: { fingerprint: string; eventId: string; severity: string; message: string };
  anomalies?: unknown[];
  hits?: { title: string; collection: string }[];
  fit?: { rmse: number };
  bySource?: Record<string, number>;
};
const resultOf = (response: { result: Record<string, unknown> }) => response.result as Result;

beforeAll(async () => {
  await provisionInflux(db.env, silentProgress);
});
afterAll(async () => {
  await db.drop();
  const keys = await stores.redis.keys(`${redisPrefix}:*`);
  if (keys.length > 0) await stores.redis.del(...keys);
  await stores.close();
});

describe('MONITORING', () => {
  const machine = `${tid}_press`;
  const quiet = `${tid}_quiet`;
  const start = Date.now() - 10 * 60_000;
  // 30 readings 10 s apart around 50 °C; the 26th is a spike to 95 °C.
  const temperature = (i: number) => (i === 25 ? 95 : 50 + ((i * 7) % 5) - 2);
  let alerts: TopicTail;

  beforeAll(async () => {
    const writer = createInfluxWriter(db.env);
    for (let i = 0; i < 30; i++) {
      writer.write(
        sensorReading({
          line: 'L1',
          machine,
          sensorType: 'temperature',
          value: temperature(i),
          unit: 'C',
          quality: 'GOOD',
          time: start + i * 10_000,
        }),
        // For the example agent of docs/agents.md: a vibration peak of 6 mm/s.
        sensorReading({
          line: 'L1',
          machine,
          sensorType: 'vibration',
          value: i === 25 ? 6 : 1,
          quality: 'GOOD',
          time: start + i * 10_000,
        }),
        sensorReading({
          line: 'L1',
          machine: quiet,
          sensorType: 'temperature',
          value: 60 + (i % 3),
          quality: 'GOOD',
          time: start + i * 10_000,
        }),
      );
    }
    await writer.close();
    alerts = await tailTopic(kafka, Topic.MonitoringAlerts);
  });
  afterAll(() => alerts.stop());

  it('finds the spike, raises an alert on Kafka, and is BUSY then IDLE in Redis', async () => {
    const command = makeCommand('MONITORING', { parameters: { machine, since: '-1h' } });
    const seen: { during?: Awaited<ReturnType<typeof stores.agentState.get>> } = {};
    const response = await run(
      'MONITORING',
      async (c, ctx) => {
        seen.during = await ctx.agentState.get(ctx.agentId);
        return monitoringAgent.handler(c, ctx);
      },
      command,
    );
    expect(response).toMatchObject({
      status: 'SUCCESS',
      commandId: command.commandId,
      agentId: `${tid}-monitoring`,
    });
    const result = resultOf(response);
    expect(result).toMatchObject({
      readings: 30,
      stats: { count: 30, median: 50, max: 95 },
      anomalyCount: 1,
      anomalies: [{ time: new Date(start + 25 * 10_000).toISOString(), value: 95, reasons: ['robust-z'] }],
    });

    // The agent raises the alert on Kafka (the alert handler keeps it in Redis and PostgreSQL: alerts.test.ts),
    // as one alert per machine and sensor, dated by the readings that raised it.
    const fingerprint = sensorAlertFingerprint(machine, 'temperature');
    expect(result.alert).toMatchObject({ fingerprint, severity: 'CRITICAL' });
    const message = await alerts.byId(result.alert!.eventId);
    expect(message).toMatchObject({
      type: 'alert',
      payload: {
        fingerprint,
        name: sensorAlertName,
        status: 'FIRING',
        severity: 'CRITICAL',
        source: `${tid}-monitoring`,
        taskId: command.taskId,
        agentId: `${tid}-monitoring`,
        labels: { machine, sensorType: 'temperature' },
        startsAt: new Date(start + 25 * 10_000).toISOString(),
        details: { commandId: command.commandId, anomalyCount: 1 },
      },
    });

    expect(seen.during).toMatchObject({
      status: 'BUSY',
      currentTask: command.taskId,
      fields: { commandId: command.commandId },
    });
    const after = await stores.agentState.get(`${tid}-monitoring`);
    expect(after).toMatchObject({
      status: 'IDLE',
      currentTask: null,
      fields: { lastTask: command.taskId, lastStatus: 'SUCCESS' },
    });
  });

  it('raises no alert for a steady machine', async () => {
    const response = await run(
      'MONITORING',
      monitoringAgent.handler,
      makeCommand('MONITORING', { parameters: { machine: quiet, since: '-1h' } }),
    );
    expect(response.status).toBe('SUCCESS');
    expect(response.result).toMatchObject({ readings: 30, anomalyCount: 0, anomalies: [] });
    expect(response.result.alert).toBeUndefined();
  });

  it('runs the example agent of docs/agents.md', async () => {
    const response = await run(
      'MONITORING',
      vibrationWatch.handler,
      makeCommand('MONITORING', { parameters: { machine } }),
    );
    expect(response).toMatchObject({
      status: 'SUCCESS',
      result: { machine, readings: 30, peak: 6, ok: false },
    });
  });

  it('answers FAILED naming the parameter, or the machine without data', async () => {
    const missing = await run(
      'MONITORING',
      monitoringAgent.handler,
      makeCommand('MONITORING', { parameters: { sensorType: 'temperature' } }),
    );
    expect(missing).toMatchObject({ status: 'FAILED', error: 'parameters.machine: required', result: {} });
    const unknown = await run(
      'MONITORING',
      monitoringAgent.handler,
      makeCommand('MONITORING', { parameters: { machine: `${tid}_none` } }),
    );
    expect(unknown.status).toBe('FAILED');
    expect(unknown.error).toMatch(/no temperature readings of machine .*_none since -15m/);
    expect(await stores.agentState.get(`${tid}-monitoring`)).toMatchObject({
      status: 'IDLE',
      fields: { lastStatus: 'FAILED' },
    });
  });
});

describe('PREDICTION', () => {
  const machine = `${tid}_oven`;
  const start = Date.now() - 20 * 60_000;
  // An exact trend: +0.5 every 30 s reading.
  const times = Array.from({ length: 20 }, (_, i) => start + i * 30_000);

  beforeAll(async () => {
    const writer = createInfluxWriter(db.env);
    times.forEach((time, i) =>
      writer.write(
        sensorReading({
          line: 'L2',
          machine,
          sensorType: 'pressure',
          value: 20 + 0.5 * i,
          quality: 'GOOD',
          time,
        }),
      ),
    );
    await writer.close();
  });

  it.each(['linear', 'holt'] as const)('forecasts the next values of the series (%s)', async (method) => {
    const command = makeCommand('PREDICTION', {
      parameters: { machine, sensorType: 'pressure', since: '-1h', horizon: 3, method },
    });
    const response = await run('PREDICTION', predictionAgent.handler, command);
    expect(response.status).toBe('SUCCESS');
    const result = resultOf(response);
    expect(result).toMatchObject({ method, readings: 20, stepMs: 30_000, lastReading: { value: 29.5 } });
    expect(result.forecast).toEqual(
      [1, 2, 3].map((k) => ({
        time: new Date(times[19]! + k * 30_000).toISOString(),
        value: 29.5 + 0.5 * k,
      })),
    );
    expect(result.fit!.rmse).toBeLessThan(1e-6);
  });

  it('answers FAILED when there are too few readings', async () => {
    const response = await run(
      'PREDICTION',
      predictionAgent.handler,
      makeCommand('PREDICTION', { parameters: { machine, sensorType: 'pressure', since: '-1ms' } }),
    );
    expect(response.status).toBe('FAILED');
    expect(response.error).toMatch(/needs at least 3 pressure readings .* InfluxDB has 0/);
  });
});

describe('CONTROL', () => {
  const parameter = `${tid}_spindle_rpm`;
  let violations: TopicTail;
  let actions: TopicTail;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    const rows = [
      {
        key: 'max',
        rule: { parameter, operator: '<=', value: 12_000 },
        isBlocking: true,
        severity: 'CRITICAL' as const,
      },
      {
        key: 'min',
        rule: { parameter, operator: '>=', value: 1_000 },
        isBlocking: false,
        severity: 'WARNING' as const,
      },
      {
        key: 'inactive',
        rule: { parameter, operator: '<', value: 10 },
        isBlocking: true,
        severity: 'ERROR' as const,
        isActive: false,
      },
      {
        key: 'other',
        rule: { parameter: `${tid}_feed`, operator: '<', value: 1 },
        isBlocking: true,
        severity: 'ERROR' as const,
      },
    ];
    for (const { key, ...row } of rows) {
      const created = await stores.prisma.constraint.create({
        data: { name: `${tid}_${key}`, constraintType: 'SAFETY', agentType: 'CONTROL', ...row },
      });
      ids[key] = created.id;
    }
    [violations, actions] = await Promise.all([
      tailTopic(kafka, Topic.ConstraintsViolations),
      tailTopic(kafka, Topic.ControlActions),
    ]);
  });
  afterAll(async () => {
    await Promise.all([violations.stop(), actions.stop()]);
    await stores.prisma.constraintViolation.deleteMany({
      where: { constraintId: { in: Object.values(ids) } },
    });
    await stores.prisma.constraint.deleteMany({ where: { name: { startsWith: tid } } });
  });

  it('refuses a setpoint that breaks a blocking constraint, recording the violation once per command', async () => {
    const command = makeCommand('CONTROL', { parameters: { parameter, setpoint: 13_000, machine: 'cnc-7' } });
    const first = await run('CONTROL', controlAgent.handler, command);
    const again = await run('CONTROL', controlAgent.handler, command);
    expect(again.result).toEqual(first.result);
    expect(first.status).toBe('SUCCESS');
    const violationId = uuidFrom(`violation:${ids.max}:${command.commandId}`);
    expect(first.result).toMatchObject({
      action: { parameter, setpoint: 13_000, machine: 'cnc-7', source: 'parameters.setpoint' },
      approved: false,
      published: false,
      violations: [
        {
          violationId,
          constraint: `${tid}_max`,
          expected: '<= 12000',
          actual: 13_000,
          severity: 'CRITICAL',
          blocking: true,
        },
      ],
    });
    const rows = await stores.prisma.constraintViolation.findMany({
      where: { constraintId: { in: Object.values(ids) } },
    });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      id: violationId,
      constraintType: 'SAFETY',
      name: `${tid}_max`,
      expectedValue: `${parameter} <= 12000`,
      actualValue: '13000',
      severity: 'CRITICAL',
      isBlocking: true,
      taskId: null, // the command's task is not in the database
    });
    const message = await violations.byId(violationId);
    expect(message).toMatchObject({
      type: 'constraint.violation',
      taskId: command.taskId,
      agentType: 'CONTROL',
      payload: {
        constraintId: ids.max,
        parameter,
        actual: 13_000,
        blocking: true,
        commandId: command.commandId,
      },
    });
    expect(
      actions.envelopes.find((e) => e.id === uuidFrom(`control-action:${command.commandId}`)),
    ).toBeUndefined();
  });

  it('derives the setpoint from an upstream forecast, approves it and publishes the action', async () => {
    const command = makeCommand('CONTROL', {
      parameters: { parameter, target: 5_000, currentSetpoint: 4_000, gain: 0.5 },
      upstream: { forecast: { forecast: [{ value: 4_400 }, { value: 4_600 }] } },
    });
    const response = await run('CONTROL', controlAgent.handler, command);
    const actionId = uuidFrom(`control-action:${command.commandId}`);
    expect(response.result).toMatchObject({
      action: { actionId, setpoint: 4_200, source: 'upstream:forecast', expected: 4_600 },
      approved: true,
      violations: [],
      checkedConstraints: 2,
    });
    const message = await actions.byId(actionId);
    expect(message).toMatchObject({
      type: 'control.action',
      payload: { parameter, setpoint: 4_200, commandId: command.commandId },
    });
  });

  it('acts on a machine only under its lock: waits while another holds it, then writes with a newer fence', async () => {
    const machine = `${tid}-press`;
    const held = await stores.locks.acquire(`machine.${machine}`, 10_000);
    expect(held).not.toBeNull();
    const command = makeCommand('CONTROL', { parameters: { parameter, setpoint: 7_000, machine } });
    const started = Date.now();
    const answering = run('CONTROL', controlAgent.handler, command);
    await new Promise((r) => setTimeout(r, 600));
    await stores.locks.release(held!);
    const response = await answering;
    expect(response.status).toBe('SUCCESS');
    expect(Date.now() - started).toBeGreaterThanOrEqual(600); // it waited for the lock
    const state = await stores.sharedMemory('machines').read<MachineSetpoint>(machine);
    expect(state?.value).toMatchObject({ parameter, setpoint: 7_000, taskId: command.taskId });
    expect(state!.value.fence).toBeGreaterThan(held!.fence);
    const message = await actions.byId(uuidFrom(`control-action:${command.commandId}`));
    expect(message.payload).toMatchObject({ machine, setpoint: 7_000, fence: state!.value.fence });
  });

  it('refuses a write under an older lock than the one the machine has seen (fencing)', async () => {
    const machine = `${tid}-mill`;
    const machines = stores.sharedMemory('machines');
    const entry = { parameter, setpoint: 1_500, values: {}, actionId: 'a1', taskId: 't1', fence: 9 };
    await recordMachineSetpoint(machines, machine, entry);
    await expect(
      recordMachineSetpoint(machines, machine, { ...entry, setpoint: 3_000, fence: 8 }),
    ).rejects.toThrow(StaleFenceError);
    expect((await machines.read<MachineSetpoint>(machine))?.value.setpoint).toBe(1_500);
  });

  it('approves despite a non-blocking violation, and fails clearly without a setpoint', async () => {
    const low = await run(
      'CONTROL',
      controlAgent.handler,
      makeCommand('CONTROL', { parameters: { parameter, setpoint: 500 } }),
    );
    expect(low.result).toMatchObject({
      approved: true,
      violations: [{ constraint: `${tid}_min`, blocking: false }],
    });
    const none = await run(
      'CONTROL',
      controlAgent.handler,
      makeCommand('CONTROL', { parameters: { parameter } }),
    );
    expect(none).toMatchObject({
      status: 'FAILED',
      error: expect.stringMatching(/^parameters.setpoint: required/),
    });
  });
});

describe('ANALYSIS', () => {
  const agentId = `${tid}-analysis`;

  beforeAll(async () => {
    const client = await stores.weaviate();
    await provisionWeaviate(client, silentProgress, { prefix: weaviatePrefix });
    const now = new Date();
    const external = await importObjects(
      prismCollection(client, 'ExternalKnowledge', { prefix: weaviatePrefix }),
      [
        {
          properties: {
            title: 'Spindle bearing overheating',
            content: 'Overheating spindle bearings point to a lubrication fault.',
            documentType: 'MANUAL',
            createdAt: now,
            accessCount: 0,
          },
        },
        {
          properties: {
            title: 'Paint booth humidity',
            content: 'Keep humidity between 40 and 60 percent.',
            documentType: 'GUIDELINE',
            createdAt: now,
            accessCount: 0,
          },
        },
      ],
    );
    const process = await importObjects(
      prismCollection(client, 'ManufacturingKnowledge', { prefix: weaviatePrefix }),
      [
        {
          properties: {
            processName: 'CNC milling',
            description: 'Spindle overheating during long roughing passes',
            constraints: [],
            bestPractices: [],
            troubleshooting: ['Check the coolant flow'],
          },
        },
      ],
    );
    expect([...external.failures, ...process.failures]).toEqual([]);
  });
  afterAll(async () => {
    const client = await stores.weaviate();
    for (const c of await client.collections.listAll())
      if (c.name.startsWith(weaviatePrefix)) await client.collections.delete(c.name);
  });

  it('finds the knowledge by keyword and remembers the analysis once per command', async () => {
    const command = makeCommand('ANALYSIS', {
      instruction: 'why is the spindle overheating?',
      parameters: { query: 'spindle overheating' },
    });
    const first = await run('ANALYSIS', analysisAgent.handler, command);
    const again = await run('ANALYSIS', analysisAgent.handler, command);
    expect(first.status).toBe('SUCCESS');
    const memoryId = uuidFrom(`memory:${command.commandId}`);
    const result = resultOf(first);
    expect(result).toMatchObject({ query: 'spindle overheating', searchMode: 'bm25', memoryId });
    expect(result.hits!.map((h) => h.title).sort()).toEqual(['CNC milling', 'Spindle bearing overheating']);
    expect(result.bySource).toEqual({ ExternalKnowledge: 1, ManufacturingKnowledge: 1, AgentMemory: 0 });
    expect(again.result).toMatchObject({ hits: result.hits, bySource: result.bySource });

    const memory = await stores.memory(agentId);
    const stored = await memory.query.fetchObjects({ limit: 10 });
    expect(stored.objects.map((o) => o.uuid)).toEqual([memoryId]);
    expect(stored.objects[0]!.properties).toMatchObject({
      memoryType: 'EPISODIC',
      taskId: command.taskId,
      context: 'why is the spindle overheating?',
      content: expect.stringContaining('spindle overheating'),
    });
  });

  it('recalls an earlier analysis from its own memory, and uses the instruction when no query is given', async () => {
    const response = await run(
      'ANALYSIS',
      analysisAgent.handler,
      makeCommand('ANALYSIS', { instruction: 'spindle overheating again' }),
    );
    const result = resultOf(response);
    expect(result.query).toBe('spindle overheating again');
    expect(result.bySource!.AgentMemory).toBe(1);
    expect(result.hits!.some((h) => h.collection === 'AgentMemory')).toBe(true);
    const memory = await stores.memory(agentId);
    expect((await memory.query.fetchObjects({ limit: 10 })).objects).toHaveLength(2);
  });

  it("reads what the task's other steps found in its shared memory, a sibling's answer too; cleared at the end", async () => {
    const taskId = randomUUID();
    const monitor = makeCommand('MONITORING', { taskId, stepKey: 'monitor' });
    await run('MONITORING', async () => ({ anomalies: 2, machine: 'cnc-9' }), monitor);
    const analysis = makeCommand('ANALYSIS', {
      taskId,
      stepKey: 'analyse',
      instruction: 'spindle overheating',
    });
    const response = await run('ANALYSIS', analysisAgent.handler, analysis);
    expect(resultOf(response).otherSteps).toEqual({
      monitor: {
        agentId: `${tid}-monitoring`,
        agentType: 'MONITORING',
        status: 'SUCCESS',
        result: { anomalies: 2, machine: 'cnc-9' },
      },
    });
    const memory = stores.sharedMemory(taskMemoryNamespace(taskId));
    expect((await memory.keys()).sort()).toEqual(['step.analyse', 'step.monitor']);
    expect(await memory.clear()).toBe(2);
    expect(await memory.keys()).toEqual([]);
    expect(await memory.read('step.monitor')).toBeNull();
  });
});
