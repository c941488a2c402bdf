/* dbops install script: storing metadata and enforcing it as grants and policies */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION dbops" to load this file. \quit

/*
 * C helpers (src/metadata_materialise.c): the statements are built as parse
 * trees, the GRANT made as dbops_grantor.
 */
CREATE FUNCTION dbops_internal.metadata_grant(rel regclass, privilege text, columns name[],
											  grantee name, is_grant boolean)
RETURNS void
AS 'MODULE_PATHNAME', 'dbops_metadata_grant'
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION dbops_internal.metadata_grant(regclass, text, name[], name, boolean) IS 'grant or revoke a privilege as dbops_grantor (columns NULL: the whole table)';

CREATE FUNCTION dbops_internal.metadata_create_policy(rel regclass, policy name,
	perm dbops.metadata_permissions, relationships jsonb)
RETURNS text[]
AS 'MODULE_PATHNAME', 'dbops_metadata_create_policy'
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION dbops_internal.metadata_create_policy(regclass, name, dbops.metadata_permissions, jsonb) IS 'create the policy of a permission; returns the functions generated for its relationship filters';

/*
 * Materialisation.  "prepare" readies a tracked table: dbops_grantor gets
 * the four privileges WITH GRANT OPTION from the owner (and USAGE on the
 * schema, which GRANT needs to find the table), and RLS is enabled on
 * tables.  "enforce" turns one permission into a grant and a policy.
 */
CREATE FUNCTION dbops_internal.metadata_prepare(s name, t name)
RETURNS void
LANGUAGE plpgsql STRICT
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	rls boolean;
BEGIN
	IF NOT has_schema_privilege('dbops_grantor', s::text, 'USAGE') THEN
		EXECUTE format('GRANT USAGE ON SCHEMA %I TO dbops_grantor', s);
		INSERT INTO dbops.metadata_schemas VALUES (s);
	END IF;
	EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I.%I TO dbops_grantor WITH GRANT OPTION', s, t);
	SELECT CASE WHEN relkind = 'v' THEN NULL ELSE relrowsecurity END INTO rls
	FROM pg_catalog.pg_class WHERE oid = to_regclass(format('%I.%I', s, t));
	IF rls = false THEN
		EXECUTE format('ALTER TABLE %I.%I ENABLE ROW LEVEL SECURITY', s, t);
	END IF;
	-- preparing again (something was undone by hand) keeps the first state
	UPDATE dbops.metadata_tables SET rls_before = CASE WHEN prepared THEN rls_before ELSE rls END,
		prepared = true
	WHERE table_schema = s AND table_name = t;
END
$$;

CREATE FUNCTION dbops_internal.metadata_unprepare(s name, t name)
RETURNS void
LANGUAGE plpgsql STRICT
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	tbl dbops.metadata_tables;
BEGIN
	SELECT * INTO tbl FROM dbops.metadata_tables WHERE table_schema = s AND table_name = t;
	IF tbl.prepared IS NOT TRUE THEN
		RETURN;
	END IF;
	IF to_regclass(format('%I.%I', s, t)) IS NOT NULL THEN
		EXECUTE format('REVOKE SELECT, INSERT, UPDATE, DELETE ON %I.%I FROM dbops_grantor CASCADE', s, t);
		IF tbl.rls_before = false THEN
			EXECUTE format('ALTER TABLE %I.%I DISABLE ROW LEVEL SECURITY', s, t);
		END IF;
	END IF;
	UPDATE dbops.metadata_tables SET prepared = false, rls_before = NULL
	WHERE table_schema = s AND table_name = t;
	IF EXISTS (SELECT FROM dbops.metadata_schemas WHERE schema_name = s)
		AND NOT EXISTS (SELECT FROM dbops.metadata_tables WHERE table_schema = s AND prepared) THEN
		IF EXISTS (SELECT FROM pg_catalog.pg_namespace WHERE nspname = s) THEN
			EXECUTE format('REVOKE USAGE ON SCHEMA %I FROM dbops_grantor', s);
		END IF;
		DELETE FROM dbops.metadata_schemas WHERE schema_name = s;
	END IF;
END
$$;

/*
 * relationships: the map of metadata_relationship_map(), which the
 * conditions' relationship filters read, and its digest (recorded when a
 * filter reads through it); fingerprint: see metadata_fingerprints.
 */
CREATE FUNCTION dbops_internal.metadata_enforce(p dbops.metadata_permissions, relid oid, is_view boolean,
	relationships jsonb, relationships_digest text, fingerprint text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	pol name;
	functions text[];
	pol_oid oid;
	pol_xmin xid;
BEGIN
	IF p IS NULL OR relid IS NULL OR is_view IS NULL OR relationships IS NULL THEN
		RAISE EXCEPTION USING ERRCODE = 'null_value_not_allowed',
			MESSAGE = 'permission, table, kind of table and relationships must not be null';
	END IF;
	-- no column ("columns": []) is no privilege to grant
	IF p.action = 'delete' OR p.columns IS NULL OR cardinality(p.columns) > 0 THEN
		PERFORM dbops_internal.metadata_grant(relid, p.action,
			CASE WHEN p.action <> 'delete' THEN p.columns END, p.role_name, true);
	END IF;
	IF NOT is_view THEN
		-- no condition means every row: with RLS on, a role without a policy sees none
		pol := dbops_internal.metadata_policy_name(p.action, p.role_name);
		functions := dbops_internal.metadata_create_policy(relid, pol, p, relationships);
		SELECT pp.oid, pp.xmin INTO pol_oid, pol_xmin FROM pg_catalog.pg_policy pp
		WHERE pp.polrelid = relid AND pp.polname = pol;
	END IF;
	INSERT INTO dbops.metadata_created
	VALUES (p.table_schema, p.table_name, p.role_name, p.action, pol, functions, fingerprint,
			CASE WHEN cardinality(functions) > 0 THEN relationships_digest END, pol_oid, pol_xmin);
END
$$;

/*
 * What an enforced permission is compared by: the permission as stored
 * and its table's kind and columns (a policy binds columns by number: a
 * renamed or re-added column makes it stale), for an array of permissions
 * at once (each table's columns are read once).
 */
CREATE FUNCTION dbops_internal.metadata_fingerprints(perms dbops.metadata_permissions[])
RETURNS TABLE (table_schema name, table_name name, role_name name, action text, fingerprint text)
LANGUAGE sql STABLE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
	WITH p AS (
		SELECT * FROM unnest(perms)
	), rels AS (
		SELECT DISTINCT p.table_schema, p.table_name,
			to_regclass(format('%I.%I', p.table_schema, p.table_name)) AS relid
		FROM p
	), tables AS (
		SELECT r.table_schema, r.table_name,
			(SELECT c.relkind::text FROM pg_catalog.pg_class c WHERE c.oid = r.relid) || ' ' ||
			(SELECT string_agg(a.attnum || ' ' || a.atttypid || ' ' || a.attname, ',' ORDER BY a.attnum)
			 FROM pg_catalog.pg_attribute a
			 WHERE a.attrelid = r.relid AND a.attnum > 0 AND NOT a.attisdropped) AS digest
		FROM rels r
	)
	SELECT p.table_schema, p.table_name, p.role_name, p.action,
		md5(jsonb_build_array(p.columns, p.filter, p."check", p.filter_hasura, p.check_hasura,
							  p.presets, t.digest)::text)
	FROM p JOIN tables t USING (table_schema, table_name)
$$;

/*
 * Undo what dbops created for one permission.  A REVOKE as dbops_grantor
 * only ever removes dbops_grantor's own grants; both steps skip what is
 * gone already (dropped table, column, role or policy).
 */
CREATE FUNCTION dbops_internal.metadata_unenforce(s name, t name, role name, act text)
RETURNS void
LANGUAGE plpgsql STRICT
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	made dbops.metadata_created;
	relid oid := to_regclass(format('%I.%I', s, t));
BEGIN
	DELETE FROM dbops.metadata_created c
	WHERE c.table_schema = s AND c.table_name = t AND c.role_name = role AND c.action = act
	RETURNING * INTO made;
	IF made IS NULL THEN
		RETURN;
	END IF;
	IF relid IS NULL THEN
		PERFORM dbops_internal.metadata_drop_function(f)
		FROM unnest(made.functions) WITH ORDINALITY u(f, i) ORDER BY i DESC;
		RETURN;
	END IF;
	IF EXISTS (
		SELECT FROM (SELECT relacl AS acl FROM pg_catalog.pg_class WHERE oid = relid
					 UNION ALL
					 SELECT attacl FROM pg_catalog.pg_attribute WHERE attrelid = relid) o,
			LATERAL aclexplode(o.acl) a
		WHERE a.grantor = 'dbops_grantor'::regrole
		  AND a.grantee = (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = role)
		  AND a.privilege_type = upper(act)) THEN
		PERFORM dbops_internal.metadata_grant(relid, act, NULL, role, false);
	END IF;
	IF EXISTS (SELECT FROM pg_catalog.pg_policy
			   WHERE polrelid = relid AND polname = made.policy_name) THEN
		EXECUTE format('DROP POLICY %I ON %I.%I', made.policy_name, s, t);
	END IF;
	-- the functions its relationship filters read through (signatures,
	-- written by format_procedure_qualified), the last made first: an outer
	-- relationship's function calls the inner one's
	PERFORM dbops_internal.metadata_drop_function(f)
	FROM unnest(made.functions) WITH ORDINALITY u(f, i) ORDER BY i DESC;
END
$$;

-- drop a function dbops generated, by its signature, if it still exists
CREATE FUNCTION dbops_internal.metadata_drop_function(signature text)
RETURNS void
LANGUAGE plpgsql STRICT
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF to_regprocedure(signature) IS NOT NULL
		AND (SELECT pronamespace FROM pg_catalog.pg_proc WHERE oid = to_regprocedure(signature))
			= 'dbops_internal'::regnamespace THEN
		EXECUTE format('DROP FUNCTION %s', to_regprocedure(signature));
	END IF;
END
$$;

-- remove everything dbops created on a table (its catalog rows stay)
CREATE FUNCTION dbops_internal.metadata_unenforce_table(s name, t name)
RETURNS void
LANGUAGE sql STRICT
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT dbops_internal.metadata_unenforce(c.table_schema, c.table_name, c.role_name, c.action)
	FROM dbops.metadata_created c WHERE c.table_schema = s AND c.table_name = t;
	SELECT dbops_internal.metadata_unprepare(s, t);
$$;
