/*
 * Migrations: the catalog of applied migrations and the functions that
 * apply, roll back, inspect, baseline and repair them.
 *
 * Administrators may read the catalog but never write it: every write is
 * made by the C code as the extension owner, so nobody can rewrite the down
 * SQL that a later rollback will run.  Migration SQL itself always runs as
 * the caller.
 */

/*
 * One row per applied migration.  The SQL is kept so that a database can be
 * rolled back without the files it was migrated from.
 */
CREATE TABLE dbops.schema_migrations (
	version text PRIMARY KEY,
	name text NOT NULL,
	checksum_algorithm text NOT NULL,
	checksum text NOT NULL,
	up_sql text NOT NULL,
	down_sql text,
	verify_sql text,
	applied_at timestamptz NOT NULL,
	applied_by text NOT NULL,
	duration interval,
	baseline boolean NOT NULL,
	-- the role that supplied the SQL (apply, repair, baseline): rollback
	-- runs down_sql as this role, for its members only
	supplier oid NOT NULL,
	supplier_name name NOT NULL,
	-- the restore point written just before it ran (WAL archived only)
	restore_point text,
	restore_lsn pg_lsn
);
COMMENT ON TABLE dbops.schema_migrations IS 'migrations applied (or baselined) in this database';
COMMENT ON COLUMN dbops.schema_migrations.checksum IS 'hex digest of the exact bytes of the up SQL';
COMMENT ON COLUMN dbops.schema_migrations.baseline IS 'marked as applied by baseline() without running';
COMMENT ON COLUMN dbops.schema_migrations.supplier IS 'OID of the role that supplied the stored SQL; down_sql runs as this role';
COMMENT ON COLUMN dbops.schema_migrations.supplier_name IS 'name of that role when it supplied the SQL';
COMMENT ON COLUMN dbops.schema_migrations.restore_lsn IS 'LSN of the restore point written before it ran: restore with recovery_target_lsn and recovery_target_inclusive = off to get the database as it was before it';

/*
 * What rollback, baseline and repair did: applying is recorded by the rows
 * of schema_migrations themselves.
 */
CREATE TABLE dbops.migration_events (
	event_at timestamptz NOT NULL,
	event_by text NOT NULL,
	action text NOT NULL CHECK (action IN ('rolled back', 'baselined', 'repaired')),
	version text NOT NULL,
	name text NOT NULL,
	checksum_before text,
	checksum_after text
);
COMMENT ON TABLE dbops.migration_events IS 'rollbacks, baselines and repairs of migrations, oldest first';

/*
 * The migration lock: apply, rollback, baseline and repair hold an
 * EXCLUSIVE lock on this empty table until their transaction ends.  Only
 * its owner and superusers may take it with LOCK TABLE, so no role that
 * may not migrate can hold up migrations.
 */
CREATE TABLE dbops.migration_lock ();
COMMENT ON TABLE dbops.migration_lock IS 'empty; locked by every migration command for the rest of its transaction';
REVOKE ALL ON dbops.migration_lock FROM PUBLIC;

-- Keep the history through pg_dump and restore.
SELECT pg_catalog.pg_extension_config_dump('dbops.schema_migrations', '');
SELECT pg_catalog.pg_extension_config_dump('dbops.migration_events', '');

REVOKE ALL ON dbops.schema_migrations, dbops.migration_events FROM PUBLIC;
GRANT SELECT ON dbops.schema_migrations, dbops.migration_events TO dbops_admin;

/*
 * apply_migrations: apply every pending migration of a source, in version
 * order, in the caller's transaction.  The text form reads a server-side
 * directory; the jsonb form takes the migrations as a document (an array)
 * or a directory's files sent by a client (an object mapping each relative
 * path to its content in base64), as every jsonb form below does.
 * lock_timeout and lock_retries override dbops.lock_timeout and
 * dbops.lock_retries; a dry run reports each migration's hazards.
 */
CREATE FUNCTION dbops.apply_migrations(source_dir text,
	target_version text DEFAULT NULL,
	dry_run boolean DEFAULT false,
	allow_out_of_order boolean DEFAULT false,
	on_drift text DEFAULT NULL,
	lock_timeout interval DEFAULT NULL,
	lock_retries integer DEFAULT NULL)
RETURNS TABLE(version text, name text, action text, duration interval,
	restore_lsn pg_lsn, hazards jsonb)
AS 'MODULE_PATHNAME', 'dbops_apply_migrations_dir'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION dbops.apply_migrations(text, text, boolean, boolean, text, interval, integer)
	IS 'apply the pending migrations of a server-side directory';
REVOKE ALL ON FUNCTION dbops.apply_migrations(text, text, boolean, boolean, text, interval, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION dbops.apply_migrations(text, text, boolean, boolean, text, interval, integer) TO dbops_admin;

CREATE FUNCTION dbops.apply_migrations(migrations jsonb,
	target_version text DEFAULT NULL,
	dry_run boolean DEFAULT false,
	allow_out_of_order boolean DEFAULT false,
	on_drift text DEFAULT NULL,
	lock_timeout interval DEFAULT NULL,
	lock_retries integer DEFAULT NULL)
RETURNS TABLE(version text, name text, action text, duration interval,
	restore_lsn pg_lsn, hazards jsonb)
AS 'MODULE_PATHNAME', 'dbops_apply_migrations_json'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION dbops.apply_migrations(jsonb, text, boolean, boolean, text, interval, integer)
	IS 'apply the pending migrations of a jsonb document or map of files';
REVOKE ALL ON FUNCTION dbops.apply_migrations(jsonb, text, boolean, boolean, text, interval, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION dbops.apply_migrations(jsonb, text, boolean, boolean, text, interval, integer) TO dbops_admin;

/*
 * rollback_migrations: run the stored down SQL of the latest migrations in
 * reverse order, down to target_version (which stays applied) or for a
 * number of steps (one when neither is given).
 */
CREATE FUNCTION dbops.rollback_migrations(target_version text DEFAULT NULL,
	steps integer DEFAULT NULL,
	dry_run boolean DEFAULT false)
RETURNS TABLE(version text, name text, action text, duration interval)
AS 'MODULE_PATHNAME', 'dbops_rollback_migrations'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION dbops.rollback_migrations(text, integer, boolean)
	IS 'roll back applied migrations with their stored down SQL';
REVOKE ALL ON FUNCTION dbops.rollback_migrations(text, integer, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION dbops.rollback_migrations(text, integer, boolean) TO dbops_admin;

/*
 * migration_status: every migration of the source and of the catalog, with
 * its state: applied, pending, modified (applied, but its up SQL changed
 * since) or missing (applied, but absent from the source).
 */
CREATE FUNCTION dbops.migration_status(source_dir text)
RETURNS TABLE(version text, name text, state text, applied_at timestamptz,
	applied_by text, checksum text)
AS 'MODULE_PATHNAME', 'dbops_migration_status_dir'
LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION dbops.migration_status(text)
	IS 'state of each migration of a server-side directory and of the catalog';
REVOKE ALL ON FUNCTION dbops.migration_status(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION dbops.migration_status(text) TO dbops_admin;

CREATE FUNCTION dbops.migration_status(migrations jsonb)
RETURNS TABLE(version text, name text, state text, applied_at timestamptz,
	applied_by text, checksum text)
AS 'MODULE_PATHNAME', 'dbops_migration_status_json'
LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION dbops.migration_status(jsonb)
	IS 'state of each migration of a jsonb document and of the catalog';
REVOKE ALL ON FUNCTION dbops.migration_status(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION dbops.migration_status(jsonb) TO dbops_admin;

/*
 * baseline: mark the source's migrations up to and including a version as
 * applied without running them, recording their checksums.
 */
CREATE FUNCTION dbops.baseline(source_dir text, target_version text)
RETURNS TABLE(version text, name text, action text, duration interval)
AS 'MODULE_PATHNAME', 'dbops_baseline_dir'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION dbops.baseline(text, text)
	IS 'mark migrations of a server-side directory as applied without running them';
REVOKE ALL ON FUNCTION dbops.baseline(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION dbops.baseline(text, text) TO dbops_admin;

CREATE FUNCTION dbops.baseline(migrations jsonb, target_version text)
RETURNS TABLE(version text, name text, action text, duration interval)
AS 'MODULE_PATHNAME', 'dbops_baseline_json'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION dbops.baseline(jsonb, text)
	IS 'mark migrations of a jsonb document as applied without running them';
REVOKE ALL ON FUNCTION dbops.baseline(jsonb, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION dbops.baseline(jsonb, text) TO dbops_admin;

/*
 * repair_migrations: accept the source's current files for applied
 * migrations whose up SQL changed, recording old and new checksums.
 */
CREATE FUNCTION dbops.repair_migrations(source_dir text)
RETURNS TABLE(version text, name text, action text, duration interval)
AS 'MODULE_PATHNAME', 'dbops_repair_migrations_dir'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION dbops.repair_migrations(text)
	IS 'accept changed files of a server-side directory for applied migrations';
REVOKE ALL ON FUNCTION dbops.repair_migrations(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION dbops.repair_migrations(text) TO dbops_admin;

CREATE FUNCTION dbops.repair_migrations(migrations jsonb)
RETURNS TABLE(version text, name text, action text, duration interval)
AS 'MODULE_PATHNAME', 'dbops_repair_migrations_json'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION dbops.repair_migrations(jsonb)
	IS 'accept changed migrations of a jsonb document for applied migrations';
REVOKE ALL ON FUNCTION dbops.repair_migrations(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION dbops.repair_migrations(jsonb) TO dbops_admin;

/*
 * migration_hazards: for every statement of the source's pending
 * migrations that blocks, rewrites, scans, drops or renames, the lock it
 * takes, the size of its table, an estimate of the lock time (size /
 * dbops.hazard_rewrite_rate) and the safer form.  Reads only.
 */
CREATE FUNCTION dbops.migration_hazards(source_dir text)
RETURNS TABLE(version text, name text, file text, line integer, hazard text,
	level text, allowed boolean, relation text, lock_mode text, blocks text,
	effect text, table_bytes bigint, table_rows bigint,
	estimated_lock_time interval, message text, safer text)
AS 'MODULE_PATHNAME', 'dbops_migration_hazards_dir'
LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION dbops.migration_hazards(text)
	IS 'hazards of the pending migrations of a server-side directory';
REVOKE ALL ON FUNCTION dbops.migration_hazards(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION dbops.migration_hazards(text) TO dbops_admin;

CREATE FUNCTION dbops.migration_hazards(migrations jsonb)
RETURNS TABLE(version text, name text, file text, line integer, hazard text,
	level text, allowed boolean, relation text, lock_mode text, blocks text,
	effect text, table_bytes bigint, table_rows bigint,
	estimated_lock_time interval, message text, safer text)
AS 'MODULE_PATHNAME', 'dbops_migration_hazards_json'
LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION dbops.migration_hazards(jsonb)
	IS 'hazards of the pending migrations of a jsonb document or map of files';
REVOKE ALL ON FUNCTION dbops.migration_hazards(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION dbops.migration_hazards(jsonb) TO dbops_admin;

/*
 * migration_layout: the layout of the source's latest migration (hasura,
 * diesel, golang-migrate, flyway, sqitch, document), its version and the
 * number of migrations, for a client that adds the next one.
 */
CREATE FUNCTION dbops.migration_layout(source_dir text)
RETURNS TABLE(layout text, latest_version text, migrations integer)
AS 'MODULE_PATHNAME', 'dbops_migration_layout_dir'
LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION dbops.migration_layout(text)
	IS 'layout and latest version of a server-side migrations directory';
REVOKE ALL ON FUNCTION dbops.migration_layout(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION dbops.migration_layout(text) TO dbops_admin;

CREATE FUNCTION dbops.migration_layout(migrations jsonb)
RETURNS TABLE(layout text, latest_version text, migrations integer)
AS 'MODULE_PATHNAME', 'dbops_migration_layout_json'
LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION dbops.migration_layout(jsonb)
	IS 'layout and latest version of a jsonb document or map of files';
REVOKE ALL ON FUNCTION dbops.migration_layout(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION dbops.migration_layout(jsonb) TO dbops_admin;
