export * from './points.ts';
export * from './provision.ts';
export * from './queries.ts';
export * from './retention.ts';
export * from './server.ts';
export * from './writer.ts';
