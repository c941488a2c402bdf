/* dbops install script: the migration queue that the dbops worker runs */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION dbops" to load this file. \quit

/*
 * One row per job queued with submit_migrations (or by start-up apply).
 * The migrations were read, checked and checksummed as the submitter when
 * the job was queued, and are kept here: the worker never reads the source
 * again.  Only the extension owner writes this table (the C code, as the
 * owner), so nobody can change what a queued job will run.
 */
CREATE TABLE dbops.migration_jobs (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	state text NOT NULL DEFAULT 'queued'
		CHECK (state IN ('queued', 'running', 'done', 'failed')),
	commit_mode text NOT NULL CHECK (commit_mode IN ('migration', 'batch')),
	origin text NOT NULL CHECK (origin IN ('submit', 'start-up')),
	submitted_at timestamptz NOT NULL,
	-- the role the migrations run as, and its name then
	submitter oid NOT NULL,
	submitted_by name NOT NULL,
	target_version text,
	allow_out_of_order boolean NOT NULL,
	search_path text NOT NULL,
	lock_timeout_ms integer NOT NULL,
	lock_retries integer NOT NULL,
	statement_timeout_ms integer NOT NULL,
	migrations jsonb NOT NULL,
	pending integer NOT NULL,			-- migrations pending when it was queued
	applied integer NOT NULL DEFAULT 0,
	attempts integer NOT NULL DEFAULT 0,
	started_at timestamptz,
	finished_at timestamptz,
	current_version text,				-- the migration running, or that failed
	error_code text,
	error_message text,
	error_detail text,
	error_hint text,
	error_context text
);
COMMENT ON TABLE dbops.migration_jobs IS 'migration jobs queued for the dbops worker: state, timings and errors';
COMMENT ON COLUMN dbops.migration_jobs.state IS 'queued, running (or cut short: resumed when the worker starts), done or failed';
COMMENT ON COLUMN dbops.migration_jobs.attempts IS 'how many times the worker started the job; one cut short more than 3 times fails';

/*
 * Where a migration that runs outside a transaction got to, statement by
 * statement (statement 0 is the migration itself, with the restore point
 * written before it): a job cut short, or a new job for the same migration,
 * goes on from there.  The rows of a migration go when it is recorded as
 * applied.
 */
CREATE TABLE dbops.migration_progress (
	version text NOT NULL,
	checksum text NOT NULL,
	statement integer NOT NULL,
	state text NOT NULL CHECK (state IN ('started', 'done')),
	job_id bigint NOT NULL,
	started_at timestamptz NOT NULL,
	finished_at timestamptz,
	restore_point text,
	restore_lsn pg_lsn,
	PRIMARY KEY (version, statement)
);
COMMENT ON TABLE dbops.migration_progress IS 'statements run so far of no-transaction migrations not yet applied';

REVOKE ALL ON dbops.migration_jobs, dbops.migration_progress FROM PUBLIC;
GRANT SELECT ON dbops.migration_jobs, dbops.migration_progress TO dbops_admin;

/*
 * submit_migrations: queue the pending migrations of a source for the
 * dbops worker, which applies them as the caller.  commit => 'migration'
 * commits each migration on its own, 'batch' runs them in one transaction
 * as apply_migrations does; a migration marked to run outside a
 * transaction always commits on its own.  Returns the job's id.
 */
CREATE FUNCTION dbops.submit_migrations(source_dir text,
	commit text DEFAULT 'migration',
	target_version text DEFAULT NULL,
	allow_out_of_order boolean DEFAULT false,
	on_drift text DEFAULT NULL,
	lock_timeout interval DEFAULT NULL,
	lock_retries integer DEFAULT NULL)
RETURNS bigint
AS 'MODULE_PATHNAME', 'dbops_submit_migrations_dir'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION dbops.submit_migrations(text, text, text, boolean, text, interval, integer)
	IS 'queue the pending migrations of a server-side directory for the dbops worker';
REVOKE ALL ON FUNCTION dbops.submit_migrations(text, text, text, boolean, text, interval, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION dbops.submit_migrations(text, text, text, boolean, text, interval, integer) TO dbops_admin;

CREATE FUNCTION dbops.submit_migrations(migrations jsonb,
	commit text DEFAULT 'migration',
	target_version text DEFAULT NULL,
	allow_out_of_order boolean DEFAULT false,
	on_drift text DEFAULT NULL,
	lock_timeout interval DEFAULT NULL,
	lock_retries integer DEFAULT NULL)
RETURNS bigint
AS 'MODULE_PATHNAME', 'dbops_submit_migrations_json'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION dbops.submit_migrations(jsonb, text, text, boolean, text, interval, integer)
	IS 'queue the pending migrations of a jsonb document or map of files for the dbops worker';
REVOKE ALL ON FUNCTION dbops.submit_migrations(jsonb, text, text, boolean, text, interval, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION dbops.submit_migrations(jsonb, text, text, boolean, text, interval, integer) TO dbops_admin;
