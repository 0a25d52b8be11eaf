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
