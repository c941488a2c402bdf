--
-- Limits on the statements of a batch: dbops.lock_timeout and
-- dbops.lock_retries (or the arguments lock_timeout and lock_retries),
-- dbops.statement_timeout, and progress reports.  Waiting behind another
-- session's lock needs two sessions: test/t/022_migrations_lock_safe.pl.
--
\set VERBOSITY default
SELECT name, setting, unit, context FROM pg_settings WHERE name LIKE 'dbops.%' ORDER BY name;

-- Out-of-range arguments and settings are refused.
SELECT * FROM dbops.apply_migrations('[]'::jsonb, lock_timeout => '-1 s');
SELECT * FROM dbops.apply_migrations('[]'::jsonb, lock_timeout => '30 days');
SELECT * FROM dbops.apply_migrations('[]'::jsonb, lock_retries => -1);
SELECT * FROM dbops.apply_migrations('[]'::jsonb, lock_retries => 1001);
SET dbops.lock_retries = -1;
SET dbops.lock_timeout = '-1';
SET dbops.hazard_policy = 'sometimes';

-- With a lock timeout and nothing in the way, a batch applies as usual.
-- The timeout holds for every statement, whatever the migration SETs (its
-- own SET still ends with it).
SELECT version, action FROM dbops.apply_migrations('[
	{"version": "1", "up": "CREATE TABLE lim (id int); SET lock_timeout = ''1h''; ALTER TABLE lim ADD COLUMN v text;",
	 "down": "DROP TABLE lim;"},
	{"version": "2", "up": "INSERT INTO lim VALUES (1, current_setting(''lock_timeout''));",
	 "down": "DELETE FROM lim;"}]'::jsonb,
	lock_timeout => '2 s', lock_retries => 3);
SELECT * FROM lim;
SHOW lock_timeout;
SELECT version, action FROM dbops.rollback_migrations(steps => 2);

-- dbops.statement_timeout: the statement that runs too long fails with
-- 57014, its migration and line in the context; the batch is not applied.
SET dbops.statement_timeout = '50ms';
SELECT * FROM dbops.apply_migrations('[
	{"version": "1", "up": "CREATE TABLE lim (id int);"},
	{"version": "2", "up": "SELECT 1;\n\nSELECT pg_sleep(30);"}]'::jsonb);
\echo :LAST_ERROR_SQLSTATE
SELECT to_regclass('lim') AS lim, count(*) AS applied FROM dbops.schema_migrations;
-- A statement that ends in time does not cancel what runs after it.
SELECT version, action FROM dbops.apply_migrations('[
	{"version": "1", "up": "SELECT pg_sleep(0.01);", "down": "SELECT 1;"}]'::jsonb);
SELECT pg_sleep(0.1);
SELECT version, action FROM dbops.rollback_migrations();
RESET dbops.statement_timeout;

-- Progress: a NOTICE as each migration starts, for clients that show it.
SET dbops.report_progress = on;
SELECT version, action FROM dbops.apply_migrations('[
	{"version": "1", "name": "a", "up": "SELECT 1;", "down": "SELECT 1;"},
	{"version": "2", "name": "b", "up": "SELECT 2;", "down": "SELECT 2;"}]'::jsonb);
SELECT version, action FROM dbops.rollback_migrations(steps => 2);
RESET dbops.report_progress;
TRUNCATE dbops.schema_migrations, dbops.migration_events;
