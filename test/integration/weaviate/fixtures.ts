import type { WeaviateClient } from 'weaviate-client';
import { connectWeaviate } from '../../../src/clients/weaviate.ts';
import { collectionName, type CollectionName } from '../../../src/stores/weaviate/index.ts';
import { env, testId } from '../../helpers.ts';

/** A client and a collection prefix of this test file's own; `cleanup()` deletes only its collections. */
export async function weaviateFixture() {
  const client: WeaviateClient = await connectWeaviate(env);
  const prefix = `Test_${testId('wv').slice(-12)}_`;
  return {
    client,
    prefix,
    name: (collection: CollectionName) => collectionName(collection, prefix),
    async cleanup() {
      const mine = (await client.collections.listAll()).filter((c) => c.name.startsWith(prefix));
      for (const c of mine) await client.collections.delete(c.name);
      await client.close();
    },
  };
}

export type WeaviateFixture = Awaited<ReturnType<typeof weaviateFixture>>;

/** A few manufacturing documents, with hand-made 3-d vectors: x = machining heat, y = welding, z = paint. */
export const manufacturingDocs = [
  {
    properties: {
      processName: 'CNC milling',
      description: 'Spindle overheating during long roughing passes on hardened steel',
      parameters: JSON.stringify({ spindleRpm: [6000, 12000] }),
      constraints: ['Spindle temperature below 70 C'],
      bestPractices: ['Warm up the spindle for ten minutes'],
      troubleshooting: ['Check the coolant flow when the spindle runs hot'],
    },
    vector: [1, 0, 0],
  },
  {
    properties: {
      processName: 'Robotic MIG welding',
      description: 'Porosity in weld seams caused by contaminated shielding gas',
      parameters: JSON.stringify({ gasFlowLpm: [12, 18] }),
      constraints: ['Gas flow at least 12 l/min'],
      bestPractices: ['Purge the gas line before each shift'],
      troubleshooting: ['Replace the nozzle when spatter builds up'],
    },
    vector: [0, 1, 0],
  },
  {
    properties: {
      processName: 'Coolant system maintenance',
      description: 'Coolant concentration and pump pressure keep machining temperatures stable',
      parameters: JSON.stringify({ concentrationPercent: [6, 9] }),
      constraints: ['Pump pressure above 20 bar'],
      bestPractices: ['Measure concentration daily with a refractometer'],
      troubleshooting: ['Foaming means the concentration is too high'],
    },
    vector: [0.8, 0.1, 0.2],
  },
  {
    properties: {
      processName: 'Powder coating',
      description: 'Orange peel texture from a wrong curing oven profile',
      parameters: JSON.stringify({ cureTempC: [180, 200] }),
      constraints: ['Part surface clean and dry'],
      bestPractices: ['Log the oven profile for every batch'],
      troubleshooting: ['Lower the film thickness when orange peel appears'],
    },
    vector: [0, 0.1, 1],
  },
];
