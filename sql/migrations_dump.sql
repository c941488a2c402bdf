--
-- The migration history survives pg_dump and restore: both catalog tables
-- are extension configuration, so pg_dump saves their rows, and rollback
-- works in the restored database from the stored down SQL alone.  Two
-- databases of their own keep other tests' objects out of the dump.
--
CREATE DATABASE regress_dbops_dumped;
CREATE DATABASE regress_dbops_restored;
\c regress_dbops_dumped
CREATE EXTENSION dbops;
SELECT version, action FROM dbops.apply_migrations('[
  {"version": "1", "name": "first", "up": "CREATE TABLE dumped (id int);", "down": "DROP TABLE dumped;"},
  {"version": "2", "name": "second", "up": "ALTER TABLE dumped ADD COLUMN v text;", "down": "ALTER TABLE dumped DROP COLUMN v;"}
]'::jsonb);

\! pg_dump -Fc -d regress_dbops_dumped -f results/migrations_dump.pgdump
\! pg_restore -d regress_dbops_restored results/migrations_dump.pgdump
\c regress_dbops_restored
SELECT version, name, checksum = encode(sha256(convert_to(up_sql, 'UTF8')), 'hex') AS checksum_ok,
       down_sql
FROM dbops.schema_migrations ORDER BY version;
SELECT version, action FROM dbops.rollback_migrations();
SELECT version, state FROM dbops.migration_status('[
  {"version": "1", "name": "first", "up": "CREATE TABLE dumped (id int);"},
  {"version": "2", "name": "second", "up": "ALTER TABLE dumped ADD COLUMN v text;"}
]'::jsonb);
SELECT action, version FROM dbops.migration_events;
\d dumped
\c contrib_regression
DROP DATABASE regress_dbops_dumped;
DROP DATABASE regress_dbops_restored;
\! rm results/migrations_dump.pgdump
