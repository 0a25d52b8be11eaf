// Everything the task worker registers as workflow code (TEMPORAL_TASK_QUEUE): the agent task flow, and the
// bench's no-op that measures the engine on that queue. The maintenance work has its own bundle
// (maintenance.ts) on its own queue.
export { agentTask } from './agent-task.ts';
export { benchNoop } from './bench-noop.ts';
