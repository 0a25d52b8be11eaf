-- PRISM's PostgreSQL roles, one per job (docs/security.md), and the product's database, owned by the
-- migration role. Run as the bootstrap superuser, connected to the `postgres` database:
--   psql -X -v ON_ERROR_STOP=1 -v db=<POSTGRES_DB> -f stack/postgres/roles.sql
-- with the roles' passwords in its environment (POSTGRES_MIGRATOR_PASSWORD, ...), never on a command line.
-- Idempotent: natively the stack runs it when PostgreSQL is ready and `prism migrate` before it migrates;
-- under Docker Compose the one-shot `postgres-roles` service runs it on every `up`. It sets each role's
-- password again, so a rotated secret takes effect by running it.
\set ON_ERROR_STOP on
\getenv migrator_password POSTGRES_MIGRATOR_PASSWORD
\getenv app_password POSTGRES_APP_PASSWORD
\getenv agent_password POSTGRES_AGENT_PASSWORD
\getenv backup_password POSTGRES_BACKUP_PASSWORD
\getenv monitor_password POSTGRES_MONITOR_PASSWORD

-- CREATE ROLE has no IF NOT EXISTS, and two setups may run at once (the tests' and an operator's).
DO $$
DECLARE
  r text;
BEGIN
  FOREACH r IN ARRAY ARRAY['prism_migrator', 'prism_app', 'prism_agent', 'prism_backup', 'prism_monitor'] LOOP
    BEGIN
      EXECUTE format('CREATE ROLE %I', r);
    EXCEPTION WHEN duplicate_object OR unique_violation THEN
      NULL;
    END;
  END LOOP;
END
$$;

-- None is a superuser, none creates roles, none replicates or bypasses row security.
ALTER ROLE prism_migrator WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT
  PASSWORD :'migrator_password';
ALTER ROLE prism_app WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT
  PASSWORD :'app_password';
ALTER ROLE prism_agent WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT
  PASSWORD :'agent_password';
-- Backups: read every table (pg_read_all_data), create the scratch database a restore goes into, end the
-- sessions of the database it swaps in (pg_signal_backend: never a superuser's), and restore as the owner.
ALTER ROLE prism_backup WITH LOGIN NOSUPERUSER CREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT
  PASSWORD :'backup_password';
GRANT pg_read_all_data, pg_signal_backend, prism_migrator TO prism_backup;
-- postgres-exporter and Grafana: the server's statistics.
ALTER ROLE prism_monitor WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT
  PASSWORD :'monitor_password';
GRANT pg_monitor TO prism_monitor;

-- The product's database, owned by the migration role; only the product's roles may connect to it.
SELECT format('CREATE DATABASE %I OWNER prism_migrator', :'db')
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'db') \gexec
ALTER DATABASE :"db" OWNER TO prism_migrator;
REVOKE ALL ON DATABASE :"db" FROM PUBLIC;
GRANT CONNECT ON DATABASE :"db" TO prism_app, prism_agent, prism_backup, prism_monitor;

\connect :"db"
-- Objects an earlier version made as the superuser move to the owner (an upgrade, once). A sequence that
-- belongs to a column, and a table's row type, move with their table.
SELECT format('ALTER %s %s OWNER TO prism_migrator', kind, name)
  FROM (
    SELECT CASE c.relkind
             WHEN 'v' THEN 'VIEW'
             WHEN 'm' THEN 'MATERIALIZED VIEW'
             WHEN 'S' THEN 'SEQUENCE'
             ELSE 'TABLE'
           END AS kind,
           format('%I.%I', n.nspname, c.relname) AS name
      FROM pg_class c
      JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = 'public'
       AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
       AND c.relowner <> 'prism_migrator'::regrole
       AND NOT (c.relkind = 'S' AND EXISTS (
             SELECT FROM pg_depend d
              WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')))
    UNION ALL
    SELECT 'TYPE', format('%I.%I', n.nspname, t.typname)
      FROM pg_type t
      JOIN pg_namespace n ON n.oid = t.typnamespace
     WHERE n.nspname = 'public'
       AND (t.typtype IN ('e', 'd') OR (t.typtype = 'c' AND t.typrelid = 0))
       AND t.typowner <> 'prism_migrator'::regrole
    UNION ALL
    SELECT 'FUNCTION', p.oid::regprocedure::text
      FROM pg_proc p
      JOIN pg_namespace n ON n.oid = p.pronamespace
     WHERE n.nspname = 'public' AND p.prokind = 'f' AND p.proowner <> 'prism_migrator'::regrole
  ) AS objects \gexec
SELECT 'ALTER SCHEMA public OWNER TO pg_database_owner'
  FROM pg_namespace
 WHERE nspname = 'public' AND nspowner NOT IN ('pg_database_owner'::regrole, 'prism_migrator'::regrole) \gexec

\ir grants.sql
