import { createInflux } from '../../../src/clients/influx.ts';
import { influxQL, influxTarget } from '../../../src/stores/influx/index.ts';
import { env, testId } from '../../helpers.ts';

/** A database of this test's own (a 1.x "bucket"); `drop()` deletes it and nothing else. */
export function influxTestDatabase(prefix: string) {
  const database = testId(prefix);
  const target = influxTarget(createInflux(env), database);
  return {
    database,
    target,
    env: { ...env, INFLUX_BUCKET: database },
    async drop() {
      if (!database.startsWith('test_')) throw new Error(`refusing to drop ${database}: not a test database`);
      await influxQL(env, `DROP DATABASE "${database}"`);
    },
  };
}

/** Waits until `check` holds, polling; fails with `what` after `timeoutMs`. */
export async function until(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
