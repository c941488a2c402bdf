# Copyright (c) dbops contributors
#
# The staging -> production workflow on two clusters: metadata made on A is
# exported, the schema is applied on B, B's metadata is reset and the export
# imported; B then enforces exactly what A enforces (information_schema,
# pg_policies), its export is byte-identical to A's, and a pg_dump of B
# keeps the catalog.
use strict;
use warnings FATAL => 'all';

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use JSON::PP;

# Roles are cluster-wide: each cluster needs its own.
my $roles = q{
CREATE ROLE wf_admin LOGIN IN ROLE dbops_admin;
CREATE ROLE "Sales Rep" LOGIN;
CREATE ROLE "web.anon" LOGIN;
CREATE ROLE wf_nobody LOGIN;
GRANT CREATE ON DATABASE postgres TO wf_admin;
};

# The schema: one migration, applied by dbops.apply_migrations on both
# clusters, as the administrator who then owns the tables.
my $schema = q{
CREATE SCHEMA "Shop.Data";
GRANT USAGE ON SCHEMA "Shop.Data" TO "Sales Rep", "web.anon";
CREATE TABLE "Shop.Data".customers (id int PRIMARY KEY, "Name" text, region text);
CREATE TABLE "Shop.Data"."Order Lines" (
	"Line" int PRIMARY KEY,
	customer_id int REFERENCES "Shop.Data".customers,
	"Sales ""Rep""" text,
	amount numeric,
	cost numeric
);
CREATE VIEW "Shop.Data".big_orders AS
	SELECT "Line", amount FROM "Shop.Data"."Order Lines" WHERE amount > 100;
INSERT INTO "Shop.Data".customers VALUES (1, 'Ann', 'north'), (2, 'Bo', 'south');
INSERT INTO "Shop.Data"."Order Lines" VALUES
	(1, 1, 'Sales Rep', 50, 40), (2, 2, 'someone', 500, 300), (3, 1, 'Sales Rep', 150, 90);
};
my $migrations = encode_json(
	[
		{
			version => '20260101000000',
			name => 'shop_schema',
			up => $schema,
			down => 'DROP SCHEMA "Shop.Data" CASCADE;'
		}
	]);

sub apply_schema
{
	my ($node) = @_;
	return $node->safe_psql('postgres',
		"SET ROLE wf_admin; SELECT version || ' ' || action FROM dbops.apply_migrations(\$m\$$migrations\$m\$::jsonb)"
	);
}

sub new_node
{
	my ($name) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init;
	$node->append_conf('postgresql.conf', "shared_preload_libraries = 'dbops'");
	$node->start;
	$node->safe_psql('postgres', "CREATE EXTENSION dbops; $roles");
	return $node;
}

# What a cluster enforces, as text: privileges and policies on the schema.
sub effective_privileges
{
	my ($node) = @_;
	return $node->safe_psql(
		'postgres', q{
SELECT 'table', grantee, table_name, privilege_type, grantor
FROM information_schema.role_table_grants WHERE table_schema = 'Shop.Data'
UNION ALL
SELECT 'column', grantee, table_name || '.' || column_name, privilege_type, grantor
FROM information_schema.column_privileges WHERE table_schema = 'Shop.Data'
UNION ALL
SELECT 'policy', array_to_string(roles, ','), tablename || ' ' || policyname || ' ' || cmd,
	coalesce(qual, '-'), coalesce(with_check, '-')
FROM pg_policies WHERE schemaname = 'Shop.Data'
UNION ALL
SELECT 'rls', relname, relrowsecurity::text, relforcerowsecurity::text, ''
FROM pg_class WHERE relnamespace = '"Shop.Data"'::regnamespace AND relkind IN ('r', 'v')
ORDER BY 1, 2, 3, 4, 5});
}

my $staging = new_node('staging');
my $production = new_node('production');

# On A (staging): schema, then metadata built one entry at a time.
is(apply_schema($staging), '20260101000000 applied', 'staging: schema applied by dbops.apply_migrations');
$staging->safe_psql(
	'postgres', q{
SET ROLE wf_admin;
SELECT dbops.track_table('"Shop.Data".customers');
SELECT dbops.track_table('"Shop.Data"."Order Lines"');
SELECT dbops.track_table('"Shop.Data".big_orders');
SELECT dbops.create_object_relationship('"Shop.Data"."Order Lines"', 'customer',
	'{"foreign_key_constraint_on": "customer_id"}');
SELECT dbops.create_array_relationship('"Shop.Data".customers', 'lines',
	'{"foreign_key_constraint_on": {"table": {"schema": "Shop.Data", "name": "Order Lines"}, "column": "customer_id"}}');
SELECT dbops.create_permission('"Shop.Data"."Order Lines"', 'Sales Rep', 'select',
	ARRAY['Line', 'amount', 'customer_id', 'Sales "Rep"'], '"Sales ""Rep""" = current_user');
SELECT dbops.create_permission('"Shop.Data"."Order Lines"', 'Sales Rep', 'update',
	'{amount}', '"Sales ""Rep""" = current_user', 'amount >= 0');
SELECT dbops.create_permission('"Shop.Data"."Order Lines"', 'Sales Rep', 'insert',
	ARRAY['Line', 'amount', 'customer_id', 'Sales "Rep"'], NULL, '"Sales ""Rep""" = current_user');
SELECT dbops.create_permission('"Shop.Data".customers', 'Sales Rep', 'select', NULL, NULL);
SELECT dbops.create_permission('"Shop.Data".customers', 'web.anon', 'select',
	'{Name,id}', $$region = current_setting('request.region', true)$$);
SELECT dbops.create_permission('"Shop.Data".big_orders', 'web.anon', 'select', '{Line}');
});
my $export = $staging->safe_psql('postgres',
	'SELECT jsonb_pretty(dbops.export_metadata())');
like($export, qr/"version": 2/, 'export carries a version');

# On B (production): the schema migration, some stale metadata,
# then reset and import in one transaction.
is(apply_schema($production), '20260101000000 applied', 'production: the same migration applied');
$production->safe_psql(
	'postgres', q{
SET ROLE wf_admin;
SELECT dbops.track_table('"Shop.Data".customers');
SELECT dbops.create_permission('"Shop.Data".customers', 'wf_nobody', 'select');
});

# A non-administrator cannot import, reset or change metadata.
for my $sql (
	q{SELECT dbops.import_metadata('{"version": 2}')},
	q{SELECT dbops.reset_metadata()},
	q{SELECT dbops.track_table('"Shop.Data"."Order Lines"')})
{
	my ($ret, $out, $err) = $production->psql('postgres', $sql,
		extra_params => [ '-U', 'wf_nobody' ]);
	isnt($ret, 0, "non-administrator is refused: $sql");
	like($err, qr/permission denied/, "refusal says permission denied: $sql");
}

my $result = $production->safe_psql(
	'postgres', qq{
SET ROLE wf_admin;
BEGIN;
SELECT dbops.reset_metadata();
SELECT dbops.import_metadata(\$doc\$$export\$doc\$);
COMMIT;
}, extra_params => [ '-U', 'wf_admin' ]);
like($result, qr/not enforced by PostgreSQL on view|^\[\]$/m,
	'import reports only the view filter, if any');

is($production->safe_psql('postgres', 'SELECT jsonb_pretty(dbops.export_metadata())'),
	$export, "B's export is byte-identical to A's");
is(effective_privileges($production), effective_privileges($staging),
	"B's effective privileges and policies equal A's");
like(effective_privileges($production),
	qr/^policy\|Sales Rep\|Order Lines dbops_select_Sales Rep SELECT\|/m,
	'what is compared holds the dbops policies');
like(effective_privileges($production),
	qr/^column\|Sales Rep\|Order Lines\.amount\|SELECT\|dbops_grantor$/m,
	'and the column grants made by dbops_grantor');
unlike(effective_privileges($production), qr/wf_nobody/,
	"the stale permission on B is gone");

# Enforcement on B behaves as on A.
my $as_rep = q{SELECT "Line", amount FROM "Shop.Data"."Order Lines" ORDER BY 1};
is($production->safe_psql('postgres', $as_rep, extra_params => [ '-U', 'Sales Rep' ]),
	$staging->safe_psql('postgres', $as_rep, extra_params => [ '-U', 'Sales Rep' ]),
	'the sales rep sees the same rows on both');
is($production->safe_psql('postgres', $as_rep, extra_params => [ '-U', 'Sales Rep' ]),
	"1|50\n3|150", 'the sales rep sees only own rows');
my $anon = q{SET request.region = 'south'; SELECT "Name" FROM "Shop.Data".customers};
is($production->safe_psql('postgres', $anon, extra_params => [ '-U', 'web.anon' ]),
	'Bo', 'a session value in the filter selects rows');
my ($ret, $out, $err) = $production->psql('postgres', 'SELECT cost FROM "Shop.Data"."Order Lines"',
	extra_params => [ '-U', 'Sales Rep' ]);
like($err, qr/permission denied/, 'a column outside the list is refused on B');

# pg_dump keeps the catalog (pg_extension_config_dump), and the restored
# database enforces the same.
my $dump = $production->basedir . '/metadata.sql';
$production->command_ok([ 'pg_dump', '-d', $production->connstr('postgres'), '-f', $dump ],
	'pg_dump of B');
$production->safe_psql('postgres', 'CREATE DATABASE restored');
$production->command_ok(
	[ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $production->connstr('restored'), '-f', $dump ],
	'restore into a new database');
is($production->safe_psql('restored', 'SELECT jsonb_pretty(dbops.export_metadata())'),
	$export, 'the restored database has the same metadata');
is($production->safe_psql('restored', 'SELECT count(*) FROM dbops.inconsistent_metadata()'),
	$production->safe_psql('postgres', 'SELECT count(*) FROM dbops.inconsistent_metadata()'),
	'and the same consistency report');

$staging->stop;
$production->stop;
done_testing();
