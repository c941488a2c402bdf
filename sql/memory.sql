--
-- One backend must not grow with the batch.  Memory is the backend's peak
-- private (anonymous) memory, from /proc: VmHWM less the shared and file
-- pages it maps, which creating and reading tables touch whatever the tool.
--
\set SHOW_CONTEXT never
CREATE FUNCTION pg_temp.private_peak_kb() RETURNS bigint
LANGUAGE sql AS $$
	SELECT sum(CASE WHEN m[1] = 'VmHWM' THEN 1 ELSE -1 END * m[2]::bigint)
	FROM regexp_matches(pg_read_file('/proc/self/status'),
						'(VmHWM|RssFile|RssShmem):\s+(\d+)', 'g') m
$$;

-- 5000 migrations of 20 statements each (100,000 statements, 10 MB of
-- SQL): within the source's size plus 100 MB.  Each script is parsed in a
-- memory context of its own that keeps only statement offsets.
CREATE TABLE mem_log (v int, w text);
SELECT jsonb_agg(jsonb_build_object('version', g::text, 'name', 'm' || g,
	'up', (SELECT string_agg(format('INSERT INTO mem_log VALUES (%s, %L);', g * 100 + k, repeat('x', 20)), E'\n')
		   FROM generate_series(1, 20) k),
	'down', (SELECT string_agg(format('DELETE FROM mem_log WHERE v = %s;', g * 100 + k), E'\n')
			 FROM generate_series(1, 20) k)))::text AS doc
FROM generate_series(1, 5000) g \gset
SELECT length(:'doc') / 1024 AS source_kb \gset
SELECT pg_temp.private_peak_kb() AS before_kb \gset
SELECT count(*) FROM dbops.apply_migrations(:'doc'::jsonb);
SELECT pg_temp.private_peak_kb() - :before_kb < :source_kb + 100 * 1024 AS within_source_plus_100mb;
SELECT count(*) FROM mem_log;
TRUNCATE dbops.schema_migrations;
DROP TABLE mem_log;

-- A 50 MB string where a name belongs, or under a key nobody knows, is
-- refused by the document's reader, at about the cost of receiving it.
CREATE TABLE mem_t (id int);
\set big `head -c 50000000 /dev/zero | tr '\0' 'x'`
SELECT format('{"version": 2, "tables": [{"table": {"schema": "public", "name": "mem_t"}, "select_permissions": [{"role": "%s", "permission": {"columns": ["id"], "filter": {}}}]}]}', :'big') AS doc_role,
	format('{"version": 2, "tables": [{"table": {"schema": "public", "name": "mem_t"}, "comment": "%s"}]}', :'big') AS doc_key \gset
\unset big
\set VERBOSITY terse
SELECT pg_temp.private_peak_kb() AS before_kb \gset
SELECT dbops.import_metadata(:'doc_role');
SELECT dbops.import_metadata(:'doc_key');
\set VERBOSITY default
SELECT pg_temp.private_peak_kb() - :before_kb < 3 * 50 * 1024 AS within_three_times_the_string;
DROP TABLE mem_t;
