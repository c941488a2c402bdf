/* dbops install script: checks of metadata documents against the database */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION dbops" to load this file. \quit

/*
 * A document is checked in two steps.  Its shape, in C
 * (src/metadata_document.c), which also puts it into one normal form; then,
 * set-based, what it names against the database.  Every check reports a
 * problem instead of raising, so that an import can list them all in one
 * error:
 *   fatal    the document cannot be stored at all (shape, reserved role
 *            names, tables the caller may not manage);
 *   error    the entry is inconsistent with the database (missing table,
 *            column, role, constraint; a filter that does not type-check);
 *            stored only with allow_inconsistent, and never enforced;
 *   warning  stored and exported, but not enforced by PostgreSQL (a filter
 *            on a view).
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

CREATE FUNCTION dbops_internal.metadata_read_document(doc jsonb, role_map jsonb)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'dbops_metadata_read_document'
LANGUAGE C IMMUTABLE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION dbops_internal.metadata_read_document(jsonb, jsonb) IS 'a document''s shape problems and its normal form';

CREATE FUNCTION dbops_internal.metadata_filter_error(rel regclass, filter text, what text)
RETURNS text
AS 'MODULE_PATHNAME', 'dbops_metadata_filter_error'
LANGUAGE C STRICT VOLATILE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION dbops_internal.metadata_filter_error(regclass, text, text) IS 'the error CREATE POLICY would raise for this filter, or NULL';

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
 * The problems of a document in normal form against the database: its
 * tables, relationships and permissions, with a few set-based queries
 * rather than per entry (an import may hold thousands); each distinct
 * filter is type-checked once per table.  caller NULL skips the ownership
 * check (re-checking what is stored).  Ordered as in the document.
 */
CREATE FUNCTION dbops_internal.metadata_problems(doc jsonb, caller oid)
RETURNS SETOF dbops_internal.metadata_problem
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
-- jsonb functions are estimated at 100 rows each, which would make this
-- query look expensive enough to JIT-compile (seconds)
SET jit = off
AS $$
WITH t AS MATERIALIZED (
	SELECT x.ti - 1 AS ti, x.e AS entry,
		(x.e #>> '{table,schema}')::name AS s, (x.e #>> '{table,name}')::name AS t,
		c.oid AS anyrelid, c.relowner,
		CASE WHEN c.relkind IN ('r', 'p', 'v') THEN c.oid END AS relid,
		c.relkind = 'v' AS is_view
	FROM jsonb_array_elements(doc -> 'tables') WITH ORDINALITY x(e, ti)
	LEFT JOIN pg_catalog.pg_namespace n ON n.nspname = x.e #>> '{table,schema}'
	LEFT JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid AND c.relname = x.e #>> '{table,name}'
	WHERE jsonb_typeof(x.e) = 'object'
), rels AS (
	SELECT t.ti, t.s, t.t, t.relid, k.kind, k.ki, r.ri - 1 AS ri, r.e AS rel,
		format('$.tables[%s].%s_relationships[%s].using', t.ti, k.kind, r.ri - 1) AS path,
		format('%I on %I.%I', r.e ->> 'name', t.s, t.t) AS oname,
		(r.e #>> '{remote,schema}')::name AS rs, (r.e #>> '{remote,name}')::name AS rt,
		rc.oid AS rrelid
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
		ON a.attrelid = rels.rrelid AND a.attname = c.col AND a.attnum > 0 AND NOT a.attisdropped
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
		format('$.tables[%s].%s_permissions[%s]', t.ti, a.action, y.pi - 1) AS path,
		y.pe ->> 'role' AS role, y.pe -> 'permission' AS body,
		a.action || '_permission' AS otype, format('%I on %I.%I', y.pe ->> 'role', t.s, t.t) AS oname
	FROM t
	CROSS JOIN unnest('{select,insert,update,delete}'::text[]) WITH ORDINALITY a(action, ai)
	CROSS JOIN LATERAL jsonb_array_elements(coalesce(t.entry -> (a.action || '_permissions'), '[]'))
		WITH ORDINALITY y(pe, pi)
	WHERE jsonb_typeof(y.pe) = 'object'
), filters AS (
	SELECT p.*, k.k, k.n, p.body -> k.k AS f
	FROM p CROSS JOIN (VALUES ('filter', 7), ('check', 8)) k(k, n)
	WHERE p.body ? k.k AND p.body -> k.k <> '{}'	-- {}: Hasura's "no condition"
), filter_errors AS MATERIALIZED (
	-- only the filters that fail, usually none, so the join below is cheap
	SELECT * FROM (
		SELECT d.relid, d.k, d.f, dbops_internal.metadata_filter_error(d.relid, d.f, d.k) AS err
		FROM (SELECT DISTINCT relid, k, f #>> '{}' AS f FROM filters
			  WHERE relid IS NOT NULL AND jsonb_typeof(f) = 'string') d) checked
	WHERE err IS NOT NULL
), problems AS (
	-- tables: missing, not a table, or not the caller's to manage
	SELECT ti, 0 AS section, 0 AS idx, 0 AS n, ''::text AS sub,
		ROW(CASE WHEN relid IS NULL THEN 'error' ELSE 'fatal' END,
			format('$.tables[%s].table', ti), 'table', format('%I.%I', s, t), s, t, NULL, NULL,
			CASE WHEN anyrelid IS NULL THEN format('table %I.%I does not exist', s, t)
				WHEN relid IS NULL THEN format('relation %I.%I is not a table or view', s, t)
				ELSE format('must be owner of table %I.%I to manage its metadata', s, t) END
		)::dbops_internal.metadata_problem AS prob
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
		format('column "%s" of table %I.%I does not exist', col, rs, rt))::dbops_internal.metadata_problem
	FROM fk_cols WHERE attnum IS NULL
	UNION ALL
	SELECT ti, ki, ri, 2, '', ROW('error', path || '.foreign_key_constraint_on', kind || '_relationship',
		oname, s, t, rel ->> 'name', NULL,
		format('table %I.%I has no foreign key constraint on (%s)%s', rs, rt,
			(SELECT string_agg(c, ', ') FROM jsonb_array_elements_text(rel -> 'columns') c),
			CASE WHEN kind = 'array' THEN format(' that references %I.%I', s, t) ELSE '' END)
		)::dbops_internal.metadata_problem
	FROM rels
	WHERE rrelid IS NOT NULL AND rel ? 'columns'
	  AND NOT EXISTS (SELECT FROM fk_cols f
					  WHERE f.ti = rels.ti AND f.kind = rels.kind AND f.ri = rels.ri AND f.attnum IS NULL)
	  AND NOT EXISTS (
		SELECT FROM pg_catalog.pg_constraint c
		WHERE c.conrelid = rels.rrelid AND c.contype = 'f'
		  AND (rels.kind = 'object' OR c.confrelid = rels.relid)
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
	-- permissions: the role, the columns, the filters, the policy name
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
	SELECT ti, 2 + ai, pi, n, '', ROW('fatal', path || '.permission.' || k, otype, oname, s, t, role, action,
		'must be a SQL boolean expression written as a string, or a Hasura boolean expression over columns of the table (_and, _or, _not, _eq, _neq, _gt, _lt, _gte, _lte, _in, _nin, _is_null, _like, _nlike, _ilike, _nilike)'
		)::dbops_internal.metadata_problem
	FROM filters WHERE jsonb_typeof(f) <> 'string'
	UNION ALL
	SELECT ti, 2 + ai, pi, n, '', ROW('error', path || '.permission.' || filters.k, otype, oname, s, t,
		role, action, e.err)::dbops_internal.metadata_problem
	FROM filters JOIN filter_errors e
		ON e.relid = filters.relid AND e.k = filters.k AND e.f = filters.f #>> '{}'
	UNION ALL
	SELECT ti, 2 + ai, pi, n + 2, '', ROW('warning', path || '.permission.' || k, otype, oname, s, t,
		role, action,
		format('%s is not enforced by PostgreSQL on view %I.%I (no row-level security on views); enforce it on the base tables and read them through a security_invoker view',
			k, s, t))::dbops_internal.metadata_problem
	FROM filters WHERE is_view AND jsonb_typeof(f) = 'string'
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
 * Every problem of a document: its shape (fatal, from the C reader) first,
 * then the checks against the database of what it names.  doc is the
 * normal form with the Hasura expressions translated.
 */
CREATE FUNCTION dbops_internal.metadata_all_problems(doc jsonb, caller oid)
RETURNS dbops_internal.metadata_problem[]
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT ARRAY(
		SELECT ROW('fatal', x ->> 'path', 'document', NULL, NULL, NULL, NULL, NULL,
				   x ->> 'reason')::dbops_internal.metadata_problem
		FROM jsonb_array_elements(doc -> 'problems') x)
		|| ARRAY(SELECT dbops_internal.metadata_problems(doc, caller))
$$;

/*
 * Raise one error listing every fatal problem, and the errors too unless
 * they may be stored; warnings never raise.
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

-- the inconsistent objects among problems, as returned to callers
CREATE FUNCTION dbops_internal.metadata_problems_json(problems dbops_internal.metadata_problem[])
RETURNS jsonb
LANGUAGE sql IMMUTABLE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT coalesce(jsonb_agg(jsonb_build_object('type', p.object_type, 'name', p.object_name,
			'reason', p.reason)
		ORDER BY p.object_type COLLATE "C", p.object_name COLLATE "C", p.reason COLLATE "C"), '[]')
	FROM unnest(problems) p
	WHERE p.severity IN ('error', 'warning')
$$;
