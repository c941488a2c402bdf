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
	PRIMARY KEY (table_schema, table_name)
);
COMMENT ON TABLE dbops.metadata_tables IS 'tables and views tracked by dbops metadata';

CREATE TABLE dbops.metadata_relationships (
	table_schema name NOT NULL,
	table_name name NOT NULL,
	rel_name text NOT NULL,
	rel_type text NOT NULL CHECK (rel_type IN ('object', 'array')),
	rel_using jsonb NOT NULL,
	PRIMARY KEY (table_schema, table_name, rel_name)
);
COMMENT ON TABLE dbops.metadata_relationships IS 'object and array relationships of tracked tables';

CREATE TABLE dbops.metadata_permissions (
	table_schema name NOT NULL,
	table_name name NOT NULL,
	role_name name NOT NULL,
	action text NOT NULL CHECK (action IN ('select', 'insert', 'update', 'delete')),
	columns name[],				-- sorted; NULL means every column
	filter text,				-- SQL boolean expression as written; NULL: all rows
	"check" text,				-- the same, for rows written by insert/update
	PRIMARY KEY (table_schema, table_name, role_name, action)
);
COMMENT ON TABLE dbops.metadata_permissions IS 'per-role permissions of tracked tables';

/*
 * What dbops created, so that changing or dropping a permission, untrack and
 * reset remove exactly that: per enforced permission, the privilege granted
 * by dbops_grantor to the role and the policy (none on views).
 */
CREATE TABLE dbops.metadata_created (
	table_schema name NOT NULL,
	table_name name NOT NULL,
	role_name name NOT NULL,
	action text NOT NULL,
	policy_name name,
	PRIMARY KEY (table_schema, table_name, role_name, action)
);
COMMENT ON TABLE dbops.metadata_created IS 'grants and policies created by dbops for its permissions';

-- schemas on which dbops granted USAGE to dbops_grantor
CREATE TABLE dbops.metadata_schemas (
	schema_name name PRIMARY KEY
);
COMMENT ON TABLE dbops.metadata_schemas IS 'schemas where dbops gave dbops_grantor USAGE';

SELECT pg_catalog.pg_extension_config_dump('dbops.metadata_tables', '');
SELECT pg_catalog.pg_extension_config_dump('dbops.metadata_relationships', '');
SELECT pg_catalog.pg_extension_config_dump('dbops.metadata_permissions', '');
SELECT pg_catalog.pg_extension_config_dump('dbops.metadata_created', '');
SELECT pg_catalog.pg_extension_config_dump('dbops.metadata_schemas', '');

-- Administrators read the catalog; only dbops's functions write it.
GRANT SELECT ON dbops.metadata_tables, dbops.metadata_relationships,
	dbops.metadata_permissions, dbops.metadata_created, dbops.metadata_schemas
	TO dbops_admin;

/*
 * C helpers (src/metadata_validate.c, src/metadata_materialise.c).  They are
 * internal: executable by the extension owner only.
 */
CREATE FUNCTION dbops.metadata_filter_error(rel regclass, filter text, what text)
RETURNS text
AS 'MODULE_PATHNAME', 'dbops_metadata_filter_error'
LANGUAGE C STRICT VOLATILE;
COMMENT ON FUNCTION dbops.metadata_filter_error(regclass, text, text) IS 'the error CREATE POLICY would raise for this filter, or NULL';
REVOKE ALL ON FUNCTION dbops.metadata_filter_error(regclass, text, text) FROM PUBLIC;

CREATE FUNCTION dbops.metadata_types_comparable(a regtype, b regtype)
RETURNS boolean
AS 'MODULE_PATHNAME', 'dbops_metadata_types_comparable'
LANGUAGE C STRICT STABLE;
COMMENT ON FUNCTION dbops.metadata_types_comparable(regtype, regtype) IS 'whether a = b resolves for these types';
REVOKE ALL ON FUNCTION dbops.metadata_types_comparable(regtype, regtype) FROM PUBLIC;

CREATE FUNCTION dbops.metadata_grant(rel regclass, privilege text, columns name[],
									 grantee name, is_grant boolean)
RETURNS void
AS 'MODULE_PATHNAME', 'dbops_metadata_grant'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION dbops.metadata_grant(regclass, text, name[], name, boolean) IS 'grant or revoke a privilege as dbops_grantor';
REVOKE ALL ON FUNCTION dbops.metadata_grant(regclass, text, name[], name, boolean) FROM PUBLIC;

CREATE FUNCTION dbops.metadata_create_policy(rel regclass, policy name, command text,
											 role name, using_filter text, check_filter text)
RETURNS void
AS 'MODULE_PATHNAME', 'dbops_metadata_create_policy'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION dbops.metadata_create_policy(regclass, name, text, name, text, text) IS 'create a policy from parsed filters';
REVOKE ALL ON FUNCTION dbops.metadata_create_policy(regclass, name, text, name, text, text) FROM PUBLIC;

/*
 * Small lookups.  The internal functions below rely on the search_path
 * pinned by the entry points (*_impl), which they are only called from.
 */
CREATE FUNCTION dbops.metadata_relid(s name, t name)
RETURNS oid
LANGUAGE sql STABLE
AS $$
	SELECT c.oid FROM pg_catalog.pg_class c
	JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
	WHERE n.nspname = s AND c.relname = t
$$;
REVOKE ALL ON FUNCTION dbops.metadata_relid(name, name) FROM PUBLIC;

-- the type of a live column, or NULL
CREATE FUNCTION dbops.metadata_column_type(relid oid, col text)
RETURNS oid
LANGUAGE sql STABLE
AS $$
	SELECT atttypid FROM pg_catalog.pg_attribute
	WHERE attrelid = relid AND attname = col AND attnum > 0 AND NOT attisdropped
$$;
REVOKE ALL ON FUNCTION dbops.metadata_column_type(oid, text) FROM PUBLIC;

-- a table reference: {"schema": s, "name": t}, or Hasura's bare "t" for public.t
CREATE FUNCTION dbops.metadata_table_ref(ref jsonb, OUT s name, OUT t name)
LANGUAGE sql IMMUTABLE
AS $$
	SELECT CASE
			WHEN jsonb_typeof(ref) = 'string' THEN 'public'
			WHEN jsonb_typeof(ref -> 'schema') = 'string'
				AND jsonb_typeof(ref -> 'name') = 'string'
				AND (SELECT count(*) FROM jsonb_object_keys(ref)) = 2 THEN ref ->> 'schema'
		END::name,
		CASE
			WHEN jsonb_typeof(ref) = 'string' THEN ref #>> '{}'
			WHEN jsonb_typeof(ref -> 'schema') = 'string'
				AND jsonb_typeof(ref -> 'name') = 'string'
				AND (SELECT count(*) FROM jsonb_object_keys(ref)) = 2 THEN ref ->> 'name'
		END::name
$$;
REVOKE ALL ON FUNCTION dbops.metadata_table_ref(jsonb) FROM PUBLIC;

-- a column list: "c" or ["c", ...] as text[], NULL when it is neither
CREATE FUNCTION dbops.metadata_name_list(v jsonb)
RETURNS text[]
LANGUAGE sql IMMUTABLE
AS $$
	SELECT CASE
		WHEN jsonb_typeof(v) = 'string' THEN ARRAY[v #>> '{}']
		WHEN jsonb_typeof(v) = 'array' AND jsonb_array_length(v) > 0
			AND NOT EXISTS (SELECT FROM jsonb_array_elements(v) e
							WHERE jsonb_typeof(e) <> 'string')
			THEN ARRAY(SELECT jsonb_array_elements_text(v))
	END
$$;
REVOKE ALL ON FUNCTION dbops.metadata_name_list(jsonb) FROM PUBLIC;

-- whether relid has a foreign key on exactly these columns (to refrelid, if given)
CREATE FUNCTION dbops.metadata_fk_exists(relid oid, cols text[], refrelid oid)
RETURNS boolean
LANGUAGE sql STABLE
AS $$
	SELECT EXISTS (
		SELECT FROM pg_catalog.pg_constraint c
		WHERE c.conrelid = relid AND c.contype = 'f'
		  AND (refrelid IS NULL OR c.confrelid = refrelid)
		  AND (SELECT array_agg(a.attname::text ORDER BY a.attname::text COLLATE "C")
			   FROM unnest(c.conkey) k
			   JOIN pg_catalog.pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k)
			= (SELECT array_agg(x ORDER BY x COLLATE "C") FROM unnest(cols) x))
$$;
REVOKE ALL ON FUNCTION dbops.metadata_fk_exists(oid, text[], oid) FROM PUBLIC;

-- policy names: dbops_<action>_<role>, or a hash of the role when too long
CREATE FUNCTION dbops.metadata_policy_name(action text, role name)
RETURNS name
LANGUAGE sql IMMUTABLE
AS $$
	SELECT CASE WHEN octet_length('dbops_' || action || '_' || role) < 64
		THEN 'dbops_' || action || '_' || role
		ELSE 'dbops_' || action || '_' || md5(role)
	END::name
$$;
REVOKE ALL ON FUNCTION dbops.metadata_policy_name(text, name) FROM PUBLIC;

/*
 * Validation.  Every check reports a problem instead of raising, so that an
 * import can list them all in one error:
 *   fatal    the document cannot be stored at all (shape, reserved role
 *            names, tables the caller may not manage);
 *   error    the entry is inconsistent with the database (missing table,
 *            column, role, constraint; a filter that does not type-check);
 *            stored only with allow_inconsistent, and never enforced;
 *   warning  stored and exported, but not enforced by PostgreSQL (a filter
 *            on a view).
 */
CREATE TYPE dbops.metadata_problem AS (
	severity text,
	path text,
	object_type text,
	object_name text,
	table_schema name,
	table_name name,
	entry_name text,			-- the role of a permission, the name of a relationship
	action text,				-- the action of a permission
	reason text
);

CREATE FUNCTION dbops.metadata_problem(severity text, path text, reason text,
	object_type text DEFAULT 'document', object_name text DEFAULT NULL,
	s name DEFAULT NULL, t name DEFAULT NULL,
	entry_name text DEFAULT NULL, action text DEFAULT NULL)
RETURNS dbops.metadata_problem
LANGUAGE sql IMMUTABLE
AS $$
	SELECT ROW(severity, path, object_type, object_name, s, t, entry_name, action, reason)::dbops.metadata_problem
$$;
REVOKE ALL ON FUNCTION dbops.metadata_problem(text, text, text, text, text, name, name, text, text) FROM PUBLIC;

-- keys of obj that are not in allowed, as fatal problems
CREATE FUNCTION dbops.metadata_key_problems(obj jsonb, path text, allowed text[])
RETURNS SETOF dbops.metadata_problem
LANGUAGE sql STABLE
AS $$
	SELECT dbops.metadata_problem('fatal', path || '.' || k,
		format('key "%s" is not recognized here', k))
	FROM jsonb_object_keys(obj) k
	WHERE k <> ALL (allowed)
	ORDER BY k COLLATE "C"
$$;
REVOKE ALL ON FUNCTION dbops.metadata_key_problems(jsonb, text, text[]) FROM PUBLIC;

CREATE FUNCTION dbops.metadata_relationship_problems(rel jsonb, path text, rel_type text,
	s name, t name, relid oid)
RETURNS SETOF dbops.metadata_problem
LANGUAGE plpgsql STABLE
AS $$
DECLARE
	otype text := rel_type || '_relationship';
	oname text;
	u jsonb;
	fk jsonb;
	mc jsonb;
	remote record;
	rrelid oid;
	cols text[];
	col text;
	mapping record;
	ltype oid;
	rtype oid;
BEGIN
	remote := dbops.metadata_table_ref(NULL);
	IF jsonb_typeof(rel) IS DISTINCT FROM 'object'
		OR jsonb_typeof(rel -> 'name') IS DISTINCT FROM 'string'
		OR jsonb_typeof(rel -> 'using') IS DISTINCT FROM 'object' THEN
		RETURN NEXT dbops.metadata_problem('fatal', path,
			'a relationship must be an object with a string "name" and an object "using"');
		RETURN;
	END IF;
	RETURN QUERY SELECT * FROM dbops.metadata_key_problems(rel, path, '{name,using}');
	oname := format('%I on %I.%I', rel ->> 'name', s, t);
	u := rel -> 'using';
	path := path || '.using';
	IF (SELECT count(*) FROM jsonb_object_keys(u)) <> 1
		OR NOT (u ? 'foreign_key_constraint_on' OR u ? 'manual_configuration') THEN
		RETURN NEXT dbops.metadata_problem('fatal', path,
			'"using" must hold exactly one of "foreign_key_constraint_on" and "manual_configuration"');
		RETURN;
	END IF;

	IF u ? 'foreign_key_constraint_on' AND rel_type = 'object' THEN
		-- a foreign key of this table, named by its columns
		path := path || '.foreign_key_constraint_on';
		cols := dbops.metadata_name_list(u -> 'foreign_key_constraint_on');
		IF cols IS NULL THEN
			RETURN NEXT dbops.metadata_problem('fatal', path,
				'must be a column name or an array of column names');
			RETURN;
		END IF;
		rrelid := relid;
		remote := dbops.metadata_table_ref(jsonb_build_object('schema', s, 'name', t));
	ELSIF u ? 'foreign_key_constraint_on' THEN
		-- a foreign key of the remote table that references this one
		path := path || '.foreign_key_constraint_on';
		fk := u -> 'foreign_key_constraint_on';
		IF jsonb_typeof(fk) = 'object' THEN
			remote := dbops.metadata_table_ref(fk -> 'table');
			cols := dbops.metadata_name_list(coalesce(fk -> 'columns', fk -> 'column'));
		END IF;
		IF jsonb_typeof(fk) IS DISTINCT FROM 'object' OR remote.s IS NULL OR cols IS NULL
			OR (SELECT count(*) FROM jsonb_object_keys(fk)) <> 2 THEN
			RETURN NEXT dbops.metadata_problem('fatal', path,
				'must be an object with a "table" and a "column" (or "columns")');
			RETURN;
		END IF;
		rrelid := dbops.metadata_relid(remote.s, remote.t);
	ELSE
		path := path || '.manual_configuration';
		mc := u -> 'manual_configuration';
		IF jsonb_typeof(mc) = 'object' THEN
			remote := dbops.metadata_table_ref(mc -> 'remote_table');
		END IF;
		IF jsonb_typeof(mc) IS DISTINCT FROM 'object' OR remote.s IS NULL
			OR jsonb_typeof(mc -> 'column_mapping') IS DISTINCT FROM 'object'
			OR mc -> 'column_mapping' = '{}'
			OR EXISTS (SELECT FROM jsonb_each(mc -> 'column_mapping') e
					   WHERE jsonb_typeof(e.value) <> 'string') THEN
			RETURN NEXT dbops.metadata_problem('fatal', path,
				'must be an object with a "remote_table" and a non-empty "column_mapping" of column names');
			RETURN;
		END IF;
		RETURN QUERY SELECT * FROM dbops.metadata_key_problems(mc, path, '{remote_table,column_mapping}');
		rrelid := dbops.metadata_relid(remote.s, remote.t);
	END IF;

	IF relid IS NULL THEN
		RETURN;					-- the table's own problem is reported already
	END IF;
	IF rrelid IS NULL THEN
		RETURN NEXT dbops.metadata_problem('error', path,
			format('table %I.%I does not exist', remote.s, remote.t),
			otype, oname, s, t, rel ->> 'name');
		RETURN;
	END IF;

	IF mc IS NULL THEN
		FOREACH col IN ARRAY cols LOOP
			IF dbops.metadata_column_type(rrelid, col) IS NULL THEN
				RETURN NEXT dbops.metadata_problem('error', path,
					format('column "%s" of table %I.%I does not exist', col, remote.s, remote.t),
					otype, oname, s, t, rel ->> 'name');
				RETURN;
			END IF;
		END LOOP;
		IF NOT dbops.metadata_fk_exists(rrelid, cols, CASE WHEN rel_type = 'array' THEN relid END) THEN
			RETURN NEXT dbops.metadata_problem('error', path,
				format('table %I.%I has no foreign key constraint on (%s)%s', remote.s, remote.t,
					array_to_string(cols, ', '),
					CASE WHEN rel_type = 'array' THEN format(' that references %I.%I', s, t) ELSE '' END),
				otype, oname, s, t, rel ->> 'name');
		END IF;
		RETURN;
	END IF;

	FOR mapping IN SELECT key, value #>> '{}' AS value FROM jsonb_each(mc -> 'column_mapping') ORDER BY key COLLATE "C" LOOP
		ltype := dbops.metadata_column_type(relid, mapping.key);
		rtype := dbops.metadata_column_type(rrelid, mapping.value);
		IF ltype IS NULL THEN
			RETURN NEXT dbops.metadata_problem('error', path || '.column_mapping',
				format('column "%s" of table %I.%I does not exist', mapping.key, s, t),
				otype, oname, s, t, rel ->> 'name');
		END IF;
		IF rtype IS NULL THEN
			RETURN NEXT dbops.metadata_problem('error', path || '.column_mapping',
				format('column "%s" of table %I.%I does not exist', mapping.value, remote.s, remote.t),
				otype, oname, s, t, rel ->> 'name');
		END IF;
		IF ltype IS NOT NULL AND rtype IS NOT NULL
			AND NOT dbops.metadata_types_comparable(ltype, rtype) THEN
			RETURN NEXT dbops.metadata_problem('error', path || '.column_mapping',
				format('columns "%s" (%s) and "%s" (%s) cannot be compared', mapping.key,
					format_type(ltype, NULL), mapping.value, format_type(rtype, NULL)),
				otype, oname, s, t, rel ->> 'name');
		END IF;
	END LOOP;
END
$$;
REVOKE ALL ON FUNCTION dbops.metadata_relationship_problems(jsonb, text, text, name, name, oid) FROM PUBLIC;

/*
 * Problems of every permission of a document's tables, found with a few
 * set-based queries rather than per entry (an import may hold thousands);
 * each distinct filter is type-checked once per table.  Ordered as in the
 * document.
 */
CREATE FUNCTION dbops.metadata_permission_problems(tables jsonb, role_map jsonb)
RETURNS SETOF dbops.metadata_problem
LANGUAGE sql VOLATILE
-- jsonb functions are estimated at 100 rows each, which would make this
-- tiny query look expensive enough to JIT-compile (seconds)
SET jit = off
AS $$
WITH t AS (
	SELECT x.ti - 1 AS ti, x.e AS entry, r.s, r.t, c.oid AS relid, c.relkind = 'v' AS is_view
	FROM jsonb_array_elements(tables) WITH ORDINALITY x(e, ti)
	CROSS JOIN LATERAL dbops.metadata_table_ref(CASE WHEN jsonb_typeof(x.e) = 'object' THEN x.e -> 'table' END) r
	LEFT JOIN pg_catalog.pg_class c
		ON c.oid = dbops.metadata_relid(r.s, r.t) AND c.relkind IN ('r', 'p', 'v')
	WHERE r.s IS NOT NULL
), p AS (
	SELECT t.ti, t.s, t.t, t.relid, t.is_view, a.action, a.ai, y.pi - 1 AS pi, y.pe AS perm,
		format('$.tables[%s].%s_permissions[%s]', t.ti, a.action, y.pi - 1) AS path,
		coalesce(role_map ->> (y.pe ->> 'role'), y.pe ->> 'role') AS role,
		jsonb_typeof(y.pe) = 'object' AND jsonb_typeof(y.pe -> 'role') = 'string'
			AND jsonb_typeof(y.pe -> 'permission') = 'object' AS well_formed
	FROM t
	CROSS JOIN unnest('{select,insert,update,delete}'::text[]) WITH ORDINALITY a(action, ai)
	CROSS JOIN LATERAL jsonb_array_elements(
		CASE WHEN jsonb_typeof(t.entry -> (a.action || '_permissions')) = 'array'
			THEN t.entry -> (a.action || '_permissions') ELSE '[]' END) WITH ORDINALITY y(pe, pi)
), ok AS (
	SELECT p.*, p.perm -> 'permission' AS body, p.action || '_permission' AS otype,
		format('%I on %I.%I', p.role, p.s, p.t) AS oname,
		CASE p.action WHEN 'select' THEN '{columns,filter}' WHEN 'insert' THEN '{columns,check}'
			WHEN 'update' THEN '{columns,filter,check}' ELSE '{filter}' END::text[] AS allowed,
		-- a well-formed column list: an array of strings
		jsonb_typeof(p.perm #> '{permission,columns}') = 'array'
			AND NOT EXISTS (SELECT FROM jsonb_array_elements(p.perm #> '{permission,columns}') e
							WHERE jsonb_typeof(e) <> 'string') AS cols_ok
	FROM p WHERE p.well_formed
), cols AS (
	SELECT ok.* FROM ok WHERE ok.cols_ok AND ok.action <> 'delete'
), filters AS (
	SELECT ok.*, k.k, k.n, ok.body -> k.k AS f
	FROM ok CROSS JOIN (VALUES ('filter', 7), ('check', 8)) k(k, n)
	WHERE ok.body ? k.k AND ok.body -> k.k <> '{}'	-- {}: Hasura's "no condition"
), filter_errors AS MATERIALIZED (
	SELECT d.relid, d.k, d.f, dbops.metadata_filter_error(d.relid, d.f, d.k) AS err
	FROM (SELECT DISTINCT relid, k, f #>> '{}' AS f FROM filters
		  WHERE relid IS NOT NULL AND jsonb_typeof(f) = 'string') d
), problems AS (
	SELECT ti, ai, pi, 0 AS n, dbops.metadata_problem('fatal', path,
		'a permission must be an object with a string "role" and an object "permission"') AS prob
	FROM p WHERE NOT well_formed
	UNION ALL
	SELECT ti, ai, pi, 1, dbops.metadata_problem('fatal', path || '.' || k,
		format('key "%s" is not recognized here', k))
	FROM ok, jsonb_object_keys(ok.perm) k WHERE k NOT IN ('role', 'permission')
	UNION ALL
	SELECT ti, ai, pi, 2, CASE WHEN role = 'public' OR role LIKE 'pg\_%'
		THEN dbops.metadata_problem('fatal', path || '.role', format('role name "%s" is reserved', role))
		ELSE dbops.metadata_problem('error', path || '.role', format('role "%s" does not exist', role),
			otype, oname, s, t, role, action) END
	FROM ok WHERE role = 'public' OR role LIKE 'pg\_%'
		OR NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = ok.role)
	UNION ALL
	SELECT ti, ai, pi, 3, dbops.metadata_problem('fatal', path || '.permission.' || k,
		format('key "%s" is not recognized here', k))
	FROM ok, jsonb_object_keys(ok.body) k WHERE k <> ALL (ok.allowed)
	UNION ALL
	SELECT ti, ai, pi, 4, dbops.metadata_problem('fatal', path || '.permission', 'key "columns" is missing')
	FROM ok WHERE action <> 'delete' AND NOT body ? 'columns'
	UNION ALL
	SELECT ti, ai, pi, 4, dbops.metadata_problem('fatal', path || '.permission.columns',
		'must be an array of column names or "*"')
	FROM ok WHERE action <> 'delete' AND body ? 'columns' AND body -> 'columns' <> '"*"' AND NOT cols_ok
	UNION ALL
	SELECT ti, ai, pi, 5, dbops.metadata_problem('fatal', path || '.permission.columns',
		format('column "%s" is listed twice', c))
	FROM cols, LATERAL (SELECT c FROM jsonb_array_elements_text(cols.body -> 'columns') c
						GROUP BY c HAVING count(*) > 1) d
	UNION ALL
	SELECT ti, ai, pi, 6, dbops.metadata_problem('error', path || '.permission.columns',
		format('column "%s" of table %I.%I does not exist', c, s, t), otype, oname, s, t, role, action)
	FROM cols, jsonb_array_elements_text(cols.body -> 'columns') c
	WHERE cols.relid IS NOT NULL AND dbops.metadata_column_type(cols.relid, c) IS NULL
	UNION ALL
	SELECT ti, ai, pi, n, dbops.metadata_problem('fatal', path || '.permission.' || k,
		'must be a SQL boolean expression written as a string, or a Hasura boolean expression over columns of the table (_and, _or, _not, _eq, _neq, _gt, _lt, _gte, _lte, _in, _nin, _is_null, _like, _nlike, _ilike, _nilike)')
	FROM filters WHERE jsonb_typeof(f) <> 'string'
	UNION ALL
	SELECT ti, ai, pi, n, dbops.metadata_problem('error', path || '.permission.' || filters.k, e.err,
		otype, oname, s, t, role, action)
	FROM filters JOIN filter_errors e
		ON e.relid = filters.relid AND e.k = filters.k AND e.f = filters.f #>> '{}'
	WHERE e.err IS NOT NULL
	UNION ALL
	SELECT ti, ai, pi, n + 2, dbops.metadata_problem('warning', path || '.permission.' || k,
		format('%s is not enforced by PostgreSQL on view %I.%I (no row-level security on views); enforce it on the base tables and read them through a security_invoker view',
			k, s, t), otype, oname, s, t, role, action)
	FROM filters WHERE is_view AND jsonb_typeof(f) = 'string'
	UNION ALL
	-- the policy dbops would create is taken by one it did not create
	SELECT ti, ai, pi, 10, dbops.metadata_problem('error', path || '.role',
		format('policy "%s" on table %I.%I exists and was not created by dbops', pol.polname, s, t),
		otype, oname, s, t, role, action)
	FROM ok JOIN pg_catalog.pg_policy pol
		ON pol.polrelid = ok.relid AND pol.polname = dbops.metadata_policy_name(ok.action, ok.role)
	WHERE NOT EXISTS (SELECT FROM dbops.metadata_created m
					  WHERE m.table_schema = ok.s AND m.table_name = ok.t AND m.policy_name = pol.polname)
	UNION ALL
	SELECT ti, ai, max(pi), 11, dbops.metadata_problem('fatal', format('$.tables[%s].%s_permissions', ti, action),
		format('role "%s" has more than one %s permission', role, action))
	FROM ok GROUP BY ti, ai, action, role HAVING count(*) > 1
)
SELECT (prob).* FROM problems ORDER BY ti, ai, pi, n
$$;
REVOKE ALL ON FUNCTION dbops.metadata_permission_problems(jsonb, jsonb) FROM PUBLIC;

/*
 * Problems of one table entry of a document, but for its permissions
 * (metadata_permission_problems).  caller NULL skips the ownership check
 * (re-checking what is stored).
 */
CREATE FUNCTION dbops.metadata_table_problems(entry jsonb, path text, caller oid)
RETURNS SETOF dbops.metadata_problem
LANGUAGE plpgsql STABLE
AS $$
DECLARE
	ref record;
	relid oid;
	cls record;
	kind text;
	arr jsonb;
	item record;
	dup text;
BEGIN
	IF jsonb_typeof(entry) IS DISTINCT FROM 'object' THEN
		RETURN NEXT dbops.metadata_problem('fatal', path, 'a table entry must be a JSON object');
		RETURN;
	END IF;
	RETURN QUERY SELECT * FROM dbops.metadata_key_problems(entry, path,
		'{table,object_relationships,array_relationships,select_permissions,insert_permissions,update_permissions,delete_permissions}');
	ref := dbops.metadata_table_ref(entry -> 'table');
	IF ref.s IS NULL THEN
		RETURN NEXT dbops.metadata_problem('fatal', path || '.table',
			'must be an object with string keys "schema" and "name"');
		RETURN;
	END IF;

	relid := dbops.metadata_relid(ref.s, ref.t);
	SELECT c.relkind, c.relowner INTO cls FROM pg_catalog.pg_class c WHERE c.oid = relid;
	IF relid IS NULL THEN
		RETURN NEXT dbops.metadata_problem('error', path || '.table',
			format('table %I.%I does not exist', ref.s, ref.t),
			'table', format('%I.%I', ref.s, ref.t), ref.s, ref.t);
	ELSIF cls.relkind NOT IN ('r', 'p', 'v') THEN
		RETURN NEXT dbops.metadata_problem('error', path || '.table',
			format('relation %I.%I is not a table or view', ref.s, ref.t),
			'table', format('%I.%I', ref.s, ref.t), ref.s, ref.t);
		relid := NULL;
	ELSIF caller IS NOT NULL AND NOT pg_catalog.pg_has_role(caller, cls.relowner, 'USAGE') THEN
		RETURN NEXT dbops.metadata_problem('fatal', path || '.table',
			format('must be owner of table %I.%I to manage its metadata', ref.s, ref.t));
	END IF;

	FOREACH kind IN ARRAY ARRAY['object', 'array'] LOOP
		arr := entry -> (kind || '_relationships');
		CONTINUE WHEN arr IS NULL;
		IF jsonb_typeof(arr) <> 'array' THEN
			RETURN NEXT dbops.metadata_problem('fatal', path || '.' || kind || '_relationships', 'must be an array');
			CONTINUE;
		END IF;
		FOR item IN SELECT e, i - 1 AS i FROM jsonb_array_elements(arr) WITH ORDINALITY x(e, i) LOOP
			RETURN QUERY SELECT * FROM dbops.metadata_relationship_problems(item.e,
				format('%s.%s_relationships[%s]', path, kind, item.i), kind, ref.s, ref.t, relid);
		END LOOP;
	END LOOP;
	FOR dup IN SELECT e ->> 'name' FROM jsonb_array_elements(
				CASE WHEN jsonb_typeof(entry -> 'object_relationships') = 'array' THEN entry -> 'object_relationships' ELSE '[]' END
				|| CASE WHEN jsonb_typeof(entry -> 'array_relationships') = 'array' THEN entry -> 'array_relationships' ELSE '[]' END) e
			WHERE jsonb_typeof(e -> 'name') = 'string'
			GROUP BY 1 HAVING count(*) > 1 LOOP
		RETURN NEXT dbops.metadata_problem('fatal', path,
			format('relationship name "%s" is used twice', dup));
	END LOOP;

	-- the permissions themselves: metadata_permission_problems()
	FOREACH kind IN ARRAY ARRAY['select', 'insert', 'update', 'delete'] LOOP
		IF jsonb_typeof(entry -> (kind || '_permissions')) <> 'array' THEN
			RETURN NEXT dbops.metadata_problem('fatal', path || '.' || kind || '_permissions', 'must be an array');
		END IF;
	END LOOP;
END
$$;
REVOKE ALL ON FUNCTION dbops.metadata_table_problems(jsonb, text, oid) FROM PUBLIC;

CREATE FUNCTION dbops.metadata_doc_problems(doc jsonb, caller oid, role_map jsonb)
RETURNS SETOF dbops.metadata_problem
LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
	tables jsonb;
	item record;
	dup record;
BEGIN
	IF jsonb_typeof(doc) IS DISTINCT FROM 'object' THEN
		RETURN NEXT dbops.metadata_problem('fatal', '$', 'a metadata document must be a JSON object');
		RETURN;
	END IF;
	RETURN QUERY SELECT * FROM dbops.metadata_key_problems(doc, '$', '{version,tables}');
	IF doc -> 'version' IS DISTINCT FROM '2' THEN
		RETURN NEXT dbops.metadata_problem('fatal', '$.version',
			format('version %s is not supported (only 2, the layout of Hasura''s metadata version 2)',
				coalesce((doc -> 'version')::text, 'missing')));
	END IF;
	IF role_map IS NOT NULL AND (jsonb_typeof(role_map) <> 'object'
		OR EXISTS (SELECT FROM jsonb_each(role_map) e WHERE jsonb_typeof(e.value) <> 'string')) THEN
		RETURN NEXT dbops.metadata_problem('fatal', 'role_map',
			'must be a JSON object mapping role names to role names');
		role_map := NULL;
	END IF;
	tables := coalesce(doc -> 'tables', '[]');
	IF jsonb_typeof(tables) <> 'array' THEN
		RETURN NEXT dbops.metadata_problem('fatal', '$.tables', 'must be an array');
		RETURN;
	END IF;
	FOR item IN SELECT e, i - 1 AS i FROM jsonb_array_elements(tables) WITH ORDINALITY x(e, i) LOOP
		RETURN QUERY SELECT * FROM dbops.metadata_table_problems(item.e,
			format('$.tables[%s]', item.i), caller);
	END LOOP;
	RETURN QUERY SELECT * FROM dbops.metadata_permission_problems(tables, role_map);
	FOR dup IN SELECT r.s, r.t FROM jsonb_array_elements(tables) e,
			LATERAL dbops.metadata_table_ref(e -> 'table') r
			WHERE r.s IS NOT NULL GROUP BY 1, 2 HAVING count(*) > 1 LOOP
		RETURN NEXT dbops.metadata_problem('fatal', '$.tables',
			format('table %I.%I is listed twice', dup.s, dup.t));
	END LOOP;
END
$$;
REVOKE ALL ON FUNCTION dbops.metadata_doc_problems(jsonb, oid, jsonb) FROM PUBLIC;

/*
 * Hasura's boolean expressions, read on import and translated to SQL, which
 * is then checked like any filter (and exported as SQL):
 *   {"_and": [...]}, {"_or": [...]}, {"_not": e},
 *   {"column": {"_eq": v, ...}} with _eq _neq _gt _lt _gte _lte _in _nin
 *   _is_null _like _nlike _ilike _nilike.
 * A value "X-Hasura-User-Id" (any case) is the session value
 * current_setting('hasura.user_id', true); values are cast to the column's
 * type.  NULL when the expression uses anything else (relationships,
 * column-to-column operators...), which validation then reports.
 */
CREATE FUNCTION dbops.metadata_hasura_value(v jsonb, coltype text)
RETURNS text
LANGUAGE sql IMMUTABLE
AS $$
	SELECT CASE
		WHEN jsonb_typeof(v) = 'string' AND lower(v #>> '{}') LIKE 'x-hasura-_%'
			THEN format('current_setting(%L, true)::%s',
						'hasura.' || replace(lower(substr(v #>> '{}', 10)), '-', '_'), coltype)
		WHEN jsonb_typeof(v) IN ('string', 'number', 'boolean')
			THEN format('%L::%s', v #>> '{}', coltype)
		WHEN jsonb_typeof(v) = 'null' THEN 'NULL'
	END
$$;
REVOKE ALL ON FUNCTION dbops.metadata_hasura_value(jsonb, text) FROM PUBLIC;

CREATE FUNCTION dbops.metadata_hasura_filter(e jsonb, relid oid)
RETURNS text
LANGUAGE plpgsql STABLE
AS $$
DECLARE
	parts text[] := '{}';
	subs text[];
	piece text;
	k text;
	v jsonb;
	op text;
	arg jsonb;
	coltype text;
	col text;
BEGIN
	IF jsonb_typeof(e) IS DISTINCT FROM 'object' THEN
		RETURN NULL;
	END IF;
	FOR k, v IN SELECT key, value FROM jsonb_each(e) ORDER BY key COLLATE "C" LOOP
		IF k IN ('_and', '_or') THEN
			IF jsonb_typeof(v) <> 'array' THEN
				RETURN NULL;
			END IF;
			subs := '{}';
			FOR arg IN SELECT jsonb_array_elements(v) LOOP
				piece := dbops.metadata_hasura_filter(arg, relid);
				IF piece IS NULL THEN
					RETURN NULL;
				END IF;
				subs := subs || ('(' || piece || ')');
			END LOOP;
			parts := parts || CASE
				WHEN cardinality(subs) = 0 THEN (k = '_and')::text
				ELSE array_to_string(subs, CASE k WHEN '_and' THEN ' AND ' ELSE ' OR ' END) END;
		ELSIF k = '_not' THEN
			piece := dbops.metadata_hasura_filter(v, relid);
			IF piece IS NULL THEN
				RETURN NULL;
			END IF;
			parts := parts || ('NOT (' || piece || ')');
		ELSE
			coltype := format_type(dbops.metadata_column_type(relid, k), NULL);
			IF coltype IS NULL OR jsonb_typeof(v) <> 'object' THEN
				RETURN NULL;		-- not a column: a relationship, _exists...
			END IF;
			col := quote_ident(k);
			FOR op, arg IN SELECT key, value FROM jsonb_each(v) ORDER BY key COLLATE "C" LOOP
				piece := CASE op
					WHEN '_eq' THEN col || ' = ' || dbops.metadata_hasura_value(arg, coltype)
					WHEN '_neq' THEN col || ' <> ' || dbops.metadata_hasura_value(arg, coltype)
					WHEN '_gt' THEN col || ' > ' || dbops.metadata_hasura_value(arg, coltype)
					WHEN '_lt' THEN col || ' < ' || dbops.metadata_hasura_value(arg, coltype)
					WHEN '_gte' THEN col || ' >= ' || dbops.metadata_hasura_value(arg, coltype)
					WHEN '_lte' THEN col || ' <= ' || dbops.metadata_hasura_value(arg, coltype)
					WHEN '_like' THEN col || ' LIKE ' || dbops.metadata_hasura_value(arg, coltype)
					WHEN '_nlike' THEN col || ' NOT LIKE ' || dbops.metadata_hasura_value(arg, coltype)
					WHEN '_ilike' THEN col || ' ILIKE ' || dbops.metadata_hasura_value(arg, coltype)
					WHEN '_nilike' THEN col || ' NOT ILIKE ' || dbops.metadata_hasura_value(arg, coltype)
					WHEN '_is_null' THEN col || CASE arg WHEN 'true' THEN ' IS NULL'
													 WHEN 'false' THEN ' IS NOT NULL' END
					WHEN '_in' THEN col || ' = ANY (ARRAY[' || (SELECT coalesce(string_agg(dbops.metadata_hasura_value(x, coltype), ', '), '')
						FROM jsonb_array_elements(CASE WHEN jsonb_typeof(arg) = 'array' THEN arg END) x) || ']::' || coltype || '[])'
					WHEN '_nin' THEN col || ' <> ALL (ARRAY[' || (SELECT coalesce(string_agg(dbops.metadata_hasura_value(x, coltype), ', '), '')
						FROM jsonb_array_elements(CASE WHEN jsonb_typeof(arg) = 'array' THEN arg END) x) || ']::' || coltype || '[])'
				END;
				IF piece IS NULL THEN
					RETURN NULL;
				END IF;
				parts := parts || piece;
			END LOOP;
		END IF;
	END LOOP;
	RETURN CASE WHEN cardinality(parts) = 0 THEN 'true' ELSE array_to_string(parts, ' AND ') END;
END
$$;
REVOKE ALL ON FUNCTION dbops.metadata_hasura_filter(jsonb, oid) FROM PUBLIC;

-- a document with the Hasura boolean expressions it can translate as SQL
CREATE FUNCTION dbops.metadata_translate_hasura(doc jsonb)
RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
DECLARE
	tables jsonb := doc -> 'tables';
	entry jsonb;
	relid oid;
	path text[];
	sql text;
	translated jsonb := '[]';
BEGIN
	IF jsonb_typeof(tables) IS DISTINCT FROM 'array'
		OR NOT jsonb_path_exists(tables, 'lax $[*].*[*].permission.* ? (@.type() == "object")') THEN
		RETURN doc;
	END IF;
	FOR entry IN SELECT jsonb_array_elements(tables) LOOP
		relid := (SELECT dbops.metadata_relid(r.s, r.t) FROM dbops.metadata_table_ref(entry -> 'table') r);
		FOR path IN SELECT ARRAY[a || '_permissions', (i - 1)::text, 'permission', k]
				FROM unnest(ARRAY['select', 'insert', 'update', 'delete']) a,
					LATERAL jsonb_array_elements(CASE WHEN jsonb_typeof(entry -> (a || '_permissions')) = 'array'
						THEN entry -> (a || '_permissions') ELSE '[]' END) WITH ORDINALITY x(p, i),
					unnest(ARRAY['filter', 'check']) k
				WHERE jsonb_typeof(x.p #> ARRAY['permission', k]) = 'object' AND x.p #> ARRAY['permission', k] <> '{}' LOOP
			sql := dbops.metadata_hasura_filter(entry #> path, relid);
			IF sql IS NOT NULL THEN
				entry := jsonb_set(entry, path, to_jsonb(sql));
			END IF;
		END LOOP;
		translated := translated || jsonb_build_array(entry);
	END LOOP;
	RETURN jsonb_set(doc, '{tables}', translated);
END
$$;
REVOKE ALL ON FUNCTION dbops.metadata_translate_hasura(jsonb) FROM PUBLIC;

/*
 * Raise one error listing every fatal problem, and the errors too unless
 * they may be stored; warnings never raise.
 */
CREATE FUNCTION dbops.metadata_raise(problems dbops.metadata_problem[], errors_too boolean, message text)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
	detail text;
BEGIN
	SELECT string_agg(p.path || ': ' || p.reason || '.', E'\n' ORDER BY n) INTO detail
	FROM unnest(problems) WITH ORDINALITY
		AS p(severity, path, object_type, object_name, table_schema, table_name, entry_name, action, reason, n)
	WHERE p.severity = 'fatal' OR (errors_too AND p.severity = 'error');
	IF detail IS NULL THEN
		RETURN;
	END IF;
	IF detail LIKE '%is reserved%' THEN
		RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value', MESSAGE = message, DETAIL = detail,
			HINT = 'PostgreSQL reserves "public" and names starting with "pg_": map them to real roles with the role_map argument of dbops.import_metadata(), e.g. ''{"public": "anon"}''.';
	END IF;
	RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value', MESSAGE = message, DETAIL = detail;
END
$$;
REVOKE ALL ON FUNCTION dbops.metadata_raise(dbops.metadata_problem[], boolean, text) FROM PUBLIC;

-- the inconsistent objects among problems, as returned to callers
CREATE FUNCTION dbops.metadata_problems_json(problems dbops.metadata_problem[])
RETURNS jsonb
LANGUAGE sql IMMUTABLE
AS $$
	SELECT coalesce(jsonb_agg(jsonb_build_object('type', p.object_type, 'name', p.object_name,
			'reason', p.reason)
		ORDER BY p.object_type COLLATE "C", p.object_name COLLATE "C", p.reason COLLATE "C"), '[]')
	FROM unnest(problems) p
	WHERE p.severity IN ('error', 'warning')
$$;
REVOKE ALL ON FUNCTION dbops.metadata_problems_json(dbops.metadata_problem[]) FROM PUBLIC;

/*
 * Materialisation.  "prepare" readies a tracked table: dbops_grantor gets
 * the four privileges WITH GRANT OPTION from the owner (and USAGE on the
 * schema, which GRANT needs to find the table), and RLS is enabled on
 * tables.  "enforce" turns one permission into a grant and a policy.
 */
CREATE FUNCTION dbops.metadata_prepare(s name, t name)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
	relid oid := dbops.metadata_relid(s, t);
	rls boolean;
BEGIN
	IF NOT has_schema_privilege('dbops_grantor', s::text, 'USAGE') THEN
		EXECUTE format('GRANT USAGE ON SCHEMA %I TO dbops_grantor', s);
		INSERT INTO dbops.metadata_schemas VALUES (s);
	END IF;
	EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I.%I TO dbops_grantor WITH GRANT OPTION', s, t);
	SELECT CASE WHEN relkind = 'v' THEN NULL ELSE relrowsecurity END INTO rls
	FROM pg_catalog.pg_class WHERE oid = relid;
	IF rls = false THEN
		EXECUTE format('ALTER TABLE %I.%I ENABLE ROW LEVEL SECURITY', s, t);
	END IF;
	UPDATE dbops.metadata_tables SET prepared = true, rls_before = rls
	WHERE table_schema = s AND table_name = t;
END
$$;
REVOKE ALL ON FUNCTION dbops.metadata_prepare(name, name) FROM PUBLIC;

CREATE FUNCTION dbops.metadata_unprepare(s name, t name)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
	tbl dbops.metadata_tables;
BEGIN
	SELECT * INTO tbl FROM dbops.metadata_tables WHERE table_schema = s AND table_name = t;
	IF tbl.prepared IS NOT TRUE THEN
		RETURN;
	END IF;
	IF dbops.metadata_relid(s, t) IS NOT NULL THEN
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
REVOKE ALL ON FUNCTION dbops.metadata_unprepare(name, name) FROM PUBLIC;

CREATE FUNCTION dbops.metadata_enforce(p dbops.metadata_permissions, relid oid, is_view boolean)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
	pol name;
BEGIN
	PERFORM dbops.metadata_grant(relid, p.action,
		CASE WHEN p.action <> 'delete' THEN p.columns END, p.role_name, true);
	IF NOT is_view THEN
		-- no filter means every row: with RLS on, a role without a policy sees none
		pol := dbops.metadata_policy_name(p.action, p.role_name);
		PERFORM dbops.metadata_create_policy(relid, pol, p.action, p.role_name,
			CASE WHEN p.action <> 'insert' THEN coalesce(p.filter, 'true') END,
			CASE WHEN p.action IN ('insert', 'update') THEN coalesce(p."check", 'true') END);
	END IF;
	INSERT INTO dbops.metadata_created
	VALUES (p.table_schema, p.table_name, p.role_name, p.action, pol);
END
$$;
REVOKE ALL ON FUNCTION dbops.metadata_enforce(dbops.metadata_permissions, oid, boolean) FROM PUBLIC;

/*
 * Undo what dbops created for one permission.  A REVOKE as dbops_grantor
 * only ever removes dbops_grantor's own grants; both steps skip what is
 * gone already (dropped table, column, role or policy).
 */
CREATE FUNCTION dbops.metadata_unenforce(s name, t name, role name, act text)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
	made dbops.metadata_created;
	relid oid := dbops.metadata_relid(s, t);
BEGIN
	DELETE FROM dbops.metadata_created c
	WHERE c.table_schema = s AND c.table_name = t AND c.role_name = role AND c.action = act
	RETURNING * INTO made;
	IF made IS NULL OR relid IS NULL THEN
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
		PERFORM dbops.metadata_grant(relid, act, NULL, role, false);
	END IF;
	IF EXISTS (SELECT FROM pg_catalog.pg_policy
			   WHERE polrelid = relid AND polname = made.policy_name) THEN
		EXECUTE format('DROP POLICY %I ON %I.%I', made.policy_name, s, t);
	END IF;
END
$$;
REVOKE ALL ON FUNCTION dbops.metadata_unenforce(name, name, name, text) FROM PUBLIC;

-- remove everything dbops created on a table (its catalog rows stay)
CREATE FUNCTION dbops.metadata_unenforce_table(s name, t name)
RETURNS void
LANGUAGE sql
AS $$
	SELECT dbops.metadata_unenforce(c.table_schema, c.table_name, c.role_name, c.action)
	FROM dbops.metadata_created c WHERE c.table_schema = s AND c.table_name = t;
	SELECT dbops.metadata_unprepare(s, t);
$$;
REVOKE ALL ON FUNCTION dbops.metadata_unenforce_table(name, name) FROM PUBLIC;

/*
 * Prepare every tracked table and enforce every permission that problems
 * (from a check of the stored catalog or of the imported document) does
 * not mark inconsistent.
 */
CREATE FUNCTION dbops.metadata_enforce_all(problems dbops.metadata_problem[])
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
	bad dbops.metadata_problem[] := ARRAY(SELECT p FROM unnest(problems) p WHERE p.severity = 'error');
BEGIN
	PERFORM dbops.metadata_prepare(tbl.table_schema, tbl.table_name)
	FROM dbops.metadata_tables tbl
	WHERE NOT tbl.prepared
	  AND NOT EXISTS (SELECT FROM unnest(bad) b
					  WHERE b.table_schema = tbl.table_schema
						AND b.table_name = tbl.table_name AND b.object_type = 'table');
	PERFORM dbops.metadata_enforce(p, c.oid, c.relkind = 'v')
	FROM dbops.metadata_permissions p
	JOIN dbops.metadata_tables tbl
		ON tbl.table_schema = p.table_schema AND tbl.table_name = p.table_name AND tbl.prepared
	JOIN pg_catalog.pg_class c ON c.oid = dbops.metadata_relid(p.table_schema, p.table_name)
	WHERE NOT EXISTS (SELECT FROM dbops.metadata_created m
					  WHERE m.table_schema = p.table_schema AND m.table_name = p.table_name
						AND m.role_name = p.role_name AND m.action = p.action)
	  AND NOT EXISTS (SELECT FROM unnest(bad) b
					  WHERE b.table_schema = p.table_schema AND b.table_name = p.table_name
						AND b.entry_name = p.role_name AND b.action = p.action);
END
$$;
REVOKE ALL ON FUNCTION dbops.metadata_enforce_all(dbops.metadata_problem[]) FROM PUBLIC;

-- store one table entry of a (validated) document in the catalog
CREATE FUNCTION dbops.metadata_store(entry jsonb, role_map jsonb)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
	ref record := dbops.metadata_table_ref(entry -> 'table');
BEGIN
	INSERT INTO dbops.metadata_tables (table_schema, table_name) VALUES (ref.s, ref.t);
	INSERT INTO dbops.metadata_relationships
	SELECT ref.s, ref.t, r.e ->> 'name', r.kind, r.e -> 'using'
	FROM (SELECT 'object' AS kind, e FROM jsonb_array_elements(coalesce(entry -> 'object_relationships', '[]')) e
		  UNION ALL
		  SELECT 'array', e FROM jsonb_array_elements(coalesce(entry -> 'array_relationships', '[]')) e) r;
	INSERT INTO dbops.metadata_permissions
	SELECT ref.s, ref.t, coalesce(role_map ->> (p.e ->> 'role'), p.e ->> 'role'), p.action,
		CASE WHEN p.e #> '{permission,columns}' IS NOT NULL AND p.e #> '{permission,columns}' <> '"*"'
			THEN ARRAY(SELECT c FROM jsonb_array_elements_text(p.e #> '{permission,columns}') c
					   ORDER BY c COLLATE "C")::name[] END,
		CASE WHEN jsonb_typeof(p.e #> '{permission,filter}') = 'string' THEN p.e #>> '{permission,filter}' END,
		CASE WHEN jsonb_typeof(p.e #> '{permission,check}') = 'string' THEN p.e #>> '{permission,check}' END
	FROM unnest(ARRAY['select', 'insert', 'update', 'delete']) a(action),
		LATERAL (SELECT a.action, e FROM jsonb_array_elements(coalesce(entry -> (a.action || '_permissions'), '[]')) e) p;
END
$$;
REVOKE ALL ON FUNCTION dbops.metadata_store(jsonb, jsonb) FROM PUBLIC;

-- the caller must have the privileges of the owner of every tracked table that exists
CREATE FUNCTION dbops.metadata_check_owner_all(caller oid)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
	tbl record;
BEGIN
	FOR tbl IN SELECT t.table_schema, t.table_name FROM dbops.metadata_tables t
			JOIN pg_catalog.pg_class c ON c.oid = dbops.metadata_relid(t.table_schema, t.table_name)
			WHERE NOT pg_catalog.pg_has_role(caller, c.relowner, 'USAGE')
			ORDER BY 1, 2 LIMIT 1 LOOP
		RAISE EXCEPTION USING ERRCODE = 'insufficient_privilege',
			MESSAGE = format('must be owner of table %I.%I to manage its metadata', tbl.table_schema, tbl.table_name);
	END LOOP;
END
$$;
REVOKE ALL ON FUNCTION dbops.metadata_check_owner_all(oid) FROM PUBLIC;

/*
 * The checks of single-entry changes: the table is tracked and the caller
 * may manage it.  Returns the table's schema and name.
 */
CREATE FUNCTION dbops.metadata_tracked(caller oid, tbl regclass, OUT s name, OUT t name)
LANGUAGE plpgsql
AS $$
BEGIN
	SELECT n.nspname, c.relname INTO s, t FROM pg_catalog.pg_class c
	JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = tbl;
	IF NOT EXISTS (SELECT FROM dbops.metadata_tables m WHERE m.table_schema = s AND m.table_name = t) THEN
		RAISE EXCEPTION USING ERRCODE = 'undefined_object',
			MESSAGE = format('table %I.%I is not tracked', s, t),
			HINT = 'Track it first with dbops.track_table().';
	END IF;
	IF NOT pg_catalog.pg_has_role(caller, (SELECT relowner FROM pg_catalog.pg_class WHERE oid = tbl), 'USAGE') THEN
		RAISE EXCEPTION USING ERRCODE = 'insufficient_privilege',
			MESSAGE = format('must be owner of table %I.%I to manage its metadata', s, t);
	END IF;
END
$$;
REVOKE ALL ON FUNCTION dbops.metadata_tracked(oid, regclass) FROM PUBLIC;

/*
 * Validate a single entry the way an import would, then report warnings.
 */
CREATE FUNCTION dbops.metadata_check_entry(caller oid, entry jsonb, message text)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
	-- paths relative to the entry: "$.select_permissions[0]..."
	problems dbops.metadata_problem[] := ARRAY(
		SELECT ROW(p.severity, regexp_replace(p.path, '^\$\.tables\[0\]', '$'), p.object_type,
				   p.object_name, p.table_schema, p.table_name, p.entry_name, p.action, p.reason)::dbops.metadata_problem
		FROM dbops.metadata_doc_problems(jsonb_build_object('version', 2, 'tables', jsonb_build_array(entry)),
										 caller, NULL) p);
	p dbops.metadata_problem;
BEGIN
	PERFORM dbops.metadata_raise(problems, true, message);
	FOREACH p IN ARRAY problems LOOP
		RAISE WARNING USING MESSAGE = p.reason;
	END LOOP;
END
$$;
REVOKE ALL ON FUNCTION dbops.metadata_check_entry(oid, jsonb, text) FROM PUBLIC;

/*
 * The entry points' implementations, run as the extension owner by
 * src/metadata_entry.c with the calling role as first argument.  Bulk ones
 * turn JIT off: their queries over jsonb are estimated far above what they
 * cost, and compiling them would take longer than running them.
 */
CREATE FUNCTION dbops.track_table_impl(caller oid, tbl regclass)
RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog
AS $$
DECLARE
	cls record;
BEGIN
	SELECT n.nspname AS s, c.relname AS t, c.relkind, c.relowner INTO cls
	FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = tbl;
	IF cls.relkind NOT IN ('r', 'p', 'v') THEN
		RAISE EXCEPTION USING ERRCODE = 'wrong_object_type',
			MESSAGE = format('relation %I.%I is not a table or view', cls.s, cls.t);
	END IF;
	IF NOT pg_has_role(caller, cls.relowner, 'USAGE') THEN
		RAISE EXCEPTION USING ERRCODE = 'insufficient_privilege',
			MESSAGE = format('must be owner of table %I.%I to manage its metadata', cls.s, cls.t);
	END IF;
	IF EXISTS (SELECT FROM dbops.metadata_tables WHERE table_schema = cls.s AND table_name = cls.t) THEN
		RAISE EXCEPTION USING ERRCODE = 'duplicate_object',
			MESSAGE = format('table %I.%I is already tracked', cls.s, cls.t);
	END IF;
	INSERT INTO dbops.metadata_tables (table_schema, table_name) VALUES (cls.s, cls.t);
	PERFORM dbops.metadata_prepare(cls.s, cls.t);
END
$$;

-- by name, so that a table dropped behind dbops's back can be untracked too
CREATE FUNCTION dbops.untrack_table_impl(caller oid, s name, t name)
RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog
AS $$
DECLARE
	relid oid := dbops.metadata_relid(s, t);
BEGIN
	IF relid IS NOT NULL THEN
		PERFORM dbops.metadata_tracked(caller, relid);
	ELSIF NOT EXISTS (SELECT FROM dbops.metadata_tables m WHERE m.table_schema = s AND m.table_name = t) THEN
		RAISE EXCEPTION USING ERRCODE = 'undefined_object',
			MESSAGE = format('table %I.%I is not tracked', s, t);
	END IF;
	PERFORM dbops.metadata_unenforce_table(s, t);
	DELETE FROM dbops.metadata_permissions p WHERE p.table_schema = s AND p.table_name = t;
	DELETE FROM dbops.metadata_relationships r WHERE r.table_schema = s AND r.table_name = t;
	DELETE FROM dbops.metadata_tables m WHERE m.table_schema = s AND m.table_name = t;
END
$$;

CREATE FUNCTION dbops.untrack_table_impl(caller oid, tbl regclass)
RETURNS void
LANGUAGE sql SET search_path = pg_catalog
AS $$
	SELECT dbops.untrack_table_impl(caller, n.nspname, c.relname)
	FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = tbl
$$;

CREATE FUNCTION dbops.create_permission_impl(caller oid, tbl regclass, role name, action text,
	columns name[], filter text, "check" text)
RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog
AS $$
DECLARE
	ref record := dbops.metadata_tracked(caller, tbl);
	perm dbops.metadata_permissions;
BEGIN
	IF action IS NULL OR action NOT IN ('select', 'insert', 'update', 'delete') THEN
		RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
			MESSAGE = format('unrecognized permission action "%s"', action),
			HINT = 'The actions are select, insert, update and delete.';
	END IF;
	IF EXISTS (SELECT FROM dbops.metadata_permissions p WHERE p.table_schema = ref.s
			   AND p.table_name = ref.t AND p.role_name = role AND p.action = create_permission_impl.action) THEN
		RAISE EXCEPTION USING ERRCODE = 'duplicate_object',
			MESSAGE = format('role "%s" already has a %s permission on table %I.%I', role, action, ref.s, ref.t),
			HINT = 'Drop it first with dbops.drop_permission(), in the same transaction.';
	END IF;
	PERFORM dbops.metadata_check_entry(caller, jsonb_build_object(
		'table', jsonb_build_object('schema', ref.s, 'name', ref.t),
		action || '_permissions', jsonb_build_array(jsonb_build_object('role', role,
			'permission', jsonb_strip_nulls(jsonb_build_object(
				'columns', CASE WHEN action <> 'delete' THEN coalesce(to_jsonb(columns), '"*"') ELSE to_jsonb(columns) END,
				'filter', filter, 'check', "check"))))),
		format('invalid %s permission for role "%s" on table %I.%I', action, role, ref.s, ref.t));
	perm := ROW(ref.s, ref.t, role, action,
		ARRAY(SELECT c FROM unnest(columns) c ORDER BY c COLLATE "C"), filter, "check");
	IF columns IS NULL OR action = 'delete' THEN
		perm.columns := NULL;
	END IF;
	INSERT INTO dbops.metadata_permissions SELECT perm.*;
	IF (SELECT prepared FROM dbops.metadata_tables WHERE table_schema = ref.s AND table_name = ref.t) THEN
		PERFORM dbops.metadata_enforce(perm, tbl, (SELECT relkind = 'v' FROM pg_class WHERE oid = tbl));
	END IF;
END
$$;

CREATE FUNCTION dbops.drop_permission_impl(caller oid, tbl regclass, role name, action text)
RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog
AS $$
DECLARE
	ref record := dbops.metadata_tracked(caller, tbl);
BEGIN
	DELETE FROM dbops.metadata_permissions p WHERE p.table_schema = ref.s AND p.table_name = ref.t
		AND p.role_name = role AND p.action = drop_permission_impl.action;
	IF NOT FOUND THEN
		RAISE EXCEPTION USING ERRCODE = 'undefined_object',
			MESSAGE = format('role "%s" has no %s permission on table %I.%I', role, action, ref.s, ref.t);
	END IF;
	PERFORM dbops.metadata_unenforce(ref.s, ref.t, role, action);
END
$$;

CREATE FUNCTION dbops.metadata_create_relationship(caller oid, tbl regclass, rel_type text,
	rel_name text, rel_using jsonb)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
	ref record := dbops.metadata_tracked(caller, tbl);
BEGIN
	IF EXISTS (SELECT FROM dbops.metadata_relationships r WHERE r.table_schema = ref.s
			   AND r.table_name = ref.t AND r.rel_name = metadata_create_relationship.rel_name) THEN
		RAISE EXCEPTION USING ERRCODE = 'duplicate_object',
			MESSAGE = format('relationship "%s" of table %I.%I already exists', rel_name, ref.s, ref.t);
	END IF;
	PERFORM dbops.metadata_check_entry(caller, jsonb_build_object(
		'table', jsonb_build_object('schema', ref.s, 'name', ref.t),
		rel_type || '_relationships', jsonb_build_array(jsonb_build_object('name', rel_name, 'using', rel_using))),
		format('invalid %s relationship "%s" on table %I.%I', rel_type, rel_name, ref.s, ref.t));
	INSERT INTO dbops.metadata_relationships VALUES (ref.s, ref.t, rel_name, rel_type, rel_using);
END
$$;
REVOKE ALL ON FUNCTION dbops.metadata_create_relationship(oid, regclass, text, text, jsonb) FROM PUBLIC;

CREATE FUNCTION dbops.create_object_relationship_impl(caller oid, tbl regclass, name text, using_ jsonb)
RETURNS void
LANGUAGE sql SET search_path = pg_catalog
AS $$ SELECT dbops.metadata_create_relationship(caller, tbl, 'object', name, using_) $$;

CREATE FUNCTION dbops.create_array_relationship_impl(caller oid, tbl regclass, name text, using_ jsonb)
RETURNS void
LANGUAGE sql SET search_path = pg_catalog
AS $$ SELECT dbops.metadata_create_relationship(caller, tbl, 'array', name, using_) $$;

CREATE FUNCTION dbops.drop_relationship_impl(caller oid, tbl regclass, name text)
RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog
AS $$
DECLARE
	ref record := dbops.metadata_tracked(caller, tbl);
BEGIN
	DELETE FROM dbops.metadata_relationships r
	WHERE r.table_schema = ref.s AND r.table_name = ref.t AND r.rel_name = name;
	IF NOT FOUND THEN
		RAISE EXCEPTION USING ERRCODE = 'undefined_object',
			MESSAGE = format('relationship "%s" of table %I.%I does not exist', name, ref.s, ref.t);
	END IF;
END
$$;

CREATE FUNCTION dbops.reset_metadata_impl(caller oid)
RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog SET jit = off
AS $$
BEGIN
	LOCK TABLE dbops.metadata_tables IN EXCLUSIVE MODE;
	PERFORM dbops.metadata_check_owner_all(caller);
	PERFORM dbops.metadata_unenforce_table(table_schema, table_name) FROM dbops.metadata_tables;
	DELETE FROM dbops.metadata_permissions;
	DELETE FROM dbops.metadata_relationships;
	DELETE FROM dbops.metadata_tables;
END
$$;

CREATE FUNCTION dbops.import_metadata_impl(caller oid, doc jsonb, allow_inconsistent boolean, role_map jsonb)
RETURNS jsonb
LANGUAGE plpgsql SET search_path = pg_catalog SET jit = off
AS $$
DECLARE
	problems dbops.metadata_problem[];
	entry jsonb;
BEGIN
	-- one import, reset or reload at a time; exports and readers go on
	LOCK TABLE dbops.metadata_tables IN EXCLUSIVE MODE;
	doc := dbops.metadata_translate_hasura(doc);
	problems := ARRAY(SELECT dbops.metadata_doc_problems(doc, caller, role_map));
	PERFORM dbops.metadata_raise(problems, NOT coalesce(allow_inconsistent, false),
		'metadata document is not valid');
	PERFORM dbops.reset_metadata_impl(caller);
	FOR entry IN SELECT jsonb_array_elements(coalesce(doc -> 'tables', '[]')) LOOP
		PERFORM dbops.metadata_store(entry, role_map);
	END LOOP;
	PERFORM dbops.metadata_enforce_all(problems);
	RETURN dbops.metadata_problems_json(problems);
END
$$;

-- re-check the stored catalog against the database
CREATE FUNCTION dbops.metadata_catalog_problems()
RETURNS dbops.metadata_problem[]
LANGUAGE sql
AS $$ SELECT ARRAY(SELECT dbops.metadata_doc_problems(dbops.export_metadata(), NULL, NULL)) $$;
REVOKE ALL ON FUNCTION dbops.metadata_catalog_problems() FROM PUBLIC;

CREATE FUNCTION dbops.reload_metadata_impl(caller oid)
RETURNS jsonb
LANGUAGE plpgsql SET search_path = pg_catalog SET jit = off
AS $$
DECLARE
	problems dbops.metadata_problem[];
BEGIN
	LOCK TABLE dbops.metadata_tables IN EXCLUSIVE MODE;
	PERFORM dbops.metadata_check_owner_all(caller);
	PERFORM dbops.metadata_unenforce_table(table_schema, table_name) FROM dbops.metadata_tables;
	problems := dbops.metadata_catalog_problems();
	PERFORM dbops.metadata_enforce_all(problems);
	RETURN dbops.metadata_problems_json(problems);
END
$$;

CREATE FUNCTION dbops.metadata_inconsistencies_impl(caller oid)
RETURNS jsonb
LANGUAGE sql SET search_path = pg_catalog SET jit = off
AS $$ SELECT dbops.metadata_problems_json(dbops.metadata_catalog_problems()) $$;

DO $revoke$
DECLARE
	f regprocedure;
BEGIN
	FOR f IN SELECT oid FROM pg_catalog.pg_proc
			WHERE pronamespace = 'dbops'::regnamespace AND proname LIKE '%\_impl' LOOP
		EXECUTE format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', f);
	END LOOP;
END
$revoke$;

/*
 * The SQL interface.  Functions that change metadata are the C entry point
 * (src/metadata_entry.c) that runs dbops.<name>_impl as the extension owner.
 */
CREATE FUNCTION dbops.track_table(tbl regclass)
RETURNS void
AS 'MODULE_PATHNAME', 'dbops_metadata_as_owner'
LANGUAGE C STRICT VOLATILE;
COMMENT ON FUNCTION dbops.track_table(regclass) IS 'track a table or view: dbops_grantor gets its privileges, RLS is enabled';
REVOKE ALL ON FUNCTION dbops.track_table(regclass) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION dbops.track_table(regclass) TO dbops_admin;

CREATE FUNCTION dbops.untrack_table(tbl regclass)
RETURNS void
AS 'MODULE_PATHNAME', 'dbops_metadata_as_owner'
LANGUAGE C STRICT VOLATILE;
COMMENT ON FUNCTION dbops.untrack_table(regclass) IS 'untrack a table, dropping its metadata and what dbops created on it';
REVOKE ALL ON FUNCTION dbops.untrack_table(regclass) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION dbops.untrack_table(regclass) TO dbops_admin;

CREATE FUNCTION dbops.untrack_table(table_schema name, table_name name)
RETURNS void
AS 'MODULE_PATHNAME', 'dbops_metadata_as_owner'
LANGUAGE C STRICT VOLATILE;
COMMENT ON FUNCTION dbops.untrack_table(name, name) IS 'untrack a table by name, also one that no longer exists';
REVOKE ALL ON FUNCTION dbops.untrack_table(name, name) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION dbops.untrack_table(name, name) TO dbops_admin;

CREATE FUNCTION dbops.create_permission(tbl regclass, role name, action text,
	columns name[] DEFAULT NULL, filter text DEFAULT NULL, "check" text DEFAULT NULL)
RETURNS void
AS 'MODULE_PATHNAME', 'dbops_metadata_as_owner'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION dbops.create_permission(regclass, name, text, name[], text, text) IS 'create and enforce a permission (columns NULL: all)';
REVOKE ALL ON FUNCTION dbops.create_permission(regclass, name, text, name[], text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION dbops.create_permission(regclass, name, text, name[], text, text) TO dbops_admin;

CREATE FUNCTION dbops.drop_permission(tbl regclass, role name, action text)
RETURNS void
AS 'MODULE_PATHNAME', 'dbops_metadata_as_owner'
LANGUAGE C STRICT VOLATILE;
COMMENT ON FUNCTION dbops.drop_permission(regclass, name, text) IS 'drop a permission and the grant and policy dbops made for it';
REVOKE ALL ON FUNCTION dbops.drop_permission(regclass, name, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION dbops.drop_permission(regclass, name, text) TO dbops_admin;

CREATE FUNCTION dbops.create_object_relationship(tbl regclass, name text, using_ jsonb)
RETURNS void
AS 'MODULE_PATHNAME', 'dbops_metadata_as_owner'
LANGUAGE C STRICT VOLATILE;
COMMENT ON FUNCTION dbops.create_object_relationship(regclass, text, jsonb) IS 'create an object relationship ("using" as in Hasura metadata)';
REVOKE ALL ON FUNCTION dbops.create_object_relationship(regclass, text, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION dbops.create_object_relationship(regclass, text, jsonb) TO dbops_admin;

CREATE FUNCTION dbops.create_array_relationship(tbl regclass, name text, using_ jsonb)
RETURNS void
AS 'MODULE_PATHNAME', 'dbops_metadata_as_owner'
LANGUAGE C STRICT VOLATILE;
COMMENT ON FUNCTION dbops.create_array_relationship(regclass, text, jsonb) IS 'create an array relationship ("using" as in Hasura metadata)';
REVOKE ALL ON FUNCTION dbops.create_array_relationship(regclass, text, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION dbops.create_array_relationship(regclass, text, jsonb) TO dbops_admin;

CREATE FUNCTION dbops.drop_relationship(tbl regclass, name text)
RETURNS void
AS 'MODULE_PATHNAME', 'dbops_metadata_as_owner'
LANGUAGE C STRICT VOLATILE;
COMMENT ON FUNCTION dbops.drop_relationship(regclass, text) IS 'drop a relationship';
REVOKE ALL ON FUNCTION dbops.drop_relationship(regclass, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION dbops.drop_relationship(regclass, text) TO dbops_admin;

CREATE FUNCTION dbops.import_metadata(doc jsonb, allow_inconsistent boolean DEFAULT false,
	role_map jsonb DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'dbops_metadata_as_owner'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION dbops.import_metadata(jsonb, boolean, jsonb) IS 'replace all metadata with a document; returns its inconsistent objects';
REVOKE ALL ON FUNCTION dbops.import_metadata(jsonb, boolean, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION dbops.import_metadata(jsonb, boolean, jsonb) TO dbops_admin;

CREATE FUNCTION dbops.reset_metadata()
RETURNS void
AS 'MODULE_PATHNAME', 'dbops_metadata_as_owner'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION dbops.reset_metadata() IS 'empty the metadata catalog and remove every grant and policy dbops created';
REVOKE ALL ON FUNCTION dbops.reset_metadata() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION dbops.reset_metadata() TO dbops_admin;

CREATE FUNCTION dbops.reload_metadata()
RETURNS jsonb
AS 'MODULE_PATHNAME', 'dbops_metadata_as_owner'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION dbops.reload_metadata() IS 're-check metadata after schema changes and re-create its grants and policies';
REVOKE ALL ON FUNCTION dbops.reload_metadata() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION dbops.reload_metadata() TO dbops_admin;

CREATE FUNCTION dbops.metadata_inconsistencies()
RETURNS jsonb
AS 'MODULE_PATHNAME', 'dbops_metadata_as_owner'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION dbops.metadata_inconsistencies() IS 'inconsistent metadata objects as JSON (see inconsistent_metadata)';
REVOKE ALL ON FUNCTION dbops.metadata_inconsistencies() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION dbops.metadata_inconsistencies() TO dbops_admin;

CREATE FUNCTION dbops.inconsistent_metadata(OUT object_type text, OUT object_name text, OUT reason text)
RETURNS SETOF record
LANGUAGE sql VOLATILE SET search_path = pg_catalog
AS $$
	SELECT x.type, x.name, x.reason
	FROM jsonb_to_recordset(dbops.metadata_inconsistencies()) AS x(type text, name text, reason text)
$$;
COMMENT ON FUNCTION dbops.inconsistent_metadata() IS 'metadata that PostgreSQL does not enforce as declared, and why';
REVOKE ALL ON FUNCTION dbops.inconsistent_metadata() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION dbops.inconsistent_metadata() TO dbops_admin;

/*
 * The export: sorted by name in the "C" collation at every level (jsonb
 * orders object keys itself), so equal states give byte-identical text.
 */
CREATE FUNCTION dbops.export_metadata()
RETURNS jsonb
LANGUAGE sql STABLE SET search_path = pg_catalog
AS $$
	SELECT jsonb_build_object('version', 2, 'tables', coalesce(jsonb_agg(
		jsonb_build_object('table', jsonb_build_object('schema', t.table_schema, 'name', t.table_name))
		|| coalesce((SELECT jsonb_object_agg(r.rel_type || '_relationships', r.rels)
					 FROM (SELECT rel_type, jsonb_agg(jsonb_build_object('name', rel_name, 'using', rel_using)
												   ORDER BY rel_name COLLATE "C") AS rels
						   FROM dbops.metadata_relationships
						   WHERE table_schema = t.table_schema AND table_name = t.table_name
						   GROUP BY rel_type) r), '{}')
		|| coalesce((SELECT jsonb_object_agg(p.action || '_permissions', p.perms)
					 FROM (SELECT action, jsonb_agg(jsonb_build_object('role', role_name,
								'permission', jsonb_strip_nulls(jsonb_build_object(
									'columns', CASE WHEN action = 'delete' THEN NULL
													WHEN columns IS NULL THEN '"*"'::jsonb
													ELSE to_jsonb(columns) END,
									'filter', filter, 'check', "check")))
								ORDER BY role_name COLLATE "C") AS perms
						   FROM dbops.metadata_permissions
						   WHERE table_schema = t.table_schema AND table_name = t.table_name
						   GROUP BY action) p), '{}')
		ORDER BY t.table_schema COLLATE "C", t.table_name COLLATE "C"), '[]'))
	FROM dbops.metadata_tables t
$$;
COMMENT ON FUNCTION dbops.export_metadata() IS 'all metadata as one deterministic JSON document';
REVOKE ALL ON FUNCTION dbops.export_metadata() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION dbops.export_metadata() TO dbops_admin;
