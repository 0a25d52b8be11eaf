// Where Weaviate writes a backup (WEAVIATE_BACKUP_BACKEND) and how its files come to this process and go back:
// the filesystem backend's directory (WEAVIATE_BACKUP_PATH, shared with Weaviate), or the backup-s3 module's
// bucket (weaviateBackupBucket, in the store of PRISM_BACKUP_S3_ENDPOINT). Both hold the same format under
// `<directory or bucket>/<backup id>/`: `backup_config.json` (the coordinator's descriptor) and one
// directory per node (its `backup.json` and the chunks of its shards), so a backup moves between them file
// by file (weaviate-layout.ts makes one of several nodes restorable by a single node).
import { cp, readdir, rm } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import type { Env } from '../../config.ts';
import { createS3, ensureBucket, weaviateBackupBucket } from '../../clients/s3.ts';
import { s3Destination } from '../destination.ts';

export interface WeaviateBackend {
  /** The backend's name in Weaviate's API: `/v1/backups/<name>`. */
  name: 'filesystem' | 's3';
  /** Where Weaviate writes, for people and for the manifest's method. */
  description: string;
  /** Ready for Weaviate to write (the bucket exists). */
  prepare(): Promise<void>;
  /** Copies backup `id` from where Weaviate wrote it into `dir/<id>/`. */
  fetch(id: string, dir: string): Promise<void>;
  /** Puts `dir/<id>/` where Weaviate restores backup `id` from (replacing what is there). */
  put(id: string, dir: string): Promise<void>;
  /** Deletes Weaviate's copy of backup `id` (the product's backup is the one in its destination). */
  remove(id: string): Promise<void>;
  /** Lets go of its clients. */
  close(): void;
}

type BackendEnv = Pick<
  Env,
  | 'WEAVIATE_BACKUP_BACKEND'
  | 'WEAVIATE_BACKUP_PATH'
  | 'PRISM_BACKUP_S3_ENDPOINT'
  | 'PRISM_BACKUP_S3_REGION'
  | 'S3_ACCESS_KEY'
  | 'S3_SECRET_KEY'
>;

export function weaviateBackend(env: BackendEnv): WeaviateBackend {
  return env.WEAVIATE_BACKUP_BACKEND === 's3' ? s3Backend(env) : filesystemBackend(env.WEAVIATE_BACKUP_PATH);
}

function filesystemBackend(path: string): WeaviateBackend {
  return {
    name: 'filesystem',
    description: path,
    async prepare() {},
    async fetch(id, dir) {
      const source = join(path, id);
      try {
        await cp(source, join(dir, id), { recursive: true });
      } catch (err) {
        throw new Error(
          `Weaviate wrote its backup, but it cannot be read at ${source} (${(err as Error).message}): ` +
            'WEAVIATE_BACKUP_PATH must be the directory Weaviate writes its filesystem backups to ' +
            '(its BACKUP_FILESYSTEM_PATH), shared with this process',
        );
      }
    },
    async put(id, dir) {
      const target = join(path, id);
      await rm(target, { recursive: true, force: true });
      await cp(join(dir, id), target, { recursive: true });
    },
    async remove(id) {
      await rm(join(path, id), { recursive: true, force: true });
    },
    close() {},
  };
}

function s3Backend(env: BackendEnv): WeaviateBackend {
  const client = createS3(env);
  const bucket = s3Destination({ client, bucket: weaviateBackupBucket });
  const keysOf = (id: string) => bucket.list(`${id}/`);
  return {
    name: 's3',
    description: bucket.description,
    prepare: () => ensureBucket(client, weaviateBackupBucket),
    async fetch(id, dir) {
      const keys = await keysOf(id);
      if (keys.length === 0) {
        throw new Error(
          `Weaviate wrote its backup, but ${bucket.description}/${id}/ is empty: its nodes' BACKUP_S3_ENDPOINT ` +
            'must be the store of PRISM_BACKUP_S3_ENDPOINT (`prism stack up` sets both)',
        );
      }
      for (const key of keys) await bucket.get(key, join(dir, ...key.split('/')));
    },
    async put(id, dir) {
      await bucket.remove(await keysOf(id));
      for (const file of await filesUnder(join(dir, id))) {
        await bucket.put(`${id}/${relative(join(dir, id), file).split(sep).join('/')}`, file);
      }
    },
    async remove(id) {
      await bucket.remove(await keysOf(id));
    },
    close: () => client.destroy(),
  };
}

async function filesUnder(dir: string): Promise<string[]> {
  const files: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...(await filesUnder(path)));
    else files.push(path);
  }
  return files.sort();
}
