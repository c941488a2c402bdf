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
 * Every function below is revoked from PUBLIC and granted to dbops_admin
 * one by one (test sql/privileges.sql checks that none is left over).
 */
CREATE FUNCTION dbops.version()
RETURNS text
AS 'MODULE_PATHNAME', 'dbops_version'
LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION dbops.version() IS 'version of the loaded dbops library';
REVOKE ALL ON FUNCTION dbops.version() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION dbops.version() TO dbops_admin;
