// The task flow's writes to PostgreSQL, each one SQL statement (one round trip, one transaction). They run
// once or more per task step (Temporal retries activities), so each is idempotent: the same call twice
// leaves the rows of one call. tasks.ts keeps the general task API (create a PENDING task, any single
// transition, any history event); these are the worker's shortcuts for every task, where Prisma's
// per-query cost would otherwise be paid ~25 times.
import type { PrismaClient } from '../../db/prisma.ts';
import type { AgentType, SubtaskStatus, TaskPriority, TaskStatus } from '../../generated/prisma/client.ts';
import { runScoped } from '../../task/contract.ts';
import { subtaskIdFor } from '../../task/ids.ts';
import type { AgentCommand, AgentResponse } from '../../task/index.ts';
import { InvalidTransitionError, statusesBefore } from './tasks.ts';

type Db = Pick<PrismaClient, '$queryRaw'>;

export interface OpenTask {
  taskId: string;
  requestId: string;
  workflowId: string;
  /** Linked only if this user still exists. */
  userId: string | null;
  priority: TaskPriority;
  query: { text: string; type: AgentType; constraints: unknown };
  planId: string;
  /** The plan's DAG, as stored in `execution_plans.task_graph`. */
  taskGraph: unknown;
  subtasks: {
    id: string;
    stepKey: string;
    agentType: AgentType;
    sequenceOrder: number;
    dependsOn: string[];
    input: unknown;
  }[];
}

/**
 * Step 2: the task (ACTIVE), its user query, execution plan (EXECUTING), subtasks (QUEUED) and its first
 * history events, all at once. A request id that already has a task changes nothing; returns whether
 * this call created it.
 */
export async function openTask(db: Db, t: OpenTask): Promise<{ created: boolean }> {
  const subtasks = JSON.stringify(
    t.subtasks.map((s) => ({
      id: s.id,
      step_key: s.stepKey,
      agent_type: s.agentType,
      sequence_order: s.sequenceOrder,
      depends_on: s.dependsOn,
      input: s.input,
    })),
  );
  const rows = await db.$queryRaw<{ created: bigint }[]>`
    WITH t AS (
      INSERT INTO tasks (id, request_id, workflow_id, user_id, status, priority, created_at, updated_at, started_at)
      VALUES (${t.taskId}::uuid, ${t.requestId}, ${t.workflowId},
              (SELECT id FROM users WHERE id = ${t.userId}::uuid),
              'ACTIVE', ${t.priority}::"TaskPriority", now(), now(), now())
      ON CONFLICT DO NOTHING -- the request id (or the task id derived from it) exists: created before
      RETURNING id
    ), q AS (
      INSERT INTO user_queries (id, task_id, query_text, query_type, user_constraints, created_at)
      SELECT gen_random_uuid(), t.id, ${t.query.text}, ${t.query.type}::"AgentType",
             ${JSON.stringify(t.query.constraints ?? null)}::jsonb, now()
      FROM t
      RETURNING id, task_id
    ), h AS (
      INSERT INTO task_history (task_id, event_key, event_type, from_status, to_status, details, occurred_at)
      SELECT t.id, e.key, e.type, e.from_status, e.to_status, '{}'::jsonb, now()
      FROM t, (VALUES ('created', 'TASK_CREATED', NULL, 'PENDING'),
                      ('status:ACTIVE', 'STATUS_CHANGED', 'PENDING', 'ACTIVE')) AS e(key, type, from_status, to_status)
      ON CONFLICT (task_id, event_key) DO NOTHING
    ), p AS (
      INSERT INTO execution_plans (id, task_id, query_id, task_graph, status, created_at, started_at)
      SELECT ${t.planId}::uuid, q.task_id, q.id, ${JSON.stringify(t.taskGraph)}::jsonb, 'EXECUTING', now(), now()
      FROM q
      ON CONFLICT (id) DO NOTHING
      RETURNING id
    ), s AS (
      INSERT INTO agent_subtasks (id, plan_id, step_key, agent_type, sequence_order, depends_on, input, created_at)
      SELECT x.id, p.id, x.step_key, x.agent_type::"AgentType", x.sequence_order, x.depends_on, x.input, now()
      FROM p, jsonb_to_recordset(${subtasks}::jsonb)
           AS x(id uuid, step_key text, agent_type text, sequence_order int, depends_on text[], input jsonb)
      ON CONFLICT DO NOTHING
    )
    SELECT count(*) AS created FROM t`;
  return { created: Number(rows[0]!.created) === 1 };
}

/**
 * Step 3's record: the subtask RUNNING (if it was still queued) and a COMMAND_SENT event, once.
 */
export async function markCommandSent(
  db: Db,
  e: { taskId: string; subtaskId: string; stepKey: string; details: unknown; attempt?: number },
): Promise<void> {
  await db.$queryRaw`
    WITH s AS (
      UPDATE agent_subtasks SET status = 'RUNNING', started_at = coalesce(started_at, now())
      WHERE id = ${e.subtaskId}::uuid AND status = 'QUEUED'
    )
    INSERT INTO task_history (task_id, subtask_id, event_key, event_type, details, occurred_at)
    VALUES (${e.taskId}::uuid, ${e.subtaskId}::uuid, ${runScoped(`command-sent:${e.stepKey}`, e.attempt)}, 'COMMAND_SENT',
            ${JSON.stringify(e.details)}::jsonb, now())
    ON CONFLICT (task_id, event_key) DO NOTHING`;
}

/**
 * The details step 3 recorded when it sent this step's command (its COMMAND_SENT event), or null when it
 * has not sent it yet. A dispatch run again (its worker killed after sending, the run replayed) finds the
 * command already sent and sends nothing twice.
 */
export async function sentCommand(
  db: Db,
  e: { taskId: string; stepKey: string; attempt?: number },
): Promise<{ transport?: 'KAFKA' | 'TEMPORAL'; taskQueue?: string | null } | null> {
  const rows = await db.$queryRaw<
    { details: { transport?: 'KAFKA' | 'TEMPORAL'; taskQueue?: string | null } }[]
  >`
    SELECT details FROM task_history
    WHERE task_id = ${e.taskId}::uuid AND event_key = ${runScoped(`command-sent:${e.stepKey}`, e.attempt)}`;
  return rows[0]?.details ?? null;
}

/** Part of step 7: one step's answer on its subtask (linked to the agent if registered) and in the history. */
export async function recordStepAnswer(
  db: Db,
  a: {
    taskId: string;
    subtaskId: string;
    stepKey: string;
    status: Extract<SubtaskStatus, 'SUCCESS' | 'FAILED'>;
    agentId: string;
    output: unknown;
    error: string | null;
    durationMs: number | null;
    details: unknown;
    attempt?: number;
  },
): Promise<void> {
  await db.$queryRaw`
    WITH s AS (
      UPDATE agent_subtasks
      SET status = ${a.status}::"SubtaskStatus", output = ${JSON.stringify(a.output ?? null)}::jsonb,
          error_message = ${a.error}, duration_ms = ${a.durationMs}::int, completed_at = now(),
          agent_id = (SELECT id FROM agents WHERE id = ${a.agentId})
      WHERE id = ${a.subtaskId}::uuid
    )
    INSERT INTO task_history (task_id, subtask_id, event_key, event_type, details, occurred_at)
    VALUES (${a.taskId}::uuid, ${a.subtaskId}::uuid, ${runScoped(`response:${a.stepKey}`, a.attempt)}, 'RESPONSE_RECEIVED',
            ${JSON.stringify(a.details)}::jsonb, now())
    ON CONFLICT (task_id, event_key) DO NOTHING`;
}

/** Part of step 7: a step's answer as recordStepAnswer keeps it (the subtask's result, RESPONSE_RECEIVED). */
export async function recordStepResponse(
  db: Db,
  r: { taskId: string; stepKey: string; response: AgentResponse; attempt?: number },
): Promise<void> {
  const { taskId, stepKey, response, attempt } = r;
  await recordStepAnswer(db, {
    taskId,
    subtaskId: subtaskIdFor(taskId, stepKey),
    stepKey,
    status: response.status === 'SUCCESS' ? 'SUCCESS' : 'FAILED',
    agentId: response.agentId,
    output: response.result,
    error: response.error ?? null,
    durationMs: response.durationMs ?? null,
    details: { agentId: response.agentId, status: response.status, commandId: response.commandId },
    ...(attempt ? { attempt } : {}),
  });
}

/**
 * The answer recordStepResponse kept for this command, or null: what a dispatch run again returns when the
 * run before it had taken the answer (src/worker/inline-answers.ts).
 */
export async function recordedStepResponse(
  db: Db,
  r: {
    workflowId: string;
    command: Pick<AgentCommand, 'commandId' | 'taskId' | 'stepKey'>;
    attempt?: number;
  },
): Promise<AgentResponse | null> {
  const { command } = r;
  const rows = await db.$queryRaw<
    {
      details: { agentId?: string; status?: string; commandId?: string };
      output: Record<string, unknown> | null;
      error_message: string | null;
      duration_ms: number | null;
    }[]
  >`
    SELECT h.details, s.output, s.error_message, s.duration_ms
    FROM task_history h JOIN agent_subtasks s ON s.id = h.subtask_id
    WHERE h.task_id = ${command.taskId}::uuid
      AND h.event_key = ${runScoped(`response:${command.stepKey}`, r.attempt)}`;
  const row = rows[0];
  if (!row || row.details.commandId !== command.commandId || !row.details.agentId) return null;
  return {
    commandId: command.commandId,
    workflowId: r.workflowId,
    stepKey: command.stepKey,
    agentId: row.details.agentId,
    status: row.details.status === 'SUCCESS' ? 'SUCCESS' : 'FAILED',
    result: row.output ?? {},
    ...(row.error_message !== null ? { error: row.error_message } : {}),
    ...(row.duration_ms !== null ? { durationMs: row.duration_ms } : {}),
  };
}

/**
 * Step 7: the task's end — its status, result or error and duration, the plan's status, the steps that
 * never ran SKIPPED (CANCELLED for a cancelled task), a STATUS_CHANGED event. Repeating the same end is a
 * no-op; ending a task that already ended otherwise throws InvalidTransitionError and changes nothing.
 */
export async function closeTask(
  db: Db,
  c: {
    taskId: string;
    planId: string;
    status: Extract<TaskStatus, 'COMPLETED' | 'FAILED' | 'CANCELLED'>;
    result: unknown;
    error: string | null;
    attempt?: number;
  },
): Promise<{ changed: boolean }> {
  const open = statusesBefore(c.status);
  const leftOver: SubtaskStatus = c.status === 'CANCELLED' ? 'CANCELLED' : 'SKIPPED';
  const details = JSON.stringify(c.error ? { reason: c.error } : {});
  const rows = await db.$queryRaw<{ current: TaskStatus | null; changed: bigint }[]>`
    WITH cur AS (
      SELECT id, status FROM tasks WHERE id = ${c.taskId}::uuid
    ), t AS (
      UPDATE tasks
      SET status = ${c.status}::"TaskStatus", completed_at = now(), updated_at = now(),
          total_duration_ms = greatest(0, (extract(epoch FROM now() - created_at) * 1000)::int),
          result = ${JSON.stringify(c.result ?? null)}::jsonb,
          error_message = coalesce(${c.error}, error_message)
      WHERE id = ${c.taskId}::uuid AND status::text = ANY(${open}::text[])
      RETURNING id
    ), h AS (
      INSERT INTO task_history (task_id, event_key, event_type, from_status, to_status, details, occurred_at)
      SELECT t.id, ${runScoped(`status:${c.status}`, c.attempt)}, 'STATUS_CHANGED', cur.status::text, ${c.status}, ${details}::jsonb, now()
      FROM t, cur
      ON CONFLICT (task_id, event_key) DO NOTHING
    ), s AS (
      UPDATE agent_subtasks SET status = ${leftOver}::"SubtaskStatus", completed_at = now()
      WHERE plan_id = ${c.planId}::uuid AND status IN ('QUEUED', 'RUNNING') AND EXISTS (SELECT 1 FROM t)
    ), p AS (
      UPDATE execution_plans SET status = ${c.status}::"PlanStatus", completed_at = now()
      WHERE id = ${c.planId}::uuid AND EXISTS (SELECT 1 FROM t)
    )
    SELECT (SELECT status FROM cur) AS current, (SELECT count(*) FROM t) AS changed`;
  const { current, changed } = rows[0]!;
  if (current === null) throw new Error(`task ${c.taskId} does not exist`);
  if (Number(changed) === 1) return { changed: true };
  if (current === c.status) return { changed: false };
  throw new InvalidTransitionError(c.taskId, current, c.status);
}

/**
 * Who gets a step's command: an agent of the type that is up and heard from within `freshMs` (the most
 * recent first); otherwise a registered one that is down (it gets the command on Kafka and answers when
 * back, or the step times out saying why); never a DISABLED one. Null when none is registered.
 *
 * `typedTopic` says whether a Kafka agent's command may go on its type's own topic (`typedTopic`, e.g.
 * `agent.orchestration.commands.monitoring`) instead of the shared one: only when every Kafka agent of the
 * type that is up registered as reading it (`config.commandsTopic`), or, when none is up, every registered
 * one did — an agent that reads only the shared topic (another language's, or a runtime from before the
 * typed topics) shares its consumer group with the others, and must not miss its type's commands.
 */
export async function chooseAgent(
  db: Db,
  type: AgentType,
  freshMs: number,
  typedTopic: string,
): Promise<{
  id: string;
  transport: 'KAFKA' | 'TEMPORAL';
  taskQueue: string | null;
  typedTopic: boolean;
} | null> {
  const rows = await db.$queryRaw<
    { id: string; transport: 'KAFKA' | 'TEMPORAL'; task_queue: string | null; typed: boolean | null }[]
  >`
    WITH a AS (
      SELECT id, transport, task_queue, last_heartbeat_at,
             coalesce(config->>'commandsTopic' = ${typedTopic}, false) AS reads_typed,
             (status IN ('ONLINE', 'DEGRADED')
              AND last_heartbeat_at >= now() - make_interval(secs => ${freshMs / 1000}::float8)) AS fresh
      FROM agents
      WHERE type = ${type}::"AgentType" AND status <> 'DISABLED'
    )
    SELECT id, transport::text AS transport, task_queue,
           coalesce(bool_and(reads_typed) FILTER (WHERE transport = 'KAFKA' AND fresh) OVER (),
                    bool_and(reads_typed) FILTER (WHERE transport = 'KAFKA') OVER ()) AS typed
    FROM a
    ORDER BY fresh DESC, last_heartbeat_at DESC NULLS LAST
    LIMIT 1`;
  const row = rows[0];
  return row
    ? { id: row.id, transport: row.transport, taskQueue: row.task_queue, typedTopic: row.typed === true }
    : null;
}

/**
 * A retry's start (a new run of a task whose last run ended without completing it: FAILED, CANCELLED, or a
 * run terminated before it could record its end — Temporal keeps one open run per workflow id, so no other
 * run is working on it): the task ACTIVE again, the steps that run again
 * QUEUED (their earlier answers stay in the history), the plan EXECUTING, and a RETRY_STARTED event keyed by
 * the run's number, all at once. Once that event exists the call changes nothing (an activity retried).
 * `reopened` is false when the task is in no state to be retried (and nothing was changed): `current` says why.
 */
export async function reopenTask(
  db: Db,
  r: { taskId: string; planId: string; attempt: number; rerun: string[]; details: unknown },
): Promise<{ reopened: boolean; current: TaskStatus | null }> {
  const key = `retry:${r.attempt}`;
  // The RETRY_STARTED event is the gate, and written first: two calls at once (an activity's attempt
  // racing its retry) both find no event in their snapshot, but the unique (task_id, event_key) makes the
  // second insert wait for the first and then do nothing — only the inserting call changes the task. (A
  // gate read from the snapshot let both through: the step counted two retries.)
  const rows = await db.$queryRaw<{ current: TaskStatus | null; inserted: bigint }[]>`
    WITH cur AS (
      SELECT id, status FROM tasks WHERE id = ${r.taskId}::uuid
    ), h AS (
      INSERT INTO task_history (task_id, event_key, event_type, from_status, to_status, details, occurred_at)
      SELECT cur.id, ${key}, 'RETRY_STARTED', cur.status::text, 'ACTIVE', ${JSON.stringify(r.details)}::jsonb, now()
      FROM cur WHERE cur.status <> 'COMPLETED'
      ON CONFLICT (task_id, event_key) DO NOTHING
      RETURNING task_id
    ), t AS (
      UPDATE tasks
      SET status = 'ACTIVE', completed_at = NULL, updated_at = now(), total_duration_ms = NULL,
          result = NULL, error_message = NULL
      WHERE id = ${r.taskId}::uuid AND EXISTS (SELECT 1 FROM h)
      RETURNING id
    ), s AS (
      UPDATE agent_subtasks
      SET status = 'QUEUED', output = NULL, error_message = NULL, duration_ms = NULL, started_at = NULL,
          completed_at = NULL, retry_count = retry_count + 1
      WHERE plan_id = ${r.planId}::uuid AND step_key = ANY(${r.rerun}::text[]) AND EXISTS (SELECT 1 FROM t)
    ), p AS (
      UPDATE execution_plans SET status = 'EXECUTING', completed_at = NULL
      WHERE id = ${r.planId}::uuid AND EXISTS (SELECT 1 FROM t)
    )
    SELECT (SELECT status FROM cur) AS current, (SELECT count(*) FROM h) AS inserted`;
  const { current, inserted } = rows[0]!;
  if (Number(inserted) === 1) return { reopened: true, current };
  // Not inserted: the task is COMPLETED, or this run's retry was started already (by an earlier attempt,
  // or by the call this one waited for) — a statement of its own sees that call's committed event.
  const done = await db.$queryRaw<{ one: number }[]>`
    SELECT 1 AS one FROM task_history WHERE task_id = ${r.taskId}::uuid AND event_key = ${key}`;
  return { reopened: done.length === 1, current };
}

/**
 * An approval's event in the history (APPROVAL_REQUESTED, APPROVAL_DECIDED), once per key; a rejection also
 * ends its subtask (FAILED or SKIPPED, with the reason).
 */
export async function recordApprovalEvent(
  db: Db,
  e: {
    taskId: string;
    subtaskId: string;
    eventKey: string;
    eventType: 'APPROVAL_REQUESTED' | 'APPROVAL_DECIDED';
    details: unknown;
    subtask?: { status: Extract<SubtaskStatus, 'FAILED' | 'SKIPPED'>; error: string };
  },
): Promise<void> {
  const status = e.subtask?.status ?? null;
  await db.$queryRaw`
    WITH s AS (
      UPDATE agent_subtasks
      SET status = ${status}::"SubtaskStatus", error_message = ${e.subtask?.error ?? null}, completed_at = now()
      WHERE id = ${e.subtaskId}::uuid AND ${status}::text IS NOT NULL AND status IN ('QUEUED', 'RUNNING')
    )
    INSERT INTO task_history (task_id, subtask_id, event_key, event_type, details, occurred_at)
    VALUES (${e.taskId}::uuid, ${e.subtaskId}::uuid, ${e.eventKey}, ${e.eventType},
            ${JSON.stringify(e.details)}::jsonb, now())
    ON CONFLICT (task_id, event_key) DO NOTHING`;
}

/** The task's steps as PostgreSQL recorded them, in plan order (what a retry reuses). */
export async function recordedSteps(
  db: Db,
  planId: string,
): Promise<
  {
    step_key: string;
    status: SubtaskStatus;
    agent_id: string | null;
    output: unknown;
    duration_ms: number | null;
    error_message: string | null;
    /** The details of the step's last RESPONSE_RECEIVED event: `{ agentId, status, commandId }`. */
    response: { agentId?: string; commandId?: string } | null;
  }[]
> {
  return db.$queryRaw`
    SELECT s.step_key, s.status::text AS status, s.agent_id, s.output, s.duration_ms, s.error_message,
           (SELECT h.details FROM task_history h
            WHERE h.subtask_id = s.id AND h.event_type = 'RESPONSE_RECEIVED'
            ORDER BY h.id DESC LIMIT 1) AS response
    FROM agent_subtasks s WHERE s.plan_id = ${planId}::uuid ORDER BY s.sequence_order`;
}
