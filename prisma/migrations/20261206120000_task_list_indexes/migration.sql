-- Listing tasks (GET /tasks, prism task list): newest first by (created_at, id) with keyset pagination,
-- filtered by status, user, priority, agent type and text in the query. Each one-column filter has an index
-- that returns its rows already in that order; text is found through trigrams (ILIKE '%…%').

-- pg_trgm is a trusted extension (PostgreSQL 13+): the database's owner, who runs migrations, may create it.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- DropIndex: (status, created_at, id) below serves every query it served.
DROP INDEX "tasks_status_created_at_idx";

-- CreateIndex
CREATE INDEX "tasks_created_at_id_idx" ON "tasks"("created_at", "id");

-- CreateIndex
CREATE INDEX "tasks_status_created_at_id_idx" ON "tasks"("status", "created_at", "id");

-- CreateIndex
CREATE INDEX "tasks_user_id_created_at_id_idx" ON "tasks"("user_id", "created_at", "id");

-- CreateIndex
CREATE INDEX "tasks_priority_created_at_id_idx" ON "tasks"("priority", "created_at", "id");

-- CreateIndex
CREATE INDEX "user_queries_query_text_trgm_idx" ON "user_queries" USING GIN ("query_text" gin_trgm_ops);

-- CreateIndex
CREATE INDEX "agent_subtasks_agent_type_plan_id_idx" ON "agent_subtasks"("agent_type", "plan_id");
