// bin/supervise.js, the supervisor `prism up` runs each application process under: a process that dies is
// started again, one that cannot start is not (its supervisor ends with its code), a stop request reaches
// it, and it never outlives its supervisor.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stillRunning as isAlive } from '../../src/stack/process.ts';

async function waitFor(what: string, check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const supervisor = new URL('../../bin/supervise.js', import.meta.url).pathname;
const child = new URL('../fixtures/supervised-child.js', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'prism-supervise-'));

function superviseFixture(name: string, mode: string, env: NodeJS.ProcessEnv = {}) {
  const starts = join(dir, `${name}.starts`);
  const proc = spawn(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `import { supervise } from ${JSON.stringify(supervisor)}; supervise(process.argv[1], process.argv.slice(2));`,
      child,
      starts,
      mode,
    ],
    { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
    proc.on('exit', (code, signal) => resolve({ code, signal })),
  );
  const pids = () => (existsSync(starts) ? readFileSync(starts, 'utf8').trim().split('\n').map(Number) : []);
  return { proc, exited, pids, stderr: () => stderr };
}

describe('the supervisor of an application process', () => {
  const started: ChildProcess[] = [];
  afterAll(() => {
    for (const p of started) p.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('starts a process that died again, and stops it when told to stop', async () => {
    const s = superviseFixture('crash', 'crash-once', {
      PRISM_SUPERVISE_STARTUP_MS: '100',
      CRASH_AFTER_MS: '300',
    });
    started.push(s.proc);
    await waitFor('a second start', () => s.pids().length === 2, 10_000);
    const [first, second] = s.pids();
    expect(second).not.toBe(first);
    expect(isAlive(first!)).toBe(false);
    expect(isAlive(second!)).toBe(true);
    expect(s.stderr()).toMatch(/ended with signal SIGKILL; starting it again in 1 s/);
    s.proc.kill('SIGTERM');
    expect(await s.exited).toEqual({ code: 0, signal: null });
    await waitFor('the child to end', () => !isAlive(second!), 5_000);
    expect(s.pids()).toHaveLength(2);
  });

  it('does not start again a process that fails to start: it ends with its exit code', async () => {
    const s = superviseFixture('fail', 'fail-at-start');
    started.push(s.proc);
    expect(await s.exited).toEqual({ code: 3, signal: null });
    expect(s.pids()).toHaveLength(1);
    expect(s.stderr()).toMatch(/failed to start \(code 3\); not starting it again/);
  });

  it('never leaves its process behind: killed, it takes the process with it', async () => {
    const s = superviseFixture('orphan', 'run');
    started.push(s.proc);
    await waitFor('the child to start', () => s.pids().length === 1, 10_000);
    const [pid] = s.pids();
    s.proc.kill('SIGKILL');
    await s.exited;
    await waitFor('the child to end with its supervisor', () => !isAlive(pid!), 5_000);
  });
});
