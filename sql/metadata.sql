--
-- Metadata: tracking, permissions and their enforcement by PostgreSQL
-- (column GRANTs by dbops_grantor, RLS policies), and who may change them.
--
\set SHOW_CONTEXT never
CREATE ROLE regress_md_admin IN ROLE dbops_admin;
CREATE ROLE regress_md_reader;
CREATE ROLE regress_md_other;
CREATE ROLE regress_md_nobody;
CREATE SCHEMA md AUTHORIZATION regress_md_admin;
GRANT USAGE ON SCHEMA md TO regress_md_reader, regress_md_other, regress_md_nobody;
-- every privilege on a table, with its grantor (information_schema would
-- show an administrator only the grants that involve its own roles)
CREATE FUNCTION public.md_privileges(rel regclass)
RETURNS TABLE (grantee regrole, col name, privilege text, grantor regrole)
LANGUAGE sql AS $$
	SELECT a.grantee::regrole, o.attname, a.privilege_type, a.grantor::regrole
	FROM (SELECT NULL::name AS attname, relacl AS acl FROM pg_class WHERE oid = rel
		  UNION ALL
		  SELECT attname, attacl FROM pg_attribute WHERE attrelid = rel) o,
		LATERAL aclexplode(o.acl) a
	WHERE a.grantee <> a.grantor
	ORDER BY a.grantee::regrole::text, o.attname NULLS FIRST, a.privilege_type
$$;
SET ROLE regress_md_admin;
CREATE TABLE md.items (id int PRIMARY KEY, owner text, secret text, price int);
INSERT INTO md.items VALUES (1, 'regress_md_reader', 's1', 10), (2, 'someone', 's2', 20);

-- Hand-made grants and a policy that dbops must never touch.
GRANT SELECT (id) ON md.items TO regress_md_other;
GRANT SELECT ON md.items TO regress_md_nobody;
CREATE POLICY hand_made ON md.items FOR SELECT TO regress_md_other USING (id = 2);

SELECT dbops.track_table('md.items');
SELECT dbops.track_table('md.items');
SELECT relrowsecurity FROM pg_class WHERE oid = 'md.items'::regclass;
SELECT dbops.create_permission('md.items', 'regress_md_reader', 'select',
	'{price,id,owner}', 'owner = current_user');
SELECT dbops.create_permission('md.items', 'regress_md_reader', 'insert',
	'{id,owner,price}', NULL, 'owner = current_user AND price > 0');
SELECT dbops.create_permission('md.items', 'regress_md_reader', 'update',
	'{price}', 'owner = current_user', 'price < 100');
SELECT dbops.create_permission('md.items', 'regress_md_reader', 'delete',
	NULL, 'owner = current_user');
SELECT dbops.create_permission('md.items', 'regress_md_reader', 'select', '{id}');

-- What PostgreSQL now enforces: grants made by dbops_grantor, named policies.
SELECT * FROM md_privileges('md.items');
SELECT policyname, cmd, roles, qual, with_check FROM pg_policies
WHERE schemaname = 'md' ORDER BY 1;
RESET ROLE;

-- Enforcement: rows outside the filter are invisible, columns outside the
-- list refused, writes that fail the check rejected.
SET ROLE regress_md_reader;
SELECT id, owner, price FROM md.items;
SELECT secret FROM md.items;
INSERT INTO md.items (id, owner, price) VALUES (3, 'someone', 1);
INSERT INTO md.items (id, owner, price) VALUES (3, 'regress_md_reader', 0);
INSERT INTO md.items (id, owner, price) VALUES (3, 'regress_md_reader', 5);
INSERT INTO md.items (id, owner, secret) VALUES (4, 'regress_md_reader', 'x');
UPDATE md.items SET price = 500 WHERE id = 1;
UPDATE md.items SET price = 50 WHERE id = 2 RETURNING id;
UPDATE md.items SET price = 50 WHERE id = 1 RETURNING id;
UPDATE md.items SET owner = 'x' WHERE id = 1;
DELETE FROM md.items WHERE id IN (2, 3) RETURNING id;
SELECT id, owner, price FROM md.items ORDER BY id;
RESET ROLE;
-- A role without permissions sees nothing, even with a hand-made GRANT: RLS
-- is on; the hand-made policy still works for the role it names.
SET ROLE regress_md_nobody;
SELECT id FROM md.items;
RESET ROLE;
SET ROLE regress_md_other;
SELECT id FROM md.items;
RESET ROLE;

-- Bad entries are refused with every problem listed; nothing changes.
SET ROLE regress_md_admin;
SELECT dbops.create_permission('md.items', 'regress_md_other', 'select',
	'{id,nope}', 'id; DROP TABLE md.items');
SELECT dbops.create_permission('md.items', 'regress_md_other', 'select',
	'{id}', 'id FROM pg_class');
SELECT dbops.create_permission('md.items', 'regress_md_other', 'select',
	'{id}', 'price + 1');
SELECT dbops.create_permission('md.items', 'regress_md_other', 'select',
	'{id}', 'no_column > 0');
SELECT dbops.create_permission('md.items', 'regress_md_other', 'select',
	'{id}', 'true) WITH CHECK (true');
SELECT dbops.create_permission('md.items', 'regress_md_ghost', 'select', '{id}');
SELECT dbops.create_permission('md.items', 'pg_read_all_data', 'select', '{id}');
SELECT dbops.create_permission('md.items', 'regress_md_other', 'remove');
SELECT dbops.create_permission('md.items', 'regress_md_other', 'delete', '{id}');
SELECT dbops.drop_permission('md.items', 'regress_md_other', 'select');
SELECT count(*) FROM pg_policies WHERE schemaname = 'md';

-- Changing a permission (drop and create in one transaction) replaces
-- exactly dbops's grant and policy.
BEGIN;
SELECT dbops.drop_permission('md.items', 'regress_md_reader', 'select');
SELECT dbops.create_permission('md.items', 'regress_md_reader', 'select', '{id}', 'id > 1');
COMMIT;
SELECT * FROM md_privileges('md.items') WHERE privilege = 'SELECT';
SELECT policyname, qual FROM pg_policies WHERE schemaname = 'md' AND cmd = 'SELECT' ORDER BY 1;
RESET ROLE;

-- Ordinary roles cannot change metadata, nor write the catalog; admins
-- cannot write the catalog either, and cannot manage tables they do not own.
SET ROLE regress_md_nobody;
SELECT dbops.reset_metadata();
SELECT dbops.import_metadata('{"version": 2}');
SELECT dbops.create_permission('md.items', 'regress_md_nobody', 'select');
SELECT dbops.export_metadata();
RESET ROLE;
SET ROLE regress_md_admin;
INSERT INTO dbops.metadata_permissions VALUES ('md', 'items', 'regress_md_nobody', 'select');
DELETE FROM dbops.metadata_created;
SELECT dbops_internal.metadata_grant('md.items', 'select', NULL, 'regress_md_admin', true);
RESET ROLE;
CREATE TABLE public.not_mine (id int);
SET ROLE regress_md_admin;
SELECT dbops.track_table('public.not_mine');
SELECT dbops.import_metadata('{"version": 2, "tables": [{"table": {"schema": "public", "name": "not_mine"}}]}');
RESET ROLE;
DROP TABLE public.not_mine;

-- Reset removes what dbops created, restores RLS, and leaves the hand-made
-- grant and policy in place.
SET ROLE regress_md_admin;
SELECT dbops.reset_metadata();
SELECT relrowsecurity FROM pg_class WHERE oid = 'md.items'::regclass;
SELECT * FROM md_privileges('md.items');
SELECT policyname FROM pg_policies WHERE schemaname = 'md';
SELECT count(*) FROM dbops.metadata_created;
SELECT dbops.export_metadata();

-- A table whose RLS was on stays on after untrack; one whose RLS was off
-- gets it back off.
ALTER TABLE md.items ENABLE ROW LEVEL SECURITY;
SELECT dbops.track_table('md.items');
SELECT dbops.create_permission('md.items', 'regress_md_reader', 'select');
SELECT dbops.untrack_table('md.items');
SELECT relrowsecurity FROM pg_class WHERE oid = 'md.items'::regclass;
SELECT policyname FROM pg_policies WHERE schemaname = 'md';
ALTER TABLE md.items DISABLE ROW LEVEL SECURITY;
RESET ROLE;

DROP SCHEMA md CASCADE;
DROP FUNCTION md_privileges(regclass);
DROP ROLE regress_md_admin, regress_md_reader, regress_md_other, regress_md_nobody;
