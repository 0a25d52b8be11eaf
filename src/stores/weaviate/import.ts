// Batch import: objects go to Weaviate in chunks, and every object that is not stored is reported with
// its index and the reason. Nothing is dropped silently.
import type { Collection } from 'weaviate-client';
import type { Embedder } from './embedder.ts';

export type ImportObject<P> = {
  properties: P;
  /** Supplied vector; otherwise `embed` computes one; otherwise the object is stored without a vector. */
  vector?: number[];
  /** A stable id makes the import idempotent: importing the same id again overwrites, never duplicates. */
  id?: string;
};

export type ImportFailure = { index: number; id?: string; message: string };

export type ImportReport = {
  inserted: number;
  /** The stored object's id at the index of its input, undefined where it failed. */
  ids: (string | undefined)[];
  failures: ImportFailure[];
};

export type ImportOptions<P> = {
  /** Objects per request. 100 keeps a request well under Weaviate's limits with 1k-dimension vectors. */
  chunkSize?: number;
  embed?: { embedder: Embedder; text: (properties: P) => string };
};

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

// One bad text must not fail its whole chunk: on error, embed one by one to find the culprits.
async function embedChunk(embedder: Embedder, texts: string[]): Promise<(number[] | Error)[]> {
  try {
    return await embedder.embed(texts);
  } catch {
    return Promise.all(
      texts.map((text) =>
        embedder.embed([text]).then(
          ([vector]) => vector ?? new Error(`${embedder.name} returned no vector`),
          (err: unknown) => new Error(`embedding failed: ${message(err)}`),
        ),
      ),
    );
  }
}

export async function importObjects<P>(
  collection: Collection<P>,
  objects: ImportObject<P>[],
  options: ImportOptions<P> = {},
): Promise<ImportReport> {
  const chunkSize = options.chunkSize ?? 100;
  if (!Number.isInteger(chunkSize) || chunkSize < 1) throw new Error(`chunkSize must be a positive integer`);
  const report: ImportReport = { inserted: 0, ids: new Array<undefined>(objects.length), failures: [] };
  for (let start = 0; start < objects.length; start += chunkSize) {
    const chunk = objects.slice(start, start + chunkSize);
    const toEmbed = options.embed ? chunk.flatMap((o, i) => (o.vector ? [] : [i])) : [];
    const vectors = new Map<number, number[] | Error>();
    if (options.embed && toEmbed.length > 0) {
      const { embedder, text } = options.embed;
      const results = await embedChunk(
        embedder,
        toEmbed.map((i) => text(chunk[i]!.properties)),
      );
      toEmbed.forEach((i, k) => vectors.set(i, results[k]!));
    }

    const sent: { index: number; object: ImportObject<P> }[] = [];
    chunk.forEach((object, i) => {
      const vector = object.vector ?? vectors.get(i);
      if (vector instanceof Error) {
        report.failures.push({ index: start + i, id: object.id, message: vector.message });
      } else {
        sent.push({ index: start + i, object: { ...object, vector } });
      }
    });
    if (sent.length === 0) continue;

    try {
      const result = await collection.data.insertMany(
        sent.map(({ object }) => ({
          properties: object.properties,
          ...(object.vector ? { vectors: object.vector } : {}),
          ...(object.id ? { id: object.id } : {}),
        })) as Parameters<typeof collection.data.insertMany>[0],
      );
      sent.forEach(({ index, object }, k) => {
        const error = result.errors[k];
        if (error) report.failures.push({ index, id: object.id, message: error.message });
        else {
          report.ids[index] = result.uuids[k];
          report.inserted++;
        }
      });
    } catch (err) {
      // The request as a whole failed (network, auth): none of its objects is known to be stored.
      for (const { index, object } of sent) {
        report.failures.push({ index, id: object.id, message: `batch request failed: ${message(err)}` });
      }
    }
  }
  report.failures.sort((a, b) => a.index - b.index);
  return report;
}
