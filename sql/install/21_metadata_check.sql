/* dbops install script: checks of metadata documents against the database */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION dbops" to load this file. \quit

/*
 * A document is checked in two steps.  Its shape, in C
 * (src/metadata_document.c), which also puts it into one normal form; then,
 * set-based, what it names against the database.  Every check reports a
 * problem instead of raising, so that an import can list them all in one
 * error:
 *   fatal       the document cannot be stored at all (shape, reserved role
 *               names, tables the caller may not manage);
 *   error       the entry is inconsistent with the database (missing table,
 *               column, role, constraint, relationship; a filter that does
 *               not type-check); stored only with allow_inconsistent, and
 *               never enforced;
 *   unenforced  stored and exported, but not enforced: the permission
 *               carries a restriction PostgreSQL cannot express (limit,
 *               backend_only...), so it is not enforced at all (fail
 *               closed); does not stop an import;
 *   warning     stored and enforced, but not all of it (a filter on a view,
 *               a restriction accepted unenforced).
 */
CREATE TYPE dbops_internal.metadata_problem AS (
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

CREATE FUNCTION dbops_internal.metadata_read_document(doc jsonb, role_map jsonb,
	accept_unenforced text[], source_name text)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'dbops_metadata_read_document'
LANGUAGE C IMMUTABLE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION dbops_internal.metadata_read_document(jsonb, jsonb, text[], text) IS 'a document''s shape problems and its normal form';

CREATE FUNCTION dbops_internal.metadata_condition_problems(rel regclass, what text, sql text,
	hasura jsonb, presets jsonb, relationships jsonb)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'dbops_metadata_condition_problems'
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION dbops_internal.metadata_condition_problems(regclass, text, text, jsonb, jsonb, jsonb) IS 'what CREATE POLICY would find wrong with this condition, or NULL';

CREATE FUNCTION dbops_internal.metadata_types_comparable(a regtype, b regtype)
RETURNS boolean
AS 'MODULE_PATHNAME', 'dbops_metadata_types_comparable'
LANGUAGE C STRICT STABLE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION dbops_internal.metadata_types_comparable(regtype, regtype) IS 'whether a = b resolves for these types';

-- policy names: dbops_<action>_<role>, or a hash of the role when too long
CREATE FUNCTION dbops_internal.metadata_policy_name(action text, role name)
RETURNS name
LANGUAGE sql IMMUTABLE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT CASE WHEN octet_length('dbops_' || action || '_' || role) < 64
		THEN 'dbops_' || action || '_' || role
		ELSE 'dbops_' || action || '_' || md5(role)
	END::name
$$;

/*
 * The relationships of a document in normal form, resolved to what a
 * filter through them reads: {schema: {table: {name: {"remote": {"schema",
 * "name"}, "mapping": {this table's column: the remote's}}}}}.  A foreign
 * key names its columns; its other end comes from pg_constraint.  A
 * relationship that does not resolve is left out (its problem is reported
 * by metadata_problems).
 */
CREATE FUNCTION dbops_internal.metadata_relationship_map(doc jsonb)
RETURNS jsonb
LANGUAGE sql STABLE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
WITH rels AS (
	SELECT t.e #>> '{table,schema}' AS s, t.e #>> '{table,name}' AS t, r.e AS rel,
		r.e ->> 'name' AS name,
		to_regclass(format('%I.%I', t.e #>> '{table,schema}', t.e #>> '{table,name}')) AS relid,
		to_regclass(format('%I.%I', r.e #>> '{remote,schema}', r.e #>> '{remote,name}')) AS rrelid,
		ARRAY(SELECT c FROM jsonb_array_elements_text(r.e -> 'columns') c ORDER BY c COLLATE "C") AS cols,
		coalesce((r.e ->> 'remote_fk')::boolean, false) AS remote_fk
	FROM jsonb_array_elements(doc -> 'tables') t(e)
	CROSS JOIN (VALUES ('object'), ('array')) k(kind)
	CROSS JOIN LATERAL jsonb_array_elements(coalesce(t.e -> (k.kind || '_relationships'), '[]')) r(e)
	WHERE jsonb_typeof(t.e) = 'object'
), fks AS (
	-- every foreign key, with its columns by name, sorted
	SELECT con.oid, con.conrelid, con.confrelid,
		ARRAY(SELECT a.attname::text FROM unnest(con.conkey) k
			  JOIN pg_catalog.pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k
			  ORDER BY a.attname::text COLLATE "C") AS cols,
		(SELECT jsonb_object_agg(a.attname, fa.attname)
		 FROM unnest(con.conkey, con.confkey) u(k, fk)
		 JOIN pg_catalog.pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = u.k
		 JOIN pg_catalog.pg_attribute fa ON fa.attrelid = con.confrelid AND fa.attnum = u.fk) AS forward,
		(SELECT jsonb_object_agg(fa.attname, a.attname)
		 FROM unnest(con.conkey, con.confkey) u(k, fk)
		 JOIN pg_catalog.pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = u.k
		 JOIN pg_catalog.pg_attribute fa ON fa.attrelid = con.confrelid AND fa.attnum = u.fk) AS backward
	FROM pg_catalog.pg_constraint con
	WHERE con.contype = 'f'
), resolved AS (
	-- manual: as given
	SELECT s, t, name, rel -> 'remote' AS remote, rel -> 'mapping' AS mapping
	FROM rels WHERE rel ? 'mapping'
	UNION ALL
	-- a foreign key of this table: to the table it references
	SELECT DISTINCT ON (r.s, r.t, r.name) r.s, r.t, r.name,
		jsonb_build_object('schema', n.nspname, 'name', c.relname), f.forward
	FROM rels r
	JOIN fks f ON f.conrelid = r.relid AND f.cols = r.cols
	JOIN pg_catalog.pg_class c ON c.oid = f.confrelid
	JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
	WHERE NOT r.rel ? 'mapping' AND NOT r.remote_fk
	UNION ALL
	-- a foreign key of the remote table that references this one
	SELECT DISTINCT ON (r.s, r.t, r.name) r.s, r.t, r.name, r.rel -> 'remote', f.backward
	FROM rels r
	JOIN fks f ON f.conrelid = r.rrelid AND f.confrelid = r.relid AND f.cols = r.cols
	WHERE NOT r.rel ? 'mapping' AND r.remote_fk
)
SELECT coalesce(jsonb_object_agg(s, tables), '{}')
FROM (SELECT s, jsonb_object_agg(t, rels) AS tables
	  FROM (SELECT s, t, jsonb_object_agg(name, jsonb_build_object('remote', remote, 'mapping', mapping)) AS rels
			FROM resolved GROUP BY s, t) by_table
	  GROUP BY s) by_schema
$$;

/*
 * The problems of a document in normal form against the database: its
 * tables, relationships and permissions, with a few set-based queries
 * rather than per entry (an import may hold thousands); each distinct
 * condition is checked once per table.  caller NULL skips the ownership
 * check (re-checking what is stored); relationships is the document's
 * metadata_relationship_map().  Ordered as in the document.
 */
CREATE FUNCTION dbops_internal.metadata_problems(doc jsonb, caller oid, relationships jsonb)
RETURNS SETOF dbops_internal.metadata_problem
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
-- jsonb functions are estimated at 100 rows each, which would make this
-- query look expensive enough to JIT-compile (seconds)
SET jit = off
AS $$
WITH t AS MATERIALIZED (
	SELECT x.ti - 1 AS ti, x.e AS entry, x.p AS tpath,
		(x.e #>> '{table,schema}')::name AS s, (x.e #>> '{table,name}')::name AS t,
		c.oid AS anyrelid, c.relowner,
		CASE WHEN c.relkind IN ('r', 'p', 'v') THEN c.oid END AS relid,
		c.relkind = 'v' AS is_view
	FROM jsonb_array_elements(doc -> 'tables') WITH ORDINALITY x0(e, ti)
	CROSS JOIN LATERAL (SELECT x0.e, x0.ti, coalesce(doc ->> 'tables_path', '$.tables')
						|| format('[%s]', x0.ti - 1) AS p) x
	LEFT JOIN pg_catalog.pg_namespace n ON n.nspname = x.e #>> '{table,schema}'
	LEFT JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid AND c.relname = x.e #>> '{table,name}'
	WHERE jsonb_typeof(x.e) = 'object'
), rels AS (
	SELECT t.ti, t.s, t.t, t.relid, k.kind, k.ki, r.ri - 1 AS ri, r.e AS rel,
		format('%s.%s_relationships[%s].using', t.tpath, k.kind, r.ri - 1) AS path,
		format('%I on %I.%I', r.e ->> 'name', t.s, t.t) AS oname,
		(r.e #>> '{remote,schema}')::name AS rs, (r.e #>> '{remote,name}')::name AS rt,
		rc.oid AS rrelid, coalesce((r.e ->> 'remote_fk')::boolean, false) AS remote_fk
	FROM t
	CROSS JOIN (VALUES ('object', 1), ('array', 2)) k(kind, ki)
	CROSS JOIN LATERAL jsonb_array_elements(coalesce(t.entry -> (k.kind || '_relationships'), '[]'))
		WITH ORDINALITY r(e, ri)
	LEFT JOIN pg_catalog.pg_namespace rn ON rn.nspname = r.e #>> '{remote,schema}'
	LEFT JOIN pg_catalog.pg_class rc ON rc.relnamespace = rn.oid AND rc.relname = r.e #>> '{remote,name}'
	WHERE t.relid IS NOT NULL		-- else the table's own problem is reported
), fk_cols AS (
	SELECT rels.*, c.col, a.attnum
	FROM rels
	CROSS JOIN LATERAL jsonb_array_elements_text(rels.rel -> 'columns') c(col)
	LEFT JOIN pg_catalog.pg_attribute a
		ON a.attrelid = CASE WHEN rels.remote_fk THEN rels.rrelid ELSE rels.relid END
		AND a.attname = c.col AND a.attnum > 0 AND NOT a.attisdropped
	WHERE rels.rrelid IS NOT NULL
), mappings AS (
	SELECT rels.*, m.key AS lcol, m.value #>> '{}' AS rcol, la.atttypid AS ltype, ra.atttypid AS rtype
	FROM rels
	CROSS JOIN LATERAL jsonb_each(rels.rel -> 'mapping') m
	LEFT JOIN pg_catalog.pg_attribute la
		ON la.attrelid = rels.relid AND la.attname = m.key AND la.attnum > 0 AND NOT la.attisdropped
	LEFT JOIN pg_catalog.pg_attribute ra
		ON ra.attrelid = rels.rrelid AND ra.attname = m.value #>> '{}' AND ra.attnum > 0
		AND NOT ra.attisdropped
	WHERE rels.rrelid IS NOT NULL
), p AS (
	SELECT t.ti, t.s, t.t, t.relid, t.is_view, a.action, a.ai, y.pi - 1 AS pi,
		format('%s.%s_permissions[%s]', t.tpath, a.action, y.pi - 1) AS path,
		y.pe ->> 'role' AS role, y.pe -> 'permission' AS body,
		a.action || '_permission' AS otype, format('%I on %I.%I', y.pe ->> 'role', t.s, t.t) AS oname
	FROM t
	CROSS JOIN unnest('{select,insert,update,delete}'::text[]) WITH ORDINALITY a(action, ai)
	CROSS JOIN LATERAL jsonb_array_elements(coalesce(t.entry -> (a.action || '_permissions'), '[]'))
		WITH ORDINALITY y(pe, pi)
	WHERE jsonb_typeof(y.pe) = 'object'
), conditions AS (
	-- the filter and check of each permission, with the presets of a check
	SELECT p.*, k.k, k.n,
		CASE WHEN jsonb_typeof(p.body -> k.k) = 'string' THEN p.body ->> k.k END AS sql,
		CASE WHEN jsonb_typeof(p.body -> k.k) = 'object' THEN p.body -> k.k END AS hasura,
		CASE WHEN k.k = 'check' THEN p.body -> 'set' END AS presets
	FROM p CROSS JOIN (VALUES ('filter', 7), ('check', 8)) k(k, n)
	WHERE (k.k = 'filter' AND p.action <> 'insert') OR (k.k = 'check' AND p.action IN ('insert', 'update'))
), conditions_set AS (
	-- those that say something ({}, null and absent say nothing)
	SELECT * FROM conditions
	WHERE sql IS NOT NULL OR (hasura IS NOT NULL AND hasura <> '{}') OR presets IS NOT NULL
), condition_problems AS MATERIALIZED (
	-- each distinct condition checked once, by the C compiler and parser
	SELECT d.relid, d.k, d.sql, d.hasura, d.presets, pr.e AS problem
	FROM (SELECT DISTINCT relid, k, sql, hasura, presets FROM conditions_set
		  WHERE relid IS NOT NULL) d,
		LATERAL jsonb_array_elements(dbops_internal.metadata_condition_problems(
			d.relid, d.k, d.sql, d.hasura, d.presets, relationships)) pr(e)
), problems AS (
	-- the reader's problems of permissions (kept, not enforced; accepted)
	SELECT 0 AS ti, -1 AS section, pr.i AS idx, 0 AS n, ''::text AS sub,
		ROW(pr.e ->> 'severity', pr.e ->> 'path',
			CASE WHEN pr.e ? 'action' THEN (pr.e ->> 'action') || '_permission' ELSE 'document' END,
			CASE WHEN pr.e ? 'action' THEN format('%I on %I.%I', pr.e ->> 'role', pr.e ->> 'schema',
												  pr.e ->> 'table') END,
			(pr.e ->> 'schema')::name, (pr.e ->> 'table')::name, pr.e ->> 'role', pr.e ->> 'action',
			pr.e ->> 'reason')::dbops_internal.metadata_problem AS prob
	FROM jsonb_array_elements(doc -> 'problems') WITH ORDINALITY pr(e, i)
	UNION ALL
	-- tables: missing, not a table, or not the caller's to manage
	SELECT ti, 0, 0, 0, '',
		ROW(CASE WHEN relid IS NULL THEN 'error' ELSE 'fatal' END,
			tpath || '.table', 'table', format('%I.%I', s, t), s, t, NULL, NULL,
			CASE WHEN anyrelid IS NULL THEN format('table %I.%I does not exist', s, t)
				WHEN relid IS NULL THEN format('relation %I.%I is not a table or view', s, t)
				ELSE format('must be owner of table %I.%I to manage its metadata', s, t) END
		)::dbops_internal.metadata_problem
	FROM t
	WHERE relid IS NULL OR (caller IS NOT NULL AND NOT pg_has_role(caller, relowner, 'USAGE'))
	UNION ALL
	-- relationships: the remote table, foreign key columns and constraint
	SELECT ti, ki, ri, 0, '', ROW('error',
		path || CASE WHEN rel ? 'mapping' THEN '.manual_configuration' ELSE '.foreign_key_constraint_on' END,
		kind || '_relationship', oname, s, t, rel ->> 'name', NULL,
		format('table %I.%I does not exist', rs, rt))::dbops_internal.metadata_problem
	FROM rels WHERE rrelid IS NULL
	UNION ALL
	SELECT ti, ki, ri, 1, '', ROW('error', path || '.foreign_key_constraint_on', kind || '_relationship',
		oname, s, t, rel ->> 'name', NULL,
		format('column "%s" of table %s does not exist', col,
			CASE WHEN remote_fk THEN format('%I.%I', rs, rt) ELSE format('%I.%I', s, t) END)
		)::dbops_internal.metadata_problem
	FROM fk_cols WHERE attnum IS NULL
	UNION ALL
	SELECT ti, ki, ri, 2, '', ROW('error', path || '.foreign_key_constraint_on', kind || '_relationship',
		oname, s, t, rel ->> 'name', NULL,
		format('table %s has no foreign key constraint on (%s)%s',
			CASE WHEN remote_fk THEN format('%I.%I', rs, rt) ELSE format('%I.%I', s, t) END,
			(SELECT string_agg(c, ', ') FROM jsonb_array_elements_text(rel -> 'columns') c),
			CASE WHEN remote_fk THEN format(' that references %I.%I', s, t) ELSE '' END)
		)::dbops_internal.metadata_problem
	FROM rels
	WHERE rrelid IS NOT NULL AND rel ? 'columns'
	  AND NOT EXISTS (SELECT FROM fk_cols f
					  WHERE f.ti = rels.ti AND f.kind = rels.kind AND f.ri = rels.ri AND f.attnum IS NULL)
	  AND NOT EXISTS (
		SELECT FROM pg_catalog.pg_constraint c
		WHERE c.contype = 'f'
		  AND c.conrelid = CASE WHEN rels.remote_fk THEN rels.rrelid ELSE rels.relid END
		  AND (NOT rels.remote_fk OR c.confrelid = rels.relid)
		  AND (SELECT array_agg(a.attname::text ORDER BY a.attname::text COLLATE "C")
			   FROM unnest(c.conkey) k
			   JOIN pg_catalog.pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k)
			= (SELECT array_agg(x ORDER BY x COLLATE "C")
			   FROM jsonb_array_elements_text(rels.rel -> 'columns') x))
	UNION ALL
	SELECT ti, ki, ri, 3, lcol, ROW('error', path || '.manual_configuration.column_mapping',
		kind || '_relationship', oname, s, t, rel ->> 'name', NULL,
		CASE WHEN ltype IS NULL THEN format('column "%s" of table %I.%I does not exist', lcol, s, t)
			WHEN rtype IS NULL THEN format('column "%s" of table %I.%I does not exist', rcol, rs, rt)
			ELSE format('columns "%s" (%s) and "%s" (%s) cannot be compared', lcol,
				format_type(ltype, NULL), rcol, format_type(rtype, NULL)) END
		)::dbops_internal.metadata_problem
	FROM mappings
	WHERE ltype IS NULL OR rtype IS NULL
		OR NOT dbops_internal.metadata_types_comparable(ltype, rtype)
	UNION ALL
	-- permissions: the role, the columns, the conditions, the policy name
	SELECT ti, 2 + ai, pi, 2, '', ROW('error', path || '.role', otype, oname, s, t, role, action,
		format('role "%s" does not exist', role))::dbops_internal.metadata_problem
	FROM p WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = p.role)
	UNION ALL
	SELECT ti, 2 + ai, pi, 6, '', ROW('error', path || '.permission.columns', otype, oname, s, t, role, action,
		format('column "%s" of table %I.%I does not exist', c, s, t))::dbops_internal.metadata_problem
	FROM p, jsonb_array_elements_text(CASE WHEN jsonb_typeof(p.body -> 'columns') = 'array'
										THEN p.body -> 'columns' END) c
	WHERE p.relid IS NOT NULL
	  AND NOT EXISTS (SELECT FROM pg_catalog.pg_attribute a
					  WHERE a.attrelid = p.relid AND a.attname = c AND a.attnum > 0 AND NOT a.attisdropped)
	UNION ALL
	SELECT cs.ti, 2 + cs.ai, cs.pi, cs.n, cp.problem ->> 'path',
		ROW(cp.problem ->> 'severity', cs.path || '.permission.' || (cp.problem ->> 'path'),
			cs.otype, cs.oname, cs.s, cs.t, cs.role, cs.action,
			cp.problem ->> 'reason')::dbops_internal.metadata_problem
	FROM conditions_set cs
	JOIN condition_problems cp
		ON cp.relid = cs.relid AND cp.k = cs.k AND cp.sql IS NOT DISTINCT FROM cs.sql
		AND cp.hasura IS NOT DISTINCT FROM cs.hasura AND cp.presets IS NOT DISTINCT FROM cs.presets
	UNION ALL
	SELECT ti, 2 + ai, pi, n + 2, '', ROW('warning', path || '.permission.' || k, otype, oname, s, t,
		role, action,
		format('%s is not enforced by PostgreSQL on view %I.%I (no row-level security on views); enforce it on the base tables and read them through a security_invoker view',
			k, s, t))::dbops_internal.metadata_problem
	FROM conditions_set WHERE is_view
	UNION ALL
	-- the policy dbops would create is taken by one it did not create
	SELECT ti, 2 + ai, pi, 10, '', ROW('error', path || '.role', otype, oname, s, t, role, action,
		format('policy "%s" on table %I.%I exists and was not created by dbops', pol.polname, s, t)
		)::dbops_internal.metadata_problem
	FROM p JOIN pg_catalog.pg_policy pol
		ON pol.polrelid = p.relid AND pol.polname = dbops_internal.metadata_policy_name(p.action, p.role)
	WHERE NOT EXISTS (SELECT FROM dbops.metadata_created m
					  WHERE m.table_schema = p.s AND m.table_name = p.t AND m.policy_name = pol.polname)
)
SELECT (prob).* FROM problems ORDER BY ti, section, idx, n, sub COLLATE "C"
$$;

/*
 * Raise one error listing every fatal problem, and the errors too unless
 * they may be stored; unenforced permissions and warnings never raise.
 */
CREATE FUNCTION dbops_internal.metadata_raise(problems dbops_internal.metadata_problem[],
	errors_too boolean, message text)
RETURNS void
LANGUAGE plpgsql STRICT
SET search_path = pg_catalog, pg_temp
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

-- what is not enforced as declared, among problems, as returned to callers
CREATE FUNCTION dbops_internal.metadata_problems_json(problems dbops_internal.metadata_problem[])
RETURNS jsonb
LANGUAGE sql IMMUTABLE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT coalesce(jsonb_agg(jsonb_build_object('type', p.object_type, 'name', p.object_name,
			'reason', p.reason)
		ORDER BY p.object_type COLLATE "C", p.object_name COLLATE "C", p.reason COLLATE "C"), '[]')
	FROM unnest(problems) p
	WHERE p.severity IN ('error', 'unenforced', 'warning')
$$;

/*
 * Every problem of a document in normal form, with the Hasura expressions
 * already normalised: the reader's, then the checks against the database.
 */
CREATE FUNCTION dbops_internal.metadata_all_problems(doc jsonb, caller oid, relationships jsonb)
RETURNS dbops_internal.metadata_problem[]
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT ARRAY(SELECT dbops_internal.metadata_problems(doc, caller, relationships)) $$;
