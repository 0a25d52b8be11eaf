// What the end-to-end tests share: the application running in this process — the worker (with the
// user.queries ingress and the agent-answer bridge) — against the real services.
import { startWorker, type RunningWorker } from '../../src/worker/index.ts';
import { env } from '../helpers.ts';

export async function startTestWorker(): Promise<RunningWorker> {
  return startWorker(env, { metricsPort: null, log: () => {} });
}

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | null | undefined | false>,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
