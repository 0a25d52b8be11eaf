-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "public";

-- CreateEnum
CREATE TYPE "AgentType" AS ENUM ('MONITORING', 'PREDICTION', 'CONTROL', 'ANALYSIS');

-- CreateEnum
CREATE TYPE "AgentTransport" AS ENUM ('TEMPORAL', 'KAFKA');

-- CreateEnum
CREATE TYPE "AgentStatus" AS ENUM ('ONLINE', 'OFFLINE', 'DEGRADED', 'DISABLED');

-- CreateEnum
CREATE TYPE "TaskStatus" AS ENUM ('PENDING', 'ACTIVE', 'COMPLETED', 'FAILED', 'CANCELLED');

-- CreateEnum
CREATE TYPE "TaskPriority" AS ENUM ('HIGH', 'NORMAL', 'LOW');

-- CreateEnum
CREATE TYPE "RiskLevel" AS ENUM ('LOW', 'MEDIUM', 'HIGH');

-- CreateEnum
CREATE TYPE "PlanStatus" AS ENUM ('PENDING', 'EXECUTING', 'COMPLETED', 'FAILED', 'CANCELLED');

-- CreateEnum
CREATE TYPE "SubtaskStatus" AS ENUM ('QUEUED', 'RUNNING', 'SUCCESS', 'FAILED', 'SKIPPED', 'CANCELLED');

-- CreateEnum
CREATE TYPE "ConstraintType" AS ENUM ('RESOURCE', 'TIME', 'SAFETY', 'POLICY');

-- CreateEnum
CREATE TYPE "Severity" AS ENUM ('INFO', 'WARNING', 'ERROR', 'CRITICAL');

-- CreateEnum
CREATE TYPE "FeedbackType" AS ENUM ('MODIFICATION', 'CANCELLATION', 'APPROVAL', 'COMPLAINT');

-- CreateEnum
CREATE TYPE "FeedbackAction" AS ENUM ('APPLIED', 'IGNORED', 'DEFERRED');

-- CreateEnum
CREATE TYPE "DocumentType" AS ENUM ('RESEARCH_PAPER', 'MANUAL', 'GUIDELINE', 'FAQ', 'PROCESS');

-- CreateEnum
CREATE TYPE "AlertChannel" AS ENUM ('REDIS_QUEUE', 'KAFKA', 'WEBHOOK', 'EMAIL');

-- CreateTable
CREATE TABLE "users" (
    "id" UUID NOT NULL,
    "username" VARCHAR(100) NOT NULL,
    "email" VARCHAR(255),
    "display_name" VARCHAR(200),
    "password_hash" TEXT,
    "is_active" BOOLEAN NOT NULL DEFAULT true,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "users_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "roles" (
    "id" UUID NOT NULL,
    "name" VARCHAR(100) NOT NULL,
    "description" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "roles_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "permissions" (
    "id" UUID NOT NULL,
    "action" VARCHAR(100) NOT NULL,
    "description" TEXT,

    CONSTRAINT "permissions_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "role_permissions" (
    "role_id" UUID NOT NULL,
    "permission_id" UUID NOT NULL,

    CONSTRAINT "role_permissions_pkey" PRIMARY KEY ("role_id","permission_id")
);

-- CreateTable
CREATE TABLE "user_roles" (
    "user_id" UUID NOT NULL,
    "role_id" UUID NOT NULL,
    "granted_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "user_roles_pkey" PRIMARY KEY ("user_id","role_id")
);

-- CreateTable
CREATE TABLE "api_keys" (
    "id" UUID NOT NULL,
    "user_id" UUID NOT NULL,
    "name" VARCHAR(100) NOT NULL,
    "prefix" VARCHAR(16) NOT NULL,
    "key_hash" CHAR(64) NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_used_at" TIMESTAMPTZ(3),
    "expires_at" TIMESTAMPTZ(3),
    "revoked_at" TIMESTAMPTZ(3),

    CONSTRAINT "api_keys_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "agents" (
    "id" VARCHAR(100) NOT NULL,
    "name" VARCHAR(200) NOT NULL,
    "type" "AgentType" NOT NULL,
    "description" TEXT,
    "capabilities" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "transport" "AgentTransport" NOT NULL,
    "task_queue" VARCHAR(200),
    "config" JSONB NOT NULL DEFAULT '{}',
    "status" "AgentStatus" NOT NULL DEFAULT 'OFFLINE',
    "version" VARCHAR(50),
    "last_heartbeat_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "agents_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "workflow_definitions" (
    "id" UUID NOT NULL,
    "name" VARCHAR(200) NOT NULL,
    "version" INTEGER NOT NULL,
    "description" TEXT,
    "graph" JSONB NOT NULL,
    "is_active" BOOLEAN NOT NULL DEFAULT true,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "workflow_definitions_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "tasks" (
    "id" UUID NOT NULL,
    "request_id" VARCHAR(200) NOT NULL,
    "user_id" UUID,
    "definition_id" UUID,
    "workflow_id" VARCHAR(255) NOT NULL,
    "status" "TaskStatus" NOT NULL DEFAULT 'PENDING',
    "priority" "TaskPriority" NOT NULL DEFAULT 'NORMAL',
    "result" JSONB,
    "error_message" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,
    "started_at" TIMESTAMPTZ(3),
    "completed_at" TIMESTAMPTZ(3),
    "total_duration_ms" INTEGER,

    CONSTRAINT "tasks_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "user_queries" (
    "id" UUID NOT NULL,
    "task_id" UUID NOT NULL,
    "query_text" TEXT NOT NULL,
    "query_type" "AgentType" NOT NULL,
    "parsed_intent" JSONB,
    "user_constraints" JSONB,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "response_time_ms" INTEGER,

    CONSTRAINT "user_queries_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "execution_plans" (
    "id" UUID NOT NULL,
    "task_id" UUID NOT NULL,
    "query_id" UUID,
    "task_graph" JSONB NOT NULL,
    "risk_assessment" "RiskLevel" NOT NULL DEFAULT 'LOW',
    "constraint_check" JSONB,
    "status" "PlanStatus" NOT NULL DEFAULT 'PENDING',
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "started_at" TIMESTAMPTZ(3),
    "completed_at" TIMESTAMPTZ(3),

    CONSTRAINT "execution_plans_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "agent_subtasks" (
    "id" UUID NOT NULL,
    "plan_id" UUID NOT NULL,
    "step_key" VARCHAR(100) NOT NULL,
    "agent_id" VARCHAR(100),
    "agent_type" "AgentType" NOT NULL,
    "sequence_order" INTEGER NOT NULL,
    "depends_on" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "input" JSONB,
    "output" JSONB,
    "status" "SubtaskStatus" NOT NULL DEFAULT 'QUEUED',
    "error_message" TEXT,
    "duration_ms" INTEGER,
    "retry_count" INTEGER NOT NULL DEFAULT 0,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "started_at" TIMESTAMPTZ(3),
    "completed_at" TIMESTAMPTZ(3),

    CONSTRAINT "agent_subtasks_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "task_history" (
    "id" BIGSERIAL NOT NULL,
    "task_id" UUID NOT NULL,
    "subtask_id" UUID,
    "event_key" VARCHAR(200) NOT NULL,
    "event_type" VARCHAR(100) NOT NULL,
    "from_status" VARCHAR(20),
    "to_status" VARCHAR(20),
    "details" JSONB NOT NULL DEFAULT '{}',
    "occurred_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "task_history_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "constraints" (
    "id" UUID NOT NULL,
    "name" VARCHAR(200) NOT NULL,
    "description" TEXT,
    "constraint_type" "ConstraintType" NOT NULL,
    "agent_type" "AgentType",
    "rule" JSONB NOT NULL,
    "severity" "Severity" NOT NULL DEFAULT 'WARNING',
    "is_blocking" BOOLEAN NOT NULL DEFAULT false,
    "is_active" BOOLEAN NOT NULL DEFAULT true,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "constraints_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "constraint_violations" (
    "id" UUID NOT NULL,
    "constraint_id" UUID,
    "task_id" UUID,
    "plan_id" UUID,
    "subtask_id" UUID,
    "constraint_type" "ConstraintType" NOT NULL,
    "name" VARCHAR(200) NOT NULL,
    "expected_value" TEXT,
    "actual_value" TEXT,
    "severity" "Severity" NOT NULL,
    "is_blocking" BOOLEAN NOT NULL DEFAULT false,
    "resolution" TEXT,
    "detected_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "resolved_at" TIMESTAMPTZ(3),

    CONSTRAINT "constraint_violations_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "user_feedback" (
    "id" UUID NOT NULL,
    "task_id" UUID NOT NULL,
    "plan_id" UUID,
    "user_id" UUID,
    "feedback_type" "FeedbackType" NOT NULL,
    "content" TEXT NOT NULL,
    "action_taken" "FeedbackAction",
    "system_response" TEXT,
    "impact_scope" VARCHAR(100),
    "satisfaction" SMALLINT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "user_feedback_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "knowledge_documents" (
    "id" UUID NOT NULL,
    "title" VARCHAR(500) NOT NULL,
    "document_type" "DocumentType" NOT NULL,
    "collection" VARCHAR(100) NOT NULL,
    "weaviate_id" UUID NOT NULL,
    "summary" TEXT,
    "source" VARCHAR(500),
    "metadata" JSONB NOT NULL DEFAULT '{}',
    "version" INTEGER NOT NULL DEFAULT 1,
    "embedder" VARCHAR(200),
    "access_count" INTEGER NOT NULL DEFAULT 0,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "knowledge_documents_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "alert_configs" (
    "id" UUID NOT NULL,
    "name" VARCHAR(200) NOT NULL,
    "description" TEXT,
    "condition_rule" JSONB NOT NULL,
    "channel" "AlertChannel" NOT NULL DEFAULT 'REDIS_QUEUE',
    "recipients" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "severity" "Severity" NOT NULL DEFAULT 'WARNING',
    "is_enabled" BOOLEAN NOT NULL DEFAULT true,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "alert_configs_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "users_username_key" ON "users"("username");

-- CreateIndex
CREATE UNIQUE INDEX "users_email_key" ON "users"("email");

-- CreateIndex
CREATE UNIQUE INDEX "roles_name_key" ON "roles"("name");

-- CreateIndex
CREATE UNIQUE INDEX "permissions_action_key" ON "permissions"("action");

-- CreateIndex
CREATE INDEX "role_permissions_permission_id_idx" ON "role_permissions"("permission_id");

-- CreateIndex
CREATE INDEX "user_roles_role_id_idx" ON "user_roles"("role_id");

-- CreateIndex
CREATE UNIQUE INDEX "api_keys_prefix_key" ON "api_keys"("prefix");

-- CreateIndex
CREATE UNIQUE INDEX "api_keys_key_hash_key" ON "api_keys"("key_hash");

-- CreateIndex
CREATE INDEX "api_keys_user_id_idx" ON "api_keys"("user_id");

-- CreateIndex
CREATE INDEX "agents_type_status_idx" ON "agents"("type", "status");

-- CreateIndex
CREATE UNIQUE INDEX "workflow_definitions_name_version_key" ON "workflow_definitions"("name", "version");

-- CreateIndex
CREATE UNIQUE INDEX "tasks_request_id_key" ON "tasks"("request_id");

-- CreateIndex
CREATE UNIQUE INDEX "tasks_workflow_id_key" ON "tasks"("workflow_id");

-- CreateIndex
CREATE INDEX "tasks_user_id_status_idx" ON "tasks"("user_id", "status");

-- CreateIndex
CREATE INDEX "tasks_priority_status_created_at_idx" ON "tasks"("priority", "status", "created_at");

-- CreateIndex
CREATE INDEX "tasks_status_created_at_idx" ON "tasks"("status", "created_at");

-- CreateIndex
CREATE INDEX "user_queries_task_id_idx" ON "user_queries"("task_id");

-- CreateIndex
CREATE INDEX "execution_plans_task_id_idx" ON "execution_plans"("task_id");

-- CreateIndex
CREATE INDEX "execution_plans_status_created_at_idx" ON "execution_plans"("status", "created_at");

-- CreateIndex
CREATE INDEX "agent_subtasks_agent_id_status_idx" ON "agent_subtasks"("agent_id", "status");

-- CreateIndex
CREATE INDEX "agent_subtasks_status_created_at_idx" ON "agent_subtasks"("status", "created_at");

-- CreateIndex
CREATE UNIQUE INDEX "agent_subtasks_plan_id_step_key_key" ON "agent_subtasks"("plan_id", "step_key");

-- CreateIndex
CREATE UNIQUE INDEX "agent_subtasks_plan_id_sequence_order_key" ON "agent_subtasks"("plan_id", "sequence_order");

-- CreateIndex
CREATE INDEX "task_history_task_id_occurred_at_idx" ON "task_history"("task_id", "occurred_at");

-- CreateIndex
CREATE INDEX "task_history_event_type_occurred_at_idx" ON "task_history"("event_type", "occurred_at");

-- CreateIndex
CREATE UNIQUE INDEX "task_history_task_id_event_key_key" ON "task_history"("task_id", "event_key");

-- CreateIndex
CREATE UNIQUE INDEX "constraints_name_key" ON "constraints"("name");

-- CreateIndex
CREATE INDEX "constraints_constraint_type_is_active_idx" ON "constraints"("constraint_type", "is_active");

-- CreateIndex
CREATE INDEX "constraint_violations_task_id_idx" ON "constraint_violations"("task_id");

-- CreateIndex
CREATE INDEX "constraint_violations_severity_detected_at_idx" ON "constraint_violations"("severity", "detected_at");

-- CreateIndex
CREATE INDEX "user_feedback_task_id_idx" ON "user_feedback"("task_id");

-- CreateIndex
CREATE INDEX "user_feedback_feedback_type_created_at_idx" ON "user_feedback"("feedback_type", "created_at");

-- CreateIndex
CREATE UNIQUE INDEX "knowledge_documents_weaviate_id_key" ON "knowledge_documents"("weaviate_id");

-- CreateIndex
CREATE INDEX "knowledge_documents_document_type_created_at_idx" ON "knowledge_documents"("document_type", "created_at");

-- CreateIndex
CREATE UNIQUE INDEX "alert_configs_name_key" ON "alert_configs"("name");

-- CreateIndex
CREATE INDEX "alert_configs_is_enabled_severity_idx" ON "alert_configs"("is_enabled", "severity");

-- AddForeignKey
ALTER TABLE "role_permissions" ADD CONSTRAINT "role_permissions_role_id_fkey" FOREIGN KEY ("role_id") REFERENCES "roles"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "role_permissions" ADD CONSTRAINT "role_permissions_permission_id_fkey" FOREIGN KEY ("permission_id") REFERENCES "permissions"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "user_roles" ADD CONSTRAINT "user_roles_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "user_roles" ADD CONSTRAINT "user_roles_role_id_fkey" FOREIGN KEY ("role_id") REFERENCES "roles"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "api_keys" ADD CONSTRAINT "api_keys_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "tasks" ADD CONSTRAINT "tasks_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "tasks" ADD CONSTRAINT "tasks_definition_id_fkey" FOREIGN KEY ("definition_id") REFERENCES "workflow_definitions"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "user_queries" ADD CONSTRAINT "user_queries_task_id_fkey" FOREIGN KEY ("task_id") REFERENCES "tasks"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "execution_plans" ADD CONSTRAINT "execution_plans_task_id_fkey" FOREIGN KEY ("task_id") REFERENCES "tasks"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "execution_plans" ADD CONSTRAINT "execution_plans_query_id_fkey" FOREIGN KEY ("query_id") REFERENCES "user_queries"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "agent_subtasks" ADD CONSTRAINT "agent_subtasks_plan_id_fkey" FOREIGN KEY ("plan_id") REFERENCES "execution_plans"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "agent_subtasks" ADD CONSTRAINT "agent_subtasks_agent_id_fkey" FOREIGN KEY ("agent_id") REFERENCES "agents"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "task_history" ADD CONSTRAINT "task_history_task_id_fkey" FOREIGN KEY ("task_id") REFERENCES "tasks"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "constraint_violations" ADD CONSTRAINT "constraint_violations_constraint_id_fkey" FOREIGN KEY ("constraint_id") REFERENCES "constraints"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "constraint_violations" ADD CONSTRAINT "constraint_violations_task_id_fkey" FOREIGN KEY ("task_id") REFERENCES "tasks"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "constraint_violations" ADD CONSTRAINT "constraint_violations_plan_id_fkey" FOREIGN KEY ("plan_id") REFERENCES "execution_plans"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "constraint_violations" ADD CONSTRAINT "constraint_violations_subtask_id_fkey" FOREIGN KEY ("subtask_id") REFERENCES "agent_subtasks"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "user_feedback" ADD CONSTRAINT "user_feedback_task_id_fkey" FOREIGN KEY ("task_id") REFERENCES "tasks"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "user_feedback" ADD CONSTRAINT "user_feedback_plan_id_fkey" FOREIGN KEY ("plan_id") REFERENCES "execution_plans"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "user_feedback" ADD CONSTRAINT "user_feedback_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- Hand-written: rules the Prisma schema cannot express.

-- Satisfaction is a 1-5 rating.
ALTER TABLE "user_feedback" ADD CONSTRAINT "user_feedback_satisfaction_check" CHECK ("satisfaction" BETWEEN 1 AND 5);

-- Durations and counters are never negative.
ALTER TABLE "tasks" ADD CONSTRAINT "tasks_total_duration_ms_check" CHECK ("total_duration_ms" >= 0);
ALTER TABLE "agent_subtasks" ADD CONSTRAINT "agent_subtasks_duration_ms_check" CHECK ("duration_ms" >= 0);
ALTER TABLE "agent_subtasks" ADD CONSTRAINT "agent_subtasks_retry_count_check" CHECK ("retry_count" >= 0);

-- Task history is append-only: an event, once recorded, is never rewritten. (Rows go only with their task.)
CREATE FUNCTION "task_history_append_only"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'task_history is append-only: event % of task % cannot be updated', OLD."event_key", OLD."task_id"
    USING ERRCODE = 'restrict_violation';
END;
$$;
CREATE TRIGGER "task_history_no_update" BEFORE UPDATE ON "task_history"
  FOR EACH ROW EXECUTE FUNCTION "task_history_append_only"();
