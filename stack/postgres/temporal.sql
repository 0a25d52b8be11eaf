-- The Temporal server's role and databases (persistence and visibility), apart from the product's. Run as the
-- bootstrap superuser, connected to the `postgres` database, after roles.sql (it names prism_backup and
-- prism_monitor):
--   psql -X -v ON_ERROR_STOP=1 -f stack/postgres/temporal.sql
-- with the role's password in the environment (POSTGRES_TEMPORAL_PASSWORD), never on a command line.
-- Idempotent: natively `prism stack up` runs it when PostgreSQL is ready; under Docker Compose the one-shot
-- `postgres-roles` service runs it on every `up`. The schema inside the databases is temporal-sql-tool's
-- (run as the role `temporal`, the databases' owner), not this script's.
\set ON_ERROR_STOP on
\getenv temporal_password POSTGRES_TEMPORAL_PASSWORD

DO $$
BEGIN
  CREATE ROLE temporal;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
  NULL;
END
$$;

-- Owns its two databases and nothing else: no superuser, no new databases or roles, no replication.
ALTER ROLE temporal WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT
  PASSWORD :'temporal_password';
-- Backups restore Temporal's databases as their owner (src/backup/stores/temporal.ts), as they do the product's.
GRANT temporal TO prism_backup;

SELECT 'CREATE DATABASE temporal OWNER temporal'
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'temporal') \gexec
SELECT 'CREATE DATABASE temporal_visibility OWNER temporal'
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'temporal_visibility') \gexec
-- Databases an earlier Compose stack created as the superuser (temporalio/auto-setup) move to the role.
ALTER DATABASE temporal OWNER TO temporal;
ALTER DATABASE temporal_visibility OWNER TO temporal;
REVOKE ALL ON DATABASE temporal FROM PUBLIC;
REVOKE ALL ON DATABASE temporal_visibility FROM PUBLIC;
GRANT CONNECT ON DATABASE temporal TO temporal, prism_backup, prism_monitor;
GRANT CONNECT ON DATABASE temporal_visibility TO temporal, prism_backup, prism_monitor;

-- Objects in them that the superuser made (the auto-setup image's schema) move to the role, once.
\connect temporal
SELECT format('ALTER TABLE %I.%I OWNER TO temporal', schemaname, tablename)
  FROM pg_tables WHERE schemaname = 'public' AND tableowner <> 'temporal' \gexec
SELECT 'ALTER SCHEMA public OWNER TO temporal'
  FROM pg_namespace WHERE nspname = 'public' AND nspowner <> 'temporal'::regrole \gexec
\connect temporal_visibility
SELECT format('ALTER TABLE %I.%I OWNER TO temporal', schemaname, tablename)
  FROM pg_tables WHERE schemaname = 'public' AND tableowner <> 'temporal' \gexec
SELECT 'ALTER SCHEMA public OWNER TO temporal'
  FROM pg_namespace WHERE nspname = 'public' AND nspowner <> 'temporal'::regrole \gexec
