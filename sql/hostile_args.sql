--
-- No argument of any dbops function may crash the server or end in an
-- internal error: every function of schemas dbops and dbops_internal is
-- called, as a superuser, with all arguments NULL and with hostile values
-- in each argument in turn.  Errors are expected; an internal error
-- (XX000) or a lost connection is a bug.
--
\set SHOW_CONTEXT never
SET client_min_messages = error;

-- SQL expressions for the values to try, per argument type
CREATE FUNCTION pg_temp.hostile(t regtype) RETURNS text[]
LANGUAGE sql IMMUTABLE AS $$
	SELECT CASE t
		WHEN 'text'::regtype THEN ARRAY[$q$'x'$q$, $q$''$q$, $q$repeat('x', 100000)$q$,
			$q$'/dev/zero'$q$, $q$'['$q$, $q$'''); DROP TABLE t; --'$q$, $q$'pg_temp.x'$q$,
			$q$'/'$q$, $q$'.'$q$]
		WHEN 'name'::regtype THEN ARRAY[$q$'x'$q$, $q$''$q$, $q$repeat('n', 63)$q$, $q$'public'$q$,
			$q$'pg_read_all_data'$q$]
		WHEN 'jsonb'::regtype THEN ARRAY[$q$'{}'$q$, $q$'null'$q$, $q$'[]'$q$, $q$'"x"'$q$,
			$q$'[null]'$q$, $q$'{"version": 2, "tables": [null, 1, "t", {}, {"table": "pg_class"}]}'$q$,
			$q$'[{"version": "1", "up": "SELECT 1"}]'$q$,
			$q$'{"version": 2, "tables": [{"table": {"schema": "", "name": ""}, "select_permissions": [{"role": "", "permission": {"columns": [], "filter": 1}}]}]}'$q$,
			$q$(repeat('[', 5000) || repeat(']', 5000))::jsonb$q$,
			$q$(repeat('{"a":', 3000) || '1' || repeat('}', 3000))::jsonb$q$]
		WHEN 'regclass'::regtype THEN ARRAY[$q$'pg_class'$q$, $q$0$q$, $q$4294967295$q$,
			$q$'dbops.schema_migrations'$q$]
		WHEN 'regtype'::regtype THEN ARRAY[$q$'int4'$q$, $q$0$q$, $q$4294967295$q$]
		WHEN 'oid'::regtype THEN ARRAY[$q$10$q$, $q$0$q$, $q$4294967295$q$]
		WHEN 'boolean'::regtype THEN ARRAY[$q$true$q$, $q$false$q$]
		WHEN 'integer'::regtype THEN ARRAY[$q$1$q$, $q$0$q$, $q$-1$q$, $q$2147483647$q$,
			$q$-2147483648$q$]
		WHEN 'interval'::regtype THEN ARRAY[$q$'1 s'$q$, $q$'-1 day'$q$, $q$'0'$q$]
		WHEN 'text[]'::regtype THEN ARRAY[$q$'{x}'$q$, $q$'{}'$q$, $q$'{NULL}'$q$, $q$'{"",x}'$q$]
		WHEN 'name[]'::regtype THEN ARRAY[$q$'{id}'$q$, $q$'{}'$q$, $q$'{NULL}'$q$,
			$q$ARRAY[repeat('c', 63)]$q$]
		WHEN 'dbops.metadata_permissions'::regtype THEN ARRAY[
			$q$ROW('public', 'x', 'x', 'select', '{id}', 'true', NULL)$q$,
			$q$ROW(NULL, NULL, NULL, NULL, NULL, NULL, NULL)$q$,
			$q$ROW('public', 'x', 'x', 'drop', '{}', ');', NULL)$q$]
		WHEN 'dbops_internal.metadata_problem[]'::regtype THEN ARRAY[$q$'{}'$q$,
			$q$ARRAY[ROW(NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)]$q$,
			$q$ARRAY[ROW('error', '$', 'table', 'x', 'public', 'x', 'x', 'select', 'r')]$q$]
		ELSE ARRAY[]::text[]
	END
$$;

CREATE TEMP TABLE outcome (fn regprocedure, call text, sqlstate text, message text);

DO $$
DECLARE
	f record;
	types regtype[];
	args text[];
	vals text[];
	call text;
	state text;
	msg text;
BEGIN
	FOR f IN SELECT p.oid::regprocedure AS sig, p.oid,
				ARRAY(SELECT unnest(p.proargtypes::regtype[])) AS argtypes,
				format('%I.%I', n.nspname, p.proname) AS fname, p.pronargs
			 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
			 WHERE n.nspname IN ('dbops', 'dbops_internal')
			 ORDER BY 1 LOOP
		types := f.argtypes;
		-- every argument NULL, then each argument through its values with the
		-- others at their first (ordinary) value
		FOR i IN 0 .. coalesce(array_length(types, 1), 0) LOOP
			FOR v IN 1 .. CASE WHEN i = 0 THEN 2 ELSE coalesce(array_length(pg_temp.hostile(types[i]), 1), 0) END LOOP
				args := ARRAY[]::text[];
				FOR j IN 1 .. coalesce(array_length(types, 1), 0) LOOP
					vals := pg_temp.hostile(types[j]);
					args := args || format('(%s)::%s',
						CASE WHEN i = 0 AND v = 1 THEN 'NULL'
							 WHEN j = i THEN vals[v]
							 ELSE coalesce(vals[1], 'NULL') END,
						types[j]);
				END LOOP;
				call := format('SELECT %s(%s)', f.fname, array_to_string(args, ', '));
				-- a call that succeeds is undone too, by the marker error
				BEGIN
					EXECUTE call;
					RAISE EXCEPTION USING ERRCODE = 'ZZ000', MESSAGE = 'call succeeded';
				EXCEPTION WHEN OTHERS THEN
					GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
				END;
				INSERT INTO outcome VALUES (f.sig, left(call, 300), state, msg);
			END LOOP;
		END LOOP;
	END LOOP;
END
$$;

-- every function was called, and none failed with an internal error
SELECT count(DISTINCT fn) = (SELECT count(*) FROM pg_proc
							 WHERE pronamespace IN ('dbops'::regnamespace, 'dbops_internal'::regnamespace))
	AS every_function_called,
	count(*) > 500 AS many_calls,
	-- the harness itself works: many calls got through (ZZ000 marks success)
	count(*) FILTER (WHERE sqlstate = 'ZZ000') > 100 AS many_succeeded
FROM outcome;
SELECT fn, left(call, 200) AS call, left(message, 200) AS message
FROM outcome WHERE sqlstate LIKE 'XX%' ORDER BY 1, 2;
-- the connection survived, and the catalog is intact
SELECT count(*) FROM dbops.schema_migrations;
