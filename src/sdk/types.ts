// The SDK's request and answer types: the API's own schemas (src/api/schemas), as types only, so the SDK
// and the server cannot drift apart and the SDK carries no runtime dependency.
export type { AgentInfo, ListAgentsQuery, RegisterAgentBody } from '../api/schemas/agents.ts';
export type {
  IngestedKnowledge,
  IngestKnowledgeBody,
  KnowledgeHit,
  KnowledgeResults,
  SearchKnowledgeQuery,
} from '../api/schemas/knowledge.ts';
export type { MemoryHit, Memories, RecallQuery, RememberBody, Remembered } from '../api/schemas/memory.ts';
export type { FeedbackBody, RecordedFeedback, SubmitTaskBody, SubmittedTask } from '../api/schemas/tasks.ts';
export type { TaskDetails, TaskRecord } from '../task/view.ts';
export type { TaskListQuery, TaskPage, TaskSummary } from '../task/list.ts';
export type { LiveTask } from '../task/client.ts';
export type { DecidedStep, RetriedTask } from '../task/actions.ts';
export type { TaskOutcome, TaskProgress, TaskStatus } from '../task/contract.ts';
export type { TaskEvent, TaskEventType } from '../task/events.ts';
