-- CreateEnum
CREATE TYPE "backup_run_kind" AS ENUM ('BACKUP', 'DRILL', 'RESTORE');

-- CreateTable
CREATE TABLE "backup_runs" (
    "id" UUID NOT NULL,
    "kind" "backup_run_kind" NOT NULL,
    "backup_id" VARCHAR(64) NOT NULL,
    "run_key" VARCHAR(255) NOT NULL,
    "ok" BOOLEAN NOT NULL,
    "details" JSONB NOT NULL DEFAULT '{}',
    "problems" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "duration_ms" INTEGER NOT NULL,
    "started_at" TIMESTAMPTZ(3) NOT NULL,
    "finished_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "backup_runs_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "backup_runs_run_key_key" ON "backup_runs"("run_key");

-- CreateIndex
CREATE INDEX "backup_runs_kind_finished_at_idx" ON "backup_runs"("kind", "finished_at");

-- CreateIndex
CREATE INDEX "backup_runs_backup_id_idx" ON "backup_runs"("backup_id");