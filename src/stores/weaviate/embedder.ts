/**
 * Turns texts into vectors for Weaviate. Every vector in a collection must come from the same embedder
 * (same name and dimensions): vectors of different models are not comparable.
 */
export interface Embedder {
  name: string;
  dimensions: number;
  /** One vector per text, in order. Rejects when a text cannot be embedded (the error says which). */
  embed(texts: string[]): Promise<number[][]>;
}
