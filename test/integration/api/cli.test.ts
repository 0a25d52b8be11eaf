// `prism apikey create|revoke|list` and `prism api`, run as the real CLI in child processes.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testId, waitFor } from '../../helpers.ts';
import { apiFixture, type ApiFixture } from './fixture.ts';

const cliMain = fileURLToPath(new URL('./cli-main.ts', import.meta.url));

/** Runs the CLI to completion. */
async function prism(...args: string[]) {
  const child = spawn(process.execPath, ['--import', 'tsx', cliMain, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, stdout, stderr };
}

// Each CLI run starts a Node process with tsx and Prisma: a few seconds each.
describe('prism apikey and prism api', { timeout: 120_000 }, () => {
  let fx: ApiFixture;
  const username = testId('cliuser');
  beforeAll(async () => {
    fx = await apiFixture();
  });
  afterAll(async () => {
    await fx?.deps.prisma.user.deleteMany({ where: { username } });
    await fx?.close();
  });

  it('creates a user and a key with a role, prints the key once, and revokes it', async () => {
    const created = await prism(
      'apikey',
      'create',
      '--user',
      username,
      '--role',
      'viewer',
      '--name',
      'cli test',
    );
    expect(created.code, created.stderr).toBe(0);
    const key = created.stdout.trim();
    expect(key).toMatch(/^prism_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
    expect(created.stderr).toMatch(new RegExp(`created user ${username} with role viewer.*not shown again`));

    const user = await fx.deps.prisma.user.findUniqueOrThrow({
      where: { username },
      include: { roles: { include: { role: true } }, apiKeys: true },
    });
    expect(user.roles.map((r) => r.role.name)).toEqual(['viewer']);
    expect(user.apiKeys).toHaveLength(1);
    expect(user.apiKeys[0]!.name).toBe('cli test');
    expect(JSON.stringify(user.apiKeys)).not.toContain(key);

    expect((await fx.call('GET', '/agents', { key })).status).toBe(200);
    expect(
      (await fx.call('POST', '/tasks', { key, body: { query: 'q', agentType: 'MONITORING' } })).status,
    ).toBe(403);

    // The same user again: a second key, and the new role added to the first.
    const second = await prism('apikey', 'create', '--user', username, '--role', 'operator');
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toMatch(/\[apikey\] user /);
    const roles = await fx.deps.prisma.userRole.findMany({
      where: { userId: user.id },
      include: { role: true },
    });
    expect(roles.map((r) => r.role.name).sort()).toEqual(['operator', 'viewer']);

    const listed = await prism('apikey', 'list', '--user', username, '--json');
    const keys = JSON.parse(listed.stdout) as { keyId: string; revokedAt: string | null }[];
    expect(keys.map((k) => k.keyId)).toContain(user.apiKeys[0]!.id);
    expect(listed.stdout).not.toContain(key);

    const revoked = await prism('apikey', 'revoke', user.apiKeys[0]!.id);
    expect(revoked.code, revoked.stderr).toBe(0);
    expect((await fx.call('GET', '/agents', { key })).status).toBe(401);
  });

  it('refuses an unknown role and an unknown key id, saying what to use', async () => {
    const badRole = await prism('apikey', 'create', '--user', username, '--role', 'superuser');
    expect(badRole.code).toBe(1);
    expect(badRole.stderr).toMatch(/unknown role "superuser": use one of admin, operator, agent, viewer/);
    const badId = await prism('apikey', 'revoke', '00000000-0000-4000-8000-000000000000');
    expect(badId.code).toBe(1);
    expect(badId.stderr).toMatch(/no API key with id/);
  });

  it('runs the API until SIGTERM, then closes cleanly', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', cliMain, 'api', '--port', '0'], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, PRISM_BIND_ADDRESS: '127.0.0.1' },
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const guard = setTimeout(() => child.kill('SIGKILL'), 45_000);
    try {
      const url = await waitFor(
        'the API to listen',
        () => /listening on (http:\/\/\S+)/.exec(stderr)?.[1],
        40_000,
      );
      const health = await fetch(`${url}/healthz`);
      expect(health.status).toBe(200);
      const ready = await fetch(`${url}/readyz`);
      expect(ready.status).toBe(200);
      child.kill('SIGTERM');
      const [code] = (await once(child, 'exit')) as [number | null];
      expect(code, stderr).toBe(0);
      expect(stderr).toContain('[api] stopped');
      await expect(fetch(`${url}/healthz`)).rejects.toThrow();
    } finally {
      clearTimeout(guard);
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
