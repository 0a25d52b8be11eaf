// The unit project's setup: Temporal's time-skipping test server for the workflow tests, installed into
// the stack cache on first use (Maven Central, a few seconds). No service is started, no secret is needed.
import { rawEnvironment, stackHomeDir } from '../../src/config.ts';
import { binaries, ensureTemporalTestServer } from '../../src/stack/install.ts';
import { ensureDirs, stackPaths } from '../../src/stack/paths.ts';
import { consoleProgress } from '../../src/progress.ts';

function cachePaths() {
  const raw = rawEnvironment();
  return stackPaths({
    PRISM_STACK_HOME: stackHomeDir(raw),
    PRISM_STACK_DATA: raw.PRISM_STACK_DATA || undefined,
  });
}

/** The launcher that @temporalio/testing runs as `<path> <port>`. */
export function testServerExecutable(): string {
  return binaries(cachePaths()).temporalTestServer;
}

export default async function setup(): Promise<void> {
  const paths = cachePaths();
  ensureDirs(paths);
  await ensureTemporalTestServer(paths, consoleProgress('unit setup'));
}
