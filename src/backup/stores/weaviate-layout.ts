// A Weaviate backup of several nodes, made restorable by one: the scratch Weaviate of a restore or drill is
// a single node, and Weaviate restores a backup only into a cluster that has every node it names (each
// node restores its own part). Every node of the cluster topology holds a replica of every shard
// (WEAVIATE_REPLICATION_FACTOR = its three nodes), so one node's part holds all the data: the coordinator's
// descriptor keeps that node alone, and the scratch Weaviate takes that node's name. Were a node to hold
// only some shards, the scratch would count fewer objects than the manifest and the check would say so.
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** The file of a backup that lists its nodes (Weaviate's GlobalBackupFile). */
export const weaviateDescriptorFile = 'backup_config.json';

export interface WeaviateDescriptor {
  nodes: Record<string, unknown>;
  /** The Raft leader when it was taken: its part holds every class, even those without objects. */
  leader?: string;
  [other: string]: unknown;
}

/**
 * The descriptor of a backup restricted to one node (the leader's part, else the first by name), that
 * node's name and the nodes left out. Pure: unit-tested (test/unit/weaviate-backup.test.ts).
 */
export function singleNodeDescriptor(descriptor: WeaviateDescriptor): {
  descriptor: WeaviateDescriptor;
  node: string;
  dropped: string[];
} {
  const names = Object.keys(descriptor.nodes ?? {}).sort();
  const node = descriptor.leader && names.includes(descriptor.leader) ? descriptor.leader : names[0];
  if (!node) throw new Error(`the Weaviate backup's ${weaviateDescriptorFile} names no node`);
  return {
    descriptor: { ...descriptor, nodes: { [node]: descriptor.nodes[node] } },
    node,
    dropped: names.filter((n) => n !== node),
  };
}

/**
 * Rewrites backup `dir/<id>/` (as Weaviate wrote it) for a single node: returns the name that node must
 * have. A backup of one node is left as it is.
 */
export async function restorableBySingleNode(dir: string, id: string): Promise<string> {
  const file = join(dir, id, weaviateDescriptorFile);
  const original = JSON.parse(await readFile(file, 'utf8')) as WeaviateDescriptor;
  const { descriptor, node, dropped } = singleNodeDescriptor(original);
  if (dropped.length === 0) return node;
  await writeFile(file, JSON.stringify(descriptor));
  for (const other of dropped) await rm(join(dir, id, other), { recursive: true, force: true });
  return node;
}
