// Brings the cluster topology up (every engine a cluster over PRISM_CLUSTER_MACHINES, docs/scaling.md) before
// the cluster project runs, and the tests' own deployment on it up to date, as test/setup/stack.ts does for
// the single-node stack. A cluster this setup started is stopped again at the end, or when the setup fails
// (its data stays): on two cores it would otherwise compete with whatever runs next; one that was already
// up is left running.
import { loadConfig } from '../../src/config.ts';
import { migrate } from '../../src/db/migrate.ts';
import { provisionAll } from '../../src/provision/index.ts';
import { consoleProgress, silentProgress } from '../../src/progress.ts';
import { nativeDown, nativeHealth, nativeUp } from '../../src/stack/native.ts';
import { ensureSecrets } from '../../src/stack/secrets.ts';
import { useTestEnvironment } from '../environment.ts';

export default async function setup(): Promise<() => Promise<void>> {
  useTestEnvironment();
  process.env.PRISM_TOPOLOGY = 'cluster';
  ensureSecrets();
  const env = loadConfig();
  const progress = consoleProgress('cluster setup');
  const wasUp = (await nativeHealth(env)).every((h) => h.healthy);
  const started = Date.now();
  const stop = async () => {
    if (!wasUp) await nativeDown(env, progress);
  };
  try {
    const services = await nativeUp(env, progress);
    const down = services.filter((s) => !s.healthy);
    if (down.length > 0) {
      throw new Error(
        `cluster nodes not healthy: ${down.map((s) => `${s.node ?? s.name} (${s.error})`).join(', ')}`,
      );
    }
    if (!wasUp) progress.step(`cluster up in ${((Date.now() - started) / 1000).toFixed(0)} s`);
    await migrate(env);
    await provisionAll(env, silentProgress);
  } catch (err) {
    // vitest runs no teardown for a setup that failed: the nodes that did start would run on (a CI run's
    // did, on a data directory already deleted, and slowed down all that came after on its two cores).
    await stop().catch((e: unknown) => progress.step(`could not stop the cluster: ${(e as Error).message}`));
    throw err;
  }
  return stop;
}
