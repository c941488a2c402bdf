--
-- Hazards of pending migrations: what each statement locks, rewrites or
-- scans, weighed by the table's real size; directives and
-- dbops.hazard_policy.  Every class on a table of a million rows, with a
-- table_rewrite event trigger as oracle, is in test/t/023_migration_hazards.pl;
-- here, on a small table, what does not need the size.
--
CREATE TABLE hz (id int PRIMARY KEY, n int, v varchar(20), d date);
INSERT INTO hz SELECT g, g, 'v' || g, '2020-01-01' FROM generate_series(1, 1000) g;
ANALYZE hz;
CREATE TABLE hz_parent (id int PRIMARY KEY);
INSERT INTO hz_parent SELECT generate_series(1, 1000);
ANALYZE hz_parent;
CREATE FUNCTION hz_m(version text, up text) RETURNS jsonb
LANGUAGE sql RETURN jsonb_build_object('version', version, 'name', 'm' || version, 'up', up);
-- so slow a rewrite that every blocking hazard is a danger
SET dbops.hazard_rewrite_rate = '1kB';

-- Each class, with the lock it takes and what that blocks.
SELECT version, line, hazard, level, relation, lock_mode, blocks, effect,
	table_bytes > 0 AS has_size, table_rows, estimated_lock_time > '1 s' AS long
FROM dbops.migration_hazards(jsonb_build_array(
	hz_m('1', 'ALTER TABLE hz ALTER COLUMN n TYPE bigint;'),
	hz_m('2', 'ALTER TABLE hz ADD COLUMN r float8 DEFAULT random();'),
	hz_m('3', 'ALTER TABLE hz ALTER COLUMN d SET NOT NULL;'),
	hz_m('4', E'SELECT 1;\n\nCREATE INDEX hz_n ON hz (n);'),
	hz_m('5', 'ALTER TABLE hz ADD CONSTRAINT hz_fk FOREIGN KEY (n) REFERENCES hz_parent (id);'),
	hz_m('6', 'ALTER TABLE hz ADD CONSTRAINT hz_ck CHECK (n > 0);'),
	hz_m('7', 'ALTER TABLE hz DROP COLUMN d;'),
	hz_m('8', 'ALTER TABLE hz RENAME COLUMN v TO w;'),
	hz_m('9', 'ALTER TABLE hz SET UNLOGGED;'),
	hz_m('10', 'DROP INDEX hz_pkey;'),
	hz_m('11', 'TRUNCATE hz_parent;'),
	hz_m('12', 'DROP TABLE hz_parent;')))
ORDER BY version::int, line;

-- The safe forms are no hazard: a column without a default or with a
-- non-volatile one, a binary-compatible type change, NOT VALID then
-- VALIDATE, SET NOT NULL proven by a valid check, CONCURRENTLY, and
-- anything on a table the batch creates.
SELECT count(*) AS hazards FROM dbops.migration_hazards(jsonb_build_array(
	hz_m('1', 'ALTER TABLE hz ADD COLUMN a int;'),
	hz_m('2', 'ALTER TABLE hz ADD COLUMN b int NOT NULL DEFAULT 0, ADD COLUMN c timestamptz DEFAULT now();'),
	hz_m('3', 'ALTER TABLE hz ALTER COLUMN v TYPE varchar(40);'),
	hz_m('4', 'ALTER TABLE hz ALTER COLUMN v TYPE text;'),
	hz_m('5', 'ALTER TABLE hz ADD CONSTRAINT hz_ck CHECK (n > 0) NOT VALID;'),
	hz_m('6', 'ALTER TABLE hz VALIDATE CONSTRAINT hz_ck;'),
	hz_m('7', 'ALTER TABLE hz ADD CONSTRAINT hz_fk FOREIGN KEY (n) REFERENCES hz_parent (id) NOT VALID;'),
	hz_m('8', 'ALTER TABLE hz ADD CONSTRAINT hz_d_nn CHECK (d IS NOT NULL) NOT VALID;'),
	hz_m('9', 'ALTER TABLE hz VALIDATE CONSTRAINT hz_d_nn;'),
	hz_m('10', 'ALTER TABLE hz ALTER COLUMN d SET NOT NULL;'),
	hz_m('11', E'-- dbops:no-transaction\nCREATE INDEX CONCURRENTLY hz_n ON hz (n);'),
	hz_m('12', E'-- dbops:no-transaction\nDROP INDEX CONCURRENTLY hz_n;'),
	hz_m('13', E'CREATE TABLE hz_new (id int, v text);\nALTER TABLE hz_new ALTER COLUMN id TYPE bigint;\nCREATE INDEX ON hz_new (v);\nALTER TABLE hz_new RENAME TO hz_newer;'),
	hz_m('14', 'ALTER TABLE hz_newer ADD COLUMN r float8 DEFAULT random(); DROP TABLE hz_newer;')));
-- A live check that implies NOT NULL proves it too, as PostgreSQL finds.
ALTER TABLE hz ADD CONSTRAINT hz_d_known CHECK (d > '2000-01-01');
SELECT count(*) AS hazards FROM dbops.migration_hazards(jsonb_build_array(
	hz_m('1', 'ALTER TABLE hz ALTER COLUMN d SET NOT NULL;')));
ALTER TABLE hz DROP CONSTRAINT hz_d_known;

-- A live table renamed by the batch is still that table, with its size.
SELECT version, line, hazard, relation, table_rows
FROM dbops.migration_hazards(jsonb_build_array(
	hz_m('1', E'ALTER TABLE hz RENAME TO hz_renamed;\nALTER TABLE hz_renamed ALTER COLUMN n TYPE text;')));

-- How long the lock would be held is an estimate: size / rate.  At 1 GB
-- a second a small table's rewrite is only worth an info.
SET dbops.hazard_rewrite_rate = '1GB';
SELECT hazard, level, estimated_lock_time < '10 ms' AS short
FROM dbops.migration_hazards(jsonb_build_array(hz_m('1', 'ALTER TABLE hz ALTER COLUMN n TYPE bigint;')));
SET dbops.hazard_rewrite_rate = '1kB';

-- A column that a dbops permission reads is a danger to drop: named in
-- its columns (NULL is every column), or in its filter.
CREATE ROLE regress_hz_reader;
SELECT dbops.track_table('hz');
SELECT dbops.create_permission('hz', 'regress_hz_reader', 'select', '{id,v}', 'n > 0');
SELECT dbops.create_permission('hz', 'regress_hz_reader', 'update', NULL, NULL);
SELECT version, hazard, level, message
FROM dbops.migration_hazards(jsonb_build_array(
	hz_m('1', 'ALTER TABLE hz DROP COLUMN v;'),
	hz_m('2', 'ALTER TABLE hz RENAME COLUMN n TO n2;')))
ORDER BY version;
SELECT dbops.drop_permission('hz', 'regress_hz_reader', 'update');
SELECT version, hazard, level, message
FROM dbops.migration_hazards(jsonb_build_array(
	hz_m('1', 'ALTER TABLE hz DROP COLUMN n;'),
	hz_m('2', 'ALTER TABLE hz DROP COLUMN d;')))
ORDER BY version;
SELECT dbops.reset_metadata();
DROP ROLE regress_hz_reader;

-- A dry run reports each migration's hazards, [] for none.
SELECT version, action, jsonb_array_length(hazards) AS hazards,
	hazards -> 0 ->> 'hazard' AS first, hazards -> 0 ->> 'line' AS line,
	(SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(hazards -> 0) k) AS keys
FROM dbops.apply_migrations(jsonb_build_array(
	hz_m('1', 'CREATE TABLE hz_x (id int);'),
	hz_m('2', E'ALTER TABLE hz ALTER COLUMN n TYPE bigint;\nCREATE INDEX ON hz (v);')), dry_run => true);
SELECT version, action, hazards FROM dbops.apply_migrations(jsonb_build_array(
	hz_m('1', 'CREATE TABLE hz_x (id int);')));
DROP TABLE hz_x;
TRUNCATE dbops.schema_migrations;

-- Directives: a leading block of "-- dbops:" lines, in any order.
SELECT version, hazard, allowed FROM dbops.migration_hazards(jsonb_build_array(
	hz_m('1', E'-- dbops:allow-hazard column-type-rewrite, index-build\n-- dbops:allow-hazard drop-column\nALTER TABLE hz ALTER COLUMN n TYPE bigint;\nCREATE INDEX ON hz (v);'),
	hz_m('2', E'-- a comment ends the block\n-- dbops:allow-hazard index-build\nCREATE INDEX ON hz (v);')));
SELECT * FROM dbops.migration_hazards(jsonb_build_array(
	hz_m('1', E'-- dbops:allow-hazard\nSELECT 1;')));
SELECT * FROM dbops.migration_hazards(jsonb_build_array(
	hz_m('1', E'-- dbops:allow-hazard index-build\n-- dbops:allow-hazards column-type-rewrite\nSELECT 1;')));
SELECT * FROM dbops.migration_hazards(jsonb_build_array(
	hz_m('1', E'-- dbops:allow-hazard index-biuld\nSELECT 1;')));
SELECT * FROM dbops.migration_hazards(jsonb_build_array(
	hz_m('1', E'-- dbops:no-transaction now\nSELECT 1;')));

-- dbops.hazard_policy: only a superuser sets it.
SET dbops.hazard_policy = 'refuse';
SELECT * FROM dbops.apply_migrations(jsonb_build_array(
	hz_m('1', 'CREATE TABLE hz_y (id int);'),
	hz_m('2', E'SELECT 1;\nALTER TABLE hz ALTER COLUMN n TYPE bigint;')));
\echo :LAST_ERROR_SQLSTATE
SELECT to_regclass('hz_y') AS hz_y, count(*) AS applied FROM dbops.schema_migrations;
SELECT version, action FROM dbops.apply_migrations(jsonb_build_array(
	hz_m('1', 'CREATE TABLE hz_y (id int);'),
	hz_m('2', E'-- dbops:allow-hazard column-type-rewrite\nALTER TABLE hz ALTER COLUMN n TYPE bigint;')));
SET dbops.hazard_policy = 'warn';
SELECT version, action FROM dbops.apply_migrations(jsonb_build_array(
	hz_m('3', 'ALTER TABLE hz ALTER COLUMN n TYPE int;')));
SET dbops.hazard_policy = 'off';
SELECT version, action FROM dbops.apply_migrations(jsonb_build_array(
	hz_m('4', 'ALTER TABLE hz ALTER COLUMN n TYPE bigint;')));
CREATE ROLE regress_hz_admin IN ROLE dbops_admin;
SET ROLE regress_hz_admin;
SET dbops.hazard_policy = 'off';
SET dbops.hazard_rewrite_rate = '10MB';
RESET ROLE;
DROP ROLE regress_hz_admin;
TRUNCATE dbops.schema_migrations;
DROP TABLE hz_y;
RESET dbops.hazard_rewrite_rate;
DROP TABLE hz, hz_parent;
DROP FUNCTION hz_m;
