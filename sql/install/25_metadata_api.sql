/* dbops install script: the metadata functions */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION dbops" to load this file. \quit

/*
 * A document in normal form (src/metadata_document.c) checked against the
 * database, with its relationships resolved.  caller NULL skips the
 * ownership checks (re-checking what is stored).
 */
CREATE FUNCTION dbops_internal.metadata_check_read(doc jsonb, caller oid,
	OUT checked jsonb, OUT problems dbops_internal.metadata_problem[], OUT relationships jsonb)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
BEGIN
	checked := doc;
	relationships := dbops_internal.metadata_relationship_map(checked);
	problems := dbops_internal.metadata_all_problems(checked, caller, relationships);
END
$$;

-- the same for a document not read yet, with the restrictive keys accepted so far
CREATE FUNCTION dbops_internal.metadata_check_document(doc jsonb, role_map jsonb, caller oid,
	OUT checked jsonb, OUT problems dbops_internal.metadata_problem[], OUT relationships jsonb)
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT * FROM dbops_internal.metadata_check_read(
		dbops_internal.metadata_read_document(doc, role_map,
			ARRAY(SELECT key FROM dbops.metadata_accepted), NULL), caller)
$$;

-- the caller must have the privileges of the owner of every tracked table that exists
CREATE FUNCTION dbops_internal.metadata_check_owner_all(caller oid)
RETURNS void
LANGUAGE plpgsql STRICT
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	tbl record;
BEGIN
	FOR tbl IN SELECT t.table_schema, t.table_name FROM dbops.metadata_tables t
			JOIN pg_catalog.pg_class c ON c.oid = to_regclass(format('%I.%I', t.table_schema, t.table_name))
			WHERE NOT pg_has_role(caller, c.relowner, 'USAGE')
			ORDER BY 1, 2 LIMIT 1 LOOP
		RAISE EXCEPTION USING ERRCODE = 'insufficient_privilege',
			MESSAGE = format('must be owner of table %I.%I to manage its metadata', tbl.table_schema, tbl.table_name);
	END LOOP;
END
$$;

/*
 * The checks of single-entry changes: the table is tracked and the caller
 * may manage it.  Returns the table's schema and name.
 */
CREATE FUNCTION dbops_internal.metadata_tracked(caller oid, tbl regclass, OUT s name, OUT t name)
LANGUAGE plpgsql STRICT
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	SELECT n.nspname, c.relname INTO s, t FROM pg_catalog.pg_class c
	JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = tbl;
	IF NOT FOUND THEN
		RAISE EXCEPTION USING ERRCODE = 'undefined_table',
			MESSAGE = format('relation with OID %s does not exist', tbl::oid);
	END IF;
	IF NOT EXISTS (SELECT FROM dbops.metadata_tables m WHERE m.table_schema = s AND m.table_name = t) THEN
		RAISE EXCEPTION USING ERRCODE = 'undefined_object',
			MESSAGE = format('table %I.%I is not tracked', s, t),
			HINT = 'Track it first with dbops.track_table().';
	END IF;
	IF NOT pg_has_role(caller, (SELECT relowner FROM pg_catalog.pg_class WHERE oid = tbl), 'USAGE') THEN
		RAISE EXCEPTION USING ERRCODE = 'insufficient_privilege',
			MESSAGE = format('must be owner of table %I.%I to manage its metadata', s, t);
	END IF;
END
$$;

/*
 * Check a single entry the way an import would (every problem raises, paths
 * relative to the entry), then report warnings.
 */
CREATE FUNCTION dbops_internal.metadata_check_entry(caller oid, entry jsonb, message text)
RETURNS void
LANGUAGE plpgsql STRICT
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	problems dbops_internal.metadata_problem[] := ARRAY(
		SELECT ROW(p.severity, regexp_replace(p.path, '^\$\.tables\[0\]', '$'), p.object_type,
				   p.object_name, p.table_schema, p.table_name, p.entry_name, p.action,
				   p.reason)::dbops_internal.metadata_problem
		FROM unnest((dbops_internal.metadata_check_document(
			jsonb_build_object('version', 2, 'tables', jsonb_build_array(entry)), NULL, caller)).problems) p);
	p dbops_internal.metadata_problem;
BEGIN
	PERFORM dbops_internal.metadata_raise(problems, true, message);
	FOREACH p IN ARRAY problems LOOP
		RAISE WARNING USING MESSAGE = p.reason;
	END LOOP;
END
$$;

/*
 * The entry points' implementations, run as the extension owner by
 * src/metadata_entry.c with the calling role as first argument.  Bulk ones
 * turn JIT off: their queries over jsonb are estimated far above what they
 * cost, and compiling them would take longer than running them.
 */
CREATE FUNCTION dbops_internal.track_table_impl(caller oid, tbl regclass)
RETURNS void
LANGUAGE plpgsql STRICT
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	cls record;
BEGIN
	SELECT n.nspname AS s, c.relname AS t, c.relkind, c.relowner INTO cls
	FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
	WHERE c.oid = tbl;
	IF NOT FOUND THEN
		RAISE EXCEPTION USING ERRCODE = 'undefined_table',
			MESSAGE = format('relation with OID %s does not exist', tbl::oid);
	END IF;
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
	PERFORM dbops_internal.metadata_prepare(cls.s, cls.t);
END
$$;

-- by name, so that a table dropped behind dbops's back can be untracked too
CREATE FUNCTION dbops_internal.untrack_table_impl(caller oid, s name, t name)
RETURNS void
LANGUAGE plpgsql STRICT
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	relid oid := to_regclass(format('%I.%I', s, t));
BEGIN
	IF relid IS NOT NULL THEN
		PERFORM dbops_internal.metadata_tracked(caller, relid);
	ELSIF NOT EXISTS (SELECT FROM dbops.metadata_tables m WHERE m.table_schema = s AND m.table_name = t) THEN
		RAISE EXCEPTION USING ERRCODE = 'undefined_object',
			MESSAGE = format('table %I.%I is not tracked', s, t);
	END IF;
	PERFORM dbops_internal.metadata_unenforce_table(s, t);
	DELETE FROM dbops.metadata_permissions p WHERE p.table_schema = s AND p.table_name = t;
	DELETE FROM dbops.metadata_relationships r WHERE r.table_schema = s AND r.table_name = t;
	DELETE FROM dbops.metadata_tables m WHERE m.table_schema = s AND m.table_name = t;
END
$$;

CREATE FUNCTION dbops_internal.untrack_table_impl(caller oid, tbl regclass)
RETURNS void
LANGUAGE plpgsql STRICT
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	ref record := dbops_internal.metadata_tracked(caller, tbl);
BEGIN
	PERFORM dbops_internal.untrack_table_impl(caller, ref.s, ref.t);
END
$$;

CREATE FUNCTION dbops_internal.create_permission_impl(caller oid, tbl regclass, role name, action text,
	columns name[], filter text, "check" text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	ref record;
	perm dbops.metadata_permissions;
BEGIN
	IF tbl IS NULL OR role IS NULL OR action IS NULL THEN
		RAISE EXCEPTION USING ERRCODE = 'null_value_not_allowed',
			MESSAGE = 'table, role and action of a permission must not be null';
	END IF;
	ref := dbops_internal.metadata_tracked(caller, tbl);
	IF action NOT IN ('select', 'insert', 'update', 'delete') THEN
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
	-- NULL arguments mean what the API documents: all columns, no condition ({})
	PERFORM dbops_internal.metadata_check_entry(caller, jsonb_build_object(
		'table', jsonb_build_object('schema', ref.s, 'name', ref.t),
		action || '_permissions', jsonb_build_array(jsonb_build_object('role', role,
			'permission', jsonb_strip_nulls(jsonb_build_object(
				'columns', CASE WHEN columns IS NOT NULL THEN to_jsonb(columns)
								WHEN action <> 'delete' THEN '"*"' END,
				'filter', CASE WHEN filter IS NOT NULL THEN to_jsonb(filter)
							   WHEN action <> 'insert' THEN '{}' END,
				'check', CASE WHEN "check" IS NOT NULL THEN to_jsonb("check")
							  WHEN action IN ('insert', 'update') THEN '{}' END))))),
		format('invalid %s permission for role "%s" on table %I.%I', action, role, ref.s, ref.t));
	perm := ROW(ref.s, ref.t, role, action,
		ARRAY(SELECT c FROM unnest(columns) c ORDER BY c COLLATE "C"), filter, "check",
		CASE WHEN filter IS NULL AND action <> 'insert' THEN '{}' END,
		CASE WHEN "check" IS NULL AND action IN ('insert', 'update') THEN '{}' END,
		NULL, NULL);
	IF columns IS NULL OR action = 'delete' THEN
		perm.columns := NULL;
	END IF;
	INSERT INTO dbops.metadata_permissions SELECT perm.*;
	IF (SELECT prepared FROM dbops.metadata_tables WHERE table_schema = ref.s AND table_name = ref.t) THEN
		PERFORM dbops_internal.metadata_enforce(perm, tbl,
			(SELECT relkind = 'v' FROM pg_catalog.pg_class WHERE oid = tbl), '{}', md5('{}'),
			(SELECT f.fingerprint FROM dbops_internal.metadata_fingerprints(ARRAY[perm]) f));
	END IF;
END
$$;

CREATE FUNCTION dbops_internal.drop_permission_impl(caller oid, tbl regclass, role name, action text)
RETURNS void
LANGUAGE plpgsql STRICT
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	ref record := dbops_internal.metadata_tracked(caller, tbl);
BEGIN
	DELETE FROM dbops.metadata_permissions p WHERE p.table_schema = ref.s AND p.table_name = ref.t
		AND p.role_name = role AND p.action = drop_permission_impl.action;
	IF NOT FOUND THEN
		RAISE EXCEPTION USING ERRCODE = 'undefined_object',
			MESSAGE = format('role "%s" has no %s permission on table %I.%I', role, action, ref.s, ref.t);
	END IF;
	PERFORM dbops_internal.metadata_unenforce(ref.s, ref.t, role, action);
END
$$;

CREATE FUNCTION dbops_internal.metadata_create_relationship(caller oid, tbl regclass, rel_type text,
	rel_name text, rel_using jsonb)
RETURNS void
LANGUAGE plpgsql STRICT
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	ref record := dbops_internal.metadata_tracked(caller, tbl);
BEGIN
	IF EXISTS (SELECT FROM dbops.metadata_relationships r WHERE r.table_schema = ref.s
			   AND r.table_name = ref.t AND r.rel_name = metadata_create_relationship.rel_name) THEN
		RAISE EXCEPTION USING ERRCODE = 'duplicate_object',
			MESSAGE = format('relationship "%s" of table %I.%I already exists', rel_name, ref.s, ref.t);
	END IF;
	PERFORM dbops_internal.metadata_check_entry(caller, jsonb_build_object(
		'table', jsonb_build_object('schema', ref.s, 'name', ref.t),
		rel_type || '_relationships', jsonb_build_array(jsonb_build_object('name', rel_name, 'using', rel_using))),
		format('invalid %s relationship "%s" on table %I.%I', rel_type, rel_name, ref.s, ref.t));
	INSERT INTO dbops.metadata_relationships VALUES (ref.s, ref.t, rel_name, rel_type, rel_using);
END
$$;

CREATE FUNCTION dbops_internal.create_object_relationship_impl(caller oid, tbl regclass, name text, using_ jsonb)
RETURNS void
LANGUAGE sql STRICT
SET search_path = pg_catalog, pg_temp
AS $$ SELECT dbops_internal.metadata_create_relationship(caller, tbl, 'object', name, using_) $$;

CREATE FUNCTION dbops_internal.create_array_relationship_impl(caller oid, tbl regclass, name text, using_ jsonb)
RETURNS void
LANGUAGE sql STRICT
SET search_path = pg_catalog, pg_temp
AS $$ SELECT dbops_internal.metadata_create_relationship(caller, tbl, 'array', name, using_) $$;

CREATE FUNCTION dbops_internal.drop_relationship_impl(caller oid, tbl regclass, name text)
RETURNS void
LANGUAGE plpgsql STRICT
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	ref record := dbops_internal.metadata_tracked(caller, tbl);
BEGIN
	DELETE FROM dbops.metadata_relationships r
	WHERE r.table_schema = ref.s AND r.table_name = ref.t AND r.rel_name = name;
	IF NOT FOUND THEN
		RAISE EXCEPTION USING ERRCODE = 'undefined_object',
			MESSAGE = format('relationship "%s" of table %I.%I does not exist', name, ref.s, ref.t);
	END IF;
END
$$;

CREATE FUNCTION dbops_internal.reset_metadata_impl(caller oid)
RETURNS void
LANGUAGE plpgsql STRICT
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
BEGIN
	LOCK TABLE dbops.metadata_tables IN EXCLUSIVE MODE;
	PERFORM dbops_internal.metadata_check_owner_all(caller);
	PERFORM dbops_internal.metadata_unenforce_table(table_schema, table_name) FROM dbops.metadata_tables;
	DELETE FROM dbops.metadata_permissions;
	DELETE FROM dbops.metadata_relationships;
	DELETE FROM dbops.metadata_tables;
	DELETE FROM dbops.metadata_extras;
	DELETE FROM dbops.metadata_accepted;
END
$$;

/*
 * doc is the normal form that src/metadata_entry.c read as the caller, with
 * role_map, accept_unenforced and source_name applied (role_map and
 * source_name are NULL here).  Only what differs from the document is
 * changed (24_metadata_plan.sql); a dry run returns that plan and the
 * problems, and changes nothing.
 */
CREATE FUNCTION dbops_internal.import_metadata_impl(caller oid, doc jsonb, allow_inconsistent boolean,
	role_map jsonb, source_name text, accept_unenforced text[], dry_run boolean)
RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
	checked record;
BEGIN
	IF caller IS NULL OR doc IS NULL OR doc -> 'problems' IS NULL THEN
		RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
			MESSAGE = 'import_metadata_impl takes a document read by dbops_internal.metadata_read_document()';
	END IF;
	-- one import, reset or reload at a time (a dry run waits for them only);
	-- exports and readers go on
	IF coalesce(dry_run, false) THEN
		LOCK TABLE dbops.metadata_tables IN SHARE MODE;
	ELSE
		LOCK TABLE dbops.metadata_tables IN EXCLUSIVE MODE;
	END IF;
	checked := dbops_internal.metadata_check_read(doc, caller);
	PERFORM dbops_internal.metadata_raise(checked.problems, NOT coalesce(allow_inconsistent, false),
		'metadata document is not valid');
	-- the import replaces the whole catalog: the tables it drops too
	PERFORM dbops_internal.metadata_check_owner_all(caller);
	RETURN dbops_internal.metadata_change_to(checked.checked, checked.problems,
		checked.relationships, accept_unenforced, false, coalesce(dry_run, false));
END
$$;

-- re-check the stored catalog against the database
CREATE FUNCTION dbops_internal.metadata_catalog_problems()
RETURNS dbops_internal.metadata_problem[]
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
AS $$ SELECT (dbops_internal.metadata_check_document(dbops.export_metadata(), NULL, NULL)).problems $$;

CREATE FUNCTION dbops_internal.reload_metadata_impl(caller oid)
RETURNS jsonb
LANGUAGE plpgsql STRICT
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
	checked record;
BEGIN
	LOCK TABLE dbops.metadata_tables IN EXCLUSIVE MODE;
	PERFORM dbops_internal.metadata_check_owner_all(caller);
	checked := dbops_internal.metadata_check_document(dbops.export_metadata(), NULL, NULL);
	-- every enforced permission made again: the schema may have changed under it
	RETURN dbops_internal.metadata_change_to(checked.checked, checked.problems,
		checked.relationships, ARRAY(SELECT key FROM dbops.metadata_accepted), true, false);
END
$$;

CREATE FUNCTION dbops_internal.metadata_inconsistencies_impl(caller oid)
RETURNS jsonb
LANGUAGE sql STRICT
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$ SELECT dbops_internal.metadata_problems_json(dbops_internal.metadata_catalog_problems()) $$;

/*
 * The SQL interface.  Functions that change metadata are the C entry point
 * (src/metadata_entry.c) that runs dbops_internal.<name>_impl as the
 * extension owner.
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
COMMENT ON FUNCTION dbops.create_permission(regclass, name, text, name[], text, text) IS 'create and enforce a permission (columns NULL: all; filter or check NULL: no condition)';
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
	role_map jsonb DEFAULT NULL, source_name text DEFAULT NULL,
	accept_unenforced text[] DEFAULT NULL, dry_run boolean DEFAULT false)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'dbops_import_metadata'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION dbops.import_metadata(jsonb, boolean, jsonb, text, text[], boolean) IS 'make the metadata a document''s, changing only what differs; returns its problems (dry_run: the changes too, and changes nothing)';
REVOKE ALL ON FUNCTION dbops.import_metadata(jsonb, boolean, jsonb, text, text[], boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION dbops.import_metadata(jsonb, boolean, jsonb, text, text[], boolean) TO dbops_admin;

CREATE FUNCTION dbops.read_metadata_dir(source_dir text)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'dbops_read_metadata_dir'
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION dbops.read_metadata_dir(text) IS 'a Hasura metadata directory on the server (config version 2 or 3, or the project holding it) as the document Hasura would export';
REVOKE ALL ON FUNCTION dbops.read_metadata_dir(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION dbops.read_metadata_dir(text) TO dbops_admin;

CREATE FUNCTION dbops.read_metadata_dir(files jsonb)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'dbops_read_metadata_map'
LANGUAGE C VOLATILE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION dbops.read_metadata_dir(jsonb) IS 'a Hasura metadata directory sent as a map of relative path to base64 content, as the document Hasura would export';
REVOKE ALL ON FUNCTION dbops.read_metadata_dir(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION dbops.read_metadata_dir(jsonb) TO dbops_admin;

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
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
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
 * Conditions are written as they were given (SQL text or a Hasura
 * expression); no condition is {}, as in Hasura, since an import refuses a
 * permission that leaves its filter out.  The keys kept but not enforced
 * are put back where they were.
 */
CREATE FUNCTION dbops.export_metadata()
RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT jsonb_build_object('version', 2, 'tables', coalesce(jsonb_agg(
		jsonb_build_object('table', jsonb_build_object('schema', t.table_schema, 'name', t.table_name))
		|| coalesce(t.extra, '{}')
		|| coalesce((SELECT jsonb_object_agg(r.rel_type || '_relationships', r.rels)
					 FROM (SELECT rel_type, jsonb_agg(jsonb_build_object('name', rel_name, 'using', rel_using)
												   || coalesce(extra, '{}')
												   ORDER BY rel_name COLLATE "C") AS rels
						   FROM dbops.metadata_relationships
						   WHERE table_schema = t.table_schema AND table_name = t.table_name
						   GROUP BY rel_type) r), '{}')
		|| coalesce((SELECT jsonb_object_agg(p.action || '_permissions', p.perms)
					 FROM (SELECT action, jsonb_agg(jsonb_build_object('role', role_name,
								'permission', v.body || coalesce(extra -> 'permission', '{}'))
								|| coalesce(extra - 'permission', '{}')
								ORDER BY role_name COLLATE "C") AS perms
						   FROM dbops.metadata_permissions,
							   LATERAL (SELECT CASE WHEN action <> 'delete'
												THEN jsonb_build_object('columns', coalesce(to_jsonb(columns), '"*"'))
												ELSE '{}' END
										   || CASE WHEN action <> 'insert'
												THEN jsonb_build_object('filter', coalesce(filter_hasura, to_jsonb(filter)))
												ELSE '{}' END
										   || CASE WHEN coalesce(check_hasura, to_jsonb("check")) IS NOT NULL
												THEN jsonb_build_object('check', coalesce(check_hasura, to_jsonb("check")))
												ELSE '{}' END
										   || CASE WHEN presets IS NOT NULL
												THEN jsonb_build_object('set', presets) ELSE '{}' END AS body) v
						   WHERE table_schema = t.table_schema AND table_name = t.table_name
						   GROUP BY action) p), '{}')
		ORDER BY t.table_schema COLLATE "C", t.table_name COLLATE "C"), '[]'))
		|| coalesce((SELECT jsonb_object_agg(key, value) FROM dbops.metadata_extras), '{}')
	FROM dbops.metadata_tables t
$$;
COMMENT ON FUNCTION dbops.export_metadata() IS 'all metadata as one deterministic JSON document';
REVOKE ALL ON FUNCTION dbops.export_metadata() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION dbops.export_metadata() TO dbops_admin;

-- internals are for the extension owner only (their schema says so too)
DO $revoke$
DECLARE
	f regprocedure;
BEGIN
	FOR f IN SELECT oid FROM pg_catalog.pg_proc
			WHERE pronamespace = 'dbops_internal'::regnamespace LOOP
		EXECUTE format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', f);
	END LOOP;
END
$revoke$;
