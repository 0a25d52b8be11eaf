-- What each role may do in the product's database (docs/security.md). Run connected to that database as
-- its owner (`prism migrate` runs it as prism_migrator after the migrations, so tables a later migration
-- adds are covered) or as the superuser (stack/postgres/roles.sql ends with it). Idempotent.
\set ON_ERROR_STOP on

-- Nobody but the owner creates anything in the schema.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO prism_app, prism_agent, prism_monitor;

-- The worker and the API: the data, never the schema (no DDL, no TRUNCATE), nor Prisma's bookkeeping. The
-- default privileges give them the tables of later migrations too.
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO prism_app;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO prism_app;
ALTER DEFAULT PRIVILEGES FOR ROLE prism_migrator IN SCHEMA public
  GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO prism_app;
ALTER DEFAULT PRIVILEGES FOR ROLE prism_migrator IN SCHEMA public
  GRANT USAGE, SELECT ON SEQUENCES TO prism_app;
SELECT 'REVOKE ALL ON TABLE public._prisma_migrations FROM prism_app'
 WHERE to_regclass('public._prisma_migrations') IS NOT NULL \gexec

-- Agents (src/agents/): register and heartbeat in `agents`, read the active constraints, record the
-- violations they find, and check that a command's task and step exist (their ids only). Nothing else:
-- not users, API keys, roles, tasks' contents or history.
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM prism_agent;
SELECT format('GRANT %s ON TABLE public.%I TO prism_agent', privileges, name)
  FROM (VALUES ('SELECT, INSERT, UPDATE', 'agents'),
               ('SELECT', 'constraints'),
               ('SELECT, INSERT, UPDATE', 'constraint_violations'),
               ('SELECT (id)', 'tasks'),
               ('SELECT (id)', 'agent_subtasks')) AS granted(privileges, name)
 WHERE to_regclass(format('public.%I', name)) IS NOT NULL \gexec

-- postgres-exporter and Grafana's dashboards: read the tables, but not the credentials in them.
GRANT SELECT ON ALL TABLES IN SCHEMA public TO prism_monitor;
SELECT format('REVOKE ALL ON TABLE public.%I FROM prism_monitor', name)
  FROM unnest(ARRAY['users', 'api_keys', '_prisma_migrations']) AS name
 WHERE to_regclass(format('public.%I', name)) IS NOT NULL \gexec
