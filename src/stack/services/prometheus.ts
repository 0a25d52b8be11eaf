// Prometheus, natively: its configuration (scrape jobs, rules, Alertmanager) from src/stack/monitoring.ts,
// 15 days of TSDB, and a reload instead of a restart when a new version of the stack changes it.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { binaries } from '../install.ts';
import { writePrometheusConfig } from '../monitoring.ts';
import { spawnDetached } from '../process.ts';
import type { NativeService } from '../services.ts';

export const prometheus: NativeService = {
  name: 'prometheus',
  serves: ['prometheus'],
  marker: 'prometheus',
  ports: (env) => [env.PROMETHEUS_PORT],
  async start({ env, paths, dataDir, logFile, pidFile }) {
    mkdirSync(join(dataDir, 'tsdb'), { recursive: true });
    const conf = join(dataDir, 'prometheus.yml');
    await writePrometheusConfig(env, conf, false);
    return spawnDetached({
      command: binaries(paths).prometheus,
      args: [
        `--config.file=${conf}`,
        `--storage.tsdb.path=${join(dataDir, 'tsdb')}`,
        `--web.listen-address=${env.PRISM_BIND_ADDRESS}:${env.PROMETHEUS_PORT}`,
        '--storage.tsdb.retention.time=15d',
        '--web.enable-lifecycle',
      ],
      cwd: dataDir,
      logFile,
      pidFile,
    });
  },
  // A running Prometheus gets the scrape jobs, rules and Alertmanager of this version by a reload.
  async refresh({ env, dataDir }) {
    await writePrometheusConfig(env, join(dataDir, 'prometheus.yml'), true);
  },
};
