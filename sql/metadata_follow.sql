--
-- Metadata follows DDL: renamed tables, views, columns and roles are
-- carried into the catalog (conditions included, as SQL text and as
-- Hasura expressions, through relationships), and the grants and policies
-- stay right, checked as the role; a dropped column or table marks exactly
-- the permissions that need it inconsistent, stops enforcing them (fail
-- closed) and says so in a WARNING; the catalog keeps every entry.
--
\set SHOW_CONTEXT never
CREATE ROLE regress_mf_admin IN ROLE dbops_admin;
CREATE ROLE regress_mf_user;
CREATE SCHEMA mf AUTHORIZATION regress_mf_admin;
CREATE SCHEMA mf_moved AUTHORIZATION regress_mf_admin;
GRANT USAGE ON SCHEMA mf, mf_moved TO regress_mf_user;
SET ROLE regress_mf_admin;
CREATE TABLE mf.author (id int PRIMARY KEY, name text);
CREATE TABLE mf.article (id int PRIMARY KEY, author_id int REFERENCES mf.author, title text,
	status text, reviewer text);
CREATE VIEW mf.titles AS SELECT id, title FROM mf.article;
INSERT INTO mf.author VALUES (1, 'ann'), (2, 'bo');
INSERT INTO mf.article VALUES (10, 1, 'x', 'pub', 'pub'), (20, 2, 'y', 'draft', 'pub');
SELECT dbops.import_metadata('{"version": 2, "tables": [
 {"table": {"schema": "mf", "name": "author"},
  "select_permissions": [{"role": "regress_mf_user", "permission": {"columns": ["id", "name"],
	"filter": "id = 1 OR author.name = ''bo''"}}]},
 {"table": {"schema": "mf", "name": "article"},
  "object_relationships": [{"name": "author", "using": {"foreign_key_constraint_on": "author_id"}}],
  "select_permissions": [{"role": "regress_mf_user", "permission": {"columns": ["id", "status", "title"],
	"filter": {"_and": [{"author": {"name": {"_eq": "ann"}}}, {"status": {"_ceq": "reviewer"}}]}}}],
  "insert_permissions": [{"role": "regress_mf_user", "permission": {"columns": ["id", "status"],
	"check": {"status": {"_eq": "draft"}}, "set": {"status": "draft"}}}]},
 {"table": {"schema": "mf", "name": "titles"},
  "select_permissions": [{"role": "regress_mf_user", "permission": {"columns": ["title"], "filter": {}}}]}]}');

-- Renames: columns (SQL and Hasura conditions, a column comparison, a
-- preset, a column list), a table moved to another schema, a view.
ALTER TABLE mf.author RENAME COLUMN name TO "Full Name";
ALTER TABLE mf.article RENAME COLUMN status TO state;
ALTER TABLE mf.article RENAME COLUMN reviewer TO checker;
ALTER TABLE mf.article RENAME TO post;
ALTER TABLE mf.post SET SCHEMA mf_moved;
ALTER VIEW mf.titles RENAME TO headlines;
SELECT jsonb_pretty(dbops.export_metadata() -> 'tables');
SELECT * FROM dbops.inconsistent_metadata();
-- what dbops made still holds, as the role
SET ROLE regress_mf_user;
SELECT id, state FROM mf_moved.post ORDER BY id;
SELECT id, "Full Name" FROM mf.author ORDER BY id;
SELECT title FROM mf.headlines;
INSERT INTO mf_moved.post (id, state) VALUES (30, 'draft');
INSERT INTO mf_moved.post (id, state) VALUES (31, 'pub');	-- the check, renamed, holds
RESET ROLE;
SET ROLE regress_mf_admin;
-- and an import of the export changes nothing
SELECT jsonb_pretty(dbops.import_metadata(dbops.export_metadata(), dry_run => true));

-- A renamed role is found at the next metadata call.
RESET ROLE;
ALTER ROLE regress_mf_user RENAME TO regress_mf_reader;
SET ROLE regress_mf_admin;
SELECT count(*) FROM dbops.inconsistent_metadata();
SELECT DISTINCT role_name FROM dbops.metadata_permissions;
SELECT jsonb_pretty(dbops.import_metadata(dbops.export_metadata(), dry_run => true));

-- A dropped column (and with it the view): only the permissions that
-- need them stop being enforced.
ALTER TABLE mf_moved.post DROP COLUMN title CASCADE;
SELECT * FROM dbops.inconsistent_metadata();
SELECT tablename, policyname FROM pg_policies WHERE schemaname LIKE 'mf%' ORDER BY 1, 2;
RESET ROLE;
SET ROLE regress_mf_reader;
SELECT id FROM mf_moved.post;		-- its grant was revoked too
RESET ROLE;
SET ROLE regress_mf_admin;

-- A dropped table: its entries stay in the catalog, not enforced.
DROP TABLE mf.author CASCADE;
SELECT * FROM dbops.inconsistent_metadata();
SELECT count(*) AS tables_kept FROM dbops.metadata_tables;

SELECT dbops.reset_metadata();
RESET ROLE;
DROP SCHEMA mf, mf_moved CASCADE;
DROP ROLE regress_mf_admin, regress_mf_reader;
SELECT dbops.acknowledge_drift() >= 0 AS acknowledged;
