/* dbops install script: metadata catalog (tracked tables, relationships, permissions) */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION dbops" to load this file. \quit

/*
 * The catalog.  Tables are named by schema and name (not OID), so that an
 * export from one cluster means the same on another; name columns sort in
 * the "C" collation, which makes exports deterministic.
 */
CREATE TABLE dbops.metadata_tables (
	table_schema name NOT NULL,
	table_name name NOT NULL,
	-- dbops_grantor holds the table's privileges and RLS is on (see prepare)
	prepared boolean NOT NULL DEFAULT false,
	-- relrowsecurity before dbops enabled it, restored on untrack and reset
	rls_before boolean,
	-- the entry's keys that dbops keeps but does not enforce (metadata_keys.c),
	-- put back by the export
	extra jsonb,
	PRIMARY KEY (table_schema, table_name)
);
COMMENT ON TABLE dbops.metadata_tables IS 'tables and views tracked by dbops metadata';

CREATE TABLE dbops.metadata_relationships (
	table_schema name NOT NULL,
	table_name name NOT NULL,
	rel_name text NOT NULL,
	rel_type text NOT NULL CHECK (rel_type IN ('object', 'array')),
	rel_using jsonb NOT NULL,
	extra jsonb,				-- kept, not enforced ("comment")
	PRIMARY KEY (table_schema, table_name, rel_name)
);
COMMENT ON TABLE dbops.metadata_relationships IS 'object and array relationships of tracked tables';

CREATE TABLE dbops.metadata_permissions (
	table_schema name NOT NULL,
	table_name name NOT NULL,
	role_name name NOT NULL,
	action text NOT NULL CHECK (action IN ('select', 'insert', 'update', 'delete')),
	columns name[],				-- sorted; NULL means every column
	-- each condition is kept as given: SQL text, or a Hasura expression in
	-- its normal form ({} for none, null as Hasura's null); both NULL only
	-- for an update's check that was left out
	filter text,
	"check" text,
	filter_hasura jsonb,
	check_hasura jsonb,
	presets jsonb,				-- insert and update "set": a check, never a default
	-- keys kept but not enforced (the entry's, and under "permission" the
	-- body's), put back by the export
	extra jsonb,
	CHECK (filter IS NULL OR filter_hasura IS NULL),
	CHECK ("check" IS NULL OR check_hasura IS NULL),
	PRIMARY KEY (table_schema, table_name, role_name, action)
);
COMMENT ON TABLE dbops.metadata_permissions IS 'per-role permissions of tracked tables';

/*
 * What dbops created, so that changing or dropping a permission, untrack and
 * reset remove exactly that: per enforced permission, the privilege granted
 * by dbops_grantor to the role and the policy (none on views).  An import
 * compares it with the document (24_metadata_plan.sql).
 */
CREATE TABLE dbops.metadata_created (
	table_schema name NOT NULL,
	table_name name NOT NULL,
	role_name name NOT NULL,
	action text NOT NULL,
	policy_name name,
	-- functions generated for its relationship filters (their signatures)
	functions text[],
	-- what it was made from, so that an import changes only what differs
	-- (metadata_fingerprints): the permission and its table's columns, the
	-- relationships its filters read through (NULL: none); and the policy
	-- row as made (NULL: a view), which ALTER POLICY replaces
	fingerprint text,
	relationships_digest text,
	policy_oid oid,
	policy_xmin xid,
	PRIMARY KEY (table_schema, table_name, role_name, action)
);
COMMENT ON TABLE dbops.metadata_created IS 'grants, policies and functions created by dbops for its permissions';

-- schemas on which dbops granted USAGE to dbops_grantor
CREATE TABLE dbops.metadata_schemas (
	schema_name name PRIMARY KEY
);
COMMENT ON TABLE dbops.metadata_schemas IS 'schemas where dbops gave dbops_grantor USAGE';

-- a document's own keys that dbops keeps but does not enforce
CREATE TABLE dbops.metadata_extras (
	key text PRIMARY KEY,
	value jsonb NOT NULL
);
COMMENT ON TABLE dbops.metadata_extras IS 'keys of the imported document kept and exported back (actions, remote_schemas...)';

-- restrictive keys the last import accepted unenforced (accept_unenforced)
CREATE TABLE dbops.metadata_accepted (
	key text PRIMARY KEY
);
COMMENT ON TABLE dbops.metadata_accepted IS 'restrictive keys whose permissions are enforced without them';

SELECT pg_catalog.pg_extension_config_dump('dbops.metadata_tables', '');
SELECT pg_catalog.pg_extension_config_dump('dbops.metadata_extras', '');
SELECT pg_catalog.pg_extension_config_dump('dbops.metadata_accepted', '');
SELECT pg_catalog.pg_extension_config_dump('dbops.metadata_relationships', '');
SELECT pg_catalog.pg_extension_config_dump('dbops.metadata_permissions', '');
SELECT pg_catalog.pg_extension_config_dump('dbops.metadata_created', '');
SELECT pg_catalog.pg_extension_config_dump('dbops.metadata_schemas', '');

-- Administrators read the catalog; only dbops's functions write it.
REVOKE ALL ON dbops.metadata_tables, dbops.metadata_relationships,
	dbops.metadata_permissions, dbops.metadata_created, dbops.metadata_schemas,
	dbops.metadata_extras, dbops.metadata_accepted
	FROM PUBLIC;
GRANT SELECT ON dbops.metadata_tables, dbops.metadata_relationships,
	dbops.metadata_permissions, dbops.metadata_created, dbops.metadata_schemas,
	dbops.metadata_extras, dbops.metadata_accepted
	TO dbops_admin;
