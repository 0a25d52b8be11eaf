import { randomUUID } from 'node:crypto';
import { loadConfig, type Env } from '../src/config.ts';

export const env: Env = loadConfig();

/** A unique, recognisable id for data a test creates (and later deletes). */
export function testId(prefix: string): string {
  return `test_${prefix}_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
}

/**
 * Polls `check` until it returns a value (anything but undefined, null or false) and returns it; fails
 * naming what was awaited.
 */
export async function waitFor<T>(
  what: string,
  check: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  timeoutMs = 30_000,
  intervalMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== null && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
