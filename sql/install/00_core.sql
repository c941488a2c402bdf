/* dbops install script: core objects shared by every feature */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION dbops" to load this file. \quit

/*
 * dbops_admin is the role that may call dbops functions; dbops_grantor makes
 * the grants that metadata materialises, so that the grantor column of an
 * aclitem tells dbops's grants from hand-made ones.  Roles are cluster-wide
 * and may already exist from another database, so create them only if absent.
 */
DO $roles$
BEGIN
	IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'dbops_admin') THEN
		CREATE ROLE dbops_admin NOLOGIN;
	END IF;
	IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'dbops_grantor') THEN
		CREATE ROLE dbops_grantor NOLOGIN;
	END IF;
END
$roles$;

GRANT USAGE ON SCHEMA dbops TO dbops_admin;

/*
 * Internal functions and types live in a schema of their own, which no role
 * but the extension owner may use: they run with the owner's rights and are
 * not an interface.  Every function in either schema pins its search_path
 * to "pg_catalog, pg_temp" (pg_temp last, so that a caller's temporary view
 * or type cannot stand in for a catalog one) and names dbops's own objects
 * with their schema.
 */
CREATE SCHEMA dbops_internal;
REVOKE ALL ON SCHEMA dbops_internal FROM PUBLIC;
COMMENT ON SCHEMA dbops_internal IS 'dbops internals: usable by the extension owner only';

/*
 * Every function below is revoked from PUBLIC and granted to dbops_admin
 * one by one (test sql/privileges.sql checks that none is left over).
 */
CREATE FUNCTION dbops.version()
RETURNS text
AS 'MODULE_PATHNAME', 'dbops_version'
LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION dbops.version() IS 'version of the loaded dbops library';
REVOKE ALL ON FUNCTION dbops.version() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION dbops.version() TO dbops_admin;
