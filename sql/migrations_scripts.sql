--
-- How migration scripts run: statement by statement in the caller's
-- transaction, errors traced to file and line, transaction control written
-- for other tools, psql-only syntax, SET, verify scripts, the enum limit.
--
-- m() builds one migration of a jsonb document.
CREATE FUNCTION m(version text, up text, down text DEFAULT NULL,
                  verify text DEFAULT NULL)
RETURNS jsonb LANGUAGE sql
RETURN jsonb_strip_nulls(jsonb_build_object('version', version, 'name', 'm' || version,
                                            'up', up, 'down', down, 'verify', verify));
-- :LAST_ERROR_SQLSTATE shows the SQLSTATE of each error.

-- An error in migration 2 of 3 names the version, file and line; the
-- caller's transaction is aborted, and after ROLLBACK nothing has changed.
BEGIN;
CREATE TABLE before_batch (id int);
SELECT version, action FROM dbops.apply_migrations(jsonb_build_array(
  m('1', 'CREATE TABLE t1 (id int);'),
  m('2', $$-- add a column
CREATE TABLE t2 (id int);

ALTER TABLE no_such_table ADD COLUMN x int;
$$),
  m('3', 'CREATE TABLE t3 (id int);')));
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
SELECT to_regclass('before_batch') AS before_batch, to_regclass('t1') AS t1, to_regclass('t2') AS t2;
SELECT count(*) FROM dbops.schema_migrations;

-- An error with a position maps to the line inside the statement, counting
-- characters as the server does (the é is two bytes).
SELECT * FROM dbops.apply_migrations(jsonb_build_array(
  m('1', $$CREATE TABLE t1 (id int, é text);
SELECT id,
       é,
       nope
FROM t1;$$)));
\echo :LAST_ERROR_SQLSTATE

-- A syntax error anywhere is found before anything runs.
SELECT * FROM dbops.apply_migrations(jsonb_build_array(
  m('1', 'CREATE TABLE t1 (id int);'),
  m('2', $$CREATE TABLE t2 (id int);
CREATE TABLE t3 (id int;$$)));
\echo :LAST_ERROR_SQLSTATE

-- A file wrapped in BEGIN ... COMMIT runs as if unwrapped, with a NOTICE;
-- so does a pair around statements in the middle.
SELECT version, action FROM dbops.apply_migrations(jsonb_build_array(
  m('1', $$BEGIN;
CREATE TABLE wrapped (id int);
COMMIT;$$, $$BEGIN; DROP TABLE wrapped; COMMIT;$$),
  m('2', $$ALTER TABLE wrapped ADD COLUMN a int;
begin transaction;
ALTER TABLE wrapped ADD COLUMN b int;
ALTER TABLE wrapped ADD COLUMN c int;
end;
ALTER TABLE wrapped ADD COLUMN d int;$$, 'ALTER TABLE wrapped DROP a, DROP b, DROP c, DROP d;')));
SELECT string_agg(attname, ',' ORDER BY attnum) FROM pg_attribute
WHERE attrelid = 'wrapped'::regclass AND attnum > 0;

-- Transaction control that cannot be honoured is refused with the line.
SELECT * FROM dbops.apply_migrations(jsonb_build_array(m('3', $$CREATE TABLE x (id int);
COMMIT;$$)));
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM dbops.apply_migrations(jsonb_build_array(m('3', $$CREATE TABLE x (id int);

ROLLBACK;$$)));
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM dbops.apply_migrations(jsonb_build_array(m('3', $$BEGIN;
CREATE TABLE x (id int);$$)));
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM dbops.apply_migrations(jsonb_build_array(m('3', $$SAVEPOINT a;$$)));
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM dbops.apply_migrations(jsonb_build_array(m('3', $$BEGIN ISOLATION LEVEL SERIALIZABLE;
COMMIT;$$)));
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM dbops.apply_migrations(jsonb_build_array(m('3', $$BEGIN; BEGIN; COMMIT; COMMIT;$$)));
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM dbops.apply_migrations(jsonb_build_array(m('3', $$BEGIN; COMMIT AND CHAIN;$$)));
\echo :LAST_ERROR_SQLSTATE

-- psql-only syntax is refused before anything runs, with its line.
SELECT * FROM dbops.apply_migrations(jsonb_build_array(m('3', $$CREATE TABLE x (id int, name text);
COPY x (id, name) FROM stdin;
1	one
2	two
\.
$$)));
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM dbops.apply_migrations(jsonb_build_array(m('3', $$CREATE TABLE x (id int);
\set ON_ERROR_STOP on
SELECT 1;$$)));
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM dbops.apply_migrations(jsonb_build_array(m('3', $$CREATE TABLE x (id int);
CREATE TABLE :"schema".y (id int);$$)));
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM dbops.apply_migrations(jsonb_build_array(m('3', $$COPY wrapped TO STDOUT;$$)));
\echo :LAST_ERROR_SQLSTATE
-- A backslash in a string or comment is just text.
SELECT version, action FROM dbops.apply_migrations(jsonb_build_array(m('3', $$-- a \comment
CREATE TABLE backslash (t text DEFAULT E'\\x');$$, 'DROP TABLE backslash;')));

-- Statements PostgreSQL refuses in a transaction block are named, with a hint.
SELECT * FROM dbops.apply_migrations(jsonb_build_array(
  m('4', 'CREATE INDEX CONCURRENTLY ON wrapped (id);')));
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM dbops.apply_migrations(jsonb_build_array(m('4', 'VACUUM wrapped;')));
\echo :LAST_ERROR_SQLSTATE

-- A migration marked no-transaction is refused with a hint, and nothing
-- else of the batch is applied.
SELECT * FROM dbops.apply_migrations(jsonb_build_array(
  m('4', 'CREATE TABLE t4 (id int);'),
  m('5', $$-- dbops:no-transaction
CREATE INDEX CONCURRENTLY ON wrapped (id);$$)));
\echo :LAST_ERROR_SQLSTATE
SELECT to_regclass('t4');

-- SET inside a migration ends with it, even a plain SET or pg_dump's
-- set_config(..., false): the next migration runs with the caller's settings.
SET search_path = public;
SELECT version, action FROM dbops.apply_migrations(jsonb_build_array(
  m('4', $$SELECT pg_catalog.set_config('search_path', '', false);
SET statement_timeout = '1s';
CREATE TABLE public.t4 (id int);$$, 'DROP TABLE public.t4;'),
  m('5', 'CREATE TABLE t5 (id int);', 'DROP TABLE t5;')));
SELECT to_regclass('public.t5');
SHOW search_path;
SHOW statement_timeout;

-- A verify script runs after up; whatever it does is rolled back, and
-- Sqitch's BEGIN ... ROLLBACK wrapping is accepted.
SELECT version, action FROM dbops.apply_migrations(jsonb_build_array(
  m('6', 'CREATE TABLE t6 (id int);', 'DROP TABLE t6;',
    $$BEGIN;
SELECT id FROM t6 WHERE false;
CREATE TABLE verify_side_effect (id int);
ROLLBACK;$$)));
SELECT to_regclass('verify_side_effect');

-- A verify script that raises rolls the batch back, naming its line.
SELECT * FROM dbops.apply_migrations(jsonb_build_array(
  m('7', 'CREATE TABLE t7 (id int);', 'DROP TABLE t7;',
    $$SELECT 1;
DO $v$ BEGIN
  IF NOT EXISTS (SELECT FROM t7) THEN
    RAISE EXCEPTION 't7 is empty';
  END IF;
END $v$;$$)));
\echo :LAST_ERROR_SQLSTATE
SELECT to_regclass('t7');
-- The verify error leaves a caller's EXCEPTION block working normally.
DO $$
BEGIN
  PERFORM dbops.apply_migrations(jsonb_build_array(
    m('7', 'CREATE TABLE t7 (id int);', NULL, 'SELECT 1/0;')));
EXCEPTION WHEN division_by_zero THEN
  RAISE NOTICE 'caught: %', SQLERRM;
END
$$;
SELECT to_regclass('t7');

-- Known PostgreSQL limit: a new enum value cannot be used in the
-- transaction that added it, so not in a later migration of the same batch.
SELECT version, action FROM dbops.apply_migrations(jsonb_build_array(
  m('7', $$CREATE TYPE mood AS ENUM ('sad');$$, 'DROP TYPE mood;')));
SELECT * FROM dbops.apply_migrations(jsonb_build_array(
  m('8', $$ALTER TYPE mood ADD VALUE 'happy';$$),
  m('9', $$CREATE TABLE feelings (m mood DEFAULT 'happy');
INSERT INTO feelings VALUES ('happy');$$)));
\echo :LAST_ERROR_SQLSTATE
-- Applied in two calls (two transactions), it works.
SELECT version, action FROM dbops.apply_migrations(jsonb_build_array(
  m('8', $$ALTER TYPE mood ADD VALUE 'happy';$$),
  m('9', $$CREATE TABLE feelings (m mood DEFAULT 'happy');
INSERT INTO feelings VALUES ('happy');$$)), target_version => '8');
SELECT version, action FROM dbops.apply_migrations(jsonb_build_array(
  m('8', $$ALTER TYPE mood ADD VALUE 'happy';$$),
  m('9', $$CREATE TABLE feelings (m mood DEFAULT 'happy');
INSERT INTO feelings VALUES ('happy');$$)));

-- Clean up.
TRUNCATE dbops.schema_migrations, dbops.migration_events;
DROP TABLE wrapped, t4, t5, t6, feelings;
DROP TYPE mood;
DROP FUNCTION m;
