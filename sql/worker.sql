--
-- The migration queue, from a session: submit_migrations checks the
-- source as apply_migrations does before queueing anything, refuses what
-- the worker could not resume, and refuses to queue a job no worker would
-- run (this database is not in dbops.databases).  The worker itself is
-- tested in test/t/08*.pl.
--
\set SHOW_CONTEXT never

-- the final argument list, named and defaulted
SELECT pg_get_function_arguments('dbops.submit_migrations(jsonb,text,text,boolean,text,interval,integer)'::regprocedure);

-- arguments
SELECT dbops.submit_migrations(NULL::jsonb);
SELECT dbops.submit_migrations('[]'::jsonb, commit => 'transaction');
SELECT dbops.submit_migrations('[]'::jsonb, on_drift => 'sometimes');
SELECT dbops.submit_migrations('[]'::jsonb, lock_retries => -1);

-- what the worker could not resume is refused at submit
SELECT dbops.submit_migrations('[{"version": "1", "up": "-- dbops:no-transaction\nCREATE INDEX CONCURRENTLY ON t (id);"}]'::jsonb);
SELECT dbops.submit_migrations('[{"version": "1", "up": "-- dbops:no-transaction\nBEGIN;\nCREATE INDEX CONCURRENTLY i ON t (id);\nCOMMIT;"}]'::jsonb);
SELECT dbops.submit_migrations('[{"version": "1", "up": "-- dbops:no-transaction\nCREATE DATABASE other;"}]'::jsonb);
SELECT dbops.submit_migrations('[{"version": "1", "up": "-- dbops:no-transaction\nALTER SYSTEM SET work_mem = 1;"}]'::jsonb);
-- and what apply would refuse: a statement that does not parse
SELECT dbops.submit_migrations('[{"version": "1", "up": "CREATE TABLEX t ();"}]'::jsonb);

-- a valid source, but no worker serves this database
SELECT dbops.submit_migrations('[{"version": "1", "up": "-- dbops:no-transaction\nCREATE INDEX CONCURRENTLY i ON t (id);\nVACUUM t;"}]'::jsonb);
SELECT count(*) FROM dbops.migration_jobs;

-- apply_migrations points no-transaction migrations to the queue
SELECT * FROM dbops.apply_migrations('[{"version": "1", "up": "-- dbops:no-transaction\nVACUUM;"}]'::jsonb);

-- archive_status: one row, even without archiving
SELECT failing, ready_count, ready_bytes, lag_bytes, last_pushed_wal, recovery_window_start
FROM dbops.archive_status();
