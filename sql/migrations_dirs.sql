--
-- Migrations from server-side directories in the layouts of other tools.
-- The fixtures live in test/fixtures/migrations of the tree under test,
-- which run_tests.sh exports as DBOPS_SRC (make installcheck runs from the
-- tree itself); messages name files relative to the directory, so no
-- machine-specific path appears below.
--
\getenv src DBOPS_SRC
\if :{?src}
\else
\getenv src PWD
\endif
\set fx :src/test/fixtures/migrations

-- Hasura (names with spaces, a verify script, a BEGIN ... COMMIT pair in
-- the middle, a placeholder down migration).
SELECT version, name, state FROM dbops.migration_status(:'fx' || '/hasura');
SELECT version, name, action FROM dbops.apply_migrations(:'fx' || '/hasura');
SELECT version, name, down_sql IS NOT NULL AS has_down, verify_sql IS NOT NULL AS has_verify
FROM dbops.schema_migrations ORDER BY version;
\d app.authors
SELECT * FROM dbops.rollback_migrations(steps => 3);
SELECT version, action FROM dbops.repair_migrations(:'fx' || '/hasura');
TRUNCATE dbops.schema_migrations, dbops.migration_events;
DROP SCHEMA app CASCADE;

-- Diesel: dashed date versions, dollar-quoted function bodies.
SELECT version, name, action FROM dbops.apply_migrations(:'fx' || '/diesel');
-- "0" and "00000000000000" are the same version; the target stays applied.
SELECT version, name, action FROM dbops.rollback_migrations(target_version => '0');
SELECT version, name, action FROM dbops.rollback_migrations();
SELECT to_regclass('posts') AS posts, to_regprocedure('diesel_set_updated_at()') AS func;

-- Diesel's metadata.toml with run_in_transaction = false marks a migration
-- that apply_migrations refuses, before anything runs.
SELECT * FROM dbops.apply_migrations(:'fx' || '/diesel_no_transaction');
\echo :LAST_ERROR_SQLSTATE
SELECT version, name, action
FROM dbops.apply_migrations(:'fx' || '/diesel_no_transaction', target_version => '2020-01-01-000000');
TRUNCATE dbops.schema_migrations, dbops.migration_events;
DROP TABLE items;

-- So does Flyway's script configuration with executeInTransaction=false.
SELECT * FROM dbops.apply_migrations(:'fx' || '/flyway_no_transaction');
\echo :LAST_ERROR_SQLSTATE

-- golang-migrate: 10 after 2, files wrapped in BEGIN ... COMMIT.
SELECT version, name, action FROM dbops.apply_migrations(:'fx' || '/golang');
SELECT version, name, action FROM dbops.rollback_migrations(target_version => '1');
SELECT version, name, state FROM dbops.migration_status(:'fx' || '/golang');
SELECT version, name, action FROM dbops.rollback_migrations();

-- Flyway: V1 < V1_1 < V2; U files are the down scripts.
SELECT version, name, action FROM dbops.apply_migrations(:'fx' || '/flyway');
SELECT * FROM fw_items;
SELECT version, name, down_sql FROM dbops.schema_migrations ORDER BY applied_at;
TRUNCATE dbops.schema_migrations, dbops.migration_events;
DROP TABLE fw_items;

-- Sqitch: plan order, a reworked change, deploy/revert/verify with their
-- BEGIN ... COMMIT and BEGIN ... ROLLBACK wrappers.
SELECT version, name, action FROM dbops.apply_migrations(:'fx' || '/sqitch');
\d flipr.users
SELECT version, name, action FROM dbops.rollback_migrations(steps => 3);
SELECT to_regnamespace('flipr');

-- Layouts may be mixed in one directory; dot files are skipped.
SELECT version, name, state FROM dbops.migration_status(:'fx' || '/mixed');

-- Baseline records the checksums of the files at that moment.
SELECT version, name, action FROM dbops.baseline(:'fx' || '/golang', '2');
SELECT s.version, s.checksum = encode(sha256(pg_read_binary_file(:'fx' || '/golang/' || s.version || '_' || s.name || '.up.sql')), 'hex') AS file_checksum
FROM dbops.schema_migrations s ORDER BY s.version;
TRUNCATE dbops.schema_migrations, dbops.migration_events;

-- Sources that are refused name the file, before anything runs.
SELECT * FROM dbops.apply_migrations(:'fx' || '/bad/no_layout');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM dbops.apply_migrations(:'fx' || '/bad/duplicate');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM dbops.apply_migrations(:'fx' || '/bad/stray_file');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM dbops.apply_migrations(:'fx' || '/bad/no_up');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM dbops.apply_migrations(:'fx' || '/bad/orphan_down');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM dbops.apply_migrations(:'fx' || '/bad/two_downs');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM dbops.apply_migrations(:'fx' || '/bad/psql');
\echo :LAST_ERROR_SQLSTATE
-- An unreadable file (psql runs in the tree under test).
\! chmod 000 test/fixtures/migrations/bad/unreadable/1_a.up.sql
SELECT * FROM dbops.apply_migrations(:'fx' || '/bad/unreadable');
\echo :LAST_ERROR_SQLSTATE
\! chmod 644 test/fixtures/migrations/bad/unreadable/1_a.up.sql

-- An error in the second migration names version, file and line; the
-- first migration's table is gone with the aborted transaction.
SELECT * FROM dbops.apply_migrations(:'fx' || '/bad/line');
\echo :LAST_ERROR_SQLSTATE
SELECT to_regclass('line_first') AS line_first, count(*) FROM dbops.schema_migrations;

-- Real projects as they are, from Hasura's console: a down file commented
-- out but for its continuation line, and one written for a newer
-- PostgreSQL, do not parse.  Their own tools apply such migrations, and so
-- does dbops, with a WARNING that names file and line; the down SQL is
-- stored as written, and rollback refuses it before anything runs.  A UTF-8
-- byte order mark is skipped, and the checksum covers the text after it, as
-- it does for a document that carries one.
SELECT version, name, action FROM dbops.apply_migrations(:'fx' || '/hasura_console');
SELECT version, left(up_sql, 7) AS starts, checksum = encode(sha256(convert_to(up_sql, 'UTF8')), 'hex') AS checksum_of_text
FROM dbops.schema_migrations WHERE version = '1600000000004';
SELECT version, state FROM dbops.migration_status(jsonb_build_array(jsonb_build_object(
	'version', '1600000000004', 'name', 'bom',
	'up', U&'\FEFFCOMMENT ON TABLE "public"."people" IS ''written by an editor that adds a byte order mark'';' || E'\n')))
WHERE version = '1600000000004';
SELECT version, action FROM dbops.rollback_migrations();
SELECT version, action FROM dbops.rollback_migrations();
\echo :LAST_ERROR_SQLSTATE
SELECT version, action FROM dbops.rollback_migrations(target_version => '1600000000001');
SELECT count(*) AS still_applied FROM dbops.schema_migrations;
TRUNCATE dbops.schema_migrations, dbops.migration_events;
DROP TABLE people;

-- Only regular files are read: a FIFO would block the backend beyond
-- cancel and terminate, a device reads as anything.  A symbolic link loop
-- is a missing file, not an internal error.
\set special :src/test/fixtures/migrations/special
\! mkdir -p test/fixtures/migrations/special/1_fifo && mkfifo test/fixtures/migrations/special/1_fifo/up.sql
SELECT * FROM dbops.apply_migrations(:'special');
\echo :LAST_ERROR_SQLSTATE
\! rm test/fixtures/migrations/special/1_fifo/up.sql && ln -s /dev/zero test/fixtures/migrations/special/1_fifo/up.sql
SELECT * FROM dbops.apply_migrations(:'special');
\echo :LAST_ERROR_SQLSTATE
\! rm test/fixtures/migrations/special/1_fifo/up.sql && ln -s up.sql test/fixtures/migrations/special/1_fifo/up.sql
SELECT * FROM dbops.apply_migrations(:'special');
\echo :LAST_ERROR_SQLSTATE
\! rm -r test/fixtures/migrations/special/1_fifo && ln -s 2_loop test/fixtures/migrations/special/2_loop
SELECT * FROM dbops.apply_migrations(:'special');
\echo :LAST_ERROR_SQLSTATE
\! rm test/fixtures/migrations/special/2_loop && mkdir test/fixtures/migrations/special/3_a && echo 'SELECT 1;' > test/fixtures/migrations/special/3_a/up.sql && ln -s nowhere.sql test/fixtures/migrations/special/3_a/down.sql
SELECT * FROM dbops.apply_migrations(:'special');
\echo :LAST_ERROR_SQLSTATE
\! rm -r test/fixtures/migrations/special
