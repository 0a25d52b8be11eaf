// Jaeger v2, natively: the trace store (docs/monitoring.md#traces). One process with the configuration both
// stacks share (stack/jaeger/config.yaml): OTLP/HTTP in on JAEGER_OTLP_PORT, the UI and the query API on
// JAEGER_PORT (its gRPC query API one below), traces in memory, at most jaegerMaxTraces of them.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Env } from '../../config.ts';
import { binaries } from '../install.ts';
import { repoRoot } from '../paths.ts';
import { spawnDetached } from '../process.ts';
import type { NativeService } from '../services.ts';

/** The configuration both stacks run Jaeger with. */
export const jaegerConfigFile = join(repoRoot, 'stack', 'jaeger', 'config.yaml');

/**
 * Traces kept in memory; the oldest go first. A task's trace is some 20 to 40 spans of ~1 KB: 20 000 traces
 * stay under ~1 GB, and are the last hours of a busy day (a bench of 200 tasks is 1 %).
 */
export const jaegerMaxTraces = 20_000;

/** Jaeger's gRPC query API (the UI does not need it): one below JAEGER_PORT, 16685 by default as upstream. */
export const jaegerGrpcPort = (env: Pick<Env, 'JAEGER_PORT'>) => env.JAEGER_PORT - 1;

export const jaeger: NativeService = {
  name: 'jaeger',
  serves: ['jaeger'],
  marker: 'jaeger',
  ports: (env) => [env.JAEGER_PORT, jaegerGrpcPort(env), env.JAEGER_OTLP_PORT],
  start({ env, paths, dataDir, logFile, pidFile }) {
    mkdirSync(dataDir, { recursive: true });
    const at = (port: number) => `${env.PRISM_BIND_ADDRESS}:${port}`;
    return Promise.resolve(
      spawnDetached({
        command: binaries(paths).jaeger,
        args: ['--config', jaegerConfigFile],
        env: {
          PATH: process.env.PATH,
          JAEGER_QUERY_HTTP_ENDPOINT: at(env.JAEGER_PORT),
          JAEGER_QUERY_GRPC_ENDPOINT: at(jaegerGrpcPort(env)),
          JAEGER_OTLP_HTTP_ENDPOINT: at(env.JAEGER_OTLP_PORT),
          JAEGER_MAX_TRACES: String(jaegerMaxTraces),
          // A soft ceiling for the Go runtime: the store is bounded by traces, the heap by this.
          GOMEMLIMIT: '1GiB',
          // Jaeger does not trace itself (its query API would send its spans to an OTLP port of its own).
          OTEL_TRACES_SAMPLER: 'always_off',
        },
        cwd: dataDir,
        logFile,
        pidFile,
      }),
    );
  },
};
