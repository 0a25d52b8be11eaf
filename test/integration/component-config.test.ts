// Configuration by component, as the real processes see it: each started with its own variables only (and
// its own secrets, as `prism up` gives them) runs, whatever another component's or the installer's variables
// hold; one missing a variable of its own stops, naming it; `prism stack` names a bad setting of its own.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { componentProcessEnv } from '../../src/app/index.ts';
import { componentVariables, rawEnvironment } from '../../src/config.ts';
import { freePorts, testId } from '../helpers.ts';

const bin = resolve('bin/prism.js');
let cwd: string;

/** Only what `component` reads, from this deployment's configuration; no .env (the process runs elsewhere). */
function ownEnvironment(
  component: keyof typeof componentVariables,
  all: NodeJS.ProcessEnv = { ...rawEnvironment(), ...componentProcessEnv(component as 'worker') },
): NodeJS.ProcessEnv {
  const own: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME };
  for (const name of componentVariables[component]) if (all[name]) own[name] = all[name];
  return { ...own, PRISM_SECRETS_FILE: 'none' };
}

/** Runs `prism args` until its output matches `ready` (then stops it) or it exits. */
function runUntil(args: string[], env: NodeJS.ProcessEnv, ready: RegExp, timeoutMs = 120_000) {
  return new Promise<{ ready: boolean; code: number | null; output: string }>((done, fail) => {
    const child = spawn(process.execPath, [bin, ...args], { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let seen = false;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      fail(new Error(`prism ${args.join(' ')}: neither ready nor exited in ${timeoutMs} ms:\n${output}`));
    }, timeoutMs);
    const read = (d: Buffer) => {
      output += d.toString();
      if (!seen && ready.test(output)) {
        seen = true;
        child.kill('SIGTERM');
      }
    };
    child.stdout.on('data', read);
    child.stderr.on('data', read);
    child.once('exit', (code) => {
      clearTimeout(timer);
      done({ ready: seen, code, output });
    });
  });
}

// Bad values of variables the processes below do not read: another component's, and the installer's.
const othersBad = {
  KAFKA_HEAP: 'banana',
  PRISM_STACK_MODE: 'nonsense',
  GRAFANA_PORT: 'banana',
  API_RATE_LIMIT_WINDOW: 'banana',
  PRISM_BACKUP_DESTINATION: 'nowhere',
  BACKUP_SCHEDULE: 'never',
};

describe('each process reads its own configuration', () => {
  let ports: number[];
  beforeAll(async () => {
    cwd = await mkdtemp(join(tmpdir(), 'prism-component-config-'));
    ports = await freePorts(3);
  });
  afterAll(async () => {
    await rm(cwd, { recursive: true, force: true });
  });

  it('the task worker runs with its own variables only, whatever the others hold', async () => {
    const env = {
      ...ownEnvironment('worker'),
      ...othersBad,
      TEMPORAL_TASK_QUEUE: testId('cfg-tasks'),
      WORKER_METRICS_PORT: String(ports[0]),
    };
    const run = await runUntil(['worker', '--no-ingress', '--no-bridge'], env, /\bready\b/);
    expect(run.output).toMatch(/ready: task queue/);
    expect(run.ready).toBe(true);
  }, 150_000);

  it('the maintenance worker runs with its own variables only', async () => {
    const env = {
      ...ownEnvironment('maintenance'),
      ...othersBad,
      PRISM_BACKUP_DESTINATION: 'local',
      API_PORT: 'banana',
      TEMPORAL_MAINTENANCE_TASK_QUEUE: testId('cfg-maintenance'),
      MAINTENANCE_METRICS_PORT: String(ports[1]),
    };
    const run = await runUntil(['maintenance-worker'], env, /\bready\b/);
    expect(run.ready, run.output).toBe(true);
  }, 150_000);

  it('the API runs with its own variables only', async () => {
    const env = {
      ...ownEnvironment('api'),
      ...othersBad,
      API_RATE_LIMIT_WINDOW: '1m',
      WORKER_METRICS_PORT: 'x',
    };
    const run = await runUntil(['api', '--port', String(ports[2])], env, /\b(ready|listening)\b/i);
    expect(run.ready, run.output).toBe(true);
  }, 150_000);

  it("`prism migrate` runs as the migrator: with the superuser's password it brings the roles up to date too", async () => {
    const asOperator = await runUntil(['migrate'], { ...process.env, ...othersBad }, /$^/);
    expect(asOperator.output).toMatch(/already up to date|applied/);
    expect(asOperator.code, asOperator.output).toBe(0);
    // A migration job given the migrator's variables alone, without the superuser's: the schema only.
    // (`prism up` starts no migrator process: its variables come from this deployment's configuration.)
    const job = ownEnvironment('migrator', rawEnvironment());
    expect(job.POSTGRES_MIGRATOR_PASSWORD).toBeDefined();
    delete job.POSTGRES_PASSWORD;
    const asJob = await runUntil(['migrate'], { ...job, ...othersBad }, /$^/);
    expect(asJob.output).toMatch(/already up to date|applied/);
    expect(asJob.code, asJob.output).toBe(0);
  }, 120_000);

  it('a worker missing a variable of its own stops, naming it', async () => {
    const { INFLUX_PASSWORD: _, ...env } = ownEnvironment('worker');
    const run = await runUntil(['worker'], { ...env, WORKER_METRICS_PORT: 'banana' }, /\bready\b/);
    expect(run.ready).toBe(false);
    expect(run.code).not.toBe(0);
    expect(run.output).toMatch(/INFLUX_PASSWORD: required but not set/);
    expect(run.output).toMatch(/WORKER_METRICS_PORT/);
    expect(run.output).not.toMatch(/KAFKA_HEAP|API_PORT/);
  }, 60_000);

  it('`prism stack` stops on a bad setting of the installer, naming it', async () => {
    const env = { ...process.env, KAFKA_HEAP: 'banana', PRISM_STACK_MODE: 'nonsense' };
    // Never ready: it stops at its configuration.
    const run = await runUntil(['stack', 'status'], env, /$^/);
    expect(run.code).not.toBe(0);
    expect(run.output).toMatch(/KAFKA_HEAP: a JVM size such as 512m/);
    expect(run.output).toMatch(/PRISM_STACK_MODE/);
  }, 60_000);
});
