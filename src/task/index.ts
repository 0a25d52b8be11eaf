// The task, for the edges (API, CLI, SDK, worker, agents, bench): its contract, shapes, validation and ids.
// Workflow code imports ./contract.ts alone (pure).
export * from './contract.ts';
export * from './schemas.ts';
export * from './ids.ts';
export * from './errors.ts';
