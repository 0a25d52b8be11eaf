// An agent whose store is away for a moment (restarting) waits for it within the step's deadline instead of
// answering FAILED at once; when it stays away, the answer names the store and where it was looked for.
// Each store is reached through a TCP relay of the test's own, closed (connection refused, as while the
// service restarts) until the test opens it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CommandTracker, executeCommand } from '../../../src/agents/execute.ts';
import { silentLogger } from '../../../src/agents/logger.ts';
import { monitoringAgent } from '../../../src/agents/reference/index.ts';
import { AgentStores } from '../../../src/agents/stores.ts';
import type { AgentHandler } from '../../../src/agents/types.ts';
import type { Env } from '../../../src/config.ts';
import { silentProgress } from '../../../src/progress.ts';
import { createInfluxWriter, provisionInflux, sensorReading } from '../../../src/stores/influx/index.ts';
import { env, freePorts, testId } from '../../helpers.ts';
import { influxTestDatabase } from '../influx/fixtures.ts';
import { makeCommand } from './support.ts';
import { tcpRelay } from '../../relay.ts';

const tid = testId('agoutage');
const db = influxTestDatabase('outage');
const machine = `${tid}_cnc`;

function run(stores: AgentStores, handler: AgentHandler, deadlineInMs: number, parameters = {}) {
  const identity = { agentId: `${tid}-monitoring`, agentType: 'MONITORING' as const };
  return executeCommand({
    identity,
    stores,
    tracker: new CommandTracker(identity, stores),
    handler,
    command: makeCommand('MONITORING', {
      parameters,
      deadlineAt: new Date(Date.now() + deadlineInMs).toISOString(),
    }),
    log: silentLogger,
  });
}

beforeAll(async () => {
  await provisionInflux(db.env, silentProgress);
  const writer = createInfluxWriter(db.env);
  for (let i = 0; i < 20; i++) {
    writer.write(
      sensorReading({
        line: 'L1',
        machine,
        sensorType: 'temperature',
        value: 60 + (i % 3),
        quality: 'GOOD',
        time: Date.now() - 5 * 60_000 + i * 10_000,
      }),
    );
  }
  await writer.close();
});
afterAll(() => db.drop());

describe('an agent whose store restarts', () => {
  it('waits for InfluxDB to come back and answers SUCCESS (the MONITORING reference agent)', async () => {
    const [port] = await freePorts(1);
    const influx = new URL(env.INFLUX_URL);
    const gate = tcpRelay(port!, { host: influx.hostname, port: Number(influx.port) });
    const stores = new AgentStores({ ...db.env, INFLUX_URL: `http://127.0.0.1:${port}` } as Env, {
      redisPrefix: `prism:${tid}`,
    });
    try {
      const answer = run(stores, monitoringAgent.handler, 30_000, {
        machine,
        sensorType: 'temperature',
        since: '-1h',
      });
      await new Promise((r) => setTimeout(r, 2_500)); // refused meanwhile: InfluxDB is "restarting"
      await gate.open();
      const response = await answer;
      expect(response.error).toBeUndefined();
      expect(response).toMatchObject({ status: 'SUCCESS', result: { machine, readings: 20 } });
      expect(response.durationMs).toBeGreaterThanOrEqual(2_000);
    } finally {
      await gate.close();
      await stores.close();
    }
  });

  it('answers FAILED naming InfluxDB and its address when it stays away until the deadline', async () => {
    const [port] = await freePorts(1);
    const stores = new AgentStores({ ...db.env, INFLUX_URL: `http://127.0.0.1:${port}` } as Env, {
      redisPrefix: `prism:${tid}`,
    });
    try {
      const started = Date.now();
      const response = await run(stores, monitoringAgent.handler, 6_000, {
        machine,
        sensorType: 'temperature',
        since: '-1h',
      });
      expect(response.status).toBe('FAILED');
      expect(response.error).toMatch(
        new RegExp(`^InfluxDB unreachable at http://127\\.0\\.0\\.1:${port}: connect ECONNREFUSED`),
      );
      // It kept trying until shortly before the deadline, and answered before it.
      expect(Date.now() - started).toBeGreaterThanOrEqual(2_500);
      expect(Date.now() - started).toBeLessThan(6_000);
    } finally {
      await stores.close();
    }
  });

  it('waits for PostgreSQL to come back', async () => {
    const [port] = await freePorts(1);
    const gate = tcpRelay(port!, { host: env.POSTGRES_HOST, port: env.POSTGRES_PORT });
    const stores = new AgentStores({ ...db.env, POSTGRES_PORT: port } as Env, {
      redisPrefix: `prism:${tid}`,
    });
    try {
      const answer = run(
        stores,
        async (_command, ctx) => {
          const [row] = await ctx.prisma.$queryRaw<{ n: number }[]>`SELECT 41 + 1 AS n`;
          const agents = await ctx.prisma.agent.count();
          return { n: row!.n, agents };
        },
        30_000,
      );
      await new Promise((r) => setTimeout(r, 2_500));
      await gate.open();
      const response = await answer;
      expect(response.error).toBeUndefined();
      expect(response).toMatchObject({ status: 'SUCCESS', result: { n: 42 } });
    } finally {
      await gate.close();
      await stores.close();
    }
  });
});
