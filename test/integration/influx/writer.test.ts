// The batching writer: flushes on size and on close, and while InfluxDB is unreachable keeps every point,
// retries, reports the failures, and delivers each point exactly once when InfluxDB is back.
import { createServer as createHttpServer, request, type Server } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentProgress } from '../../../src/progress.ts';
import {
  createInfluxWriter,
  InfluxBufferFullError,
  InfluxWriteError,
  InfluxWriter,
  provisionInflux,
  recentSensorReadings,
  sensorReading,
} from '../../../src/stores/influx/index.ts';
import { influxOrg } from '../../../src/clients/influx.ts';
import { env } from '../../helpers.ts';
import { influxTestDatabase, until } from './fixtures.ts';

const db = influxTestDatabase('writer');
// One sensor has one value per instant (InfluxDB keys points by tags and time): each reading its own millisecond.
const start = Date.now() - 60_000;
const reading = (machine: string, value: number) =>
  sensorReading({
    line: 'L1',
    machine,
    sensorType: 'pressure',
    value,
    unit: 'bar',
    quality: 'GOOD',
    time: start + value,
  });
const values = async (machine: string) =>
  (await recentSensorReadings(db.target, { machine, sensorType: 'pressure' })).map((r) => r.value);

async function freePort(): Promise<number> {
  const server = createTcpServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Forwards every request to the real InfluxDB, counting the lines of the writes InfluxDB accepted. */
async function startProxy(port: number) {
  const upstream = new URL(env.INFLUX_URL);
  const delivered = { lines: 0, requests: 0 };
  const server: Server = createHttpServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const forward = request(
        {
          host: upstream.hostname,
          port: upstream.port,
          path: req.url,
          method: req.method,
          headers: req.headers,
        },
        (answer) => {
          if (req.url?.startsWith('/api/v2/write') && answer.statusCode === 204) {
            delivered.requests++;
            delivered.lines += body.toString().split('\n').filter(Boolean).length;
          }
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      forward.on('error', () => res.destroy());
      forward.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return { delivered, close: () => new Promise((resolve) => server.close(resolve)) };
}

describe('InfluxWriter', () => {
  beforeAll(async () => {
    await provisionInflux(db.env, silentProgress);
  });
  afterAll(async () => {
    await db.drop();
  });

  it('holds points until close, then writes them all', async () => {
    const writer = createInfluxWriter(db.env, { batchSize: 1000, flushIntervalMs: 60_000 });
    writer.write(reading('close-1', 1), reading('close-1', 2), reading('close-1', 3));
    expect(writer.stats()).toMatchObject({ written: 0, pending: 3 });
    expect(await values('close-1')).toEqual([]);
    await writer.close();
    expect(writer.stats()).toEqual({ written: 3, pending: 0, failed: 0, rejected: 0, failedAttempts: 0 });
    expect((await values('close-1')).sort()).toEqual([1, 2, 3]);
    expect(() => writer.write(reading('close-1', 4))).toThrow(/closed/);
  });

  it('sends a batch as soon as it is full, and the rest on the interval', async () => {
    const writer = createInfluxWriter(db.env, { batchSize: 3, flushIntervalMs: 200 });
    writer.write(reading('batch-1', 1), reading('batch-1', 2), reading('batch-1', 3), reading('batch-1', 4));
    await until('the full batch and the interval flush are written', () => writer.stats().written === 4);
    expect((await values('batch-1')).sort()).toEqual([1, 2, 3, 4]);
    await writer.close();
  });

  it('keeps and retries points while InfluxDB is unreachable, then delivers each exactly once', async () => {
    const port = await freePort();
    const errors: InfluxWriteError[] = [];
    const writer = new InfluxWriter({
      url: `http://127.0.0.1:${port}`,
      token: env.INFLUX_TOKEN,
      org: influxOrg,
      bucket: db.database,
      batchSize: 10,
      flushIntervalMs: 100,
      retry: { minDelayMs: 50, maxDelayMs: 200 },
      onError: (e) => errors.push(e),
    });
    const time = Date.now();
    for (let i = 0; i < 25; i++) {
      writer.write(
        sensorReading({
          line: 'L1',
          machine: 'outage-1',
          sensorType: 'pressure',
          value: i,
          quality: 'GOOD',
          time: time - i,
        }),
      );
    }
    await expect(writer.flush()).rejects.toThrow(/unreachable \(ECONNREFUSED\)/);
    await until('several retries failed', () => errors.length >= 4);
    expect(writer.stats()).toMatchObject({ written: 0, pending: 25, failed: 0 });
    expect(errors.every((e) => e.willRetry && e.lines.length === 10)).toBe(true);

    const proxy = await startProxy(port);
    try {
      await writer.close({ timeoutMs: 10_000 });
      expect(writer.stats()).toMatchObject({ written: 25, pending: 0, failed: 0 });
      expect(proxy.delivered).toEqual({ lines: 25, requests: 3 });
      const stored = await values('outage-1');
      expect(stored.sort((a, b) => a - b)).toEqual(Array.from({ length: 25 }, (_, i) => i));
    } finally {
      await proxy.close();
    }
  });

  it('survives an outage in the middle of a stream without losing or repeating a point', async () => {
    const port = await freePort();
    const errors: InfluxWriteError[] = [];
    const writer = new InfluxWriter({
      url: `http://127.0.0.1:${port}`,
      token: env.INFLUX_TOKEN,
      org: influxOrg,
      bucket: db.database,
      flushIntervalMs: 100,
      retry: { minDelayMs: 50, maxDelayMs: 200 },
      onError: (e) => errors.push(e),
    });
    const before = await startProxy(port);
    for (let i = 0; i < 5; i++) writer.write(reading('midway-1', i));
    await writer.flush();
    await before.close();

    for (let i = 5; i < 10; i++) writer.write(reading('midway-1', i));
    await until('a write failed during the outage', () => errors.length >= 2);
    expect(writer.stats()).toMatchObject({ written: 5, pending: 5 });

    const after = await startProxy(port);
    try {
      await until('the buffered points are written after the outage', () => writer.stats().pending === 0);
      await writer.close();
      expect(writer.stats()).toMatchObject({ written: 10, pending: 0, failed: 0 });
      expect(before.delivered.lines + after.delivered.lines).toBe(10);
      expect((await values('midway-1')).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    } finally {
      await after.close();
    }
  });

  it('refuses new points with a clear error once its buffer is full, and close hands back the unwritten', async () => {
    const writer = new InfluxWriter({
      url: `http://127.0.0.1:${await freePort()}`,
      token: env.INFLUX_TOKEN,
      org: influxOrg,
      bucket: db.database,
      maxBufferedPoints: 5,
      retry: { minDelayMs: 20, maxDelayMs: 50 },
    });
    for (let i = 0; i < 5; i++) writer.write(reading('full-1', i));
    expect(() => writer.write(reading('full-1', 5))).toThrow(InfluxBufferFullError);
    expect(writer.stats()).toMatchObject({ pending: 5, rejected: 1, written: 0 });
    const failure = await writer.close({ timeoutMs: 300 }).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(InfluxWriteError);
    expect((failure as InfluxWriteError).message).toMatch(/closed with 5 points unwritten/);
    expect((failure as InfluxWriteError).lines).toHaveLength(5);
    expect((failure as InfluxWriteError).lines[0]).toMatch(/^sensor_reading,line=L1,machine=full-1/);
  });

  it('reports points InfluxDB refuses for good instead of retrying them forever', async () => {
    const errors: InfluxWriteError[] = [];
    const writer = createInfluxWriter(
      { ...env, INFLUX_BUCKET: `${db.database}_missing` },
      { onError: (e) => errors.push(e) },
    );
    writer.write(reading('refused-1', 1), reading('refused-1', 2));
    await writer.flush();
    expect(writer.stats()).toMatchObject({ written: 0, pending: 0, failed: 2 });
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ willRetry: false, status: 404 });
    expect(errors[0]!.lines).toHaveLength(2);
    expect(errors[0]!.message).toMatch(/database not found/);
    await writer.close();
  });
});
