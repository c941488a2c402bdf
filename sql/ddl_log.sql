--
-- The DDL log: every DDL command is recorded with who ran it, and schema
-- drift lists what no migration ran and nobody acknowledged.  Left out:
-- temporary objects, dbops's own grants and policies, the schemas and
-- command tags the superuser lists; statements that may hold passwords
-- are recorded without their text.
--
\set SHOW_CONTEXT never
SELECT dbops.acknowledge_drift();	-- what earlier tests left
CREATE ROLE regress_ddl_dev;		-- no dbops_admin, no rights on the log
CREATE ROLE regress_ddl_admin IN ROLE dbops_admin;
CREATE SCHEMA ddl AUTHORIZATION regress_ddl_dev;
CREATE SCHEMA ddl_scratch AUTHORIZATION regress_ddl_dev;

SET ROLE regress_ddl_dev;
CREATE TABLE ddl.t (id int PRIMARY KEY, v text);
ALTER TABLE ddl.t ADD COLUMN w int;
CREATE INDEX ON ddl.t (w);
CREATE TEMP TABLE scratch (id int);
CREATE TABLE ddl_scratch.x (id int);
SELECT * FROM dbops.ddl_log;		-- refused: only dbops_admin reads it
RESET ROLE;
CREATE FOREIGN DATA WRAPPER regress_ddl_fdw;
CREATE SERVER regress_ddl_srv FOREIGN DATA WRAPPER regress_ddl_fdw OPTIONS (password 'hunter2');
-- ignored by the superuser's settings (a role without rights may not set them)
SET dbops.drift_ignore_schemas = 'ddl_scratch';
SET dbops.drift_ignore_commands = 'COMMENT';
CREATE TABLE ddl_scratch.y (id int);
COMMENT ON TABLE ddl.t IS 'not drift by configuration';
RESET dbops.drift_ignore_schemas;
RESET dbops.drift_ignore_commands;
SET ROLE regress_ddl_dev;
SET dbops.drift_ignore_schemas = 'ddl';
RESET ROLE;

-- dbops's own DDL (a permission's grant and policy) is not drift
SET ROLE regress_ddl_admin;
SELECT dbops.import_metadata('{"version": 2, "tables": []}');
RESET ROLE;
ALTER TABLE ddl.t OWNER TO regress_ddl_admin;
SET ROLE regress_ddl_admin;
SELECT dbops.import_metadata('{"version": 2, "tables": [{"table": {"schema": "ddl", "name": "t"},
	"select_permissions": [{"role": "regress_ddl_dev", "permission": {"columns": ["id"], "filter": {}}}]}]}');

SELECT id > 0 AS has_id, role_name, command_tag, object_type, object_identity, statement
FROM dbops.schema_drift();
SELECT count(*) FROM dbops.ddl_log WHERE statement LIKE '%hunter2%';

-- acknowledging: up to an id, then the rest
SELECT min(id) AS first FROM dbops.schema_drift() \gset
SELECT dbops.acknowledge_drift(:first);
SELECT count(*) AS left FROM dbops.schema_drift();
SELECT dbops.acknowledge_drift();
SELECT count(*) AS left FROM dbops.schema_drift();
SELECT acknowledged_by, count(*) FROM dbops.ddl_log WHERE acknowledged_at IS NOT NULL GROUP BY 1;
SELECT dbops.reset_metadata();
RESET ROLE;

-- apply_migrations: DDL a migration runs is attributed to it, not drift;
-- drift found before a batch is a WARNING (dbops.on_drift's default,
-- overridden by the argument on_drift), or with 'error' refuses the batch.
SET dbops.on_drift = 'warn';
GRANT USAGE, CREATE ON SCHEMA ddl TO regress_ddl_admin;
SELECT dbops.acknowledge_drift() AS granted;
SET ROLE regress_ddl_admin;
SELECT version, action FROM dbops.apply_migrations(
	'[{"version": "1", "name": "one", "up": "CREATE TABLE ddl.m1 (id int);"}]'::jsonb);
SELECT count(*) AS drift FROM dbops.schema_drift();
SELECT migration_version, command_tag, object_identity, statement FROM dbops.ddl_log
WHERE migration_version IS NOT NULL;
RESET ROLE;
CREATE TABLE ddl.by_hand (id int);
ALTER TABLE ddl.by_hand ADD COLUMN v text;
SET ROLE regress_ddl_admin;
SELECT version, action FROM dbops.apply_migrations(
	'[{"version": "1", "name": "one", "up": "CREATE TABLE ddl.m1 (id int);"},
	  {"version": "2", "name": "two", "up": "CREATE TABLE ddl.m2 (id int);"}]'::jsonb,
	on_drift => 'error');
SELECT to_regclass('ddl.m2') AS not_applied;
SELECT version, action FROM dbops.apply_migrations(
	'[{"version": "1", "name": "one", "up": "CREATE TABLE ddl.m1 (id int);"},
	  {"version": "2", "name": "two", "up": "CREATE TABLE ddl.m2 (id int);"}]'::jsonb);
SELECT version, action FROM dbops.apply_migrations(
	'[{"version": "3", "name": "three", "up": "CREATE TABLE ddl.m3 (id int);", "down": "DROP TABLE ddl.m3;"}]'::jsonb,
	on_drift => 'sometimes');
SELECT dbops.acknowledge_drift();
SELECT version, action FROM dbops.apply_migrations(
	'[{"version": "3", "name": "three", "up": "CREATE TABLE ddl.m3 (id int);", "down": "DROP TABLE ddl.m3;"}]'::jsonb,
	on_drift => 'error');
-- without WAL archiving there is no restore point
SELECT version, restore_point, restore_lsn FROM dbops.schema_migrations ORDER BY version;
-- a rollback's DDL is the migration's too
SELECT version, action FROM dbops.rollback_migrations();
SELECT count(*) AS drift FROM dbops.schema_drift();
RESET ROLE;
TRUNCATE dbops.schema_migrations;
RESET dbops.on_drift;

-- The log is written by dbops, never by hand; the event trigger functions
-- run only as event triggers.
SET ROLE regress_ddl_admin;
INSERT INTO dbops.ddl_log (role_name, command_tag) VALUES ('x', 'y');
DELETE FROM dbops.ddl_log;
RESET ROLE;
SELECT dbops_internal.ddl_command_end();

DROP TABLE pg_temp.scratch;
DROP SCHEMA ddl CASCADE;
DROP SCHEMA ddl_scratch CASCADE;
DROP SERVER regress_ddl_srv;
DROP FOREIGN DATA WRAPPER regress_ddl_fdw;
SELECT dbops.acknowledge_drift() > 0 AS cleaned_up;
DROP ROLE regress_ddl_dev, regress_ddl_admin;
