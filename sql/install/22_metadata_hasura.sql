/* dbops install script: Hasura boolean expressions in metadata documents */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION dbops" to load this file. \quit

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
CREATE FUNCTION dbops_internal.metadata_hasura_value(v jsonb, coltype text)
RETURNS text
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
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

CREATE FUNCTION dbops_internal.metadata_hasura_filter(e jsonb, relid oid)
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
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
				piece := dbops_internal.metadata_hasura_filter(arg, relid);
				IF piece IS NULL THEN
					RETURN NULL;
				END IF;
				subs := subs || ('(' || piece || ')');
			END LOOP;
			parts := parts || CASE
				WHEN cardinality(subs) = 0 THEN (k = '_and')::text
				ELSE array_to_string(subs, CASE k WHEN '_and' THEN ' AND ' ELSE ' OR ' END) END;
		ELSIF k = '_not' THEN
			piece := dbops_internal.metadata_hasura_filter(v, relid);
			IF piece IS NULL THEN
				RETURN NULL;
			END IF;
			parts := parts || ('NOT (' || piece || ')');
		ELSE
			coltype := format_type((SELECT atttypid FROM pg_catalog.pg_attribute
									 WHERE attrelid = relid AND attname = k AND attnum > 0
									   AND NOT attisdropped), NULL);
			IF coltype IS NULL OR jsonb_typeof(v) <> 'object' THEN
				RETURN NULL;		-- not a column: a relationship, _exists...
			END IF;
			col := quote_ident(k);
			FOR op, arg IN SELECT key, value FROM jsonb_each(v) ORDER BY key COLLATE "C" LOOP
				piece := CASE op
					WHEN '_eq' THEN col || ' = ' || dbops_internal.metadata_hasura_value(arg, coltype)
					WHEN '_neq' THEN col || ' <> ' || dbops_internal.metadata_hasura_value(arg, coltype)
					WHEN '_gt' THEN col || ' > ' || dbops_internal.metadata_hasura_value(arg, coltype)
					WHEN '_lt' THEN col || ' < ' || dbops_internal.metadata_hasura_value(arg, coltype)
					WHEN '_gte' THEN col || ' >= ' || dbops_internal.metadata_hasura_value(arg, coltype)
					WHEN '_lte' THEN col || ' <= ' || dbops_internal.metadata_hasura_value(arg, coltype)
					WHEN '_like' THEN col || ' LIKE ' || dbops_internal.metadata_hasura_value(arg, coltype)
					WHEN '_nlike' THEN col || ' NOT LIKE ' || dbops_internal.metadata_hasura_value(arg, coltype)
					WHEN '_ilike' THEN col || ' ILIKE ' || dbops_internal.metadata_hasura_value(arg, coltype)
					WHEN '_nilike' THEN col || ' NOT ILIKE ' || dbops_internal.metadata_hasura_value(arg, coltype)
					WHEN '_is_null' THEN col || CASE arg WHEN 'true' THEN ' IS NULL'
													 WHEN 'false' THEN ' IS NOT NULL' END
					WHEN '_in' THEN col || ' = ANY (ARRAY[' || (SELECT coalesce(string_agg(dbops_internal.metadata_hasura_value(x, coltype), ', '), '')
						FROM jsonb_array_elements(CASE WHEN jsonb_typeof(arg) = 'array' THEN arg END) x) || ']::' || coltype || '[])'
					WHEN '_nin' THEN col || ' <> ALL (ARRAY[' || (SELECT coalesce(string_agg(dbops_internal.metadata_hasura_value(x, coltype), ', '), '')
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

/*
 * One table entry of a document in normal form, with the Hasura boolean
 * expressions it can translate replaced by SQL; {} (no condition) stays.
 */
CREATE FUNCTION dbops_internal.metadata_translate_entry(entry jsonb)
RETURNS jsonb
LANGUAGE plpgsql STABLE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	relid oid := to_regclass(format('%I.%I', entry #>> '{table,schema}', entry #>> '{table,name}'));
	path text[];
	sql text;
BEGIN
	FOR path IN SELECT ARRAY[a || '_permissions', (i - 1)::text, 'permission', k]
			FROM unnest(ARRAY['select', 'insert', 'update', 'delete']) a,
				LATERAL jsonb_array_elements(coalesce(entry -> (a || '_permissions'), '[]'))
					WITH ORDINALITY x(p, i),
				unnest(ARRAY['filter', 'check']) k
			WHERE jsonb_typeof(x.p #> ARRAY['permission', k]) = 'object'
			  AND x.p #> ARRAY['permission', k] <> '{}' LOOP
		sql := dbops_internal.metadata_hasura_filter(entry #> path, relid);
		IF sql IS NOT NULL THEN
			entry := jsonb_set(entry, path, to_jsonb(sql));
		END IF;
	END LOOP;
	RETURN entry;
END
$$;

-- a document in normal form with the Hasura expressions it can translate as SQL
CREATE FUNCTION dbops_internal.metadata_translate_hasura(doc jsonb)
RETURNS jsonb
LANGUAGE sql STABLE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT CASE
		WHEN NOT jsonb_path_exists(doc -> 'tables',
				'lax $[*].*[*].permission.* ? (@.type() == "object" && exists (@.*))')
			THEN doc
		ELSE jsonb_set(doc, '{tables}',
			(SELECT coalesce(jsonb_agg(CASE WHEN jsonb_typeof(x.e) = 'object'
											THEN dbops_internal.metadata_translate_entry(x.e)
											ELSE x.e END ORDER BY x.i), '[]')
			 FROM jsonb_array_elements(doc -> 'tables') WITH ORDINALITY x(e, i)))
	END
$$;
