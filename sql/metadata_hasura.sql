--
-- A Hasura project's metadata as Hasura exports it: every key Hasura
-- writes, kept or enforced or listed; relationship filters, _exists,
-- presets, "check": null, _ne and $eq; version 3 with a source chosen by
-- name.  Export gives the document back in Hasura's version 2 shape
-- (after Hasura's own normalisation: sorted keys, _ne as _neq, $eq as
-- _eq), byte-identical from the second cycle on.  Errors name the JSON
-- path through the Hasura expression.
--
\set SHOW_CONTEXT never
CREATE ROLE regress_mh_admin IN ROLE dbops_admin;
CREATE ROLE regress_mh_user;
CREATE ROLE regress_mh_anonymous;
CREATE SCHEMA mh AUTHORIZATION regress_mh_admin;
GRANT USAGE ON SCHEMA mh TO regress_mh_user, regress_mh_anonymous;

SET ROLE regress_mh_admin;
CREATE TABLE mh.author (id int PRIMARY KEY, name text, email text);
CREATE TABLE mh.article_status (value text PRIMARY KEY, comment text);
CREATE TABLE mh.article (id int PRIMARY KEY, author_id int REFERENCES mh.author,
	title text, status text REFERENCES mh.article_status, tags jsonb, rating int);
CREATE FUNCTION mh.title_upper(a mh.article) RETURNS text LANGUAGE sql STABLE
	AS $$ SELECT upper(a.title) $$;
INSERT INTO mh.author VALUES (1, 'Ann', 'ann@example.org'), (2, 'Bo', 'bo@example.org');
INSERT INTO mh.article_status VALUES ('draft', NULL), ('published', NULL);
INSERT INTO mh.article VALUES (10, 1, 'Ann draft', 'draft', NULL, 1),
	(11, 1, 'Ann published', 'published', '{"t": 1}', 2), (20, 2, 'Bo draft', 'draft', NULL, 3);

SELECT $doc$
{
  "version": 2,
  "tables": [
    {
      "table": {"schema": "mh", "name": "article"},
      "configuration": {"custom_root_fields": {"select": "posts"}, "custom_column_names": {"author_id": "authorId"}},
      "object_relationships": [
        {"name": "author", "using": {"foreign_key_constraint_on": "author_id"}, "comment": "who wrote it"}
      ],
      "computed_fields": [
        {"name": "title_upper", "definition": {"function": {"schema": "mh", "name": "title_upper"}}, "comment": null}
      ],
      "remote_relationships": [
        {"name": "reviews", "definition": {"remote_schema": "reviews", "hasura_fields": ["id"],
          "remote_field": {"reviews": {"arguments": {"article_id": "$id"}}}}}
      ],
      "event_triggers": [
        {"name": "article_created", "definition": {"enable_manual": false, "insert": {"columns": "*"}},
          "retry_conf": {"num_retries": 0, "interval_sec": 10, "timeout_sec": 60},
          "webhook_from_env": "ARTICLE_WEBHOOK", "headers": [{"name": "x-secret", "value_from_env": "SECRET"}]}
      ],
      "insert_permissions": [
        {"role": "regress_mh_user", "comment": "users write their own",
          "permission": {"check": {"author_id": {"_eq": "X-Hasura-User-Id"}},
            "set": {"author_id": "x-hasura-User-Id"}, "columns": ["author_id", "id", "rating", "status", "tags", "title"],
            "backend_only": false}}
      ],
      "select_permissions": [
        {"role": "regress_mh_anonymous",
          "permission": {"columns": ["id", "title"], "filter": {"status": {"_ne": "draft"}},
            "limit": 10, "allow_aggregations": true}},
        {"role": "regress_mh_user",
          "permission": {"columns": "*",
            "filter": {"_or": [{"author": {"id": {"$eq": "X-Hasura-User-Id"}}}, {"status": {"_in": ["published"]}}]},
            "computed_fields": ["title_upper"], "allow_aggregations": true}}
      ],
      "update_permissions": [
        {"role": "regress_mh_user",
          "permission": {"columns": ["rating", "title"], "filter": {"author_id": {"_eq": "X-Hasura-User-Id"}}, "check": null}}
      ],
      "delete_permissions": [
        {"role": "regress_mh_user",
          "permission": {"filter": {"_and": [{"author_id": {"_eq": "X-Hasura-User-Id"}}, {"status": {"_eq": "draft"}}]},
            "backend_only": false}}
      ]
    },
    {"table": {"schema": "mh", "name": "article_status"}, "is_enum": true},
    {
      "table": {"schema": "mh", "name": "author"},
      "array_relationships": [
        {"name": "articles", "using": {"foreign_key_constraint_on": {"column": "author_id", "table": {"schema": "mh", "name": "article"}}}}
      ],
      "select_permissions": [
        {"role": "regress_mh_anonymous", "permission": {"columns": ["id", "name"], "filter": {"articles": {}}, "limit": 5}},
        {"role": "regress_mh_user",
          "permission": {"columns": ["id", "name"],
            "filter": {"_exists": {"_table": {"schema": "mh", "name": "article"}, "_where": {"author_id": {"_eq": "X-Hasura-User-Id"}}}}}}
      ]
    }
  ],
  "functions": [{"function": {"schema": "mh", "name": "title_upper"}}],
  "remote_schemas": [{"name": "reviews", "comment": "", "definition": {"url_from_env": "REVIEWS_URL", "timeout_seconds": 60}}],
  "actions": [
    {"name": "login", "permissions": [{"role": "regress_mh_anonymous"}],
      "definition": {"handler": "{{AUTH_URL}}/login", "output_type": "LoginResult", "kind": "synchronous",
        "arguments": [{"name": "email", "type": "String!"}], "type": "mutation"}}
  ],
  "custom_types": {"objects": [{"name": "LoginResult", "fields": [{"name": "token", "type": "String!"}]}]},
  "allowlist": [{"collection": "allowed-queries"}],
  "query_collections": [{"name": "allowed-queries", "definition": {"queries": [{"name": "q", "query": "query { posts { id } }"}]}}],
  "cron_triggers": [
    {"name": "nightly", "webhook": "{{CRON_URL}}", "schedule": "0 3 * * *", "include_in_metadata": true, "payload": {},
      "retry_conf": {"num_retries": 1, "timeout_seconds": 60, "tolerance_seconds": 21600, "retry_interval_seconds": 10}}
  ]
}
$doc$ AS doc \gset

-- limit cannot be enforced by PostgreSQL: those permissions are listed and
-- not enforced (fail closed); everything else is.
SELECT jsonb_pretty(dbops.import_metadata(:'doc'));
SELECT tablename, policyname, cmd FROM pg_policies WHERE schemaname = 'mh' ORDER BY 1, 2, 3;

-- Accepting limit enforces them without it, and says so.
SELECT jsonb_pretty(dbops.import_metadata(:'doc', accept_unenforced => '{limit}'));
SELECT tablename, policyname, cmd FROM pg_policies WHERE schemaname = 'mh' ORDER BY 1, 2, 3;

-- The export is the document after Hasura's normalisation.
SELECT replace(replace(:'doc', '"_ne"', '"_neq"'), '"$eq"', '"_eq"')::jsonb AS normalised \gset
SELECT dbops.export_metadata() = :'normalised'::jsonb AS round_trip;
SELECT jsonb_pretty(dbops.export_metadata()) AS first \gset
SELECT jsonb_array_length(dbops.import_metadata(dbops.export_metadata(), accept_unenforced => '{limit}'))
	AS accepted_warnings;
SELECT jsonb_pretty(dbops.export_metadata()) = :'first' AS second_cycle_identical;

-- What the roles see and may do.
RESET ROLE;
SET ROLE regress_mh_user;
SET hasura.user_id = '1';
SELECT id, title FROM mh.article ORDER BY id;
SELECT id, name FROM mh.author ORDER BY id;
INSERT INTO mh.article (id, author_id, title, status) VALUES (12, 1, 'Ann new', 'draft');
INSERT INTO mh.article (id, author_id, title, status) VALUES (21, 2, 'not mine', 'draft');
UPDATE mh.article SET rating = NULL WHERE true RETURNING id;
DELETE FROM mh.article WHERE true RETURNING id;
RESET hasura.user_id;
SET ROLE regress_mh_anonymous;
SELECT id, title FROM mh.article ORDER BY id;
SELECT id, name FROM mh.author ORDER BY id;
RESET ROLE;

-- Errors name the JSON path through the expression and the relationship.
SET ROLE regress_mh_admin;
SELECT dbops.import_metadata(jsonb_set(:'doc', '{tables,0,select_permissions,1,permission,filter,_or,0,author}',
	'{"nope": {"_eq": 1}}'));
SELECT dbops.import_metadata(jsonb_set(:'doc', '{tables,2,select_permissions,0,permission,filter}',
	'{"articles": {"_not": {"rating": {"_gt": "high"}}}}'));
SELECT dbops.import_metadata(jsonb_set(:'doc', '{tables,2,select_permissions,1,permission,filter,_exists,_table,name}',
	'"gone"'));

-- Version 3: the source is chosen by name; its functions are kept (at the
-- top, as version 2 keeps them), its connection settings are Hasura's own
-- and not kept, with a warning.
SELECT jsonb_build_object('version', 3, 'sources', jsonb_build_array(
	jsonb_build_object('name', 'default', 'kind', 'postgres', 'tables', :'normalised'::jsonb -> 'tables',
		'functions', :'normalised'::jsonb -> 'functions',
		'configuration', '{"connection_info": {"database_url": {"from_env": "DB_URL"}}}'::jsonb),
	jsonb_build_object('name', 'other', 'kind', 'postgres', 'tables', '[]'::jsonb)))
	|| (:'normalised'::jsonb - 'version' - 'tables' - 'functions') AS doc3 \gset
SELECT dbops.import_metadata(:'doc3', accept_unenforced => '{limit}');
SELECT dbops.import_metadata(:'doc3', source_name => 'nope', accept_unenforced => '{limit}');
SELECT jsonb_pretty(dbops.import_metadata(:'doc3', source_name => 'default',
	accept_unenforced => '{limit}') -> 0) AS not_kept;
SELECT dbops.export_metadata() = :'normalised'::jsonb AS same_as_version_2;
SELECT dbops.import_metadata(:'doc3', source_name => 'other') = '[]' AS other_imported;
SELECT count(*) AS policies_left FROM pg_policies WHERE schemaname = 'mh';

SELECT dbops.reset_metadata();
RESET ROLE;
DROP SCHEMA mh CASCADE;
DROP ROLE regress_mh_admin, regress_mh_user, regress_mh_anonymous;
