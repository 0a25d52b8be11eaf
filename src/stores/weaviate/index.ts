export * from './schema.ts';
export * from './provision.ts';
export * from './collections.ts';
export * from './embedder.ts';
export * from './glove-embedder.ts';
export * from './import.ts';
export * from './search.ts';
