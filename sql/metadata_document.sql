--
-- Metadata documents are read fail-closed: every entry is checked for the
-- keys it must have and may have, every value for its type, every name for
-- its length.  A malformed entry is an error with its JSON path (22023),
-- all of them in one error, and nothing malformed is ever stored or
-- enforced.
--
\set SHOW_CONTEXT never
CREATE ROLE regress_md_doc_admin IN ROLE dbops_admin;
CREATE ROLE regress_md_doc_reader;
CREATE SCHEMA mdd AUTHORIZATION regress_md_doc_admin;
GRANT USAGE ON SCHEMA mdd TO regress_md_doc_reader;
SET ROLE regress_md_doc_admin;
CREATE TABLE mdd.t (id int PRIMARY KEY, parent int REFERENCES mdd.t, secret text);
INSERT INTO mdd.t VALUES (1, NULL, 's1'), (2, 1, 's2');
SELECT dbops.import_metadata('{"version": 2, "tables": [{"table": {"schema": "mdd", "name": "t"},
	"select_permissions": [{"role": "regress_md_doc_reader", "permission": {"columns": ["id"], "filter": "id = 1"}}]}]}');
SELECT dbops.export_metadata() AS before \gset

-- A permission without its body, or with a misspelt key, grants nothing:
-- it is refused, where it was once stored as "all columns, all rows".
SELECT dbops.import_metadata('{"version": 2, "tables": [{"table": {"schema": "mdd", "name": "t"},
	"select_permissions": [{"role": "regress_md_doc_reader"}]}]}');
\echo :LAST_ERROR_SQLSTATE
SELECT dbops.import_metadata('{"version": 2, "tables": [{"table": {"schema": "mdd", "name": "t"},
	"select_permissions": [{"role": "regress_md_doc_reader", "permissions": {"columns": "*", "filter": {}}}]}]}');
SELECT dbops.import_metadata('{"version": 2, "tables": [{"table": {"schema": "mdd", "name": "t"},
	"select_permissions": [{"permission": {"columns": "*", "filter": {}}}]}]}');

-- Every key a permission needs, for each action: a missing filter or check
-- is not "no condition" (that is written {}).
SELECT dbops.import_metadata('{"version": 2, "tables": [{"table": {"schema": "mdd", "name": "t"},
	"select_permissions": [{"role": "regress_md_doc_reader", "permission": {"columns": ["id"]}}],
	"insert_permissions": [{"role": "regress_md_doc_reader", "permission": {"columns": ["id"]}}],
	"update_permissions": [{"role": "regress_md_doc_reader", "permission": {"filter": {}}}],
	"delete_permissions": [{"role": "regress_md_doc_reader", "permission": {}}]}]}');

-- Values of the wrong type, empty or duplicate column lists, names that
-- PostgreSQL would truncate, keys nobody knows.
SELECT dbops.import_metadata('{"version": 2, "extra": 1, "tables": [{"table": {"schema": "mdd", "name": "t", "x": 1},
	"select_permissions": [
		{"role": "", "permission": {"columns": [], "filter": null}},
		{"role": 7, "permission": {"columns": "id", "filter": 1}},
		{"role": "regress_md_doc_reader_with_a_name_that_is_longer_than_sixty_three_bytes",
		 "permission": {"columns": ["id", "id", 3], "filter": {}, "limit": 10}}],
	"delete_permissions": [{"role": "regress_md_doc_reader", "permission": {"columns": "*", "filter": {}}}],
	"select_permission": []}]}');
SELECT dbops.import_metadata('{"version": 2, "tables": [
	{"table": "t"}, {"table": {"name": "t"}}, 7, {"table": {"schema": "mdd", "name": ""}}]}');
SELECT dbops.import_metadata('{"version": 2, "tables": {}}');
SELECT dbops.import_metadata('{"version": "2"}');
SELECT dbops.import_metadata('{"tables": []}');

-- Relationships: exactly one way to join, with all its parts.
SELECT dbops.import_metadata('{"version": 2, "tables": [{"table": {"schema": "mdd", "name": "t"},
	"object_relationships": [
		{"name": "a"},
		{"name": "b", "using": {"foreign_key_constraint_on": "parent", "manual_configuration": {}}},
		{"name": "c", "using": {"manual_configuration": {"remote_table": "t", "column_mapping": {}}}},
		{"name": "d", "using": {"foreign_key_constraint_on": []}}],
	"array_relationships": [
		{"name": "e", "using": {"foreign_key_constraint_on": {"column": "parent"}}},
		{"name": "a", "using": {"foreign_key_constraint_on": {"table": {"schema": "mdd", "name": "t"}, "column": "parent"}}}]}]}');

-- The same role twice for one action, the same table twice.
SELECT dbops.import_metadata('{"version": 2, "tables": [
	{"table": {"schema": "mdd", "name": "t"}, "select_permissions": [
		{"role": "regress_md_doc_reader", "permission": {"columns": ["id"], "filter": {}}},
		{"role": "regress_md_doc_reader", "permission": {"columns": "*", "filter": {}}}]},
	{"table": {"schema": "mdd", "name": "t"}}]}');

-- role_map is checked too, and what it maps to may not be reserved.
SELECT dbops.import_metadata('{"version": 2, "tables": []}', role_map => '[]');
SELECT dbops.import_metadata('{"version": 2, "tables": []}', role_map => '{"a": 1}');
SELECT dbops.import_metadata('{"version": 2, "tables": [{"table": {"schema": "mdd", "name": "t"},
	"select_permissions": [{"role": "anon", "permission": {"columns": ["id"], "filter": {}}}]}]}',
	role_map => '{"anon": "pg_read_all_data"}');

-- A source is chosen only from a version 3 document.
SELECT dbops.import_metadata('{"version": 2}', source_name => 'default');
SELECT dbops.import_metadata(NULL);

-- Through all of it nothing changed: the catalog, the grants, the policy.
SELECT dbops.export_metadata() = :'before'::jsonb AS unchanged;
RESET ROLE;
SET ROLE regress_md_doc_reader;
SELECT * FROM mdd.t;
SELECT id FROM mdd.t;
RESET ROLE;

-- The single-entry functions check the same way.  An empty column list
-- (Hasura's "no column") grants no column, never the whole table.
SET ROLE regress_md_doc_admin;
BEGIN;
SELECT dbops.create_permission('mdd.t', 'regress_md_doc_reader', 'insert', '{}');
SELECT has_any_column_privilege('regress_md_doc_reader', 'mdd.t', 'INSERT') AS may_insert;
SELECT p -> 'permission' -> 'columns' AS exported_columns FROM jsonb_path_query(dbops.export_metadata(),
	'$.tables[*] ? (@.table.name == "t").insert_permissions[*]') p;
ROLLBACK;
SELECT dbops.create_permission('mdd.t', 'regress_md_doc_reader', 'insert', '{id,id}');
SELECT dbops.create_permission('mdd.t', 'regress_md_doc_reader', 'insert', '{id}', 'id > 0');
SELECT dbops.create_permission('mdd.t', 'regress_md_doc_reader', 'delete', '{id}');
SELECT dbops.create_permission('mdd.t', NULL, 'delete');
SELECT dbops.create_object_relationship('mdd.t', 'p', '{"foreign_key_constraint_on": "parent", "x": 1}');

-- A permission without a condition exports {} and imports back as the same.
SELECT dbops.create_permission('mdd.t', 'regress_md_doc_reader', 'update', '{secret}');
SELECT jsonb_pretty(dbops.export_metadata() -> 'tables' -> 0 -> 'update_permissions');
SELECT dbops.export_metadata() AS exported \gset
SELECT dbops.import_metadata(:'exported');
SELECT dbops.export_metadata() = :'exported'::jsonb AS round_trip;

-- Hasura's "columns": [] in a whole document: the dry run grants nothing
-- for it, the role can read no column (count(*) needs one too), the export
-- gives it back.
SELECT dbops.reset_metadata();
SELECT jsonb_pretty(dbops.import_metadata('{"version": 2, "tables": [{"table": {"schema": "mdd", "name": "t"},
	"select_permissions": [{"role": "regress_md_doc_reader",
		"permission": {"columns": [], "filter": {}, "allow_aggregations": true}}]}]}',
	dry_run => true) -> 'changes');
SELECT dbops.import_metadata('{"version": 2, "tables": [{"table": {"schema": "mdd", "name": "t"},
	"select_permissions": [{"role": "regress_md_doc_reader",
		"permission": {"columns": [], "filter": {}, "allow_aggregations": true}}]}]}');
SELECT has_any_column_privilege('regress_md_doc_reader', 'mdd.t', 'SELECT') AS may_select;
SELECT object_type, object_name, reason FROM dbops.inconsistent_metadata();
SELECT dbops.export_metadata() -> 'tables' -> 0 -> 'select_permissions' AS exported;

SELECT dbops.reset_metadata();
RESET ROLE;
DROP SCHEMA mdd CASCADE;
DROP ROLE regress_md_doc_admin, regress_md_doc_reader;
