/* dbops install script: the DDL log and schema drift */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION dbops" to load this file. \quit

/*
 * Every DDL command run in this database (src/ddl_log.c says which are
 * left out), with the migration that ran it.  Schema drift is what no
 * migration ran and nobody acknowledged.
 */
CREATE TABLE dbops.ddl_log (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	logged_at timestamptz NOT NULL DEFAULT pg_catalog.statement_timestamp(),
	role_name name NOT NULL,			-- the role that ran it (current_user)
	command_tag text NOT NULL,
	object_type text,
	object_identity text,
	statement text,						-- NULL when run by a migration, or secret
	migration_version text,				-- the migration a dbops apply ran it in
	acknowledged_at timestamptz,
	acknowledged_by name
);
COMMENT ON TABLE dbops.ddl_log IS 'DDL commands run in this database, for schema drift';
CREATE INDEX ON dbops.ddl_log (id) WHERE migration_version IS NULL AND acknowledged_at IS NULL;

REVOKE ALL ON dbops.ddl_log FROM PUBLIC;
GRANT SELECT ON dbops.ddl_log TO dbops_admin;

CREATE FUNCTION dbops_internal.ddl_command_end()
RETURNS event_trigger
AS 'MODULE_PATHNAME', 'dbops_ddl_command_end'
LANGUAGE C
SET search_path = pg_catalog, pg_temp;

CREATE FUNCTION dbops_internal.sql_drop()
RETURNS event_trigger
AS 'MODULE_PATHNAME', 'dbops_sql_drop'
LANGUAGE C
SET search_path = pg_catalog, pg_temp;

CREATE EVENT TRIGGER dbops_ddl_command_end ON ddl_command_end
	EXECUTE FUNCTION dbops_internal.ddl_command_end();
CREATE EVENT TRIGGER dbops_sql_drop ON sql_drop
	EXECUTE FUNCTION dbops_internal.sql_drop();

/* The drift: DDL no migration ran, not acknowledged yet, oldest first */
CREATE FUNCTION dbops.schema_drift(OUT id bigint, OUT logged_at timestamptz, OUT role_name name,
	OUT command_tag text, OUT object_type text, OUT object_identity text, OUT statement text)
RETURNS SETOF record
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT l.id, l.logged_at, l.role_name, l.command_tag, l.object_type, l.object_identity, l.statement
	FROM dbops.ddl_log l
	WHERE l.migration_version IS NULL AND l.acknowledged_at IS NULL
	ORDER BY l.id
$$;
COMMENT ON FUNCTION dbops.schema_drift() IS 'DDL made outside migrations and not acknowledged';
REVOKE ALL ON FUNCTION dbops.schema_drift() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION dbops.schema_drift() TO dbops_admin;

CREATE FUNCTION dbops_internal.acknowledge_drift_impl(caller oid, up_to bigint)
RETURNS bigint
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
AS $$
	WITH done AS (
		UPDATE dbops.ddl_log l
		SET acknowledged_at = pg_catalog.statement_timestamp(),
			acknowledged_by = (SELECT r.rolname FROM pg_catalog.pg_roles r WHERE r.oid = caller)
		WHERE l.migration_version IS NULL AND l.acknowledged_at IS NULL
		  AND (up_to IS NULL OR l.id <= up_to)
		RETURNING 1
	)
	SELECT count(*) FROM done
$$;

CREATE FUNCTION dbops.acknowledge_drift(up_to bigint DEFAULT NULL)
RETURNS bigint
AS 'MODULE_PATHNAME', 'dbops_metadata_as_owner'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION dbops.acknowledge_drift(bigint) IS 'accept the drift up to an id of schema_drift() (NULL: all of it); returns how many commands';
REVOKE ALL ON FUNCTION dbops.acknowledge_drift(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION dbops.acknowledge_drift(bigint) TO dbops_admin;

-- internals are for the extension owner only (their schema says so too)
REVOKE ALL ON FUNCTION dbops_internal.ddl_command_end(), dbops_internal.sql_drop(),
	dbops_internal.acknowledge_drift_impl(oid, bigint) FROM PUBLIC;
