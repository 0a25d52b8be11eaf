// A server started from a backup's files for a moment (a scratch Redis or Weaviate): a child of this
// process on 127.0.0.1 and free ports, in a directory of its own, stopped by its pid when done.
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface ScratchProcess {
  pid: number;
  /** The last lines of its log, for an error message. */
  logTail(): string;
  stop(): Promise<void>;
}

export function startScratchProcess(
  file: string,
  args: string[],
  options: { dir: string; env?: NodeJS.ProcessEnv; name: string },
): ScratchProcess {
  const logFile = join(options.dir, `${options.name}.log`);
  const log = openSync(logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(file, args, {
      cwd: options.dir,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...options.env },
      stdio: ['ignore', log, log],
    });
  } finally {
    closeSync(log);
  }
  let exited = false;
  const exit = new Promise<void>((resolve) => {
    child.on('exit', () => {
      exited = true;
      resolve();
    });
    child.on('error', () => {
      exited = true;
      resolve();
    });
  });
  if (child.pid === undefined) throw new Error(`${options.name} could not be started (${file})`);
  return {
    pid: child.pid,
    logTail: () => {
      try {
        return readFileSync(logFile, 'utf8').trim().split('\n').slice(-8).join('\n');
      } catch {
        return '';
      }
    },
    async stop() {
      if (exited) return;
      child.kill('SIGTERM');
      const killed = await Promise.race([
        exit.then(() => true),
        new Promise<boolean>((r) => setTimeout(() => r(false), 15_000)),
      ]);
      if (!killed) {
        child.kill('SIGKILL');
        await exit;
      }
    },
  };
}
