-- Deleting tasks (retention, tests, `prism bench --list-tasks` removing its 100 000) cascades to their
-- user_queries, and each deleted query sets execution_plans.query_id to NULL (ON DELETE SET NULL): without an
-- index on query_id, PostgreSQL reads every plan once per deleted query.

-- CreateIndex
CREATE INDEX "execution_plans_query_id_idx" ON "execution_plans"("query_id");
