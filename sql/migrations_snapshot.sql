--
-- REPEATABLE READ and SERIALIZABLE callers work from one snapshot: when the
-- migration catalog changed after it was taken, apply fails with a
-- serialization failure instead of applying migrations a second time, even
-- if it did not have to wait for the lock.  (Waiting for the lock is
-- covered by the TAP test 020_migrations_concurrency.pl.)  A second session
-- comes from dblink.
--
CREATE EXTENSION dblink;
SELECT format('dbname=%s port=%s host=%s', current_database(),
              current_setting('port'), current_setting('unix_socket_directories')) AS conn \gset
SELECT '[{"version": "1", "up": "CREATE TABLE snap1 (id int);", "down": "DROP TABLE snap1;"}]' AS doc \gset

BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT count(*) FROM dbops.schema_migrations;
SELECT * FROM dblink(:'conn', format('SELECT count(*) FROM dbops.apply_migrations(%L::jsonb)', :'doc'))
  AS other(applied bigint);
SELECT * FROM dbops.apply_migrations(:'doc'::jsonb);
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;

-- A transaction that starts afterwards finds nothing to do.
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT version, action FROM dbops.apply_migrations(:'doc'::jsonb);
COMMIT;

-- READ COMMITTED reads the catalog after taking the lock: no failure.
BEGIN;
SELECT count(*) FROM dbops.schema_migrations;
SELECT * FROM dblink(:'conn', 'SELECT count(*) FROM dbops.rollback_migrations()')
  AS other(rolled_back bigint);
SELECT version, action FROM dbops.apply_migrations(:'doc'::jsonb);
COMMIT;
SELECT version FROM dbops.schema_migrations;

TRUNCATE dbops.schema_migrations, dbops.migration_events;
DROP TABLE snap1;
DROP EXTENSION dblink;
