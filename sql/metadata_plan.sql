--
-- An import changes only what differs from the document, and a dry run
-- says what that is without changing anything: what changed in the
-- document, what was changed behind dbops's back, what a schema change
-- made stale, and who loses access when row level security is enabled.
--
\set SHOW_CONTEXT never
CREATE ROLE regress_mp_admin IN ROLE dbops_admin;
CREATE ROLE regress_mp_user;
CREATE ROLE regress_mp_editor;
CREATE ROLE regress_mp_member IN ROLE regress_mp_user;	-- reads through regress_mp_user's policy
CREATE ROLE regress_mp_legacy;							-- a hand-made grant only
CREATE ROLE regress_mp_bypass BYPASSRLS;
CREATE SCHEMA mp AUTHORIZATION regress_mp_admin;
GRANT USAGE ON SCHEMA mp TO PUBLIC;

SET ROLE regress_mp_admin;
CREATE TABLE mp.author (id int PRIMARY KEY, name text);
CREATE TABLE mp.article (id int PRIMARY KEY, author_id int REFERENCES mp.author, title text);
CREATE TABLE mp.tag (id int PRIMARY KEY, label text);
INSERT INTO mp.author VALUES (1, 'Ann'), (2, 'Bo');
INSERT INTO mp.article VALUES (10, 1, 'a'), (20, 2, 'b');
GRANT SELECT ON mp.article TO regress_mp_member, regress_mp_legacy, regress_mp_bypass;
GRANT SELECT (id) ON mp.tag TO PUBLIC;
GRANT DELETE ON mp.tag TO regress_mp_legacy;

-- policies, grants and RLS flags, with each policy's OID: a policy made
-- again gets a new one
CREATE FUNCTION mp.state() RETURNS TABLE (relname name, what text)
LANGUAGE sql AS $$
	SELECT c.relname, 'rls ' || c.relrowsecurity FROM pg_class c
	WHERE c.relnamespace = 'mp'::regnamespace AND c.relkind = 'r'
	UNION ALL
	SELECT c.relname, format('policy %s %s: %s', p.polname, p.oid, pg_get_expr(p.polqual, p.polrelid))
	FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid
	WHERE c.relnamespace = 'mp'::regnamespace
	UNION ALL
	SELECT c.relname, 'acl ' || c.relacl::text FROM pg_class c
	WHERE c.relnamespace = 'mp'::regnamespace AND c.relkind = 'r'
	ORDER BY 1, 2
$$;
CREATE TEMP TABLE seen AS SELECT * FROM mp.state();

\set doc '{"version": 2, "tables": [{"table": {"schema": "mp", "name": "author"}, "select_permissions": [{"role": "regress_mp_user", "permission": {"columns": ["id", "name"], "filter": {"id": {"_eq": "X-Hasura-User-Id"}}}}]}, {"table": {"schema": "mp", "name": "article"}, "object_relationships": [{"name": "author", "using": {"foreign_key_constraint_on": "author_id"}}], "select_permissions": [{"role": "regress_mp_user", "permission": {"columns": "*", "filter": {"author": {"id": {"_eq": "X-Hasura-User-Id"}}}}}, {"role": "regress_mp_editor", "permission": {"columns": ["id", "title"], "filter": {}}}]}, {"table": {"schema": "mp", "name": "tag"}, "select_permissions": [{"role": "regress_mp_user", "permission": {"columns": ["id"], "filter": {}}}]}]}'

-- The first dry run: everything is new.  regress_mp_legacy and PUBLIC
-- reach tables only by hand-made grants; the member of regress_mp_user and
-- the role that bypasses RLS keep their access.
SELECT jsonb_pretty(dbops.import_metadata(:'doc', dry_run => true));
-- ... and it changed nothing
SELECT relname, regexp_replace(what, ' [0-9]+:', ':') AS what
FROM (SELECT * FROM mp.state() EXCEPT SELECT * FROM seen) d;
SELECT relname, regexp_replace(what, ' [0-9]+:', ':') AS what
FROM (SELECT * FROM seen EXCEPT SELECT * FROM mp.state()) d;
SELECT count(*) FROM dbops.metadata_tables;

-- The import returns the same warnings; a second dry run has nothing to do.
SELECT jsonb_pretty(dbops.import_metadata(:'doc'));
SELECT jsonb_pretty(dbops.import_metadata(:'doc', dry_run => true));
DROP TABLE seen;
CREATE TEMP TABLE seen AS SELECT * FROM mp.state();

-- An import of the same document changes nothing: same policies (same OIDs).
SELECT dbops.import_metadata(:'doc');
SELECT relname, regexp_replace(what, ' [0-9]+:', ':') AS what
FROM (SELECT * FROM mp.state() EXCEPT SELECT * FROM seen) d;

-- One permission changed in the document: only it is made again.
SELECT jsonb_set(:'doc', '{tables,1,select_permissions,1,permission,filter}',
	'{"id": {"_gt": 10}}') AS doc2 \gset
SELECT jsonb_pretty(dbops.import_metadata(:'doc2', dry_run => true));
SELECT dbops.import_metadata(:'doc2');
SELECT relname, regexp_replace(what, ' [0-9]+:', ':') AS what
FROM (SELECT * FROM mp.state() EXCEPT SELECT * FROM seen) d;
DROP TABLE seen;
CREATE TEMP TABLE seen AS SELECT * FROM mp.state();

-- Changed behind dbops's back: a policy altered, a policy dropped, the
-- privileges dbops grants from revoked, RLS disabled.  Each is found and
-- made again.
ALTER POLICY dbops_select_regress_mp_user ON mp.author USING (true);
DROP POLICY dbops_select_regress_mp_editor ON mp.article;
REVOKE SELECT ON mp.tag FROM dbops_grantor CASCADE;
SELECT jsonb_pretty(dbops.import_metadata(:'doc2', dry_run => true));
SELECT dbops.import_metadata(:'doc2');
SELECT jsonb_pretty(dbops.import_metadata(:'doc2', dry_run => true));
ALTER TABLE mp.tag DISABLE ROW LEVEL SECURITY;
SELECT jsonb_pretty(dbops.import_metadata(:'doc2', dry_run => true));
SELECT dbops.import_metadata(:'doc2');
SELECT relname, what FROM mp.state() WHERE what LIKE 'rls%';
DROP TABLE seen;
CREATE TEMP TABLE seen AS SELECT * FROM mp.state();

-- A schema change makes the table's policies stale: a column added to
-- author makes its permission be made again, and only that one.
ALTER TABLE mp.author ADD COLUMN email text;
SELECT jsonb_pretty(dbops.import_metadata(:'doc2', dry_run => true));
-- A relationship changed: the permissions that filter through
-- relationships are made again, the others are not.
SELECT jsonb_set(:'doc2', '{tables,1,object_relationships,0,using}',
	'{"manual_configuration": {"remote_table": {"schema": "mp", "name": "author"}, "column_mapping": {"id": "id"}}}') AS doc3 \gset
SELECT jsonb_pretty(dbops.import_metadata(:'doc3', dry_run => true));

-- Inconsistent (allow_inconsistent): the permission naming a column that
-- is not there is dropped, fail closed; the rest stays.
SELECT jsonb_set(:'doc2', '{tables,2,select_permissions,0,permission,columns}', '["id", "nope"]') AS doc4 \gset
SELECT jsonb_pretty(dbops.import_metadata(:'doc4', allow_inconsistent => true, dry_run => true));
-- and without allow_inconsistent, the dry run fails as the import would
SELECT dbops.import_metadata(:'doc4', dry_run => true);

-- A table left out of the document is untracked: RLS back off, grants gone.
SELECT jsonb_set(:'doc2', '{tables}', (:'doc2'::jsonb -> 'tables') - 2) AS doc5 \gset
SELECT jsonb_pretty(dbops.import_metadata(:'doc5', dry_run => true));
SELECT dbops.import_metadata(:'doc5');
SELECT relname, what FROM mp.state() WHERE relname = 'tag';

-- reload_metadata makes every enforced permission again.
SELECT dbops.reload_metadata();
SELECT count(*) AS kept FROM (SELECT * FROM mp.state() INTERSECT SELECT * FROM seen) s
WHERE what LIKE 'policy%';

-- Only who may manage every tracked table may import, dry run included.
RESET ROLE;
CREATE ROLE regress_mp_stranger IN ROLE dbops_admin;
SET ROLE regress_mp_stranger;
SELECT dbops.import_metadata('{"version": 2, "tables": []}', dry_run => true);
RESET ROLE;

SET ROLE regress_mp_admin;
SELECT dbops.reset_metadata();
DROP TABLE seen;
RESET ROLE;
DROP SCHEMA mp CASCADE;
DROP ROLE regress_mp_admin, regress_mp_user, regress_mp_editor, regress_mp_member,
	regress_mp_legacy, regress_mp_bypass, regress_mp_stranger;
