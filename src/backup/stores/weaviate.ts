// Weaviate: its own backup API, of the deployment's collections (WEAVIATE_COLLECTION_PREFIX + the four
// names), with the filesystem backend (BACKUP_FILESYSTEM_PATH, shared with the process that takes backups:
// the native stack's directory, or a volume under Compose) or on a cluster the backup-s3 one
// (WEAVIATE_BACKUP_BACKEND, weaviate-backend.ts), its files packed into one tarball either way.
//
// Weaviate restores a collection only under its own name, and not while it exists, so "into a scratch
// target" means a scratch Weaviate: the same binary, started on free ports in a directory of its own, that
// restores the backup and is read object by object (properties and vectors) for the counts and digests —
// right after the backup is taken (the manifest's figures) and before any restore replaces live data. The
// scratch is one node, whichever backend took the backup (weaviate-layout.ts): a file copy of the backup,
// restored with the filesystem backend.
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import weaviate, { type WeaviateClient } from 'weaviate-client';
import type { Env } from '../../config.ts';
import { weaviateAuthHeaders, weaviateRestUrl } from '../../clients/weaviate.ts';
import { collectionName, collectionSpecs, type CollectionName } from '../../stores/weaviate/schema.ts';
import { digestOf, freePortRange, resolveTool, tarDirectory, untar, until } from '../tools.ts';
import type { StoreBackup } from '../manifest.ts';
import { startScratchProcess } from './scratch-process.ts';
import { weaviateBackend } from './weaviate-backend.ts';
import { restorableBySingleNode } from './weaviate-layout.ts';
import type { ScratchRestore, StoreContext, StoreModule, TakenStore } from './types.ts';

const tarName = 'weaviate.tar.gz';

type Rest = { base: string; headers: Record<string, string> };

function liveRest(env: Env): Rest {
  return {
    base: `${weaviateRestUrl(env)}/v1`,
    headers: {
      'content-type': 'application/json',
      ...weaviateAuthHeaders(env),
    },
  };
}

async function call<T>(rest: Rest, method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${rest.base}${path}`, {
    method,
    headers: rest.headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(60_000),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`Weaviate ${method} ${path}: HTTP ${res.status} ${text.slice(0, 500)}`);
  return (text ? JSON.parse(text) : {}) as T;
}

type BackupStatus = { status: string; error?: string; path?: string };

/** Waits for a backup or restore to end; throws with Weaviate's reason when it failed. */
async function awaitBackup(rest: Rest, path: string, what: string, ctx: StoreContext): Promise<void> {
  const deadline = Date.now() + 30 * 60_000;
  for (;;) {
    const s = await call<BackupStatus>(rest, 'GET', path);
    if (s.status === 'SUCCESS') return;
    if (s.status === 'FAILED' || s.status === 'CANCELED') {
      throw new Error(`Weaviate ${what} ${s.status.toLowerCase()}: ${s.error ?? 'no reason given'}`);
    }
    if (Date.now() > deadline) throw new Error(`Weaviate ${what} did not finish in 30 minutes`);
    ctx.progress(`weaviate: ${what} ${s.status.toLowerCase()}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** The deployment's collections that exist on this server. */
async function deploymentCollections(rest: Rest, env: Env): Promise<string[]> {
  const schema = await call<{ classes?: { class: string }[] }>(rest, 'GET', '/schema');
  const existing = new Set((schema.classes ?? []).map((c) => c.class));
  return (Object.keys(collectionSpecs) as CollectionName[])
    .map((n) => collectionName(n, env.WEAVIATE_COLLECTION_PREFIX))
    .filter((n) => existing.has(n));
}

/** Objects per collection and a digest of each (uuid, tenant, properties, vectors), read with gRPC. */
async function contentsOf(client: WeaviateClient, collections: string[], ctx: StoreContext) {
  const counts: Record<string, number> = {};
  const digests: Record<string, string> = {};
  for (const name of collections) {
    const collection = client.collections.use(name);
    const config = await collection.config.get();
    const tenants = config.multiTenancy.enabled
      ? Object.keys(await collection.tenants.get()).sort()
      : [undefined];
    const lines: string[] = [];
    for (const tenant of tenants) {
      const handle = tenant === undefined ? collection : collection.withTenant(tenant);
      for await (const o of handle.iterator({ includeVector: true })) {
        lines.push(JSON.stringify([tenant ?? '', o.uuid, sortedKeys(o.properties), sortedKeys(o.vectors)]));
        if (lines.length % 1000 === 0) ctx.progress(`weaviate: read ${lines.length} objects of ${name}`);
      }
    }
    lines.sort();
    counts[name] = lines.length;
    digests[name] = digestOf(lines);
  }
  return { counts, digests };
}

function sortedKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortedKeys);
  if (value instanceof Date) return value.toISOString();
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, sortedKeys((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}

/** A scratch Weaviate that has restored the backup in `ctx.workDir`. */
async function scratchWeaviate(ctx: StoreContext, backup: Pick<StoreBackup, 'scope'>) {
  const { env } = ctx;
  const dir = join(ctx.workDir, `scratch-${ctx.scratchSuffix}`);
  const backups = join(dir, 'backups');
  await rm(dir, { recursive: true, force: true });
  await mkdir(backups, { recursive: true });
  await untar(join(ctx.workDir, tarName), backups);
  const [weaviateId] = await readdir(backups);
  if (!weaviateId) throw new Error(`the Weaviate backup file ${tarName} holds no backup`);
  // The scratch takes the name of the node whose part it restores (a backup of a cluster: one of them).
  const node = await restorableBySingleNode(backups, weaviateId);
  const [gossip, data, raft, raftRpc, http, grpc] = (await freePortRange(6)) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const server = startScratchProcess(
    resolveTool('weaviate', env),
    ['--scheme', 'http', '--host', '127.0.0.1', '--port', String(http)],
    {
      dir,
      name: 'scratch-weaviate',
      env: {
        PERSISTENCE_DATA_PATH: join(dir, 'data'),
        BACKUP_FILESYSTEM_PATH: backups,
        ENABLE_MODULES: 'backup-filesystem',
        DEFAULT_VECTORIZER_MODULE: 'none',
        CLUSTER_HOSTNAME: node,
        CLUSTER_IN_LOCALHOST: 'true',
        CLUSTER_GOSSIP_BIND_PORT: String(gossip),
        CLUSTER_DATA_BIND_PORT: String(data),
        RAFT_PORT: String(raft),
        RAFT_INTERNAL_RPC_PORT: String(raftRpc),
        RAFT_BOOTSTRAP_EXPECT: '1',
        RAFT_JOIN: `${node}:${raft}`,
        GRPC_PORT: String(grpc),
        AUTHENTICATION_ANONYMOUS_ACCESS_ENABLED: 'true',
        DISABLE_TELEMETRY: 'true',
        PROMETHEUS_MONITORING_ENABLED: 'false',
        // Its profiler would listen on :6060, which the live Weaviate may hold.
        GO_PROFILING_DISABLE: 'true',
        LIMIT_RESOURCES: 'true',
        GOMEMLIMIT: '512MiB',
      },
    },
  );
  const rest: Rest = { base: `http://127.0.0.1:${http}/v1`, headers: { 'content-type': 'application/json' } };
  let client: WeaviateClient | undefined;
  const drop = async () => {
    await client?.close().catch(() => undefined);
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    ctx.progress(`weaviate: starting a scratch Weaviate (pid ${server.pid}, port ${http})`);
    await until(
      async () => (await fetch(`${rest.base}/.well-known/ready`)).ok,
      () => `the scratch Weaviate did not start: ${server.logTail()}`,
      120_000,
      500,
    );
    const include = (backup.scope.collections as string[] | undefined) ?? [];
    await call(rest, 'POST', `/backups/filesystem/${weaviateId}/restore`, { include });
    await awaitBackup(rest, `/backups/filesystem/${weaviateId}/restore`, 'restore into the scratch', ctx);
    client = await weaviate.connectToCustom({
      httpHost: '127.0.0.1',
      httpPort: http,
      grpcHost: '127.0.0.1',
      grpcPort: grpc,
      timeout: { init: 10, query: 60, insert: 60 },
    });
    const contents = await contentsOf(client, include, ctx);
    return { weaviateId, port: http, contents, drop };
  } catch (err) {
    await drop();
    throw err;
  }
}

export const weaviateStore: StoreModule = {
  store: 'weaviate',
  async take(ctx): Promise<TakenStore> {
    const { env } = ctx;
    const rest = liveRest(env);
    const meta = await call<{ version: string }>(rest, 'GET', '/meta');
    const nodes = await call<{ nodes: { name: string }[] }>(rest, 'GET', '/nodes');
    const node = nodes.nodes[0]?.name ?? 'node1';
    const collections = await deploymentCollections(rest, env);
    const backend = weaviateBackend(env);
    const base = {
      method: `Weaviate backup API (${backend.name} backend), restored in a scratch Weaviate to count and digest`,
      serverVersion: meta.version,
    };
    if (collections.length === 0) {
      throw new Error(
        `Weaviate has none of this deployment's collections (prefix "${env.WEAVIATE_COLLECTION_PREFIX}"): run prism provision`,
      );
    }
    // A retried attempt may find its predecessor's backup: each attempt has an id of its own.
    const weaviateId = `prism-${ctx.scratchSuffix}-${Date.now().toString(36)}`;
    const file = join(ctx.workDir, tarName);
    try {
      await backend.prepare();
      ctx.progress(`weaviate: backing up ${collections.join(', ')} (${backend.name} backend)`);
      await call(rest, 'POST', `/backups/${backend.name}`, { id: weaviateId, include: collections });
      await awaitBackup(rest, `/backups/${backend.name}/${weaviateId}`, 'backup', ctx);
      const staging = join(ctx.workDir, 'staging');
      await mkdir(staging, { recursive: true });
      ctx.progress(`weaviate: copying the backup from ${backend.description}`);
      await backend.fetch(weaviateId, staging);
      await tarDirectory(staging, file, () => ctx.progress('weaviate: packing the backup'));
      await rm(staging, { recursive: true, force: true });
      // Weaviate's copy is not the backup: the destination's is.
      await backend.remove(weaviateId).catch(() => undefined);
    } finally {
      backend.close();
    }
    const scope = { collections, prefix: env.WEAVIATE_COLLECTION_PREFIX, node, backend: backend.name };
    const scratch = await scratchWeaviate(ctx, { scope });
    await scratch.drop();
    return { ...base, files: [file], ...scratch.contents, scope };
  },
  restoreToScratch: restoreWeaviateToScratch,
};

/** Restores a Weaviate backup into a scratch Weaviate; `promote` restores it into the live one. */
async function restoreWeaviateToScratch(ctx: StoreContext, backup: StoreBackup): Promise<ScratchRestore> {
  const scratch = await scratchWeaviate(ctx, backup);
  const include = backup.scope.collections as string[];
  return {
    description: `a scratch Weaviate on 127.0.0.1:${scratch.port}`,
    ...scratch.contents,
    async promote() {
      const { env } = ctx;
      const rest = liveRest(env);
      // The live Weaviate restores from its own backend, under the backup's own id, the backup as it was
      // taken (the scratch's copy may be cut down to one node).
      const backend = weaviateBackend(env);
      const files = join(ctx.workDir, 'promote');
      try {
        await rm(files, { recursive: true, force: true });
        await mkdir(files, { recursive: true });
        await untar(join(ctx.workDir, tarName), files);
        await backend.prepare();
        ctx.progress(`weaviate: copying the backup to ${backend.description}`);
        await backend.put(scratch.weaviateId, files);
        await rm(files, { recursive: true, force: true });
        for (const name of include) {
          ctx.progress(`weaviate: deleting the live collection ${name}`);
          await call(rest, 'DELETE', `/schema/${name}`).catch((err: Error) => {
            if (!/HTTP 404/.test(err.message)) throw err;
          });
        }
        const path = `/backups/${backend.name}/${scratch.weaviateId}/restore`;
        await call(rest, 'POST', path, { include });
        await awaitBackup(rest, path, 'restore', ctx);
        await backend.remove(scratch.weaviateId).catch(() => undefined);
      } finally {
        backend.close();
      }
      return `Weaviate collections ${include.join(', ')} restored`;
    },
    drop: scratch.drop,
  };
}
