// The tests' Python virtualenv: the one test/e2e/python-sdk.test.ts keeps in the stack cache (named after
// the Temporal SDK it was made for), with pinned packages from PyPI installed into it the first time a test
// needs them. Made with the Temporal SDK in it, so that python-sdk.test.ts never finds it lacking and starts
// it over.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { stackPaths } from '../../src/stack/paths.ts';
import { env } from '../helpers.ts';

const run = promisify(execFile);
export const temporalioVersion = '1.35.0';

export const pythonVenv = join(stackPaths(env).home, 'python', `temporalio-${temporalioVersion}`);
export const venvBin = (name: string) => join(pythonVenv, 'bin', name);

/** Installs each `{ module: 'package==version' }` whose module the venv cannot import (creating the venv). */
export async function ensurePythonPackages(packages: Record<string, string>): Promise<void> {
  const python = venvBin('python');
  if (!existsSync(python)) {
    await run('python3', ['-m', 'venv', pythonVenv]);
    packages = { temporalio: `temporalio==${temporalioVersion}`, ...packages };
  }
  const missing: string[] = [];
  for (const [module, spec] of Object.entries(packages)) {
    const version = spec.split('==')[1];
    const check = version
      ? `import importlib.metadata as m, sys; sys.exit(m.version(${JSON.stringify(spec.split('==')[0])}) != ${JSON.stringify(version)})`
      : `import ${module}`;
    const ok = await run(python, ['-c', check]).then(
      () => true,
      () => false,
    );
    if (!ok) missing.push(spec);
  }
  if (missing.length === 0) return;
  await run(python, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', ...missing], {
    maxBuffer: 16 * 1024 * 1024,
    timeout: 300_000,
  });
}
