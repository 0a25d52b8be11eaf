// Where backups are kept: a directory (PRISM_BACKUP_DIR, the default) or an S3-compatible object store
// (PRISM_BACKUP_S3_*: a backup on the same disk as the data does not survive that disk). A backup is a set
// of objects under `<backupId>/`, its manifest (`<backupId>/manifest.json`) written last.
import { PrismError } from '../errors.ts';
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { copyFile, mkdir, readdir, rename, rm, rmdir } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { createS3 } from '../clients/s3.ts';
import type { Env } from '../config.ts';

export interface BackupDestination {
  /** Where it is, for people: `/var/backups/prism` or `s3://bucket/prefix`. */
  readonly description: string;
  /** Stores a local file under `key` (overwriting). */
  put(key: string, file: string): Promise<void>;
  /** Fetches `key` into a local file. Throws when it does not exist. */
  get(key: string, file: string): Promise<void>;
  /** The keys under `prefix` (`''`: all), sorted. */
  list(prefix: string): Promise<string[]>;
  /** Deletes these keys (missing ones are no error). */
  remove(keys: string[]): Promise<void>;
}

/** `get` of a key that is not there. */
export class MissingBackupKeyError extends PrismError {
  constructor(
    readonly key: string,
    where: string,
  ) {
    super('BACKUP_KEY_MISSING', `backup key "${key}" does not exist in ${where}`);
    this.name = 'MissingBackupKeyError';
  }
}

/** A file name next to `path` that no other writer picks (put and get write there, then rename). */
const partialOf = (path: string) => `${path}.${randomBytes(6).toString('hex')}.partial`;

function checkKey(key: string): string {
  if (!/^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/.test(key) || key.split('/').includes('..')) {
    throw new Error(`backup key "${key}" is invalid: use letters, digits, . _ - and / between parts`);
  }
  return key;
}

/** A directory on this machine. */
export function localDestination(directory: string): BackupDestination {
  const dir = resolve(directory);
  const pathOf = (key: string) => join(dir, ...checkKey(key).split('/'));
  return {
    description: dir,
    async put(key, file) {
      const target = pathOf(key);
      await mkdir(dirname(target), { recursive: true });
      const partial = partialOf(target);
      try {
        await copyFile(file, partial);
        // Rename over the old file, not copy in place: a reader sees the old file or the new one, never half.
        await rename(partial, target);
      } finally {
        await rm(partial, { force: true });
      }
    },
    async get(key, file) {
      const source = pathOf(key);
      await mkdir(dirname(file), { recursive: true });
      const partial = partialOf(file);
      try {
        await copyFile(source, partial);
        await rename(partial, file);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT' && (err as { path?: string }).path === source) {
          throw new MissingBackupKeyError(key, dir);
        }
        throw err;
      } finally {
        await rm(partial, { force: true });
      }
    },
    async list(prefix) {
      const keys: string[] = [];
      const walk = async (at: string) => {
        let entries;
        try {
          entries = await readdir(at, { withFileTypes: true });
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
          throw err;
        }
        for (const e of entries) {
          const path = join(at, e.name);
          if (e.isDirectory()) await walk(path);
          else if (!e.name.endsWith('.partial')) keys.push(relative(dir, path).split(sep).join('/'));
        }
      };
      await walk(dir);
      return keys.filter((k) => k.startsWith(prefix)).sort();
    },
    async remove(keys) {
      const paths = keys.map(pathOf); // every key checked before anything is deleted
      for (const path of paths) await rm(path, { force: true });
      // Drop directories left empty; rmdir fails on one that a put has just written into, and stops there.
      const removeEmpty = (at: string) =>
        rmdir(at).then(
          () => true,
          () => false,
        );
      for (const path of paths) {
        let at = dirname(path);
        while (at.startsWith(`${dir}${sep}`) && (await removeEmpty(at))) at = dirname(at);
      }
    },
  };
}

/** Multipart uploads in parts of this size, two at a time: what a put holds in memory, whatever the file. */
const partSizeBytes = 8 * 1024 * 1024;

/**
 * A bucket of an S3-compatible store (the stack's SeaweedFS, or S3 itself), keys under `prefix`. A put is a
 * PutObject or a multipart upload (files over one part), streamed from the file: either way S3 shows the
 * object only once it is complete, so a reader never sees half of it.
 */
export function s3Destination(options: {
  client: S3Client;
  bucket: string;
  /** Parts joined by `/`, without a leading or trailing one; '' (the default): the bucket's root. */
  prefix?: string;
}): BackupDestination {
  const { client, bucket } = options;
  const prefix = options.prefix ?? '';
  if (prefix !== '') checkKey(prefix);
  const objectKey = (key: string) => (prefix ? `${prefix}/${checkKey(key)}` : checkKey(key));
  const description = `s3://${bucket}${prefix ? `/${prefix}` : ''}`;
  return {
    description,
    async put(key, file) {
      const upload = new Upload({
        client,
        params: { Bucket: bucket, Key: objectKey(key), Body: createReadStream(file) },
        partSize: partSizeBytes,
        queueSize: 2,
        // A failed multipart upload is aborted, so its parts do not linger in the bucket.
        leavePartsOnError: false,
      });
      await upload.done();
    },
    async get(key, file) {
      const object = await client
        .send(new GetObjectCommand({ Bucket: bucket, Key: objectKey(key) }))
        .catch((err: unknown) => {
          const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
          if (e.name === 'NoSuchKey' || e.$metadata?.httpStatusCode === 404) {
            throw new MissingBackupKeyError(key, description);
          }
          throw err;
        });
      await mkdir(dirname(file), { recursive: true });
      const partial = partialOf(file);
      try {
        await pipeline(object.Body as Readable, createWriteStream(partial));
        await rename(partial, file);
      } finally {
        await rm(partial, { force: true });
      }
    },
    async list(keyPrefix) {
      const keys: string[] = [];
      const strip = prefix ? prefix.length + 1 : 0;
      let token: string | undefined;
      do {
        const page = await client.send(
          new ListObjectsV2Command({
            Bucket: bucket,
            Prefix: prefix ? `${prefix}/${keyPrefix}` : keyPrefix,
            ContinuationToken: token,
          }),
        );
        for (const object of page.Contents ?? []) if (object.Key) keys.push(object.Key.slice(strip));
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
      return keys.sort();
    },
    async remove(keys) {
      const objects = keys.map((key) => ({ Key: objectKey(key) }));
      // DeleteObjects takes at most 1000 keys; deleting a missing key is no error in S3.
      for (let i = 0; i < objects.length; i += 1000) {
        const result = await client.send(
          new DeleteObjectsCommand({
            Bucket: bucket,
            Delete: { Objects: objects.slice(i, i + 1000), Quiet: true },
          }),
        );
        const failed = result.Errors ?? [];
        if (failed.length > 0) {
          throw new Error(
            `could not delete from ${description}: ${failed.map((e) => `${e.Key}: ${e.Code} ${e.Message}`).join('; ')}`,
          );
        }
      }
    },
  };
}

export type BackupDestinationEnv = Pick<
  Env,
  | 'PRISM_BACKUP_DESTINATION'
  | 'PRISM_BACKUP_DIR'
  | 'PRISM_BACKUP_S3_ENDPOINT'
  | 'PRISM_BACKUP_S3_REGION'
  | 'PRISM_BACKUP_S3_BUCKET'
  | 'PRISM_BACKUP_S3_PREFIX'
  | 'S3_ACCESS_KEY'
  | 'S3_SECRET_KEY'
>;

/** The destination PRISM_BACKUP_DESTINATION names: `local` (PRISM_BACKUP_DIR) or `s3` (PRISM_BACKUP_S3_*). */
export function backupDestination(env: BackupDestinationEnv): BackupDestination {
  if (env.PRISM_BACKUP_DESTINATION === 's3') {
    return s3Destination({
      client: createS3(env),
      bucket: env.PRISM_BACKUP_S3_BUCKET,
      prefix: env.PRISM_BACKUP_S3_PREFIX,
    });
  }
  return localDestination(env.PRISM_BACKUP_DIR);
}
