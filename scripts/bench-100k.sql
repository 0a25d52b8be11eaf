-- 100 000 tasks as the product writes them (one query, four history rows each) into a database migrated by
-- `prism migrate` (POSTGRES_DB=prism_bench100k npx prism migrate), run as prism_migrator:
--   psql -h 127.0.0.1 -p 15432 -U prism_migrator -d prism_bench100k -f scripts/bench-100k.sql
INSERT INTO tasks (id, request_id, workflow_id, status, result, created_at, updated_at, started_at, completed_at, total_duration_ms)
SELECT gen_random_uuid(), 'bench100k-' || g, 'task-bench100k-' || g, 'COMPLETED',
       jsonb_build_object('main', jsonb_build_object('readings', 60, 'anomalyCount', g % 7)),
       now() - make_interval(secs => g), now(), now() - make_interval(secs => g), now(), 500 + g % 700
  FROM generate_series(1, 100000) AS g;
INSERT INTO user_queries (id, task_id, query_text, query_type, created_at)
SELECT gen_random_uuid(), id, 'check spindle temperature on cnc-' || (abs(hashtext(request_id)) % 40), 'MONITORING', created_at
  FROM tasks WHERE request_id LIKE 'bench100k-%';
INSERT INTO task_history (task_id, event_key, event_type, from_status, to_status, details, occurred_at)
SELECT t.id, e.key, e.type, e.from_s, e.to_s, '{}'::jsonb, t.created_at
  FROM tasks t
 CROSS JOIN (VALUES ('created', 'TASK_CREATED', NULL, 'PENDING'), ('active', 'STATUS_CHANGED', 'PENDING', 'ACTIVE'),
                    ('answer:main', 'RESPONSE_RECEIVED', NULL, NULL), ('completed', 'STATUS_CHANGED', 'ACTIVE', 'COMPLETED'))
       AS e(key, type, from_s, to_s)
 WHERE t.request_id LIKE 'bench100k-%';
