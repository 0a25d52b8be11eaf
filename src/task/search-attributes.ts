// The custom search attributes that make task runs findable in the Temporal UI (registered by the stack:
// see src/stack/services.ts and docker-compose.yml). Pure: used by the workflow and by starters.
import { defineSearchAttributeKey } from '@temporalio/common';

export const TaskIdKey = defineSearchAttributeKey('TaskId', 'KEYWORD');
export const AgentTypeKey = defineSearchAttributeKey('AgentType', 'KEYWORD');
export const TaskPriorityKey = defineSearchAttributeKey('TaskPriority', 'KEYWORD');
export const TaskStatusKey = defineSearchAttributeKey('TaskStatus', 'KEYWORD');
