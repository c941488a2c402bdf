/* dbops install script: the health of WAL archiving */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION dbops" to load this file. \quit

/*
 * archive_status: one row from pg_stat_archiver, pg_wal/archive_status and
 * the status file of dbops_archive (dbops.archive_status_file); src/
 * archive_status.c and the README say what each column means.  Numbers,
 * timestamps, booleans and text only, for postgres_exporter.  pg_monitor
 * may call it, as it may read pg_stat_archiver and pg_ls_archive_statusdir().
 */
CREATE FUNCTION dbops.archive_status(
	OUT last_archived_wal text, OUT last_archived_time timestamptz, OUT archived_count bigint,
	OUT last_failed_wal text, OUT last_failed_time timestamptz, OUT failed_count bigint,
	OUT failing boolean, OUT last_failure_message text,
	OUT ready_count bigint, OUT ready_bytes bigint,
	OUT lag_bytes bigint, OUT lag_seconds double precision,
	OUT last_pushed_wal text, OUT last_pushed_time timestamptz,
	OUT dropped_count bigint, OUT last_dropped_wal text, OUT last_dropped_time timestamptz,
	OUT last_backup_name text, OUT last_backup_time timestamptz,
	OUT recovery_window_start timestamptz, OUT recovery_window_end timestamptz)
RETURNS record
AS 'MODULE_PATHNAME', 'dbops_archive_status'
LANGUAGE C VOLATILE STRICT
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION dbops.archive_status() IS 'health of WAL archiving: last archived and failed, waiting files, lag, drops, last backup';
REVOKE ALL ON FUNCTION dbops.archive_status() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION dbops.archive_status() TO dbops_admin, pg_monitor;
