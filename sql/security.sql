--
-- Security: what runs as whom.  A member of dbops_admin tries to become
-- superuser through every path that runs with the extension owner's
-- rights; internals are out of reach; stored SQL runs as its supplier.
--
\set SHOW_CONTEXT never
SELECT current_user AS superuser \gset
CREATE ROLE regress_sec_mallory LOGIN IN ROLE dbops_admin;
CREATE ROLE regress_sec_reader;
GRANT CREATE ON SCHEMA public TO regress_sec_mallory;

-- What mallory would run as the owner: make herself superuser.
CREATE FUNCTION public.sec_escalate() RETURNS oid
LANGUAGE plpgsql AS $$
BEGIN
	BEGIN
		ALTER ROLE regress_sec_mallory SUPERUSER;
	EXCEPTION WHEN OTHERS THEN
		NULL;
	END;
	RETURN 0;
END
$$;
CREATE FUNCTION public.sec_is_superuser() RETURNS boolean
LANGUAGE sql SET search_path = pg_catalog, pg_temp
AS $$ SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = 'regress_sec_mallory' $$;

-- In a session of her own (temporary objects belong to the session), mallory
-- creates temporary objects named like catalog ones, which an owner's
-- function with pg_temp searched first would use, and calls every entry
-- point that runs with the owner's rights.
\c - regress_sec_mallory
\set SHOW_CONTEXT never
CREATE TABLE public.sec_parent (id int PRIMARY KEY);
CREATE TABLE public.sec_t (id int PRIMARY KEY, parent int REFERENCES public.sec_parent, owner_name text);
CREATE TEMP VIEW pg_class AS SELECT c.*, public.sec_escalate() AS x FROM pg_catalog.pg_class c;
CREATE TEMP VIEW pg_namespace AS SELECT n.*, public.sec_escalate() AS x FROM pg_catalog.pg_namespace n;
CREATE TEMP VIEW pg_attribute AS SELECT a.attrelid, a.attname, a.attnum, a.atttypid, a.attisdropped,
	a.attacl, public.sec_escalate() AS x FROM pg_catalog.pg_attribute a;
CREATE TEMP VIEW pg_roles AS SELECT r.*, public.sec_escalate() AS x FROM pg_catalog.pg_roles r;
CREATE TEMP VIEW pg_policy AS SELECT p.*, public.sec_escalate() AS x FROM pg_catalog.pg_policy p;
CREATE TEMP VIEW pg_constraint AS SELECT c.*, public.sec_escalate() AS x FROM pg_catalog.pg_constraint c;
CREATE DOMAIN pg_temp.jsonb AS pg_catalog.jsonb CHECK (public.sec_escalate() IS NOT NULL);
CREATE DOMAIN pg_temp.text AS pg_catalog.text CHECK (public.sec_escalate() IS NOT NULL);
CREATE DOMAIN pg_temp.name AS pg_catalog.name CHECK (public.sec_escalate() IS NOT NULL);
CREATE TEMP TABLE metadata_tables (table_schema name, table_name name);
SELECT dbops.track_table('public.sec_t');
SELECT dbops.track_table('public.sec_parent');
SELECT dbops.create_permission('public.sec_t', 'regress_sec_reader', 'select', '{id}', 'id > 0');
SELECT dbops.create_object_relationship('public.sec_t', 'parent', '{"foreign_key_constraint_on": "parent"}');
SELECT dbops.create_array_relationship('public.sec_parent', 'children',
	'{"foreign_key_constraint_on": {"table": {"schema": "public", "name": "sec_t"}, "column": "parent"}}');
SELECT dbops.create_object_relationship('public.sec_t', 'manual',
	'{"manual_configuration": {"remote_table": "sec_parent", "column_mapping": {"parent": "id"}}}');
SELECT dbops.drop_relationship('public.sec_t', 'manual');
SELECT dbops.import_metadata(dbops.export_metadata());
SELECT dbops.import_metadata('{"version": 2, "tables": [{"table": "sec_t", "select_permissions": [
	{"role": "regress_sec_reader", "permission": {"columns": "*", "filter": {"id": {"_eq": 1}}}}]}]}');
SELECT jsonb_array_length(dbops.reload_metadata());
SELECT count(*) FROM dbops.inconsistent_metadata();
SELECT dbops.drop_permission('public.sec_t', 'regress_sec_reader', 'select');
SELECT dbops.untrack_table('public.sec_t');
SELECT dbops.reset_metadata();
SELECT version, action FROM dbops.apply_migrations('[{"version": "1", "up": "SELECT 1", "down": "SELECT 1"}]'::jsonb);
SELECT version, state FROM dbops.migration_status('[{"version": "1", "up": "SELECT 1"}]'::jsonb);
SELECT version, action FROM dbops.repair_migrations('[{"version": "1", "up": "SELECT 1", "down": "SELECT 2"}]'::jsonb);
SELECT version, action FROM dbops.rollback_migrations();
SELECT version, action FROM dbops.baseline('[{"version": "1", "up": "SELECT 1", "down": "SELECT 1"}]'::jsonb, '1');
SELECT version, action FROM dbops.rollback_migrations();
-- A filter may not name a temporary object: the policy would vanish with it.
CREATE FUNCTION pg_temp.sec_f(int) RETURNS boolean LANGUAGE sql AS 'SELECT true';
SELECT dbops.track_table('public.sec_t');
SELECT dbops.create_permission('public.sec_t', 'regress_sec_reader', 'select', '{id}', 'pg_temp.sec_f(id)');
SELECT dbops.create_permission('public.sec_t', 'regress_sec_reader', 'select', '{id}',
	$$'pg_temp.metadata_tables'::regclass IS NOT NULL$$);
SELECT dbops.create_permission('public.sec_t', 'regress_sec_reader', 'select', '{id}',
	$$EXISTS (SELECT FROM pg_temp.metadata_tables)$$);
SELECT dbops.create_permission('public.sec_t', 'regress_sec_reader', 'select', '{id}',
	$$owner_name::pg_temp.text IS NOT NULL$$);
SELECT count(*) AS policies FROM pg_catalog.pg_policies WHERE tablename = 'sec_t';
SELECT dbops.reset_metadata();
\c - :superuser
\set SHOW_CONTEXT never
SELECT public.sec_is_superuser() AS mallory_became_superuser;

-- Internals are not API: their schema is the owner's alone.
SET ROLE regress_sec_mallory;
SELECT dbops_internal.metadata_policy_name('select', 'x');
SELECT dbops_internal.track_table_impl(10, 'public.sec_t');
RESET ROLE;
SELECT has_schema_privilege('dbops_admin', 'dbops_internal', 'USAGE') AS admin_uses_internal,
       has_schema_privilege('public', 'dbops_internal', 'USAGE') AS public_uses_internal;
SELECT p.oid::regprocedure AS internal_executable_by_others
FROM pg_proc p
WHERE p.pronamespace = 'dbops_internal'::regnamespace
  AND (p.proacl IS NULL OR EXISTS (SELECT FROM aclexplode(p.proacl) a
                                   WHERE a.grantee <> p.proowner))
ORDER BY 1;

-- Every function pins search_path, but for the C entry points that run the
-- caller's SQL (migrations) or switch identity themselves (metadata).
SELECT p.oid::regprocedure AS does_not_pin_search_path
FROM pg_proc p
WHERE p.pronamespace IN ('dbops'::regnamespace, 'dbops_internal'::regnamespace)
  AND NOT coalesce('search_path=pg_catalog, pg_temp' = ANY (p.proconfig), false)
ORDER BY 1;

-- A superuser who calls an internal function with a hostile search_path
-- still gets pg_catalog's functions and operators.
CREATE FUNCTION public.sec_concat(text, text) RETURNS text LANGUAGE sql AS $$ SELECT 'hijacked' $$;
CREATE OPERATOR public.|| (LEFTARG = text, RIGHTARG = text, FUNCTION = public.sec_concat);
CREATE FUNCTION public.md5(text) RETURNS text LANGUAGE sql AS $$ SELECT 'hijacked' $$;
SET search_path = public, pg_catalog;
SELECT dbops_internal.metadata_policy_name('select', 'x') AS policy_name;
SELECT dbops_internal.metadata_problems_json(ARRAY[ROW('error', '$', 't', 'n', NULL, NULL, NULL, NULL, 'r')::dbops_internal.metadata_problem]) AS problems;
RESET search_path;
DROP OPERATOR public.|| (text, text);
DROP FUNCTION public.sec_concat(text, text), public.md5(text);

-- Stored down SQL runs as the role that supplied it, and only for its
-- members.  A superuser applies a migration; mallory may not roll it back.
-- (Suppliers below are the superuser, whose name depends on the installation.)
\set VERBOSITY terse
SELECT version, action FROM dbops.apply_migrations('[{"version": "10", "name": "su",
	"up": "CREATE TABLE sec_su (id int)", "down": "DROP TABLE sec_su"}]'::jsonb);
SELECT version, supplier_name = :'superuser' AS supplied_by_superuser
FROM dbops.schema_migrations WHERE version = '10';
SET ROLE regress_sec_mallory;
SELECT * FROM dbops.rollback_migrations();
-- She repairs it with down SQL of her own: she becomes its supplier.
SELECT version, action FROM dbops.repair_migrations('[{"version": "10", "name": "su",
	"up": "CREATE TABLE sec_su (id int)",
	"down": "ALTER ROLE regress_sec_mallory SUPERUSER; DROP TABLE sec_su"}]'::jsonb);
RESET ROLE;
SELECT version, supplier_name FROM dbops.schema_migrations WHERE version = '10';
-- The superuser's rollback runs her SQL with her rights, which fail.
SELECT * FROM dbops.rollback_migrations();
SELECT public.sec_is_superuser() AS mallory_became_superuser, to_regclass('sec_su') AS still_there;
-- Nor can stored SQL climb back to the caller's role.
SET ROLE regress_sec_mallory;
SELECT version, action FROM dbops.repair_migrations('[{"version": "10", "name": "su",
	"up": "CREATE TABLE sec_su (id int)",
	"down": "RESET ROLE; ALTER ROLE regress_sec_mallory SUPERUSER"}]'::jsonb);
RESET ROLE;
SELECT * FROM dbops.rollback_migrations();
SET ROLE regress_sec_mallory;
SELECT version, action FROM dbops.repair_migrations('[{"version": "10", "name": "su",
	"up": "CREATE TABLE sec_su (id int)",
	"down": "SET ROLE NONE; ALTER ROLE regress_sec_mallory SUPERUSER"}]'::jsonb);
RESET ROLE;
SELECT * FROM dbops.rollback_migrations();
SELECT public.sec_is_superuser() AS mallory_became_superuser;
-- Baseline plants SQL the same way, and it runs as its supplier too.
SET ROLE regress_sec_mallory;
SELECT version, action FROM dbops.baseline('[{"version": "11", "name": "planted", "up": "SELECT 1",
	"down": "ALTER ROLE regress_sec_mallory SUPERUSER"}]'::jsonb, '11');
RESET ROLE;
SELECT * FROM dbops.rollback_migrations();
SELECT public.sec_is_superuser() AS mallory_became_superuser;
-- A dropped supplier: rollback refuses, a repair supplies the SQL again.
\set VERBOSITY default
CREATE ROLE regress_sec_gone IN ROLE dbops_admin;
GRANT regress_sec_gone TO regress_sec_mallory;
SET ROLE regress_sec_gone;
SELECT version, action FROM dbops.repair_migrations('[{"version": "10", "name": "su",
	"up": "CREATE TABLE sec_su (id int)", "down": "SELECT 1"},
	{"version": "11", "name": "planted", "up": "SELECT 1", "down": "SELECT 11"}]'::jsonb);
RESET ROLE;
DROP ROLE regress_sec_gone;
SELECT * FROM dbops.rollback_migrations();
SET ROLE regress_sec_mallory;
SELECT version, action FROM dbops.repair_migrations('[{"version": "10", "name": "su",
	"up": "CREATE TABLE sec_su (id int)", "down": "SELECT 1"},
	{"version": "11", "name": "planted", "up": "SELECT 1", "down": "SELECT 11"}]'::jsonb);
SELECT version, action FROM dbops.rollback_migrations(steps => 2);
RESET ROLE;
DROP TABLE sec_su;

-- The migration lock is a table lock only migrators may hold.
SET ROLE regress_sec_mallory;
BEGIN;
LOCK TABLE dbops.migration_lock IN EXCLUSIVE MODE;
ROLLBACK;
RESET ROLE;

DROP TABLE public.sec_t, public.sec_parent;
DROP FUNCTION public.sec_escalate(), public.sec_is_superuser();
REVOKE CREATE ON SCHEMA public FROM regress_sec_mallory;
DROP ROLE regress_sec_mallory, regress_sec_reader;
