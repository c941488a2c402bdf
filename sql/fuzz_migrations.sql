--
-- Fuzz: 3000 seeded mutations of a migrations document (fuzz_helpers, with
-- the SQL scripts cut and garbled too) are applied, over a database where
-- two of its migrations are applied already.  Each must either apply or
-- fail with a SQLSTATE other than an internal error, and a failure must
-- leave the catalog and the schema exactly as they were.
--
\set SHOW_CONTEXT never
SET client_min_messages = error;
CREATE SCHEMA fm;
\set doc '[{"version": "1", "name": "base", "up": "CREATE TABLE fm.t1 (id int PRIMARY KEY, v text);\\nCOMMENT ON TABLE fm.t1 IS ''base'';", "down": "DROP TABLE fm.t1;", "verify": "SELECT 1 / count(*) FROM pg_class WHERE relname = ''t1'';"}, {"version": "2", "name": "wrapped", "up": "BEGIN;\\nALTER TABLE fm.t1 ADD COLUMN n int DEFAULT 0;\\nCOMMIT;", "down": "ALTER TABLE fm.t1 DROP COLUMN n;"}, {"version": "3", "name": "function", "up": "CREATE FUNCTION fm.f(int) RETURNS int LANGUAGE plpgsql AS $f$ BEGIN RETURN $1 + 1; END $f$;\\n-- a comment; with a semicolon\\nCREATE INDEX t1_v ON fm.t1 (v);", "down": "DROP FUNCTION fm.f(int); DROP INDEX fm.t1_v;"}, {"version": "10", "name": "data", "up": "INSERT INTO fm.t1 (id, v) VALUES (1, ''a''), (2, ''b;c'');\\n/* block /* nested */ comment */\\nUPDATE fm.t1 SET n = fm.f(id);", "down": null, "verify": "BEGIN; SELECT 1 / (count(*) - 1) FROM fm.t1; ROLLBACK;"}]'

SELECT version, action FROM dbops.apply_migrations(:'doc'::jsonb, target_version => '2');
SELECT set_config('fuzz.doc', :'doc', false) IS NOT NULL AS doc_set;

-- the catalog and what the migrations made
CREATE FUNCTION fuzz.migration_state()
RETURNS text
LANGUAGE sql AS $$
	SELECT coalesce((SELECT string_agg(version || ':' || checksum || ':' || coalesce(down_sql, '-'), ','
									   ORDER BY version) FROM dbops.schema_migrations), '')
		|| coalesce((SELECT string_agg(relname, ',' ORDER BY relname)
					 FROM pg_class WHERE relnamespace = 'fm'::regnamespace), '')
		|| coalesce((SELECT string_agg(attname, ',' ORDER BY attname)
					 FROM pg_attribute WHERE attrelid = to_regclass('fm.t1') AND attnum > 0), '')
$$;

CREATE TABLE fuzz.migration_outcome (i int, sqlstate text, state_kept boolean);

DO $$
DECLARE
	base jsonb := current_setting('fuzz.doc')::jsonb;
	before text := fuzz.migration_state();
	state text;
BEGIN
	PERFORM setseed(0.5);
	FOR i IN 1 .. 3000 LOOP
		BEGIN
			PERFORM dbops.apply_migrations(fuzz.mutate(base, true));
			RAISE EXCEPTION USING ERRCODE = 'ZZ000', MESSAGE = 'applied';
		EXCEPTION WHEN OTHERS THEN
			GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE;
		END;
		INSERT INTO fuzz.migration_outcome VALUES (i, state, fuzz.migration_state() = before);
	END LOOP;
END
$$;

-- Many different refusals, some applies; no internal error; nothing half done.
SELECT count(DISTINCT sqlstate) >= 5 AS varied, count(*) FILTER (WHERE sqlstate = 'ZZ000') > 0 AS some_applied
FROM fuzz.migration_outcome;
SELECT count(*) AS internal_errors FROM fuzz.migration_outcome WHERE sqlstate LIKE 'XX%';
SELECT count(*) AS state_changed_by_a_failure FROM fuzz.migration_outcome WHERE NOT state_kept;

TRUNCATE dbops.schema_migrations, dbops.migration_events;
DROP SCHEMA fm CASCADE;
DROP SCHEMA fuzz CASCADE;
