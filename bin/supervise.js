// Keeps one application process of `prism up` running (natively; Compose's `restart: unless-stopped` does
// this for containers): this process runs `prism <args>` as its child and starts it again when it dies
// other than by being told to stop — a crash, an abort, the kernel's OOM killer. Plain JavaScript without
// the TypeScript loader, so that it costs little beside the process it watches.
//
// - A child that ends within `startupMs` of its first start failed to start (bad configuration, a port in
//   use): the supervisor ends with it, so that `prism up` shows its log instead of a restart loop.
// - Later deaths are restarted after 1 s, doubling to 30 s while it keeps dying, back to 1 s once it has
//   run for a minute.
// - SIGTERM, SIGINT and SIGHUP are passed to the child; the supervisor ends when the child has.
// - The child is told of its supervisor's end through their IPC channel, and ends too (never an orphan).
import { spawn } from 'node:child_process';

// PRISM_SUPERVISE_STARTUP_MS: the tests' shorter start-up window.
const startupMs = Number(process.env.PRISM_SUPERVISE_STARTUP_MS) || 10_000;
const healthyMs = 60_000;
const maxDelayMs = 30_000;

const log = (message) => process.stderr.write(`[supervisor ${process.pid}] ${message}\n`);

export function supervise(script, args) {
  const env = { ...process.env, PRISM_SUPERVISED: '1' };
  delete env.PRISM_SUPERVISE;
  // PRISM_CPU_PROFILE_DIR (`prism bench --profile`): the child writes V8 CPU profiles of its threads there
  // when it ends (node's --cpu-prof, which NODE_OPTIONS may not carry).
  const profileDir = env.PRISM_CPU_PROFILE_DIR;
  delete env.PRISM_CPU_PROFILE_DIR;
  const nodeArgs = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
  let child = null;
  let stopping = false;
  let firstStartMs = null;
  let delayMs = 1_000;
  let timer = null;

  const start = () => {
    timer = null;
    const startedMs = Date.now();
    firstStartMs ??= startedMs;
    child = spawn(process.execPath, [...nodeArgs, script, ...args], {
      env,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const pid = child.pid;
    child.on('exit', (code, signal) => {
      child = null;
      const how = signal ? `signal ${signal}` : `code ${code}`;
      if (stopping) process.exit(code ?? 0);
      if (code === 0 && !signal) process.exit(0);
      if (Date.now() - firstStartMs < startupMs) {
        log(`prism ${args.join(' ')} failed to start (${how}); not starting it again`);
        process.exit(code || 1);
      }
      if (Date.now() - startedMs >= healthyMs) delayMs = 1_000;
      log(`prism ${args.join(' ')} (pid ${pid}) ended with ${how}; starting it again in ${delayMs / 1000} s`);
      timer = setTimeout(start, delayMs);
      delayMs = Math.min(delayMs * 2, maxDelayMs);
    });
  };

  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP']) {
    process.on(signal, () => {
      stopping = true;
      if (timer) {
        clearTimeout(timer);
        process.exit(0);
      }
      child?.kill(signal);
    });
  }
  start();
}

/** In a supervised process: end when the supervisor does (their IPC channel closes), whatever ended it. */
export function followSupervisor() {
  if (process.env.PRISM_SUPERVISED !== '1' || !process.send) return;
  process.on('disconnect', () => process.exit(1));
  process.channel?.unref(); // the channel alone keeps nothing running
}
