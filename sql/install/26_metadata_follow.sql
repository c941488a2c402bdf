/* dbops install script: metadata that follows DDL */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION dbops" to load this file. \quit

/*
 * The catalog names tables, columns and roles (so that an export means the
 * same on another cluster); PostgreSQL binds grants and policies to OIDs
 * and column numbers.  These bindings, rebuilt by name after every change
 * of the catalog (and so after a restore, where OIDs differ), tell the DDL
 * event triggers (src/ddl_log.c) which names a rename or a drop touched;
 * role renames, which fire no event trigger, are found at the next
 * metadata call.  Not dumped: they are rebuilt from the catalog.
 */
CREATE TABLE dbops_internal.metadata_bindings (
	relid oid NOT NULL,
	attnum int2 NOT NULL,		-- 0: the table itself
	schema_name name,			-- the table's, on its row
	object_name name NOT NULL,	-- the table's or the column's name
	PRIMARY KEY (relid, attnum)
);

CREATE TABLE dbops_internal.metadata_role_bindings (
	role_oid oid PRIMARY KEY,
	role_name name NOT NULL
);

-- rebuild the bindings from the catalog, by name
CREATE FUNCTION dbops_internal.metadata_bind()
RETURNS void
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
AS $$
	DELETE FROM dbops_internal.metadata_bindings;
	INSERT INTO dbops_internal.metadata_bindings
	SELECT c.oid, 0, n.nspname, c.relname
	FROM dbops.metadata_tables t
	JOIN pg_catalog.pg_namespace n ON n.nspname = t.table_schema
	JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid AND c.relname = t.table_name
	UNION ALL
	SELECT c.oid, a.attnum, NULL, a.attname
	FROM dbops.metadata_tables t
	JOIN pg_catalog.pg_namespace n ON n.nspname = t.table_schema
	JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid AND c.relname = t.table_name
	JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped;
	DELETE FROM dbops_internal.metadata_role_bindings;
	INSERT INTO dbops_internal.metadata_role_bindings
	SELECT DISTINCT r.oid, r.rolname
	FROM dbops.metadata_permissions p JOIN pg_catalog.pg_roles r ON r.rolname = p.role_name;
$$;

-- a reference {"schema": s, "name": t} (schema public when left out) to old, made new
CREATE FUNCTION dbops_internal.metadata_rename_table_refs(j jsonb, old_s name, old_t name,
	new_s name, new_t name)
RETURNS jsonb
LANGUAGE sql IMMUTABLE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT CASE jsonb_typeof(j)
		WHEN 'object' THEN (
			SELECT coalesce(jsonb_object_agg(e.key,
				CASE WHEN e.key IN ('table', 'remote_table', '_table')
						  AND jsonb_typeof(e.value) = 'object'
						  AND e.value ->> 'name' = old_t
						  AND coalesce(e.value ->> 'schema', 'public') = old_s
					THEN e.value || jsonb_build_object('schema', new_s, 'name', new_t)
					ELSE dbops_internal.metadata_rename_table_refs(e.value, old_s, old_t, new_s, new_t)
				END), '{}')
			FROM jsonb_each(j) e)
		WHEN 'array' THEN (
			SELECT coalesce(jsonb_agg(dbops_internal.metadata_rename_table_refs(e, old_s, old_t,
				new_s, new_t) ORDER BY i), '[]')
			FROM jsonb_array_elements(j) WITH ORDINALITY x(e, i))
		ELSE j
	END
$$;

CREATE FUNCTION dbops_internal.metadata_rename_table(old_s name, old_t name, new_s name, new_t name)
RETURNS void
LANGUAGE plpgsql STRICT
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	UPDATE dbops.metadata_tables SET table_schema = new_s, table_name = new_t
	WHERE table_schema = old_s AND table_name = old_t;
	UPDATE dbops.metadata_permissions SET table_schema = new_s, table_name = new_t
	WHERE table_schema = old_s AND table_name = old_t;
	UPDATE dbops.metadata_relationships SET table_schema = new_s, table_name = new_t
	WHERE table_schema = old_s AND table_name = old_t;
	UPDATE dbops.metadata_created SET table_schema = new_s, table_name = new_t
	WHERE table_schema = old_s AND table_name = old_t;
	-- moved to another schema: dbops_grantor needs USAGE on it to grant
	IF new_s <> old_s AND (SELECT prepared FROM dbops.metadata_tables
						   WHERE table_schema = new_s AND table_name = new_t) THEN
		PERFORM dbops_internal.metadata_prepare(new_s, new_t);
	END IF;
	-- references to it: relationships' remote tables, _exists
	UPDATE dbops.metadata_relationships
	SET rel_using = dbops_internal.metadata_rename_table_refs(rel_using, old_s, old_t, new_s, new_t)
	WHERE rel_using::text LIKE '%' || old_t || '%';
	UPDATE dbops.metadata_permissions
	SET filter_hasura = dbops_internal.metadata_rename_table_refs(filter_hasura, old_s, old_t, new_s, new_t),
		check_hasura = dbops_internal.metadata_rename_table_refs(check_hasura, old_s, old_t, new_s, new_t)
	WHERE (coalesce(filter_hasura::text, '') || coalesce(check_hasura::text, '')) LIKE '%_table%';
END
$$;

-- column old of s.t renamed to new: the catalog's column lists, conditions and relationships
CREATE FUNCTION dbops_internal.metadata_rename_column(s name, t name, old name, new name)
RETURNS void
LANGUAGE plpgsql STRICT
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	p record;
	relationships jsonb;
BEGIN
	UPDATE dbops.metadata_permissions
	SET columns = ARRAY(SELECT c FROM unnest(array_replace(columns, old, new)) c ORDER BY c COLLATE "C"),
		presets = CASE WHEN presets ? old THEN (presets - old::text) || jsonb_build_object(new, presets -> old)
					   ELSE presets END
	WHERE table_schema = s AND table_name = t;
	-- SQL conditions: spliced; one that does not parse stays as it is
	FOR p IN SELECT * FROM dbops.metadata_permissions
			 WHERE table_schema = s AND table_name = t AND (filter IS NOT NULL OR "check" IS NOT NULL) LOOP
		BEGIN
			UPDATE dbops.metadata_permissions m
			SET filter = dbops_internal.metadata_rename_sql(p.filter, t, old, new),
				"check" = dbops_internal.metadata_rename_sql(p."check", t, old, new)
			WHERE m.table_schema = s AND m.table_name = t AND m.role_name = p.role_name
			  AND m.action = p.action;
		EXCEPTION WHEN syntax_error OR feature_not_supported OR invalid_parameter_value THEN
			NULL;
		END;
	END LOOP;
	-- relationships: a foreign key's column, a mapping's columns on either side
	UPDATE dbops.metadata_relationships r
	SET rel_using = CASE
		WHEN jsonb_typeof(r.rel_using -> 'foreign_key_constraint_on') = 'string'
			 AND r.table_schema = s AND r.table_name = t
			 AND r.rel_using ->> 'foreign_key_constraint_on' = old
			THEN jsonb_build_object('foreign_key_constraint_on', new)
		WHEN r.rel_using #>> '{foreign_key_constraint_on,column}' = old
			 AND r.rel_using #>> '{foreign_key_constraint_on,table,name}' = t
			 AND coalesce(r.rel_using #>> '{foreign_key_constraint_on,table,schema}', 'public') = s
			THEN jsonb_set(r.rel_using, '{foreign_key_constraint_on,column}', to_jsonb(new))
		WHEN r.rel_using ? 'manual_configuration' THEN jsonb_set(r.rel_using,
			'{manual_configuration,column_mapping}', (
			SELECT coalesce(jsonb_object_agg(
				CASE WHEN r.table_schema = s AND r.table_name = t AND m.key = old THEN new ELSE m.key END,
				CASE WHEN r.rel_using #>> '{manual_configuration,remote_table,name}' = t
						  AND coalesce(r.rel_using #>> '{manual_configuration,remote_table,schema}', 'public') = s
						  AND m.value #>> '{}' = old
					THEN to_jsonb(new) ELSE m.value END), '{}')
			FROM jsonb_each(r.rel_using #> '{manual_configuration,column_mapping}') m))
		ELSE r.rel_using END
	WHERE r.rel_using::text LIKE '%' || old || '%';
	-- Hasura expressions of every table: the column on s.t, reached by relationships too
	relationships := dbops_internal.metadata_relationship_map(
		dbops_internal.metadata_read_document(dbops.export_metadata(), NULL, NULL, NULL));
	UPDATE dbops.metadata_permissions m
	SET filter_hasura = CASE WHEN m.filter_hasura IS NOT NULL THEN dbops_internal.metadata_rename_boolexp(
			m.filter_hasura, m.table_schema, m.table_name, relationships, s, t, old, new) END,
		check_hasura = CASE WHEN m.check_hasura IS NOT NULL THEN dbops_internal.metadata_rename_boolexp(
			m.check_hasura, m.table_schema, m.table_name, relationships, s, t, old, new) END
	WHERE (coalesce(m.filter_hasura::text, '') || coalesce(m.check_hasura::text, '')) LIKE '%' || old || '%';
END
$$;

CREATE FUNCTION dbops_internal.metadata_rename_sql(sql text, table_name name, old name, new name)
RETURNS text
AS 'MODULE_PATHNAME', 'dbops_metadata_rename_sql'
LANGUAGE C STRICT IMMUTABLE
SET search_path = pg_catalog, pg_temp;

CREATE FUNCTION dbops_internal.metadata_rename_boolexp(expr jsonb, schema name, table_name name,
	relationships jsonb, renamed_schema name, renamed_table name, old name, new name)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'dbops_metadata_rename_boolexp'
LANGUAGE C STRICT IMMUTABLE
SET search_path = pg_catalog, pg_temp;

-- role renames (no event trigger fires for them), by OID
CREATE FUNCTION dbops_internal.metadata_follow_roles()
RETURNS void
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
AS $$
	WITH renamed AS (
		SELECT b.role_name AS old, r.rolname AS new
		FROM dbops_internal.metadata_role_bindings b
		JOIN pg_catalog.pg_roles r ON r.oid = b.role_oid
		WHERE r.rolname <> b.role_name
	), perms AS (
		UPDATE dbops.metadata_permissions p SET role_name = renamed.new
		FROM renamed WHERE p.role_name = renamed.old
		RETURNING 1
	), made AS (
		UPDATE dbops.metadata_created c SET role_name = renamed.new
		FROM renamed WHERE c.role_name = renamed.old
		RETURNING 1
	)
	UPDATE dbops_internal.metadata_role_bindings b SET role_name = renamed.new
	FROM renamed WHERE b.role_name = renamed.old
$$;

/*
 * After DDL on tracked tables (src/ddl_log.c calls this as the extension
 * owner, in the DDL's own transaction): carry renames of tables, views and
 * columns into the catalog, then bring what dbops made in line with the
 * catalog as an import would (a permission that no longer checks, such as
 * one naming a dropped column, is no longer enforced: fail closed), and
 * name every permission that stopped being enforced in a WARNING.  The
 * catalog itself keeps every entry.
 */
CREATE FUNCTION dbops_internal.metadata_follow()
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
	r record;
	checked record;
	digest text;
	plan dbops_internal.metadata_change[];
	lost text;
BEGIN
	PERFORM dbops_internal.metadata_follow_roles();
	FOR r IN SELECT b.schema_name AS old_s, b.object_name AS old_t, n.nspname AS new_s, c.relname AS new_t
			 FROM dbops_internal.metadata_bindings b
			 JOIN pg_catalog.pg_class c ON c.oid = b.relid
			 JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
			 WHERE b.attnum = 0 AND (n.nspname, c.relname) IS DISTINCT FROM (b.schema_name, b.object_name) LOOP
		PERFORM dbops_internal.metadata_rename_table(r.old_s, r.old_t, r.new_s, r.new_t);
	END LOOP;
	FOR r IN SELECT n.nspname AS s, c.relname AS t, b.object_name AS old, a.attname AS new
			 FROM dbops_internal.metadata_bindings b
			 JOIN pg_catalog.pg_attribute a ON a.attrelid = b.relid AND a.attnum = b.attnum AND NOT a.attisdropped
			 JOIN pg_catalog.pg_class c ON c.oid = b.relid
			 JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
			 WHERE b.attnum > 0 AND a.attname <> b.object_name LOOP
		PERFORM dbops_internal.metadata_rename_column(r.s, r.t, r.old, r.new);
	END LOOP;

	checked := dbops_internal.metadata_check_document(dbops.export_metadata(), NULL, NULL);
	digest := md5(checked.relationships::text);
	plan := ARRAY(SELECT dbops_internal.metadata_plan(checked.checked, checked.problems, digest, false));
	SELECT string_agg(format('%s permission of role "%s" on %I.%I: %s', c.action, c.role_name,
							 c.table_schema, c.table_name,
							 coalesce((SELECT string_agg(DISTINCT p.reason, '; ')
									   FROM unnest(checked.problems) p
									   WHERE p.table_schema = c.table_schema AND p.table_name = c.table_name
										 AND (p.entry_name IS NULL OR p.entry_name = c.role_name)
										 AND (p.action IS NULL OR p.action = c.action)
										 AND p.severity IN ('error', 'unenforced')),
									  'it no longer checks')), E'\n' ORDER BY 1)
	INTO lost
	FROM unnest(plan) c WHERE c.change = 'drop';
	PERFORM dbops_internal.metadata_apply(checked.checked, plan, checked.relationships, digest,
		ARRAY(SELECT key FROM dbops.metadata_accepted));
	PERFORM dbops_internal.metadata_bind();
	IF lost IS NOT NULL THEN
		RAISE WARNING USING MESSAGE = 'dbops metadata no longer enforced after this change',
			DETAIL = lost,
			HINT = 'The entries stay in the catalog; fix them (or the schema) and import again, or drop them.';
	END IF;
END
$$;

REVOKE ALL ON FUNCTION dbops_internal.metadata_bind(), dbops_internal.metadata_follow(),
	dbops_internal.metadata_follow_roles(),
	dbops_internal.metadata_rename_table_refs(jsonb, name, name, name, name),
	dbops_internal.metadata_rename_table(name, name, name, name),
	dbops_internal.metadata_rename_column(name, name, name, name),
	dbops_internal.metadata_rename_sql(text, name, name, name),
	dbops_internal.metadata_rename_boolexp(jsonb, name, name, jsonb, name, name, name, name)
	FROM PUBLIC;
