--
-- Errors about the source and the history, each with its SQLSTATE, and each
-- raised before any migration runs.
--
-- :LAST_ERROR_SQLSTATE shows the SQLSTATE of each error.
CREATE FUNCTION m(version text, up text, down text DEFAULT NULL)
RETURNS jsonb LANGUAGE sql
RETURN jsonb_strip_nulls(jsonb_build_object('version', version, 'name', 'm' || version,
                                            'up', up, 'down', down));

-- Invalid document shapes name the JSON path.
SELECT * FROM dbops.apply_migrations('{"version": "1"}'::jsonb);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM dbops.apply_migrations('"x"'::jsonb);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM dbops.apply_migrations('[{"version": "1", "up": ""}, 42]'::jsonb);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM dbops.apply_migrations('[{"up": "SELECT 1;"}]'::jsonb);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM dbops.apply_migrations('[{"version": "1"}]'::jsonb);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM dbops.apply_migrations('[{"version": 1, "up": ""}]'::jsonb);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM dbops.apply_migrations('[{"version": "", "up": ""}]'::jsonb);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM dbops.apply_migrations('[{"version": "1", "up": "", "donw": ""}]'::jsonb);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM dbops.apply_migrations('[{"version": "1", "up": "", "down": ["x"]}]'::jsonb);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM dbops.apply_migrations(NULL::jsonb);
\echo :LAST_ERROR_SQLSTATE

-- Duplicate versions: equal in natural order.
SELECT * FROM dbops.apply_migrations('[{"version": "1", "up": ""}, {"version": "001", "up": ""}]'::jsonb);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM dbops.apply_migrations('[{"version": "1.0", "up": ""}, {"version": "1.00", "up": ""}]'::jsonb);
\echo :LAST_ERROR_SQLSTATE

-- Natural order: digit runs numerically, other runs bytewise.
SELECT version FROM dbops.migration_status(
  '[{"version": "10", "up": ""}, {"version": "2", "up": ""}, {"version": "1_2", "up": ""},
    {"version": "1_10", "up": ""}, {"version": "2019-02-26-002946", "up": ""},
    {"version": "2019-02-26-002945", "up": ""}, {"version": "V1", "up": ""},
    {"version": "1a", "up": ""}, {"version": "1b", "up": ""}]'::jsonb);

-- A target that is not in the source.
SELECT * FROM dbops.apply_migrations(jsonb_build_array(m('1', '')), target_version => '2');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM dbops.baseline(jsonb_build_array(m('1', '')), '2');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM dbops.baseline(jsonb_build_array(m('1', '')), NULL);
\echo :LAST_ERROR_SQLSTATE

-- A pending version lower than the highest applied, unless allowed.
SELECT version, action FROM dbops.apply_migrations(jsonb_build_array(
  m('1', 'CREATE TABLE e1 (id int);', 'DROP TABLE e1;'),
  m('3', 'CREATE TABLE e3 (id int);', '-- Could not auto-generate a down migration.')));
SELECT * FROM dbops.apply_migrations(jsonb_build_array(
  m('1', 'CREATE TABLE e1 (id int);', 'DROP TABLE e1;'),
  m('2', 'CREATE TABLE e2 (id int);'),
  m('3', 'CREATE TABLE e3 (id int);', '-- Could not auto-generate a down migration.')));
\echo :LAST_ERROR_SQLSTATE
SELECT version, action FROM dbops.apply_migrations(jsonb_build_array(
  m('1', 'CREATE TABLE e1 (id int);', 'DROP TABLE e1;'),
  m('2', 'CREATE TABLE e2 (id int);'),
  m('3', 'CREATE TABLE e3 (id int);', '-- Could not auto-generate a down migration.')),
  allow_out_of_order => true);

-- Rollback: a down SQL that is absent or only comments stops it, and
-- nothing is rolled back.
SELECT * FROM dbops.rollback_migrations();
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM dbops.rollback_migrations(target_version => '1');
\echo :LAST_ERROR_SQLSTATE
SELECT to_regclass('e2') AS e2, to_regclass('e3') AS e3;
SELECT version, action FROM dbops.apply_migrations(jsonb_build_array(m('4', 'SELECT 1;')));
SELECT * FROM dbops.rollback_migrations();
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM dbops.rollback_migrations(target_version => '7');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM dbops.rollback_migrations(steps => 5);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM dbops.rollback_migrations(steps => 0);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM dbops.rollback_migrations(target_version => '1', steps => 1);
\echo :LAST_ERROR_SQLSTATE

-- A changed applied migration names the version and hints at repair.
SELECT * FROM dbops.apply_migrations(jsonb_build_array(
  m('1', 'CREATE TABLE e1 (id bigint);', 'DROP TABLE e1;')));
\echo :LAST_ERROR_SQLSTATE

-- Directories: the path is refused to roles without pg_read_server_files,
-- and a missing directory names the path.
CREATE ROLE regress_no_files IN ROLE dbops_admin;
SET ROLE regress_no_files;
SELECT * FROM dbops.apply_migrations('some/dir');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
DROP ROLE regress_no_files;
SELECT * FROM dbops.apply_migrations('no/such/dir');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM dbops.migration_status('no/such/dir');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM dbops.apply_migrations('[{"version": "1", "up": ""}]');
\echo :LAST_ERROR_SQLSTATE

TRUNCATE dbops.schema_migrations, dbops.migration_events;
DROP TABLE e1, e2, e3;
DROP FUNCTION m;
