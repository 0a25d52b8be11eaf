import { Command, Option } from 'commander';
import { withTopology } from './args.ts';
import { loadStackConfig } from '../stack/config.ts';
import type { ServiceHealth } from '../stack/health.ts';
import { stackDown, stackStatus, stackUp, type StackMode } from '../stack/index.ts';
import { nativeProcesses } from '../stack/native.ts';
import { stackPaths } from '../stack/paths.ts';
import { consoleProgress } from '../progress.ts';
import { ensureSecrets } from '../stack/secrets.ts';

interface ModeFlags {
  native?: boolean;
  docker?: boolean;
}

function forcedMode(flags: ModeFlags): StackMode | undefined {
  if (flags.native && flags.docker) throw new Error('--native and --docker exclude each other');
  return flags.native ? 'native' : flags.docker ? 'docker' : undefined;
}

function table(services: ServiceHealth[]): string {
  // The cluster topology: each node, and its role in its cluster, before the columns of the single one.
  const nodes = services.some((s) => s.node);
  const rows = services.map((s) => [
    ...(nodes ? [s.node ?? s.name, s.role ?? '-'] : []),
    s.name,
    s.healthy ? 'healthy' : 'DOWN',
    s.version ?? '-',
    s.url,
    s.error ?? '',
  ]);
  const columns = rows[0]?.length ?? 0;
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => r[i]!.length))) ?? [];
  return rows
    .map((r) =>
      r
        .map((c, i) => (i < columns - 1 ? c.padEnd(widths[i]!) : c))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

function statusJson(services: ServiceHealth[]): string {
  return JSON.stringify(
    {
      services: services.map(({ name, url, healthy, version, node, role }) => ({
        name,
        url,
        healthy,
        version,
        ...(node ? { node, role: role ?? null } : {}),
      })),
    },
    null,
    2,
  );
}

const modeOptions = (cmd: Command) =>
  withTopology(cmd)
    .addOption(new Option('--native', 'run the services as local processes').conflicts('docker'))
    .addOption(new Option('--docker', 'run the services with Docker Compose'));

export function registerStackCommands(program: Command): void {
  const stack = program
    .command('stack')
    .description(
      'the services: PostgreSQL, Redis, Kafka, Weaviate, InfluxDB, Temporal, and their monitoring ' +
        '(Prometheus, Alertmanager, an exporter for each service)',
    );

  modeOptions(stack.command('up'))
    .description(
      'install what is missing, start every service, and wait until each is ready (a no-op when all run)',
    )
    .option('--clean', 'start from empty data (stops the stack and deletes its service data first)')
    .option('--json', 'print the final status as JSON')
    .action(async (opts: ModeFlags & { clean?: boolean; json?: boolean }) => {
      const generated = ensureSecrets();
      const env = loadStackConfig();
      const progress = consoleProgress();
      if (generated.length > 0)
        progress.step(`generated ${generated.join(', ')} (kept in the stack's secrets.env)`);
      const started = Date.now();
      const services = await stackUp(env, progress, { mode: forcedMode(opts), clean: opts.clean });
      if (opts.json) process.stdout.write(`${statusJson(services)}\n`);
      else process.stdout.write(`${table(services)}\n`);
      progress.step(`up in ${((Date.now() - started) / 1000).toFixed(1)}s`);
      if (!services.every((s) => s.healthy)) process.exitCode = 1;
    });

  modeOptions(stack.command('down'))
    .description('stop the services this stack started; their data stays')
    .action(async (opts: ModeFlags) => {
      await stackDown(loadStackConfig(), consoleProgress(), { mode: forcedMode(opts) });
    });

  modeOptions(stack.command('status'))
    .description('ask every service whether it is ready, and its version')
    .option('--json', 'print { "services": [ { "name", "url", "healthy", "version" } ] }')
    .action(async (opts: ModeFlags & { json?: boolean }) => {
      const env = loadStackConfig();
      const services = await stackStatus(env, { mode: forcedMode(opts) });
      if (opts.json) {
        process.stdout.write(`${statusJson(services)}\n`);
      } else {
        process.stdout.write(`${table(services)}\n`);
        const processes = nativeProcesses(env).filter((p) => p.pid !== null);
        if (processes.length > 0) {
          process.stdout.write(`\nnative processes (data and logs under ${stackPaths(env).data}):\n`);
          const width = Math.max(...processes.map((p) => p.name.length));
          for (const p of processes)
            process.stdout.write(
              `  ${p.name.padEnd(width)}  pid ${String(p.pid).padEnd(7)} log ${p.logFile}\n`,
            );
        }
      }
      if (!services.every((s) => s.healthy)) process.exitCode = 1;
    });
}
