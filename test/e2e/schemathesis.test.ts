// Schemathesis (from PyPI, pinned, in the tests' Python virtualenv) against the OpenAPI description the
// API serves, once for each role's key and once without a key: no 5xx, every status, content type, header
// and body as documented, invalid input refused, valid input accepted (schemathesis.toml names the few
// rules JSON Schema cannot state). Whatever the runs create (tasks, agents, knowledge, memories) is removed
// by the ids the API answered with.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeApiDeps, createApiDeps, type ApiDeps } from '../../src/api/deps.ts';
import { buildServer } from '../../src/api/server.ts';
import { silentProgress } from '../../src/progress.ts';
import { createApiKey, provisionAccessControl, rolePermissions } from '../../src/stores/postgres/auth.ts';
import { prismCollection } from '../../src/stores/weaviate/collections.ts';
import { provisionWeaviate } from '../../src/stores/weaviate/provision.ts';
import { collectionName } from '../../src/stores/weaviate/schema.ts';
import { removeTasks } from '../integration/api/support.ts';
import { env, testId } from '../helpers.ts';
import { ensurePythonPackages, venvBin } from './python-venv.ts';

const run = promisify(execFile);
const schemathesisVersion = '4.32.5';
const config = new URL('./schemathesis.toml', import.meta.url).pathname;
// Reproducible by default; SCHEMATHESIS_SEED=<n> explores elsewhere (a failure prints its seed).
const seed = process.env.SCHEMATHESIS_SEED ?? '20261130';

/** What the runs created, from the API's own answers: removed after each run. */
interface Created {
  requestIds: Set<string>;
  agentIds: Set<string>;
  documentIds: Set<string>;
  memories: { agentId: string; id: string }[];
}

describe('Schemathesis against the served OpenAPI description', () => {
  let deps: ApiDeps;
  let app: FastifyInstance;
  let baseUrl: string;
  let workDir: string;
  const userIds: string[] = [];
  const created: Created = {
    requestIds: new Set(),
    agentIds: new Set(),
    documentIds: new Set(),
    memories: [],
  };

  beforeAll(async () => {
    await ensurePythonPackages({ schemathesis: `schemathesis==${schemathesisVersion}` });
    workDir = await mkdtemp(join(tmpdir(), 'prism-schemathesis-'));
    // The webhook has a token (401 without it, never 503), and the rate limit stays out of the way.
    deps = await createApiDeps({
      ...env,
      API_RATE_LIMIT_MAX: 1_000_000,
      ALERTMANAGER_WEBHOOK_TOKEN: randomBytes(24).toString('hex'),
    });
    await provisionWeaviate(deps.weaviate, silentProgress, { prefix: env.WEAVIATE_COLLECTION_PREFIX });
    await provisionAccessControl(deps.prisma);
    app = buildServer(deps, { rateLimit: { namespace: `prism:${testId('schemathesis')}:` } });
    app.addHook('onSend', async (request, reply, payload) => {
      if (request.method === 'POST' && reply.statusCode < 300 && typeof payload === 'string')
        record(request.routeOptions.url, payload);
      return payload;
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    baseUrl = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    // The word vectors load on the first write (seconds): not inside a request Schemathesis times.
    await deps.embedder();
  }, 300_000);

  afterAll(async () => {
    if (workDir) await rm(workDir, { recursive: true, force: true });
    await app?.close();
    if (deps) {
      await cleanUp();
      if (userIds.length > 0) await deps.prisma.user.deleteMany({ where: { id: { in: userIds } } });
      await closeApiDeps(deps);
    }
  }, 120_000);

  function record(route: string | undefined, payload: string): void {
    const body = JSON.parse(payload) as Record<string, unknown>;
    if (route === '/tasks') created.requestIds.add(String(body.requestId));
    else if (route === '/agents') created.agentIds.add(String(body.id));
    else if (route === '/knowledge') created.documentIds.add(String(body.id));
    else if (route === '/agents/:id/memory')
      created.memories.push({ agentId: String(body.agentId), id: String(body.id) });
  }

  async function cleanUp(): Promise<void> {
    await removeTasks(deps, [...created.requestIds]);
    const knowledge = prismCollection(deps.weaviate, 'ExternalKnowledge', {
      prefix: env.WEAVIATE_COLLECTION_PREFIX,
    });
    for (const id of created.documentIds) await knowledge.data.deleteById(id);
    await deps.prisma.knowledgeDocument.deleteMany({ where: { id: { in: [...created.documentIds] } } });
    const memory = deps.weaviate.collections.use(
      collectionName('AgentMemory', env.WEAVIATE_COLLECTION_PREFIX),
    );
    // A memory of an agent this run registered goes with its tenant; one of an agent it did not, by its id.
    for (const m of created.memories.filter((m) => !created.agentIds.has(m.agentId))) {
      await memory.withTenant(m.agentId).data.deleteById(m.id);
    }
    const tenants = Object.keys(await memory.tenants.get()).filter((t) => created.agentIds.has(t));
    if (tenants.length > 0) await memory.tenants.remove(tenants.map((name) => ({ name })));
    await deps.prisma.agent.deleteMany({ where: { id: { in: [...created.agentIds] } } });
    created.requestIds.clear();
    created.agentIds.clear();
    created.documentIds.clear();
    created.memories.length = 0;
  }

  async function keyFor(role: string): Promise<string> {
    const roleRow = await deps.prisma.role.findUniqueOrThrow({ where: { name: role } });
    const user = await deps.prisma.user.create({
      data: { username: testId(`st_${role}`), roles: { create: { roleId: roleRow.id } } },
    });
    userIds.push(user.id);
    return (await createApiKey(deps.prisma, { userId: user.id, name: 'schemathesis' })).key;
  }

  /** One Schemathesis run; its exit code and the end of its report. */
  async function schemathesis(
    key: string | null,
    examples: number,
  ): Promise<{ code: number; report: string }> {
    const args = [
      '--config-file',
      config,
      'run',
      `${baseUrl}/docs/json`,
      ...(key ? ['--header', `Authorization: Bearer ${key}`] : []),
      '--max-examples',
      String(examples),
      '--phases',
      'examples,coverage,fuzzing',
      '--seed',
      seed,
      '--request-timeout',
      '30',
      '--no-color',
    ];
    try {
      // In a directory of its own: whatever Schemathesis writes (reports) stays out of the repository.
      const { stdout } = await run(venvBin('schemathesis'), args, {
        cwd: workDir,
        maxBuffer: 64 * 1024 * 1024,
        timeout: 240_000,
      });
      return { code: 0, report: stdout };
    } catch (err) {
      const e = err as { code?: number; stdout?: string; stderr?: string };
      return { code: e.code ?? -1, report: `${e.stdout ?? ''}\n${e.stderr ?? ''}` };
    }
  }

  // The admin reaches every operation's logic, so it gets the most examples; the other roles are refused
  // (403) on part of the API, which is quick to check.
  const runs: [string, number][] = [
    ['admin', 8],
    ...Object.keys(rolePermissions)
      .filter((r) => r !== 'admin')
      .map((r): [string, number] => [r, 4]),
    ['no key', 3],
  ];

  it.each(runs)(
    'finds nothing to fault as %s',
    async (role, examples) => {
      const key = role === 'no key' ? null : await keyFor(role);
      const { code, report } = await schemathesis(key, examples);
      await cleanUp();
      // The report's failures and summary, for a person to act on (a key appears as [Filtered]).
      const tail = report.slice(report.search(/={5,} (FAILURES|ERRORS|SUMMARY)|$/));
      expect(code, `schemathesis as ${role} (seed ${seed}):\n${tail}`).toBe(0);
      // Every operation of the description was tested.
      const [, total, tested] = /Selected: \d+\/(\d+)\s+Tested: (\d+)/.exec(report) ?? [];
      expect(Number(tested)).toBeGreaterThan(10);
      expect(tested).toBe(total);
    },
    300_000,
  );
});
