import { Command, InvalidArgumentError, Option } from 'commander';
import { decimalArg, wholeNumberArg, withTopology } from './args.ts';
import { loadStackConfig } from '../stack/config.ts';
import type { Env } from '../config.ts';
import type { ServiceHealth } from '../stack/health.ts';
import {
  dataRemovalPlan,
  resolveMode,
  stackDown,
  stackDownRemovingData,
  stackStatus,
  stackUp,
  type StackMode,
} from '../stack/index.ts';
import { dockerCompose } from '../stack/docker.ts';
import { followLogs, parseSince, readLog, type LogFilter } from '../stack/logs.ts';
import { restartTargets } from '../stack/restart.ts';
import { managedTargets, resolveTargets } from '../stack/targets.ts';
import { confirmRemoval, withRemoveData, type RemoveDataFlags } from './remove-data.ts';
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

interface LogsFlags extends ModeFlags {
  follow?: boolean;
  since?: string;
  grep?: RegExp;
  lines?: number | 'all';
}

function regexArg(value: string): RegExp {
  try {
    return new RegExp(value);
  } catch (err) {
    throw new InvalidArgumentError(`not a regular expression: ${(err as Error).message}`);
  }
}

function linesArg(value: string): number | 'all' {
  if (value === 'all') return 'all';
  try {
    return wholeNumberArg(0)(value);
  } catch {
    throw new InvalidArgumentError('Use a whole number of lines, or "all".');
  }
}

/** How many lines of each log: --lines, else 100, or all of them when --since or --grep narrows them down. */
function lineCount(opts: Pick<LogsFlags, 'since' | 'grep' | 'lines'>): number | undefined {
  if (opts.lines === 'all') return undefined;
  return opts.lines ?? (opts.since || opts.grep ? undefined : 100);
}

// Output to a pipe that closes (`| head`) ends the command quietly.
function quietOnClosedPipe(): void {
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
}

async function nativeLogs(env: Env, service: string | undefined, opts: LogsFlags): Promise<void> {
  const known = managedTargets(env);
  const targets = resolveTargets(known, service);
  const filter: LogFilter = {
    since: opts.since === undefined ? undefined : parseSince(opts.since),
    grep: opts.grep,
    lines: lineCount(opts),
  };
  quietOnClosedPipe();
  const prefixed = targets.length > 1;
  const width = Math.max(...targets.map((t) => t.name.length));
  const write = (name: string, line: string) =>
    process.stdout.write(prefixed ? `${name.padEnd(width)} | ${line}\n` : `${line}\n`);
  const note = (name: string, text: string) => process.stderr.write(`(${name}: ${text})\n`);
  const followed = [];
  for (const t of targets) {
    const read = await readLog(t.logFile, filter);
    if (read.missing && (!prefixed || opts.follow))
      note(t.name, `no log yet at ${t.logFile}${opts.follow ? '; waiting for it' : ''}`);
    if (read.untimed)
      note(
        t.name,
        `its lines carry no time; --since went by the log's last change (${read.modified!.toISOString()}): ` +
          (read.lines.length ? 'all of it is shown' : 'none of it is shown'),
      );
    for (const line of read.lines) write(t.name, line);
    followed.push({ name: t.name, file: t.logFile, from: read.size });
  }
  if (!opts.follow) return;
  const stop = new AbortController();
  process.once('SIGINT', () => stop.abort());
  process.once('SIGTERM', () => stop.abort());
  await followLogs(followed, write, stop.signal, { grep: opts.grep, onNote: note });
}

/**
 * `docker compose logs`'s arguments. `--since` goes as the time it names (RFC 3339): Compose takes Go
 * durations, which have no days or weeks (`7d`), so our duration is turned into its time here.
 */
export function composeLogsArgs(
  service: string | undefined,
  opts: Pick<LogsFlags, 'follow' | 'since' | 'grep' | 'lines'>,
  now = Date.now(),
): string[] {
  const lines = lineCount(opts);
  return [
    'logs',
    ...(opts.follow ? ['--follow'] : []),
    ...(opts.since ? ['--since', new Date(parseSince(opts.since, now)).toISOString()] : []),
    ...(lines === undefined ? [] : ['--tail', String(lines)]),
    ...(service ? [service] : []),
  ];
}

/** Under Compose: `docker compose logs`, with the same options (and --grep applied to its lines). */
async function composeLogs(service: string | undefined, opts: LogsFlags): Promise<void> {
  const args = composeLogsArgs(service, opts);
  quietOnClosedPipe();
  const grep = opts.grep;
  await dockerCompose(
    args,
    consoleProgress(),
    grep ? (line) => grep.test(line) && process.stdout.write(`${line}\n`) : undefined,
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

  withRemoveData(modeOptions(stack.command('down')))
    .description('stop the services this stack started; their data stays (unless --remove-data)')
    .action(async (opts: ModeFlags & RemoveDataFlags) => {
      const env = loadStackConfig();
      if (!opts.removeData) return stackDown(env, consoleProgress(), { mode: forcedMode(opts) });
      const plan = await dataRemovalPlan(env, { mode: forcedMode(opts) });
      await confirmRemoval(plan.what, plan.where, opts);
      await stackDownRemovingData(env, plan, consoleProgress());
    });

  modeOptions(stack.command('logs'))
    .description(
      'the log of one service, or of one process of `prism up`; of all of them, each line prefixed with ' +
        'its name, without one (`docker compose logs` under Compose)',
    )
    .argument(
      '[service]',
      'a service (redis; in the cluster topology kafka-2, or kafka for every node), or a process of `prism up` (worker, api)',
    )
    .option('-f, --follow', 'keep printing new lines as they are written, until Ctrl-C')
    .option(
      '--since <when>',
      'only lines written since: a duration back from now (90s, 10m, 2h, 1h30m, 7d) or a time (2026-12-06T18:00:00Z)',
    )
    .option('--grep <regex>', 'only lines matching this regular expression (JavaScript syntax)', regexArg)
    .option(
      '-n, --lines <n>',
      'the last N lines of each log, or "all" (default: 100; every line when --since or --grep is given)',
      linesArg,
    )
    .action(async (service: string | undefined, opts: LogsFlags) => {
      const env = loadStackConfig();
      if ((await resolveMode(env, forcedMode(opts))) === 'docker') return composeLogs(service, opts);
      await nativeLogs(env, service, opts);
    });

  modeOptions(stack.command('restart'))
    .description(
      'stop one service (or process of `prism up`) by its pid, start it again with the same configuration, ' +
        'and wait until it is ready; every node of a clustered service one after another ' +
        '(`docker compose restart` under Compose)',
    )
    .argument('<service>', 'a service (redis, kafka-2, kafka), or a process of `prism up` (worker, api)')
    .option(
      '--grace <seconds>',
      'how long it has to stop after its stop signal before it is killed',
      decimalArg(0),
      30,
    )
    .option('--json', 'print [ { "name", "before", "after", "healthy", "ms" } ]')
    .action(async (service: string, opts: ModeFlags & { grace: number; json?: boolean }) => {
      const env = loadStackConfig();
      const progress = consoleProgress();
      if ((await resolveMode(env, forcedMode(opts))) === 'docker')
        return dockerCompose(['restart', '--timeout', String(opts.grace), service], progress);
      const targets = resolveTargets(managedTargets(env), service);
      const results = await restartTargets(env, targets, progress, { graceMs: opts.grace * 1000 });
      if (opts.json) process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
      else
        for (const r of results)
          process.stdout.write(
            `${r.name}: ${r.before === null ? 'was not running' : `pid ${r.before}`} -> ` +
              `${r.after === null ? 'not running' : `pid ${r.after}`}, ` +
              `${r.healthy ? 'healthy' : `NOT healthy (${r.error ?? 'not ready'})`} in ${(r.ms / 1000).toFixed(1)}s\n`,
          );
      if (!results.every((r) => r.healthy)) process.exitCode = 1;
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
