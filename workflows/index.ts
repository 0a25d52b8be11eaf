// Everything the worker registers as workflow code.
export { agentTask } from './agent-task.ts';
export { benchNoop } from './bench-noop.ts';
