// Creates PRISM's Weaviate collections and adds the properties they lack. It never deletes a collection,
// a property or an object, so it is safe to run on every deploy (the earlier implementation dropped every
// class on each run and lost all knowledge).
import { PrismError } from '../../errors.ts';
import weaviate, { type CollectionConfig, type WeaviateClient } from 'weaviate-client';
import { weaviateReplicationFactor } from '../../clients/weaviate.ts';
import type { Progress } from '../../progress.ts';
import { collectionName, collectionSpecs, type CollectionSpec, type PropertySpec } from './schema.ts';

export type ProvisionReport = {
  created: string[];
  updated: { collection: string; addedProperties: string[] }[];
  unchanged: string[];
};

export class WeaviateSchemaConflictError extends PrismError {
  constructor(
    readonly conflicts: string[],
    readonly report: ProvisionReport,
  ) {
    super(
      'SCHEMA_CONFLICT',
      'Weaviate holds collections that do not match what PRISM needs, and provisioning never changes or ' +
        'deletes existing data:\n' +
        conflicts.map((c) => `  ${c}`).join('\n') +
        '\nCopy the objects into a collection of the right shape (or, if the data is disposable, delete ' +
        'the collection yourself) and run provisioning again.',
    );
    this.name = 'WeaviateSchemaConflictError';
  }
}

/**
 * How a collection keeps its replicas: `factor` copies of every shard, each on another node; async
 * replication compares the copies in the background and repairs the one a lost node missed once it is back;
 * a conflict between a delete and a write is resolved by time (the later wins), so a node that missed a
 * delete does not bring the object back. Without replicas (factor 1): nothing, as before.
 */
export function replicationConfig(factor: number) {
  return factor > 1
    ? weaviate.configure.replication({
        factor,
        asyncEnabled: true,
        deletionStrategy: 'TimeBasedResolution',
      })
    : undefined;
}

function createConfig(name: string, spec: CollectionSpec<never>, factor: number) {
  return {
    name,
    replication: replicationConfig(factor),
    description: spec.description,
    vectorizers: weaviate.configure.vectors.selfProvided(),
    multiTenancy: spec.multiTenant
      ? // Tenants are created explicitly (agentMemory()), so a typo in an agent id cannot create one.
        weaviate.configure.multiTenancy({
          enabled: true,
          autoTenantCreation: false,
          autoTenantActivation: true,
        })
      : undefined,
    properties: spec.properties,
  };
}

export function compare(existing: CollectionConfig, spec: CollectionSpec<never>, factor = 1) {
  const conflicts: string[] = [];
  const missing: PropertySpec[] = [];
  if (existing.replication.factor !== factor) {
    conflicts.push(
      `${existing.name}: keeps ${existing.replication.factor} cop${existing.replication.factor === 1 ? 'y' : 'ies'} of each object, ` +
        `WEAVIATE_REPLICATION_FACTOR asks for ${factor} (set the variable to what the collection has, or copy ` +
        'its objects into a collection created with the new factor)',
    );
  }
  if (existing.multiTenancy.enabled !== spec.multiTenant) {
    conflicts.push(
      `${existing.name}: multi-tenancy is ${existing.multiTenancy.enabled ? 'on' : 'off'}, PRISM needs it ${spec.multiTenant ? 'on' : 'off'}`,
    );
  }
  for (const property of spec.properties) {
    const found = existing.properties.find((p) => p.name === property.name);
    if (!found) missing.push(property);
    else if (found.dataType !== property.dataType) {
      conflicts.push(
        `${existing.name}.${property.name}: is ${found.dataType}, PRISM needs ${property.dataType}`,
      );
    }
  }
  return { conflicts, missing };
}

async function createOrFindExisting(
  client: WeaviateClient,
  name: string,
  spec: CollectionSpec<never>,
  factor: number,
) {
  try {
    await client.collections.create(createConfig(name, spec, factor));
    return true;
  } catch (err) {
    // Another process may have created it between our check and our create: then it is just existing.
    if (await client.collections.exists(name)) return false;
    throw err;
  }
}

/**
 * Makes sure every PRISM collection exists with every property. Idempotent: a second run reports every
 * collection unchanged. Throws WeaviateSchemaConflictError (after doing the safe work) when an existing
 * collection has a property of another type or the wrong multi-tenancy, as those cannot be changed in place.
 */
export async function provisionWeaviate(
  client: WeaviateClient,
  progress: Progress,
  options: { prefix?: string; replicationFactor?: number } = {},
): Promise<ProvisionReport> {
  // The factor the client was connected with (WEAVIATE_REPLICATION_FACTOR), unless told otherwise.
  const factor = options.replicationFactor ?? weaviateReplicationFactor(client);
  const report: ProvisionReport = { created: [], updated: [], unchanged: [] };
  const conflicts: string[] = [];
  for (const spec of Object.values(collectionSpecs) as CollectionSpec<never>[]) {
    const name = collectionName(spec.name, options.prefix);
    if (
      !(await client.collections.exists(name)) &&
      (await createOrFindExisting(client, name, spec, factor))
    ) {
      progress.step(`Weaviate: created collection ${name}`);
      report.created.push(name);
      continue;
    }
    const existing = await client.collections.export(name);
    const found = compare(existing, spec, factor);
    conflicts.push(...found.conflicts);
    const collection = client.collections.use(name);
    for (const property of found.missing) {
      await collection.config.addProperty(property);
      progress.step(`Weaviate: added property ${name}.${property.name}`);
    }
    if (found.missing.length > 0) {
      report.updated.push({ collection: name, addedProperties: found.missing.map((p) => p.name) });
    } else {
      report.unchanged.push(name);
    }
  }
  if (conflicts.length > 0) throw new WeaviateSchemaConflictError(conflicts, report);
  progress.step(
    `Weaviate: ${report.created.length} created, ${report.updated.length} updated, ${report.unchanged.length} unchanged`,
  );
  return report;
}
