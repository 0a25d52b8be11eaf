// The Docker Compose mode: where a Docker engine answers, the stack is docker-compose.yml itself.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { rawEnvironment, type Env } from '../config.ts';
import { probeAll, type ServiceHealth } from './health.ts';
import { repoRoot } from './paths.ts';
import { run } from './process.ts';
import type { Progress } from '../progress.ts';
import { composeServiceNames } from './versions.ts';

export { composeServiceNames };
export const composeFile = join(repoRoot, 'docker-compose.yml');

export async function dockerEngineAnswers(): Promise<boolean> {
  try {
    await run('docker', ['info', '--format', '{{.ServerVersion}}']);
    return true;
  } catch {
    return false;
  }
}

function compose(args: string[], progress: Progress): Promise<void> {
  return new Promise((resolve, reject) => {
    // Compose reads the same variables as the app, including the generated secrets.
    const env = { ...rawEnvironment(), ...process.env } as NodeJS.ProcessEnv;
    const child = spawn('docker', ['compose', '-f', composeFile, '--project-name', 'prism', ...args], {
      env,
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    progress.step(`docker compose ${args.join(' ')}`);
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`docker compose ${args.join(' ')} exited with ${code}`)),
    );
  });
}

export async function dockerUp(
  env: Env,
  progress: Progress,
  options: { clean?: boolean } = {},
): Promise<ServiceHealth[]> {
  if (options.clean) await compose(['down', '--volumes'], progress);
  await compose(['up', '--detach', '--wait', '--build'], progress);
  return probeAll(composeServiceNames, env);
}

export async function dockerDown(progress: Progress): Promise<void> {
  // `down` without --volumes: containers go, data stays.
  await compose(['down'], progress);
}

/**
 * `docker compose` with its output passed on: to this terminal, or line by line to `onLine` (`prism stack
 * logs --grep` under Compose). Resolves when it exits (`logs --follow`: on Ctrl-C).
 */
export function dockerCompose(
  args: string[],
  progress: Progress,
  onLine?: (line: string) => void,
): Promise<void> {
  if (!onLine) return compose(args, progress);
  return new Promise((resolve, reject) => {
    const env = { ...rawEnvironment(), ...process.env } as NodeJS.ProcessEnv;
    const child = spawn('docker', ['compose', '-f', composeFile, '--project-name', 'prism', ...args], {
      env,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    progress.step(`docker compose ${args.join(' ')}`);
    let partial = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop()!;
      for (const line of lines) onLine(line);
    });
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      if (partial) onLine(partial);
      if (code === 0 || signal === 'SIGINT') resolve();
      else reject(new Error(`docker compose ${args.join(' ')} exited with ${code}`));
    });
  });
}

/** The named volumes of the Compose project: what `down --volumes` deletes. */
export async function composeVolumes(): Promise<string[]> {
  const env = { ...rawEnvironment(), ...process.env } as NodeJS.ProcessEnv;
  const { stdout } = await run(
    'docker',
    ['compose', '-f', composeFile, '--project-name', 'prism', 'config', '--volumes'],
    { env },
  );
  return stdout
    .split('\n')
    .map((v) => v.trim())
    .filter(Boolean)
    .map((v) => `prism_${v}`);
}

/** `down --volumes`: the containers and every named volume of the project (its data) go. */
export async function dockerDownRemovingVolumes(progress: Progress): Promise<void> {
  await compose(['down', '--volumes'], progress);
}
