--
-- A directory sent by a client as a jsonb map of relative path to base64
-- content is read by the same layout reader as a server directory: the
-- same migrations, checksums, errors and names.  The maps are built here
-- from the fixtures in test/fixtures/migrations (see migrations_dirs).
--
\getenv src DBOPS_SRC
\if :{?src}
\else
\getenv src PWD
\endif
\set fx :src/test/fixtures/migrations
\set VERBOSITY default

-- Every regular file below root, as a client sends it (encode() breaks
-- lines every 76 characters, which the reader accepts).
CREATE FUNCTION pg_temp.file_map(root text) RETURNS jsonb
LANGUAGE sql AS $$
	WITH RECURSIVE t(rel, isdir) AS (
		SELECT f, (pg_stat_file(root || '/' || f)).isdir FROM pg_ls_dir(root) f
		UNION ALL
		SELECT t.rel || '/' || f, (pg_stat_file(root || '/' || t.rel || '/' || f)).isdir
		FROM t, pg_ls_dir(root || '/' || t.rel) f WHERE t.isdir
	)
	SELECT coalesce(jsonb_object_agg(rel, encode(pg_read_binary_file(root || '/' || rel), 'base64')), '{}')
	FROM t WHERE NOT isdir
$$;

-- The map and the directory give the same status, row for row, in every
-- layout (names with spaces, dot files, BOMs, Sqitch's reworked change).
SELECT layout,
	(SELECT array_agg(s ORDER BY s.version) FROM dbops.migration_status(:'fx' || '/' || layout) s) =
	(SELECT array_agg(s ORDER BY s.version) FROM dbops.migration_status(pg_temp.file_map(:'fx' || '/' || layout)) s)
	AS same_status,
	(SELECT count(*) FROM dbops.migration_status(pg_temp.file_map(:'fx' || '/' || layout))) AS migrations
FROM unnest(ARRAY['hasura', 'hasura_console', 'diesel', 'golang', 'flyway', 'sqitch', 'mixed']) layout;

-- The layout of the latest migration, for a client's "migrate new".
SELECT dir, l.*
FROM unnest(ARRAY['hasura', 'diesel', 'golang', 'flyway', 'sqitch', 'mixed']) dir,
	dbops.migration_layout(pg_temp.file_map(:'fx' || '/' || dir)) l;
SELECT * FROM dbops.migration_layout('{}'::jsonb);
SELECT * FROM dbops.migration_layout('[{"version": "1", "up": "SELECT 1"}]'::jsonb);

-- Apply, verify and roll back from a map; the checksums are those of the
-- server directory.
SELECT version, name, action FROM dbops.apply_migrations(pg_temp.file_map(:'fx' || '/golang'));
SELECT s.version, s.checksum = d.checksum AS same_checksum
FROM dbops.schema_migrations s JOIN dbops.migration_status(:'fx' || '/golang') d USING (version)
ORDER BY s.version;
SELECT version, action FROM dbops.rollback_migrations(steps => 3);
TRUNCATE dbops.schema_migrations, dbops.migration_events;

-- A map needs no right to read server files: a dbops_admin applies it.
CREATE ROLE regress_map_admin LOGIN IN ROLE dbops_admin;
GRANT CREATE ON SCHEMA public TO regress_map_admin;
SELECT pg_temp.file_map(:'fx' || '/golang') AS golang_map \gset
SET ROLE regress_map_admin;
SELECT version, action FROM dbops.apply_migrations(:'golang_map'::jsonb);
\set VERBOSITY sqlstate
SELECT * FROM dbops.apply_migrations(:'fx' || '/golang');
\set VERBOSITY default
RESET ROLE;
SET client_min_messages = warning;
SELECT version, action FROM dbops.rollback_migrations(steps => 3);
RESET client_min_messages;
TRUNCATE dbops.schema_migrations, dbops.migration_events;
REVOKE CREATE ON SCHEMA public FROM regress_map_admin;
DROP ROLE regress_map_admin;

-- Sources that are refused give the errors a server directory gives.
SELECT * FROM dbops.apply_migrations(pg_temp.file_map(:'fx' || '/bad/no_layout'));
SELECT * FROM dbops.apply_migrations(pg_temp.file_map(:'fx' || '/bad/duplicate'));
SELECT * FROM dbops.apply_migrations(pg_temp.file_map(:'fx' || '/bad/stray_file'));
SELECT * FROM dbops.apply_migrations(pg_temp.file_map(:'fx' || '/bad/no_up'));
SELECT * FROM dbops.apply_migrations(pg_temp.file_map(:'fx' || '/bad/orphan_down'));
SELECT * FROM dbops.apply_migrations(pg_temp.file_map(:'fx' || '/bad/two_downs'));
SELECT * FROM dbops.apply_migrations(pg_temp.file_map(:'fx' || '/bad/line'));

-- Paths that could name something outside the map, or the same file twice.
SELECT * FROM dbops.migration_status('{"../1_a.up.sql": ""}'::jsonb);
SELECT * FROM dbops.migration_status('{"x/../1_a.up.sql": ""}'::jsonb);
SELECT * FROM dbops.migration_status('{"/etc/1_a.up.sql": ""}'::jsonb);
SELECT * FROM dbops.migration_status('{"./1_a.up.sql": ""}'::jsonb);
SELECT * FROM dbops.migration_status('{"1_a//up.sql": ""}'::jsonb);
SELECT * FROM dbops.migration_status('{"1_a/": ""}'::jsonb);
SELECT * FROM dbops.migration_status('{"": ""}'::jsonb);
SELECT * FROM dbops.migration_status('{"1_a": "", "1_a/up.sql": ""}'::jsonb);
SELECT * FROM dbops.migration_status('{"1_a.up.sql": 1}'::jsonb);
SELECT * FROM dbops.migration_status('{"1_a.up.sql": null}'::jsonb);
-- Content: base64, valid in the database encoding, byte order mark skipped
-- (the checksum is that of the text after it); dot entries skipped.
SELECT * FROM dbops.migration_status('{"1_a.up.sql": "not base64!"}'::jsonb);
SELECT * FROM dbops.migration_status(jsonb_build_object('1_a.up.sql', encode('\xff00'::bytea, 'base64')));
SELECT version, name, state, checksum = encode(sha256('SELECT 1;'), 'hex') AS checksum_of_text
FROM dbops.migration_status(jsonb_build_object(
	'1_a.up.sql', encode('\xefbbbf'::bytea || convert_to('SELECT 1;', 'UTF8'), 'base64'),
	'.git/HEAD', encode('ref', 'base64'),
	'.hidden.up.sql', encode('nonsense', 'base64')));
-- An object that is not a map of files says how objects are read.
SELECT * FROM dbops.apply_migrations('{"version": "1", "up": "SELECT 1"}'::jsonb);
-- Reading a map of files takes the file that the layout needs, and no
-- other: a Sqitch plan that names a missing script.
SELECT * FROM dbops.migration_status(jsonb_build_object(
	'sqitch.plan', encode(convert_to(E'%project=x\nfirst 2020-01-01T00:00:00Z a <a@b>\n', 'UTF8'), 'base64')));
