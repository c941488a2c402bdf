/* dbops install script: what an import changes, computed before it changes it */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION dbops" to load this file. \quit

/*
 * An import (and a reload) does not drop everything and make it again: it
 * compares the document with what dbops made (dbops.metadata_created, the
 * grants and policies PostgreSQL holds) and changes only what differs, so
 * that tables whose permissions did not change are not locked at all, and
 * a dry run can say what would change.
 */

-- one step of a plan
CREATE TYPE dbops_internal.metadata_change AS (
	change text,				-- track, untrack, prepare, unprepare, create, replace, drop
	table_schema name,
	table_name name,
	role_name name,				-- a permission's
	action text,
	detail text,
	-- a permission to make: it, and what it is compared by
	-- (metadata_fingerprints)
	permission dbops.metadata_permissions,
	fingerprint text
);

-- the tables, relationships and permissions of a document in normal form, as catalog rows
CREATE FUNCTION dbops_internal.metadata_doc_tables(doc jsonb)
RETURNS SETOF dbops.metadata_tables
LANGUAGE sql IMMUTABLE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT e #>> '{table,schema}', e #>> '{table,name}', false, NULL::boolean, e -> 'extra'
	FROM jsonb_array_elements(doc -> 'tables') e
$$;

CREATE FUNCTION dbops_internal.metadata_doc_relationships(doc jsonb)
RETURNS SETOF dbops.metadata_relationships
LANGUAGE sql IMMUTABLE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT t.e #>> '{table,schema}', t.e #>> '{table,name}', r.e ->> 'name', k.kind, r.e -> 'using',
		r.e -> 'extra'
	FROM jsonb_array_elements(doc -> 'tables') t(e)
	CROSS JOIN (VALUES ('object'), ('array')) k(kind)
	CROSS JOIN LATERAL jsonb_array_elements(coalesce(t.e -> (k.kind || '_relationships'), '[]')) r(e)
$$;

-- columns "*" is stored as NULL; a condition as SQL text or as a Hasura expression, as given
CREATE FUNCTION dbops_internal.metadata_doc_permissions(doc jsonb)
RETURNS SETOF dbops.metadata_permissions
LANGUAGE sql IMMUTABLE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT t.e #>> '{table,schema}', t.e #>> '{table,name}', p.e ->> 'role', a.action,
		CASE WHEN jsonb_typeof(p.e #> '{permission,columns}') = 'array'
			THEN ARRAY(SELECT jsonb_array_elements_text(p.e #> '{permission,columns}'))::name[] END,
		CASE WHEN jsonb_typeof(p.e #> '{permission,filter}') = 'string' THEN p.e #>> '{permission,filter}' END,
		CASE WHEN jsonb_typeof(p.e #> '{permission,check}') = 'string' THEN p.e #>> '{permission,check}' END,
		CASE WHEN jsonb_typeof(p.e #> '{permission,filter}') <> 'string' THEN p.e #> '{permission,filter}' END,
		CASE WHEN jsonb_typeof(p.e #> '{permission,check}') <> 'string' THEN p.e #> '{permission,check}' END,
		p.e #> '{permission,set}', p.e -> 'extra'
	FROM jsonb_array_elements(doc -> 'tables') t(e)
	CROSS JOIN unnest(ARRAY['select', 'insert', 'update', 'delete']) a(action)
	CROSS JOIN LATERAL jsonb_array_elements(coalesce(t.e -> (a.action || '_permissions'), '[]')) p(e)
$$;

/*
 * Whether what dbops made for a permission is all still there: the policy
 * as it was made (the same row: ALTER POLICY writes a new one), the
 * functions its filters read through, and the grant by dbops_grantor (on
 * the table, or on every column listed).
 */
CREATE FUNCTION dbops_internal.metadata_intact(made dbops.metadata_created, relid oid, columns name[])
RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT (made.policy_oid IS NULL OR EXISTS (
				SELECT FROM pg_catalog.pg_policy pol
				WHERE pol.oid = made.policy_oid AND pol.polrelid = relid
				  AND pol.xmin = made.policy_xmin))
		AND NOT EXISTS (SELECT FROM unnest(made.functions) f WHERE to_regprocedure(f) IS NULL)
		AND NOT EXISTS (
			SELECT FROM unnest(CASE WHEN made.action = 'delete' OR columns IS NULL
								THEN ARRAY[NULL]::name[] ELSE columns END) col
			WHERE NOT EXISTS (
				SELECT FROM (SELECT c.relacl AS acl FROM pg_catalog.pg_class c
							 WHERE col IS NULL AND c.oid = relid
							 UNION ALL
							 SELECT a.attacl FROM pg_catalog.pg_attribute a
							 WHERE col IS NOT NULL AND a.attrelid = relid AND a.attname = col) o,
					LATERAL aclexplode(o.acl) g
				WHERE g.grantor = 'dbops_grantor'::regrole
				  AND g.grantee = (SELECT r.oid FROM pg_catalog.pg_roles r WHERE r.rolname = made.role_name)
				  AND g.privilege_type = upper(made.action)))
$$;

/*
 * The plan that takes the catalog to a checked document: problems are the
 * document's (inconsistent and unenforced permissions are not enforced, a
 * table with a problem is not prepared: fail closed), relationships_digest
 * that of its relationship map.  force makes every enforced permission
 * again (a reload, after schema changes).  A parameter named like a column
 * is written qualified: the column would win.
 */
CREATE FUNCTION dbops_internal.metadata_plan(doc jsonb, problems dbops_internal.metadata_problem[],
	relationships_digest text, force boolean)
RETURNS SETOF dbops_internal.metadata_change
LANGUAGE sql STABLE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
WITH bad AS (
	SELECT * FROM unnest(problems) b WHERE b.severity IN ('error', 'unenforced')
), want_tables AS (
	SELECT d.table_schema, d.table_name, c.oid AS relid, c.relkind, c.relrowsecurity, m.prepared,
		c.oid IS NOT NULL AND NOT EXISTS (
			SELECT FROM bad b WHERE b.object_type = 'table'
				AND b.table_schema = d.table_schema AND b.table_name = d.table_name) AS ok
	FROM dbops_internal.metadata_doc_tables(doc) d
	LEFT JOIN pg_catalog.pg_class c ON c.oid = to_regclass(format('%I.%I', d.table_schema, d.table_name))
	LEFT JOIN dbops.metadata_tables m USING (table_schema, table_name)
), want_perms AS MATERIALIZED (
	SELECT p, t.relid
	FROM dbops_internal.metadata_doc_permissions(doc) p
	JOIN want_tables t ON t.ok AND t.table_schema = p.table_schema AND t.table_name = p.table_name
	WHERE NOT EXISTS (SELECT FROM bad b WHERE b.table_schema = p.table_schema
						AND b.table_name = p.table_name AND b.entry_name = p.role_name
						AND b.action = p.action)
), want AS (
	SELECT w.p, w.relid, f.fingerprint
	FROM want_perms w
	JOIN dbops_internal.metadata_fingerprints(ARRAY(SELECT p FROM want_perms)) f
		ON f.table_schema = (w.p).table_schema AND f.table_name = (w.p).table_name
		AND f.role_name = (w.p).role_name AND f.action = (w.p).action
), tables AS (
	SELECT 1 AS step, 'untrack' AS change, m.table_schema, m.table_name, NULL::text AS detail
	FROM dbops.metadata_tables m
	WHERE NOT EXISTS (SELECT FROM want_tables t
					  WHERE t.table_schema = m.table_schema AND t.table_name = m.table_name)
	UNION ALL
	SELECT 1, 'unprepare', t.table_schema, t.table_name, NULL
	FROM want_tables t WHERE NOT t.ok AND t.prepared
	UNION ALL
	-- new, or something of its preparation undone by hand
	SELECT 2, CASE WHEN t.prepared IS NULL THEN 'track' ELSE 'prepare' END,
		t.table_schema, t.table_name,
		CASE WHEN t.relkind <> 'v' AND NOT t.relrowsecurity THEN 'enable row level security' END
	FROM want_tables t
	WHERE t.ok AND (NOT coalesce(t.prepared, false)
					OR (t.relkind <> 'v' AND NOT t.relrowsecurity)
					-- (a list of privileges asks for any one of them)
					OR EXISTS (SELECT FROM unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE']) priv
							   WHERE NOT has_table_privilege('dbops_grantor', t.relid,
															 priv || ' WITH GRANT OPTION')))
	UNION ALL
	-- in the catalog, but nothing made for it
	SELECT 2, 'track', t.table_schema, t.table_name, 'inconsistent'
	FROM want_tables t WHERE NOT t.ok AND t.prepared IS NULL
), perms AS (
	SELECT CASE WHEN w.p IS NULL THEN 'drop' ELSE 'replace' END AS change,
		m.table_schema, m.table_name, m.role_name, m.action, w.p AS permission, w.fingerprint,
		CASE WHEN w.p IS NULL THEN NULL
			 WHEN force THEN 'reload'
			 WHEN w.fingerprint IS DISTINCT FROM m.fingerprint THEN 'the permission or its table changed'
			 WHEN m.relationships_digest <> metadata_plan.relationships_digest THEN 'relationships changed'
			 ELSE 'what dbops made was changed outside dbops' END AS detail
	FROM dbops.metadata_created m
	LEFT JOIN want w ON (w.p).table_schema = m.table_schema AND (w.p).table_name = m.table_name
		AND (w.p).role_name = m.role_name AND (w.p).action = m.action
	WHERE w.p IS NULL OR force
	   OR w.fingerprint IS DISTINCT FROM m.fingerprint
	   OR m.relationships_digest <> metadata_plan.relationships_digest
	   OR NOT dbops_internal.metadata_intact(m, w.relid, (w.p).columns)
	   -- its table is prepared again: REVOKE ... CASCADE may have taken the grant
	   OR EXISTS (SELECT FROM tables t WHERE t.change = 'prepare'
				  AND t.table_schema = m.table_schema AND t.table_name = m.table_name)
	UNION ALL
	SELECT 'create', (w.p).table_schema, (w.p).table_name, (w.p).role_name, (w.p).action,
		w.p, w.fingerprint, NULL
	FROM want w
	WHERE NOT EXISTS (SELECT FROM dbops.metadata_created m
					  WHERE m.table_schema = (w.p).table_schema AND m.table_name = (w.p).table_name
						AND m.role_name = (w.p).role_name AND m.action = (w.p).action)
)
SELECT change, table_schema, table_name, role_name, action, detail, permission, fingerprint
FROM (SELECT step, change, table_schema, table_name, NULL::name AS role_name, NULL::text AS action,
		  detail, NULL::dbops.metadata_permissions AS permission, NULL::text AS fingerprint
	  FROM tables
	  UNION ALL
	  SELECT CASE WHEN change = 'create' THEN 3 ELSE 0 END, change, table_schema, table_name,
		  role_name, action, detail, permission, fingerprint
	  FROM perms) s
ORDER BY step, table_schema COLLATE "C", table_name COLLATE "C", role_name COLLATE "C", action
$$;

/*
 * A plan as the dry run shows it.  A permission's change names the
 * privilege dbops_grantor revokes (all of it, on the table and its
 * columns) and grants, and the policy it drops or creates (none on views).
 */
CREATE FUNCTION dbops_internal.metadata_plan_json(plan dbops_internal.metadata_change[])
RETURNS jsonb
LANGUAGE sql STABLE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT coalesce(jsonb_agg(jsonb_strip_nulls(jsonb_build_object('change', c.change,
			'schema', c.table_schema, 'table', c.table_name, 'role', c.role_name,
			'action', c.action, 'detail', c.detail,
			'revoke', CASE WHEN c.change IN ('drop', 'replace') THEN upper(c.action) END,
			'grant', CASE WHEN c.change IN ('create', 'replace')
				AND (c.action = 'delete' OR cardinality((c.permission).columns) IS DISTINCT FROM 0)
				THEN upper(c.action)
				|| CASE WHEN c.action <> 'delete' AND (c.permission).columns IS NOT NULL
					THEN ' (' || (SELECT string_agg(quote_ident(col), ', ')
								  FROM unnest((c.permission).columns) col) || ')' ELSE '' END END,
			'policy', CASE WHEN c.role_name IS NOT NULL AND cl.relkind IS DISTINCT FROM 'v'
				THEN dbops_internal.metadata_policy_name(c.action, c.role_name) END))
		ORDER BY i), '[]')
	FROM unnest(plan) WITH ORDINALITY c(change, table_schema, table_name, role_name, action, detail,
										permission, fingerprint, i)
	LEFT JOIN pg_catalog.pg_class cl ON cl.oid = to_regclass(format('%I.%I', c.table_schema, c.table_name))
$$;

/*
 * Roles that reach a table only by grants dbops did not make, and that get
 * no permission there, lose that access when dbops enables row level
 * security on it: warnings, before and at the import.  The owner and roles
 * that bypass RLS keep it; a member of a role given the permission keeps
 * it through that role's policy.
 */
CREATE FUNCTION dbops_internal.metadata_rls_warnings(plan dbops_internal.metadata_change[])
RETURNS dbops_internal.metadata_problem[]
LANGUAGE sql STABLE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT ARRAY(
		SELECT ROW('warning', NULL, 'table', format('%I.%I', c.table_schema, c.table_name),
			c.table_schema, c.table_name, g.grantee_name, lower(g.privilege_type),
			format('role "%s" has %s on table %I.%I only by a grant dbops did not make: once row level security is enabled there, it can %s no rows',
				   g.grantee_name, g.privilege_type, c.table_schema, c.table_name,
				   lower(g.privilege_type)))::dbops_internal.metadata_problem
		FROM unnest(plan) c
		JOIN pg_catalog.pg_class cl ON cl.oid = to_regclass(format('%I.%I', c.table_schema, c.table_name))
		CROSS JOIN LATERAL (
			SELECT DISTINCT a.grantee, coalesce(r.rolname, 'PUBLIC') AS grantee_name, a.privilege_type
			FROM (SELECT cl.relacl AS acl
				  UNION ALL
				  SELECT at.attacl FROM pg_catalog.pg_attribute at
				  WHERE at.attrelid = cl.oid AND at.attnum > 0 AND NOT at.attisdropped) o
			CROSS JOIN LATERAL aclexplode(o.acl) a
			LEFT JOIN pg_catalog.pg_roles r ON r.oid = a.grantee
			WHERE a.grantor <> 'dbops_grantor'::regrole AND a.grantee <> 'dbops_grantor'::regrole
			  AND a.privilege_type IN ('SELECT', 'INSERT', 'UPDATE', 'DELETE')
			  AND a.grantee <> cl.relowner
			  AND NOT coalesce(r.rolsuper OR r.rolbypassrls, false)) g
		WHERE c.change IN ('track', 'prepare') AND c.detail = 'enable row level security'
		  AND NOT EXISTS (
			SELECT FROM unnest(plan) w
			WHERE w.change IN ('create', 'replace') AND w.table_schema = c.table_schema
			  AND w.table_name = c.table_name AND w.action = lower(g.privilege_type)
			  AND CASE WHEN g.grantee = 0 THEN w.role_name = 'public'
					   ELSE pg_has_role(g.grantee, w.role_name, 'MEMBER') END)
		ORDER BY c.table_schema COLLATE "C", c.table_name COLLATE "C", g.grantee_name COLLATE "C",
			g.privilege_type)
$$;

/*
 * Carry out a plan of metadata_plan() for the document it was made from:
 * what goes is undone first (a permission made again keeps its functions'
 * names), the catalog becomes the document's (a table kept keeps its
 * preparation), then what is new is made.
 */
CREATE FUNCTION dbops_internal.metadata_apply(doc jsonb, plan dbops_internal.metadata_change[],
	relationships jsonb, relationships_digest text, accepted text[])
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF doc IS NULL OR plan IS NULL OR relationships IS NULL OR relationships_digest IS NULL THEN
		RAISE EXCEPTION USING ERRCODE = 'null_value_not_allowed',
			MESSAGE = 'document, plan and relationships must not be null';
	END IF;
	-- dbops_grantor's privileges back first: it revokes what it granted
	PERFORM dbops_internal.metadata_prepare(c.table_schema, c.table_name)
	FROM unnest(plan) c WHERE c.change = 'prepare';
	PERFORM dbops_internal.metadata_unenforce(c.table_schema, c.table_name, c.role_name, c.action)
	FROM unnest(plan) c WHERE c.change IN ('drop', 'replace');
	PERFORM dbops_internal.metadata_unenforce_table(c.table_schema, c.table_name)
	FROM unnest(plan) c WHERE c.change IN ('untrack', 'unprepare');

	DELETE FROM dbops.metadata_permissions;
	DELETE FROM dbops.metadata_relationships;
	DELETE FROM dbops.metadata_tables m
	WHERE NOT EXISTS (SELECT FROM dbops_internal.metadata_doc_tables(doc) d
					  WHERE d.table_schema = m.table_schema AND d.table_name = m.table_name);
	INSERT INTO dbops.metadata_tables SELECT * FROM dbops_internal.metadata_doc_tables(doc)
	ON CONFLICT (table_schema, table_name) DO UPDATE SET extra = excluded.extra;
	INSERT INTO dbops.metadata_relationships SELECT * FROM dbops_internal.metadata_doc_relationships(doc);
	INSERT INTO dbops.metadata_permissions SELECT * FROM dbops_internal.metadata_doc_permissions(doc);
	DELETE FROM dbops.metadata_extras;
	INSERT INTO dbops.metadata_extras SELECT key, value FROM jsonb_each(doc -> 'extras');
	DELETE FROM dbops.metadata_accepted;
	INSERT INTO dbops.metadata_accepted SELECT DISTINCT unnest(accepted);

	PERFORM dbops_internal.metadata_prepare(c.table_schema, c.table_name)
	FROM unnest(plan) c
	WHERE c.change = 'track' AND c.detail IS DISTINCT FROM 'inconsistent';
	-- (not joined with the catalog just filled: it has no statistics yet)
	PERFORM dbops_internal.metadata_enforce(c.permission, cl.oid, cl.relkind = 'v', relationships,
		relationships_digest, c.fingerprint)
	FROM unnest(plan) c
	JOIN pg_catalog.pg_class cl ON cl.oid = to_regclass(format('%I.%I', c.table_schema, c.table_name))
	WHERE c.change IN ('create', 'replace');
END
$$;

/*
 * Plan a checked document (metadata_check_read: its problems and
 * relationships) and carry the plan out, unless dry_run: then return it
 * with the problems instead.  force: see metadata_plan.  Returns the
 * problems, warnings included.
 */
CREATE FUNCTION dbops_internal.metadata_change_to(checked jsonb, problems dbops_internal.metadata_problem[],
	relationships jsonb, accepted text[], force boolean, dry_run boolean)
RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
	digest text := md5(relationships::text);
	plan dbops_internal.metadata_change[] :=
		ARRAY(SELECT dbops_internal.metadata_plan(checked, problems, digest, force));
	all_problems jsonb := dbops_internal.metadata_problems_json(
		problems || dbops_internal.metadata_rls_warnings(plan));
BEGIN
	IF dry_run THEN
		RETURN jsonb_build_object('changes', dbops_internal.metadata_plan_json(plan),
								  'problems', all_problems);
	END IF;
	PERFORM dbops_internal.metadata_apply(checked, plan, relationships, digest, accepted);
	RETURN all_problems;
END
$$;
