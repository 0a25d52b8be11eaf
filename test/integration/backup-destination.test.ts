// Where backups are kept, one contract for both kinds: a directory on this machine, and a bucket of the
// stack's real SeaweedFS over its S3 API (the store `prism stack up` runs, no mock). Each run works under a
// prefix (or directory) of its own and deletes what it made.
import { createHash, randomBytes } from 'node:crypto';
import {
  createReadStream,
  createWriteStream,
  mkdtempSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  backupDestination,
  localDestination,
  MissingBackupKeyError,
  s3Destination,
  type BackupDestination,
} from '../../src/backup/destination.ts';
import { createS3 } from '../../src/clients/s3.ts';
import { parseConfig, rawEnvironment, stackDataDir } from '../../src/config.ts';
import { env, testId } from '../helpers.ts';

const work = mkdtempSync(join(tmpdir(), 'prism-backup-destination-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

let files = 0;
function file(content: string | Buffer): string {
  const path = join(work, `in-${++files}`);
  writeFileSync(path, content);
  return path;
}

/** A file of `bytes` random bytes, written in 1 MiB pieces (never held whole in memory). */
async function randomFile(bytes: number): Promise<string> {
  const path = join(work, `big-${++files}`);
  let left = bytes;
  const pieces = Readable.from(
    (function* () {
      while (left > 0) {
        const n = Math.min(left, 1024 * 1024);
        left -= n;
        yield randomBytes(n);
      }
    })(),
  );
  await pipeline(pieces, createWriteStream(path));
  return path;
}

async function sha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

const out = (name: string) => join(work, 'out', `${name}-${++files}`);

interface Subject {
  destination: BackupDestination;
  cleanup: () => Promise<void>;
}

const kinds: [string, () => Promise<Subject>][] = [
  [
    'a local directory',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'prism-backups-'));
      return {
        destination: localDestination(dir),
        cleanup: async () => rmSync(dir, { recursive: true, force: true }),
      };
    },
  ],
  [
    'the stack’s SeaweedFS over S3',
    async () => {
      const client = createS3(env);
      const destination = s3Destination({
        client,
        bucket: env.PRISM_BACKUP_S3_BUCKET,
        prefix: `test/${testId('backup')}`,
      });
      return {
        destination,
        cleanup: async () => {
          await destination.remove(await destination.list(''));
          client.destroy();
        },
      };
    },
  ],
];

describe.each(kinds)('a backup destination: %s', (_kind, make) => {
  let subject: Subject;
  let d: BackupDestination;
  beforeAll(async () => {
    subject = await make();
    d = subject.destination;
  });
  afterAll(async () => {
    if (!subject) return;
    await subject.cleanup();
    // Everything this run made is gone.
    expect(await d.list('')).toEqual([]);
  });

  it('gives back the bytes it was given, a small file and a multi-MB one (multipart on S3)', async () => {
    const small = file('{"backupId":"b1"}\n');
    await d.put('b1/manifest.json', small);
    const smallBack = out('manifest');
    await d.get('b1/manifest.json', smallBack);
    expect(await readFile(smallBack, 'utf8')).toBe('{"backupId":"b1"}\n');

    const big = await randomFile(20 * 1024 * 1024 + 12345);
    await d.put('b1/postgres/prism.dump', big);
    const bigBack = out('dump');
    await d.get('b1/postgres/prism.dump', bigBack);
    expect((await stat(bigBack)).size).toBe((await stat(big)).size);
    expect(await sha256(bigBack)).toBe(await sha256(big));
  });

  it('lists the keys under a prefix, sorted, and all of them under ""', async () => {
    for (const key of ['l/b/2', 'l/a/2', 'l/a/10', 'l/a/1', 'l/c', 'lx']) await d.put(key, file(key));
    expect(await d.list('l/a/')).toEqual(['l/a/1', 'l/a/10', 'l/a/2']);
    expect(await d.list('l/')).toEqual(['l/a/1', 'l/a/10', 'l/a/2', 'l/b/2', 'l/c']);
    expect(await d.list('l')).toEqual(['l/a/1', 'l/a/10', 'l/a/2', 'l/b/2', 'l/c', 'lx']);
    expect(await d.list('nothing/')).toEqual([]);
    const all = await d.list('');
    expect(all).toEqual([...all].sort());
    expect(all).toEqual(expect.arrayContaining(['l/a/1', 'lx']));
  });

  it('removes keys, and a missing key is no error', async () => {
    for (const key of ['r/1', 'r/2', 'r/3']) await d.put(key, file(key));
    await d.remove(['r/1', 'r/3', 'r/never-was', 'nowhere/at/all']);
    expect(await d.list('r/')).toEqual(['r/2']);
    await d.remove(['r/2']);
    expect(await d.list('r/')).toEqual([]);
    await d.remove([]);
  });

  it('throws a clear error for a get of a missing key, and writes no file', async () => {
    const target = out('missing');
    const error = await d.get('missing/manifest.json', target).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(MissingBackupKeyError);
    expect((error as Error).message).toMatch(/backup key "missing\/manifest\.json" does not exist in /);
    expect((error as Error).message).toContain(d.description);
    expect(readdirSync(join(work, 'out')).filter((f) => f.startsWith('missing-'))).toEqual([]);
  });

  it('rejects invalid keys before touching anything', async () => {
    const source = file('x');
    for (const key of ['../escape', '/absolute', 'a//b', 'a/../b', 'trailing/', '', 'sp ace', 'a/./b/..']) {
      await expect(d.put(key, source), key).rejects.toThrow(/backup key ".*" is invalid/);
      await expect(d.get(key, out('invalid')), key).rejects.toThrow(/is invalid/);
      await expect(d.remove([key]), key).rejects.toThrow(/is invalid/);
    }
    // One bad key in a batch: nothing of the batch is deleted.
    await d.put('v/kept', source);
    await expect(d.remove(['v/kept', '../bad'])).rejects.toThrow(/is invalid/);
    expect(await d.list('v/')).toEqual(['v/kept']);
    await d.remove(['v/kept']);
  });

  it('overwrites a key with the new content', async () => {
    await d.put('o/file', file('first version'));
    await d.put('o/file', file('second, longer version'));
    const back = out('overwritten');
    await d.get('o/file', back);
    expect(await readFile(back, 'utf8')).toBe('second, longer version');
    expect(await d.list('o/')).toEqual(['o/file']);
  });

  it('shows nothing under a key whose put failed', async () => {
    await expect(d.put('f/never', join(work, 'no-such-file'))).rejects.toThrow(/ENOENT/);
    expect(await d.list('f/')).toEqual([]);
  });
});

describe('the local destination', () => {
  it('leaves no empty directories behind, and no partial files', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'prism-backups-'));
    try {
      const d = localDestination(dir);
      await d.put('b2/postgres/prism.dump', file('dump'));
      await d.put('b2/manifest.json', file('{}'));
      await d.remove(['b2/postgres/prism.dump']);
      expect(readdirSync(join(dir, 'b2'))).toEqual(['manifest.json']);
      await d.remove(['b2/manifest.json']);
      expect(readdirSync(dir)).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the S3 destination', () => {
  it('refuses requests without the credentials: the bucket is not open to anyone who asks', async () => {
    const res = await fetch(`${env.PRISM_BACKUP_S3_ENDPOINT}/${env.PRISM_BACKUP_S3_BUCKET}?list-type=2`);
    expect(res.status).toBe(403);
    await res.body?.cancel();
  });

  it('refuses a wrong secret', async () => {
    const client = createS3({ ...env, S3_SECRET_KEY: `${env.S3_SECRET_KEY}-wrong` });
    const d = s3Destination({ client, bucket: env.PRISM_BACKUP_S3_BUCKET });
    try {
      await expect(d.list('')).rejects.toThrow(/signature|denied|SignatureDoesNotMatch/i);
    } finally {
      client.destroy();
    }
  });

  it('says which bucket is missing', async () => {
    const client = createS3(env);
    const bucket = `prism-missing-${randomBytes(4).toString('hex')}`;
    const d = s3Destination({ client, bucket });
    try {
      await expect(d.put('k', file('x'))).rejects.toThrow(/bucket/i);
      await expect(d.list('')).rejects.toThrow(/bucket/i);
    } finally {
      client.destroy();
    }
  });
});

describe('backupDestination(env)', () => {
  it('is the directory PRISM_BACKUP_DIR by default, under the stack data directory', () => {
    const config = parseConfig({
      ...rawEnvironment(),
      PRISM_BACKUP_DESTINATION: undefined,
      PRISM_BACKUP_DIR: undefined,
    });
    expect(backupDestination(config).description).toBe(join(stackDataDir(config), 'backups'));
  });

  it('is the S3 bucket under its prefix with PRISM_BACKUP_DESTINATION=s3', async () => {
    const prefix = `test/${testId('factory')}`;
    const config = parseConfig({
      ...rawEnvironment(),
      PRISM_BACKUP_DESTINATION: 's3',
      PRISM_BACKUP_S3_PREFIX: prefix,
    });
    const d = backupDestination(config);
    expect(d.description).toBe(`s3://${config.PRISM_BACKUP_S3_BUCKET}/${prefix}`);
    await d.put('one', file('one'));
    try {
      expect(await d.list('')).toEqual(['one']);
      // The same object, seen from the bucket's root.
      const client = createS3(config);
      const root = s3Destination({ client, bucket: config.PRISM_BACKUP_S3_BUCKET });
      expect(await root.list(`${prefix}/`)).toEqual([`${prefix}/one`]);
      client.destroy();
    } finally {
      await d.remove(['one']);
    }
  });
});
