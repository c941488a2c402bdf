--
-- Hasura metadata directories, as Hasura's CLI writes them (config
-- version 3 with databases/ and "!include", version 2 with tables.yaml),
-- read on the server or sent as a map of files, into the document Hasura's
-- export would give.  What YAML parsers disagree on, and includes that
-- loop or leave the directory, are refused with the file and line.
-- Fixtures: test/fixtures/metadata of the tree under test (DBOPS_SRC);
-- errors about a directory as a whole use relative paths (relative to the
-- data directory), which messages show as given.
--
\set SHOW_CONTEXT never
\getenv src DBOPS_SRC
\if :{?src}
\else
\getenv src PWD
\endif
\set fx :src/test/fixtures/metadata

CREATE ROLE regress_mdir_admin IN ROLE dbops_admin;
CREATE ROLE "user";
CREATE ROLE anonymous;
CREATE TABLE public.md_author (id int PRIMARY KEY, name text);
CREATE TABLE public.md_article (id int PRIMARY KEY, author_id int REFERENCES public.md_author,
	title text, published boolean);
CREATE TABLE public."md Order ""Items""" ("Line No" int PRIMARY KEY, qty int);
ALTER TABLE public.md_author OWNER TO regress_mdir_admin;
ALTER TABLE public.md_article OWNER TO regress_mdir_admin;
ALTER TABLE public."md Order ""Items""" OWNER TO regress_mdir_admin;

-- every file of a directory as the client sends it: relative path -> base64
CREATE FUNCTION pg_temp.file_map(dir text) RETURNS jsonb LANGUAGE sql AS $$
	WITH RECURSIVE f(rel) AS (
		SELECT name FROM pg_ls_dir(dir) name
		UNION ALL
		SELECT f.rel || '/' || name FROM f, LATERAL pg_ls_dir(dir || '/' || f.rel) name
		WHERE (pg_stat_file(dir || '/' || f.rel)).isdir
	)
	SELECT jsonb_object_agg(rel, encode(pg_read_binary_file(dir || '/' || rel), 'base64'))
	FROM f WHERE NOT (pg_stat_file(dir || '/' || rel)).isdir
$$;

-- A project (config.yaml beside metadata/), config version 3: the tables
-- come through two levels of includes; empty files say nothing;
-- actions.graphql is kept as text.
SELECT jsonb_pretty(dbops.read_metadata_dir(:'fx' || '/hasura_v3'));

-- The same files sent as a map give the same document; so does the
-- metadata directory itself.
SELECT dbops.read_metadata_dir(pg_temp.file_map(:'fx' || '/hasura_v3'))
	= dbops.read_metadata_dir(:'fx' || '/hasura_v3') AS map_same;
SELECT dbops.read_metadata_dir(:'fx' || '/hasura_v3/metadata')
	= dbops.read_metadata_dir(:'fx' || '/hasura_v3') AS metadata_dir_same;

-- It imports as any document does.
SELECT pg_temp.file_map(:'fx' || '/hasura_v3') AS map \gset
SET ROLE regress_mdir_admin;
SELECT jsonb_pretty(dbops.import_metadata(dbops.read_metadata_dir(:'map'::jsonb)));
SELECT table_name, role_name, action FROM dbops.metadata_created ORDER BY 1, 2, 3;
-- a member of dbops_admin may send files, not read the server's
SELECT dbops.read_metadata_dir('metadata');
RESET ROLE;

-- Config version 2 (a project without config.yaml: its metadata/).
SELECT jsonb_pretty(dbops.read_metadata_dir(:'fx' || '/hasura_v2'));

-- Refused, with the file and line.
SELECT dbops.read_metadata_dir(:'fx' || '/bad/alias');
SELECT dbops.read_metadata_dir(:'fx' || '/bad/yes_no');
SELECT dbops.read_metadata_dir(:'fx' || '/bad/octal');
SELECT dbops.read_metadata_dir(:'fx' || '/bad/include_loop');
SELECT dbops.read_metadata_dir(:'fx' || '/bad/include_outside');
SELECT dbops.read_metadata_dir(:'fx' || '/bad/include_missing');
SELECT dbops.read_metadata_dir(:'fx' || '/bad/duplicate_key');
SELECT dbops.read_metadata_dir(:'fx' || '/bad/two_documents');
SELECT dbops.read_metadata_dir(:'fx' || '/bad/unknown_tag');
SELECT dbops.read_metadata_dir(:'fx' || '/bad/misnamed_file');
SELECT dbops.read_metadata_dir(:'fx' || '/bad/syntax');
SELECT dbops.read_metadata_dir(:'fx' || '/bad/merge_key');
SELECT dbops.read_metadata_dir('nowhere');

-- Includes nest at most 16 files deep; an include bomb (each file naming
-- the next a hundred times) stops once 64 MB were read.
CREATE FUNCTION pg_temp.b64(t text) RETURNS text LANGUAGE sql
	AS $$ SELECT encode(convert_to(t, 'UTF8'), 'base64') $$;
SELECT dbops.read_metadata_dir(jsonb_build_object('version.yaml', pg_temp.b64('version: 2'),
	'tables.yaml', pg_temp.b64('"!include d/1.yaml"'))
	|| (SELECT jsonb_object_agg(format('d/%s.yaml', i), pg_temp.b64(format('"!include %s.yaml"', i + 1)))
		FROM generate_series(1, 20) i));
SELECT dbops.read_metadata_dir(jsonb_build_object('version.yaml', pg_temp.b64('version: 2'),
	'tables.yaml', pg_temp.b64('[' || repeat('"!include b/1.yaml", ', 99) || '"!include b/1.yaml"]'),
	'b/1.yaml', pg_temp.b64('[' || repeat('"!include 2.yaml", ', 99) || '"!include 2.yaml"]'),
	'b/2.yaml', pg_temp.b64('[' || repeat('"!include 3.yaml", ', 99) || '"!include 3.yaml"]'),
	'b/3.yaml', pg_temp.b64(repeat('x', 100000))));

-- A map cannot name anything outside itself, nor hold what is not base64.
SELECT dbops.read_metadata_dir('{"version.yaml": "dmVyc2lvbjogMg==", "../tables.yaml": "W10="}'::jsonb);
SELECT dbops.read_metadata_dir('{"version.yaml": "not base64!"}'::jsonb);
SELECT dbops.read_metadata_dir('{"tables.yaml": "W10="}'::jsonb);
SELECT dbops.read_metadata_dir('[]'::jsonb);
SELECT dbops.read_metadata_dir(NULL::jsonb);
SELECT dbops.read_metadata_dir(NULL::text);

SET ROLE regress_mdir_admin;
SELECT dbops.reset_metadata();
RESET ROLE;
DROP TABLE public."md Order ""Items""", public.md_article, public.md_author;
DROP ROLE regress_mdir_admin, "user", anonymous;
