// Starts the real services before any integration test runs, unless they already run (then this is a fast
// no-op), and brings the tests' own deployment (test/environment.ts) up to date: its database and schema,
// Temporal namespace, topics, collections and bucket.
import { loadConfig } from '../../src/config.ts';
import { migrate } from '../../src/db/migrate.ts';
import { provisionAll } from '../../src/provision/index.ts';
import { stackUp } from '../../src/stack/index.ts';
import { consoleProgress, silentProgress } from '../../src/progress.ts';
import { ensureSecrets } from '../../src/stack/secrets.ts';
import { useTestEnvironment } from '../environment.ts';

export default async function setup(): Promise<void> {
  useTestEnvironment();
  ensureSecrets();
  const env = loadConfig();
  const services = await stackUp(env, consoleProgress('test setup'));
  const down = services.filter((s) => !s.healthy);
  if (down.length > 0) {
    throw new Error(`services not healthy: ${down.map((s) => `${s.name} (${s.error})`).join(', ')}`);
  }
  await migrate(env);
  await provisionAll(env, silentProgress);
}
