// Weaviate's backups on either topology: the backup module a node is started with (filesystem, or backup-s3
// against the stack's SeaweedFS), and a backup of several nodes cut down to one for the scratch Weaviate.
import { describe, expect, it } from 'vitest';
import { singleNodeDescriptor } from '../../src/backup/stores/weaviate-layout.ts';
import { parseConfig } from '../../src/config.ts';
import { weaviateBackupEnv } from '../../src/stack/services/weaviate.ts';

const s3Env = {
  WEAVIATE_BACKUP_BACKEND: 's3' as const,
  PRISM_BACKUP_S3_ENDPOINT: 'http://127.0.1.1:18333',
  PRISM_BACKUP_S3_REGION: 'us-east-1',
  S3_ACCESS_KEY: 'ACCESS',
  S3_SECRET_KEY: 'secret-key',
};

describe('the backup module of a Weaviate node', () => {
  it('is the filesystem one, writing to its directory, unless the backend is s3', () => {
    expect(weaviateBackupEnv({ ...s3Env, WEAVIATE_BACKUP_BACKEND: 'filesystem' }, '/data/backups')).toEqual({
      ENABLE_MODULES: 'backup-filesystem',
      BACKUP_FILESYSTEM_PATH: '/data/backups',
    });
  });

  it('is backup-s3 against the S3 store as host:port, without TLS for http, credentials in its environment', () => {
    expect(weaviateBackupEnv(s3Env, '/unused')).toEqual({
      ENABLE_MODULES: 'backup-s3',
      BACKUP_S3_BUCKET: 'weaviate-backups',
      BACKUP_S3_ENDPOINT: '127.0.1.1:18333',
      BACKUP_S3_USE_SSL: 'false',
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'ACCESS',
      AWS_SECRET_ACCESS_KEY: 'secret-key',
    });
    expect(
      weaviateBackupEnv({ ...s3Env, PRISM_BACKUP_S3_ENDPOINT: 'https://s3.example.com' }, '/unused'),
    ).toMatchObject({ BACKUP_S3_ENDPOINT: 's3.example.com', BACKUP_S3_USE_SSL: 'true' });
  });

  it('names the missing credentials', () => {
    expect(() => weaviateBackupEnv({ ...s3Env, S3_SECRET_KEY: undefined }, '/unused')).toThrow(
      /S3_ACCESS_KEY and S3_SECRET_KEY/,
    );
  });

  it('defaults to s3 in the cluster topology and to filesystem in the single one', () => {
    const base = { INFLUX_PASSWORD: 'x'.repeat(12) };
    expect(parseConfig({ ...base, PRISM_TOPOLOGY: 'cluster' }).WEAVIATE_BACKUP_BACKEND).toBe('s3');
    expect(parseConfig(base).WEAVIATE_BACKUP_BACKEND).toBe('filesystem');
    expect(
      parseConfig({ ...base, PRISM_TOPOLOGY: 'cluster', WEAVIATE_BACKUP_BACKEND: 'filesystem' })
        .WEAVIATE_BACKUP_BACKEND,
    ).toBe('filesystem');
  });
});

describe('a Weaviate backup of several nodes, for one', () => {
  const nodes = {
    'weaviate-1': { classes: ['A', 'B'] },
    'weaviate-2': { classes: ['A', 'B'] },
    'weaviate-3': { classes: ['A'] },
  };

  it("keeps the leader's part, whose node has every class, and drops the others", () => {
    const { descriptor, node, dropped } = singleNodeDescriptor({ id: 'b1', nodes, leader: 'weaviate-2' });
    expect(node).toBe('weaviate-2');
    expect(dropped).toEqual(['weaviate-1', 'weaviate-3']);
    expect(descriptor).toEqual({
      id: 'b1',
      nodes: { 'weaviate-2': nodes['weaviate-2'] },
      leader: 'weaviate-2',
    });
  });

  it('keeps the first node by name without a leader, and a single node as it is', () => {
    expect(singleNodeDescriptor({ nodes }).node).toBe('weaviate-1');
    const single = singleNodeDescriptor({ nodes: { node1: { classes: ['A'] } }, leader: 'node1' });
    expect(single).toMatchObject({ node: 'node1', dropped: [] });
  });

  it('refuses a descriptor without nodes', () => {
    expect(() => singleNodeDescriptor({ nodes: {} })).toThrow(/names no node/);
  });
});
