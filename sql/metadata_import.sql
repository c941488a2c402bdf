--
-- Metadata documents: export, import, reset, reload and inconsistency, with
-- identifiers that need quoting, relationships, views and role mapping.
--
\set SHOW_CONTEXT never
CREATE ROLE regress_mi_admin IN ROLE dbops_admin;
CREATE ROLE "regress_mi Sales ""Rep""";
CREATE ROLE "regress_mi.Anon";
CREATE SCHEMA "My.Schema" AUTHORIZATION regress_mi_admin;
GRANT USAGE ON SCHEMA "My.Schema" TO "regress_mi Sales ""Rep""", "regress_mi.Anon";

-- what an administrator can observe: catalog, policies and privileges
CREATE FUNCTION public.mi_state()
RETURNS text
LANGUAGE sql AS $$
	SELECT dbops.export_metadata()::text
		|| (SELECT coalesce(string_agg(format('%s %s %s %s %s %s', tablename, policyname, cmd, roles, qual, with_check),
							  E'\n' ORDER BY tablename, policyname), '')
			FROM pg_policies WHERE schemaname = 'My.Schema')
		|| (SELECT string_agg(format('%s %s %s %s', c.relname, c.relrowsecurity, c.relacl,
									 (SELECT string_agg(attname || '=' || attacl::text, ',' ORDER BY attnum)
									  FROM pg_attribute WHERE attrelid = c.oid AND attacl IS NOT NULL)),
							  E'\n' ORDER BY c.relname)
			FROM pg_class c WHERE c.relnamespace = '"My.Schema"'::regnamespace AND c.relkind IN ('r', 'v'))
$$;

SET ROLE regress_mi_admin;
CREATE TABLE "My.Schema"."Authors" (id int PRIMARY KEY, "Full Name" text);
CREATE TABLE "My.Schema"."Order ""Items""" (
	"Line No" int PRIMARY KEY,
	"Owner.Name" text,
	"Author" int REFERENCES "My.Schema"."Authors",
	"Qty" int,
	note text
);
CREATE VIEW "My.Schema"."Open View" AS SELECT "Line No", "Author" FROM "My.Schema"."Order ""Items""";
INSERT INTO "My.Schema"."Authors" VALUES (1, 'Ann'), (2, 'Bo');
INSERT INTO "My.Schema"."Order ""Items""" VALUES
	(1, 'regress_mi Sales "Rep"', 1, 5, 'a'), (2, 'other', 2, 7, 'b');

-- A document in the layout of Hasura's export; "public" is mapped to a real role.
\set doc '{"version": 2, "tables": [ {"table": {"schema": "My.Schema", "name": "Order \\"Items\\""}, "object_relationships": [{"name": "author", "using": {"foreign_key_constraint_on": "Author"}}], "select_permissions": [ {"role": "regress_mi Sales \\"Rep\\"", "permission": {"columns": ["Qty", "Line No", "Owner.Name"], "filter": "\\"Owner.Name\\" = current_user"}}, {"role": "public", "permission": {"columns": "*", "filter": {}}}], "update_permissions": [ {"role": "regress_mi Sales \\"Rep\\"", "permission": {"columns": ["Qty"], "filter": "\\"Owner.Name\\" = current_user", "check": "\\"Qty\\" BETWEEN 1 AND 10"}}]}, {"table": {"schema": "My.Schema", "name": "Authors"}, "array_relationships": [ {"name": "items", "using": {"foreign_key_constraint_on": {"table": {"schema": "My.Schema", "name": "Order \\"Items\\""}, "column": "Author"}}}, {"name": "same_name", "using": {"manual_configuration": {"remote_table": {"schema": "My.Schema", "name": "Authors"}, "column_mapping": {"id": "id"}}}}], "select_permissions": [{"role": "regress_mi Sales \\"Rep\\"", "permission": {"columns": "*", "filter": {}}}]}, {"table": {"schema": "My.Schema", "name": "Open View"}, "select_permissions": [ {"role": "regress_mi Sales \\"Rep\\"", "permission": {"columns": ["Line No"], "filter": "\\"Author\\" > 1"}}]}]}'

-- Without the role map, "public" is refused by name, with a hint.
SELECT dbops.import_metadata(:'doc');
SELECT dbops.import_metadata(:'doc', role_map => '{"public": "regress_mi.Anon"}');
SELECT * FROM dbops.inconsistent_metadata();

-- The export is sorted (tables, relationships, roles, columns) and stable.
SELECT jsonb_pretty(dbops.export_metadata());
SELECT jsonb_pretty(dbops.export_metadata()) AS exported \gset
SELECT jsonb_pretty(dbops.export_metadata()) = :'exported' AS export_is_stable;

-- Enforcement with quoted identifiers.
RESET ROLE;
SET ROLE "regress_mi Sales ""Rep""";
SELECT "Line No", "Owner.Name", "Qty" FROM "My.Schema"."Order ""Items""";
SELECT note FROM "My.Schema"."Order ""Items""";
UPDATE "My.Schema"."Order ""Items""" SET "Qty" = 11;
UPDATE "My.Schema"."Order ""Items""" SET "Qty" = 9 RETURNING "Line No";
-- the view's filter is not enforced (reported above): both rows show
SELECT "Line No" FROM "My.Schema"."Open View" ORDER BY 1;
RESET ROLE;
SET ROLE "regress_mi.Anon";
SELECT "Line No", "Qty" FROM "My.Schema"."Order ""Items""" ORDER BY 1;
RESET ROLE;

-- export -> reset -> import -> export is byte-identical, and so is what
-- PostgreSQL enforces.
SET ROLE regress_mi_admin;
SELECT mi_state() AS before_state \gset
SELECT dbops.reset_metadata();
SELECT mi_state() <> :'before_state' AS reset_changed_state;
SELECT dbops.import_metadata(:'exported');
SELECT jsonb_pretty(dbops.export_metadata()) = :'exported' AS round_trip_identical;
SELECT mi_state() = :'before_state' AS same_state;

-- An import naming a missing table, column, role or constraint, or a filter
-- that is not one boolean expression: one error listing every problem, and
-- nothing changes.
SELECT dbops.import_metadata('{"version": 2, "tables": [
	{"table": {"schema": "My.Schema", "name": "Missing"}},
	{"table": {"schema": "My.Schema", "name": "Authors"},
	 "object_relationships": [
		{"name": "no_fk", "using": {"foreign_key_constraint_on": "Full Name"}},
		{"name": "bad_map", "using": {"manual_configuration": {"remote_table": {"schema": "My.Schema", "name": "Order \"Items\""}, "column_mapping": {"id": "note", "Full Name": "Nope"}}}}],
	 "select_permissions": [
		{"role": "regress_mi_nobody", "permission": {"columns": ["id", "Nope"], "filter": "id > 0"}},
		{"role": "regress_mi.Anon", "permission": {"columns": "*", "filter": "id + 1"}},
		{"role": "regress_mi_admin", "permission": {"columns": "*", "filter": "true; DROP TABLE \"My.Schema\".\"Authors\""}}],
	 "insert_permissions": [
		{"role": "regress_mi.Anon", "permission": {"columns": "*", "check": "id > 0", "set": {"id": 1}}}]}]}');
SELECT mi_state() = :'before_state' AS unchanged;
SELECT dbops.import_metadata('{"version": 3, "sources": []}');
SELECT dbops.import_metadata('[]');
SELECT mi_state() = :'before_state' AS unchanged;

-- With allow_inconsistent the document is stored as is; what is
-- inconsistent is listed and not enforced, the rest is.
SELECT jsonb_pretty(dbops.import_metadata('{"version": 2, "tables": [
	{"table": {"schema": "My.Schema", "name": "Missing"}},
	{"table": {"schema": "My.Schema", "name": "Authors"},
	 "select_permissions": [
		{"role": "regress_mi_nobody", "permission": {"columns": ["id"], "filter": {}}},
		{"role": "regress_mi.Anon", "permission": {"columns": "*", "filter": "id = 1"}}]}]}', true));
SELECT * FROM dbops.inconsistent_metadata();
SELECT tablename, policyname FROM pg_policies WHERE schemaname = 'My.Schema' ORDER BY 1, 2;
SELECT count(*) FROM dbops.metadata_permissions;
SELECT dbops.import_metadata(:'exported');

-- A dropped column makes only the permissions that name it inconsistent,
-- says which column (in a WARNING at the DROP), stops enforcing them (fail
-- closed) and deletes nothing; a reload keeps the rest.
RESET ROLE;
ALTER TABLE "My.Schema"."Order ""Items""" DROP COLUMN "Qty" CASCADE;
SET ROLE regress_mi_admin;
SELECT * FROM dbops.inconsistent_metadata();
SELECT jsonb_pretty(dbops.reload_metadata());
SELECT tablename, policyname FROM pg_policies WHERE schemaname = 'My.Schema' ORDER BY 1, 2;
SELECT count(*) AS permissions_kept FROM dbops.metadata_permissions;
RESET ROLE;
SET ROLE "regress_mi Sales ""Rep""";
SELECT "Line No" FROM "My.Schema"."Order ""Items""";
SELECT id FROM "My.Schema"."Authors" ORDER BY 1;
RESET ROLE;
-- Putting the column back and reloading restores the permissions.
ALTER TABLE "My.Schema"."Order ""Items""" ADD COLUMN "Qty" int;
SET ROLE regress_mi_admin;
SELECT dbops.reload_metadata() = dbops.metadata_inconsistencies() AS same_report;
SELECT * FROM dbops.inconsistent_metadata() WHERE object_type <> 'select_permission';
SELECT tablename, policyname FROM pg_policies WHERE schemaname = 'My.Schema' ORDER BY 1, 2;

-- A dropped table is reported, and can be untracked by name.
CREATE TABLE "My.Schema"."Gone Soon" (id int);
SELECT dbops.track_table('"My.Schema"."Gone Soon"');
SELECT dbops.create_permission('"My.Schema"."Gone Soon"', 'regress_mi.Anon', 'select');
DROP TABLE "My.Schema"."Gone Soon";
SELECT * FROM dbops.inconsistent_metadata() WHERE object_type = 'table';
SELECT dbops.untrack_table('My.Schema', 'Gone Soon');
SELECT dbops.untrack_table('My.Schema', 'Gone Soon');
SELECT count(*) FROM dbops.inconsistent_metadata() WHERE object_type = 'table';

-- Relationships one by one.
SELECT dbops.create_object_relationship('"My.Schema"."Order ""Items"""', 'writer',
	'{"manual_configuration": {"remote_table": {"schema": "My.Schema", "name": "Authors"}, "column_mapping": {"Author": "id"}}}');
SELECT dbops.create_object_relationship('"My.Schema"."Order ""Items"""', 'writer', '{"foreign_key_constraint_on": "Author"}');
SELECT dbops.create_array_relationship('"My.Schema"."Authors"', 'wrong',
	'{"foreign_key_constraint_on": {"table": {"schema": "My.Schema", "name": "Authors"}, "column": "id"}}');
SELECT dbops.create_array_relationship('"My.Schema"."Authors"', 'bare',
	'{"foreign_key_constraint_on": {"table": "Authors", "column": "id"}}');
SELECT dbops.drop_relationship('"My.Schema"."Order ""Items"""', 'writer');
SELECT dbops.drop_relationship('"My.Schema"."Order ""Items"""', 'writer');

-- Hasura's boolean expressions are compiled into the policy (session
-- variables become current_setting('hasura.*', true), values are cast to
-- the column's type); the export keeps the expression as given.
SELECT dbops.import_metadata('{"version": 2, "tables": [{"table": {"schema": "My.Schema", "name": "Order \"Items\""},
	"select_permissions": [{"role": "regress_mi.Anon", "permission": {"columns": ["Line No"],
		"filter": {"_or": [{"Owner.Name": {"_eq": "X-Hasura-User-Name"}}, {"Line No": {"_in": [2, 3]}}]}}}]}]}');
SELECT dbops.export_metadata() #> '{tables,0,select_permissions,0,permission,filter}' AS kept;
SELECT pg_get_expr(polqual, polrelid) AS policy FROM pg_policy
WHERE polrelid = '"My.Schema"."Order ""Items"""'::regclass;
RESET ROLE;
SET ROLE "regress_mi.Anon";
SET hasura.user_name = 'regress_mi Sales "Rep"';
SELECT "Line No" FROM "My.Schema"."Order ""Items""" ORDER BY 1;
RESET hasura.user_name;
SELECT "Line No" FROM "My.Schema"."Order ""Items""" ORDER BY 1;
RESET ROLE;
SET ROLE regress_mi_admin;
-- a relationship the document does not define is refused by name
SELECT dbops.import_metadata('{"version": 2, "tables": [{"table": {"schema": "My.Schema", "name": "Order \"Items\""},
	"select_permissions": [{"role": "regress_mi.Anon", "permission": {"columns": "*",
		"filter": {"author": {"id": {"_eq": 1}}}}}]}]}');

-- A policy dbops did not create but would need the name of is reported
-- before anything changes.
CREATE POLICY "dbops_select_regress_mi.Anon" ON "My.Schema"."Authors" USING (true);
SELECT dbops.import_metadata('{"version": 2, "tables": [{"table": {"schema": "My.Schema", "name": "Authors"},
	"select_permissions": [{"role": "regress_mi.Anon", "permission": {"columns": "*", "filter": {}}}]}]}');
DROP POLICY "dbops_select_regress_mi.Anon" ON "My.Schema"."Authors";

SELECT dbops.reset_metadata();
RESET ROLE;
DROP SCHEMA "My.Schema" CASCADE;
DROP FUNCTION mi_state();
DROP ROLE regress_mi_admin, "regress_mi Sales ""Rep""", "regress_mi.Anon";
