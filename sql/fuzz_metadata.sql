--
-- Property: a malformed metadata document either fails, or grants no more
-- than the document it was made from.  1500 seeded mutations of a valid
-- document (fuzz_helpers) are imported one by one; what PostgreSQL then
-- enforces (column grants by dbops_grantor, and the rows each role's
-- policies let it reach, evaluated independently of dbops) must be a
-- subset of what the original grants.  A failed import must change
-- nothing, and fail with a SQLSTATE other than an internal error.
--
\set SHOW_CONTEXT never
CREATE ROLE regress_fz_admin IN ROLE dbops_admin;
CREATE ROLE regress_fz_a;
CREATE ROLE regress_fz_b;
CREATE SCHEMA fz AUTHORIZATION regress_fz_admin;
SET ROLE regress_fz_admin;
CREATE TABLE fz.parent (id int PRIMARY KEY, label text);
CREATE TABLE fz.item (id int PRIMARY KEY, parent int REFERENCES fz.parent, owner text, qty int, secret text);
INSERT INTO fz.parent SELECT g, 'p' || g FROM generate_series(1, 5) g;
INSERT INTO fz.item SELECT g, 1 + g % 5, CASE WHEN g % 2 = 0 THEN 'a' ELSE 'b' END, g, 's' || g
FROM generate_series(1, 20) g;
RESET ROLE;

/*
 * What PostgreSQL enforces on schema fz, one line per (role, privilege,
 * table, column, row): the column privileges dbops_grantor granted
 * (table-wide ones for every column), each with the rows the role's
 * policies for that command let it reach (RLS on), or every row (RLS off).
 * Policy expressions are evaluated here, as superuser, from pg_policy.
 */
CREATE FUNCTION fuzz.access()
RETURNS SETOF text
LANGUAGE plpgsql AS $$
DECLARE
	g record;
	rows int[];
BEGIN
	FOR g IN
		SELECT DISTINCT a.grantee::regrole::text AS role, a.privilege_type AS priv, c.oid AS relid,
			c.relname, c.relrowsecurity AS rls, att.attname
		FROM pg_class c
		JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'fz'
		CROSS JOIN LATERAL (SELECT NULL::name AS col, c.relacl AS acl
							UNION ALL
							SELECT attname, attacl FROM pg_attribute
							WHERE attrelid = c.oid AND attnum > 0 AND NOT attisdropped) o
		CROSS JOIN LATERAL aclexplode(o.acl) a
		JOIN pg_attribute att ON att.attrelid = c.oid AND att.attnum > 0 AND NOT att.attisdropped
			AND (o.col IS NULL OR att.attname = o.col)
		WHERE a.grantor = 'dbops_grantor'::regrole AND c.relkind = 'r'
	LOOP
		IF NOT g.rls THEN
			EXECUTE format('SELECT array_agg(id ORDER BY id) FROM fz.%I', g.relname) INTO rows;
		ELSE
			-- permissive policies OR together; INSERT rows are those its check admits
			EXECUTE format('SELECT array_agg(id ORDER BY id) FROM fz.%I WHERE false %s', g.relname,
				(SELECT string_agg(format(' OR (%s)',
						coalesce(CASE WHEN g.priv = 'INSERT' THEN pg_get_expr(p.polwithcheck, p.polrelid)
									  ELSE pg_get_expr(p.polqual, p.polrelid) END, 'true')), '')
				 FROM pg_policy p
				 WHERE p.polrelid = g.relid
				   AND p.polcmd IN ('*', CASE g.priv WHEN 'SELECT' THEN 'r' WHEN 'INSERT' THEN 'a'
												   WHEN 'UPDATE' THEN 'w' WHEN 'DELETE' THEN 'd' END)
				   AND (0 = ANY (p.polroles) OR g.role::regrole = ANY (p.polroles))))
				INTO rows;
		END IF;
		RETURN QUERY SELECT format('%s %s %s.%s row %s', g.role, g.priv, g.relname, g.attname, r)
					 FROM unnest(rows) r;
		-- an UPDATE's new rows must also pass its check
		IF g.priv = 'UPDATE' AND g.rls THEN
			EXECUTE format('SELECT array_agg(id ORDER BY id) FROM fz.%I WHERE false %s', g.relname,
				(SELECT string_agg(format(' OR (%s)', coalesce(pg_get_expr(p.polwithcheck, p.polrelid),
																pg_get_expr(p.polqual, p.polrelid), 'true')), '')
				 FROM pg_policy p
				 WHERE p.polrelid = g.relid AND p.polcmd IN ('*', 'w')
				   AND (0 = ANY (p.polroles) OR g.role::regrole = ANY (p.polroles))))
				INTO rows;
			RETURN QUERY SELECT format('%s UPDATE-CHECK %s.%s row %s', g.role, g.relname, g.attname, r)
						 FROM unnest(rows) r;
		END IF;
	END LOOP;
END
$$;

-- everything dbops keeps and makes: catalog, grants, policies, RLS flags
CREATE FUNCTION fuzz.state()
RETURNS text
LANGUAGE sql AS $$
	SELECT dbops.export_metadata()::text
		|| coalesce((SELECT string_agg(x, E'\n' ORDER BY x) FROM fuzz.access() x), '')
		|| (SELECT string_agg(relname || relrowsecurity, ',' ORDER BY relname)
			FROM pg_class WHERE relnamespace = 'fz'::regnamespace AND relkind = 'r')
$$;

\set doc '{"version": 2, "tables": [{"table": {"schema": "fz", "name": "item"}, "object_relationships": [{"name": "parent", "using": {"foreign_key_constraint_on": "parent"}}], "select_permissions": [{"role": "regress_fz_a", "permission": {"columns": ["id", "owner", "qty"], "filter": "owner = ''a''"}}, {"role": "regress_fz_b", "permission": {"columns": ["id", "qty"], "filter": {"_and": [{"qty": {"_gt": 5}}, {"owner": {"_eq": "b"}}]}}}], "insert_permissions": [{"role": "regress_fz_a", "permission": {"columns": ["id", "owner", "qty"], "check": "qty < 10"}}], "update_permissions": [{"role": "regress_fz_a", "permission": {"columns": ["qty"], "filter": "owner = ''a''", "check": "qty < 15"}}], "delete_permissions": [{"role": "regress_fz_b", "permission": {"filter": "id > 18"}}]}, {"table": {"schema": "fz", "name": "parent"}, "array_relationships": [{"name": "items", "using": {"foreign_key_constraint_on": {"table": {"schema": "fz", "name": "item"}, "column": "parent"}}}], "select_permissions": [{"role": "regress_fz_a", "permission": {"columns": ["id"], "filter": "id < 3"}}]}]}'

SET ROLE regress_fz_admin;
SELECT dbops.import_metadata(:'doc');
RESET ROLE;
SELECT count(*) AS original_access FROM fuzz.access();
SELECT set_config('fuzz.doc', :'doc', false) IS NOT NULL AS doc_set;

CREATE TABLE fuzz.outcome (i int, mutated jsonb, sqlstate text, message text, widened text[],
	state_kept boolean);

DO $$
DECLARE
	base jsonb := current_setting('fuzz.doc')::jsonb;
	granted text[] := ARRAY(SELECT fuzz.access());
	before text := fuzz.state();
	mutated jsonb;
	state text;
	msg text;
	extra text[];
BEGIN
	PERFORM setseed(0.20261204);
	FOR i IN 1 .. 1500 LOOP
		mutated := fuzz.mutate(base);
		extra := NULL;
		BEGIN
			SET LOCAL ROLE regress_fz_admin;
			PERFORM dbops.import_metadata(mutated);
			RESET ROLE;
			extra := ARRAY(SELECT x FROM fuzz.access() x EXCEPT SELECT unnest(granted));
			-- undo the import, with a marker error
			RAISE EXCEPTION USING ERRCODE = 'ZZ000', MESSAGE = 'imported';
		EXCEPTION WHEN OTHERS THEN
			GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
		END;
		INSERT INTO fuzz.outcome VALUES (i, mutated, state, msg, extra, fuzz.state() = before);
	END LOOP;
END
$$;

-- How the mutations ended: most fail (22023, invalid document); some still
-- import (a permission or a table fewer) and must grant no more.
SELECT CASE WHEN sqlstate = 'ZZ000' THEN 'imported' ELSE sqlstate END AS outcome, count(*) > 0 AS seen
FROM fuzz.outcome GROUP BY 1 ORDER BY 1;
SELECT count(*) AS widened FROM fuzz.outcome WHERE cardinality(widened) > 0;
SELECT i, mutated, widened[1:3] FROM fuzz.outcome WHERE cardinality(widened) > 0 ORDER BY i LIMIT 3;
SELECT count(*) AS internal_errors FROM fuzz.outcome WHERE sqlstate LIKE 'XX%';
SELECT count(*) AS state_changed_by_a_failure FROM fuzz.outcome WHERE NOT state_kept;

SET ROLE regress_fz_admin;
SELECT dbops.reset_metadata();
RESET ROLE;
DROP SCHEMA fz CASCADE;
DROP ROLE regress_fz_admin, regress_fz_a, regress_fz_b;
