--
-- Migrations from a jsonb document: apply, status, dry run, target,
-- rollback, baseline, repair, and the catalog they keep.
--
CREATE ROLE regress_migrator IN ROLE dbops_admin;
GRANT CREATE ON SCHEMA public TO regress_migrator;
SET ROLE regress_migrator;

-- Three migrations; versions order naturally (2 before 10).
SELECT $$[
  {"version": "10", "name": "add email", "up": "ALTER TABLE users ADD COLUMN email text;", "down": "ALTER TABLE users DROP COLUMN email;"},
  {"version": "1", "name": "users", "up": "CREATE TABLE users (id int PRIMARY KEY);\nINSERT INTO users VALUES (1);", "down": "DROP TABLE users;", "verify": "SELECT 1/count(*) FROM users;"},
  {"version": "2", "name": "orders", "up": "CREATE TABLE orders (id int);", "down": "DROP TABLE orders;"}
]$$ AS doc \gset

-- An untyped literal means a directory: a document needs a cast to jsonb.
SELECT * FROM dbops.migration_status('[{"version": "1", "up": ""}]');
SELECT version, name, state, applied_at IS NULL AS never, checksum
FROM dbops.migration_status(:'doc'::jsonb);

-- A dry run changes nothing.
SELECT version, name, action, duration FROM dbops.apply_migrations(:'doc'::jsonb, dry_run => true);
SELECT count(*) FROM dbops.schema_migrations;

-- Up to a target, then the rest.
SELECT version, name, action, duration IS NOT NULL AS timed
FROM dbops.apply_migrations(:'doc'::jsonb, target_version => '2');
SELECT version, name, action FROM dbops.apply_migrations(:'doc'::jsonb);
SELECT version, name, action FROM dbops.apply_migrations(:'doc'::jsonb);
\d users

SELECT version, name, checksum_algorithm, length(checksum) AS checksum_length,
       applied_by, baseline, down_sql IS NOT NULL AS has_down
FROM dbops.schema_migrations ORDER BY applied_at;

-- The checksum is the SHA-256 of the exact bytes of the up SQL.
SELECT checksum = encode(sha256(convert_to(up_sql, 'UTF8')), 'hex') AS sha256
FROM dbops.schema_migrations WHERE version = '1';

SELECT version, name, state, applied_by FROM dbops.migration_status(:'doc'::jsonb);

-- Roll back one step, then down to version 1 (which stays applied).
SELECT version, name, action FROM dbops.rollback_migrations();
SELECT version, name, action FROM dbops.rollback_migrations(target_version => '1', dry_run => true);
SELECT version, name, action FROM dbops.rollback_migrations(target_version => '1');
SELECT version, state FROM dbops.migration_status(:'doc'::jsonb);
SELECT action, version, name, checksum_before IS NOT NULL AS has_checksum, event_by
FROM dbops.migration_events ORDER BY event_at;
SELECT to_regclass('orders') AS orders, to_regclass('users') AS users;

-- Admins read the catalog but cannot write it.
UPDATE dbops.schema_migrations SET down_sql = 'DROP SCHEMA public CASCADE';
DELETE FROM dbops.migration_events;

-- Everything back down, then baseline marks without running.
SELECT version, action FROM dbops.rollback_migrations(steps => 1);
SELECT version, name, action, duration FROM dbops.baseline(:'doc'::jsonb, '2');
SELECT to_regclass('users') AS users;
SELECT version, state FROM dbops.migration_status(:'doc'::jsonb);
SELECT version, baseline, duration FROM dbops.schema_migrations ORDER BY version;

-- A changed up SQL is "modified" in status and refused by apply until repaired.
SELECT jsonb_set(:'doc'::jsonb, '{1,up}', '"CREATE TABLE users (id bigint PRIMARY KEY);"') AS changed \gset
SELECT version, state FROM dbops.migration_status(:'changed'::jsonb);
SELECT version, action FROM dbops.apply_migrations(:'changed'::jsonb);
SELECT version, name, action FROM dbops.repair_migrations(:'changed'::jsonb);
SELECT version, state FROM dbops.migration_status(:'changed'::jsonb);
SELECT action, version, checksum_before <> checksum_after AS changed
FROM dbops.migration_events WHERE action = 'repaired';
SELECT version, name, action FROM dbops.repair_migrations(:'changed'::jsonb);

-- A migration applied but gone from the source is "missing".
SELECT version, state FROM dbops.migration_status('[]'::jsonb);

-- Migration SQL runs as the caller, never as the extension owner.
SELECT * FROM dbops.apply_migrations('[{"version": "20", "up": "CREATE ROLE regress_sneaky SUPERUSER;"}]'::jsonb);
SELECT version, action FROM dbops.apply_migrations(
  '[{"version": "20", "up": "CREATE TABLE whoami AS SELECT current_user AS who;"}]'::jsonb);
SELECT who FROM whoami;

-- Nothing the caller creates runs as the extension owner: the catalog
-- statements run with a pinned search_path, so this operator is not used.
CREATE FUNCTION sneaky_concat(text, text) RETURNS text LANGUAGE plpgsql
AS $$ BEGIN RAISE EXCEPTION 'sneaky_concat ran as %', current_user; END $$;
CREATE OPERATOR public.|| (LEFTARG = text, RIGHTARG = text, FUNCTION = sneaky_concat);
SET search_path = public, pg_catalog;
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT version, action FROM dbops.apply_migrations('[{"version": "30", "up": ""}]'::jsonb);
ROLLBACK;
RESET search_path;
DROP OPERATOR public.|| (text, text);
DROP FUNCTION sneaky_concat(text, text);

RESET ROLE;
-- The history survives pg_dump: both tables are extension configuration.
SELECT c.relname
FROM pg_extension e, unnest(e.extconfig) AS x(oid) JOIN pg_class c ON c.oid = x.oid
WHERE e.extname = 'dbops' AND c.relname IN ('schema_migrations', 'migration_events')
ORDER BY 1;
DROP TABLE whoami;
TRUNCATE dbops.schema_migrations, dbops.migration_events;
REVOKE CREATE ON SCHEMA public FROM regress_migrator;
DROP ROLE regress_migrator;

-- The session's prepared catalog statements survive the extension being
-- dropped and created again.
SELECT version, action FROM dbops.apply_migrations('[{"version": "1", "up": ""}]'::jsonb);
DROP EXTENSION dbops;
CREATE EXTENSION dbops;
SELECT version, action FROM dbops.apply_migrations('[{"version": "1", "up": ""}]'::jsonb);
SELECT version, state FROM dbops.migration_status('[{"version": "1", "up": ""}]'::jsonb);
TRUNCATE dbops.schema_migrations, dbops.migration_events;
