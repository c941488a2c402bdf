# Copyright (c) dbops contributors
#
# The 300-migration proof: a generated project of realistic variety (tables,
# foreign keys, indexes, views, functions, triggers, enums, domains,
# partitions, backfills, ALTERs, renames, comments, grants, policies; see
# test/migrations_gen/generate.pl) is applied by dbops.apply_migrations,
# rolled back part way and completely, and applied again.  After every step
# the schema that pg_dump sees must be byte for byte the schema that psql
# makes of the same SQL, so dbops runs each file exactly as written, and
# every stored down SQL undoes its migration, also after pg_dump and
# pg_restore.  The same project given as a jsonb document, or written as a
# Sqitch project, must do the same.
use strict;
use warnings FATAL => 'all';

use Digest::SHA qw(sha256_hex);
use FindBin;
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $count = 300;
my $mid = 180;    # the partial rollback goes back to this migration
# another seed gives another project of the same variety
my $seed = $ENV{MIGRATIONS_SEED} // 1;
note "generator seed $seed";

sub generate
{
	my ($out, @layout) = @_;
	system($^X, "$FindBin::RealBin/../migrations_gen/generate.pl",
		'--out', $out, '--count', $count, '--seed', $seed, @layout) == 0
	  or BAIL_OUT('the migrations generator failed');
}

my $dir = "$PostgreSQL::Test::Utils::tmp_check/migrations_300";
generate($dir);

opendir(my $dh, $dir) or die "could not open directory \"$dir\": $!";
my @migrations = sort grep { !/^\./ } readdir($dh);
closedir($dh);
is(scalar @migrations, $count, "the generator wrote $count migrations");
my ($mid_version) = $migrations[ $mid - 1 ] =~ /^(\d+)_/;

my $node = PostgreSQL::Test::Cluster->new('main');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'dbops'");
$node->start;

# The references: the same up.sql files concatenated and run by psql in one
# transaction, as a project without dbops would.
sub concat_ups
{
	my ($file, @names) = @_;
	open(my $out, '>', $file) or die "could not write \"$file\": $!";
	print $out slurp_file("$dir/$_/up.sql") for @names;
	close($out);
	return $file;
}

sub psql_file_ok
{
	my ($db, $file) = @_;
	$node->safe_psql('postgres', "CREATE DATABASE $db");
	$node->command_ok(
		[ 'psql', '-X', '-q', '-1', '-v', 'ON_ERROR_STOP=1',
			'-d', $node->connstr($db), '-f', $file ],
		"psql runs the reference script into $db");
}

my $tmp = $PostgreSQL::Test::Utils::tmp_check;
$node->safe_psql('postgres', 'CREATE DATABASE ref_empty');
psql_file_ok('ref_mid', concat_ups("$tmp/ups_mid.sql", @migrations[ 0 .. $mid - 1 ]));
psql_file_ok('ref_full', concat_ups("$tmp/ups_full.sql", @migrations));

# pg_dump of the user's schema.  The dbops schema and the extension entries
# (only the dbops database has them) are left out, so anything dbops leaves
# behind elsewhere shows up as a difference.  pg_dump 15.14 and later prints
# a random \restrict key in every dump.
sub schema_dump
{
	my ($db) = @_;
	my ($out, $err) = run_command(
		[ 'pg_dump', '--schema-only', '--exclude-schema=dbops',
			'-d', $node->connstr($db) ]);
	die "pg_dump of $db failed: $err" if $err ne '';
	$out =~ s/^\\(un)?restrict .*\n//mg;
	my @entries = split /(?=^--\n-- (?:Name: |PostgreSQL database dump complete))/m, $out;
	return join '',
	  grep { !/\A--\n-- Name: (EXTENSION )?dbops; Type: (EXTENSION|COMMENT); Schema: -;/ } @entries;
}

my %ref = map { $_ => schema_dump("ref_$_") } qw(empty mid full);

# The comparison must be able to fail: the three states differ, and the full
# one holds what the generator promises.
isnt($ref{mid}, $ref{full}, 'the partial and the full reference differ');
my $full = $ref{full};
my %kinds = (
	'CREATE TABLE' => qr/^CREATE TABLE public\.\w+ \(/m,
	'FOREIGN KEY' => qr/FOREIGN KEY/,
	'CREATE INDEX' => qr/^CREATE (UNIQUE )?INDEX /m,
	'CREATE VIEW' => qr/^CREATE VIEW /m,
	'MATERIALIZED VIEW' => qr/^CREATE MATERIALIZED VIEW /m,
	'CREATE FUNCTION' => qr/^CREATE FUNCTION /m,
	'CREATE TRIGGER' => qr/^CREATE TRIGGER /m,
	'enum' => qr/AS ENUM \(/,
	'domain' => qr/^CREATE DOMAIN /m,
	'partition' => qr/PARTITION OF|ATTACH PARTITION/,
	'CHECK' => qr/CHECK \(/,
	'COMMENT' => qr/^COMMENT ON COLUMN /m,
	'GRANT' => qr/^GRANT SELECT ON TABLE public\.\w+ TO PUBLIC;/m,
	'POLICY' => qr/^CREATE POLICY /m,
	'second schema' => qr/^CREATE SCHEMA reporting;/m);
for my $k (sort keys %kinds)
{
	like($full, $kinds{$k}, "the generated schema has $k");
}

$node->safe_psql('postgres', 'CREATE DATABASE migrated');
$node->safe_psql('migrated', 'CREATE EXTENSION dbops');
is(schema_dump('migrated'), $ref{empty},
	'the extension itself adds nothing outside its schema');

# Differences are shown as a short unified diff rather than two dumps.
sub same_schema
{
	my ($state, $test, $db) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	my $got = schema_dump($db // 'migrated');
	return pass($test) if $got eq $ref{$state};
	my ($g, $e) = ("$tmp/got.sql", "$tmp/expected.sql");
	unlink($g, $e);
	append_to_file($g, $got);
	append_to_file($e, $ref{$state});
	my ($diff) = run_command([ 'diff', '-u', $e, $g ]);
	fail($test);
	diag(join "\n", grep { defined } (split /\n/, $diff)[ 0 .. 60 ]);
}

sub query { return $node->safe_psql($_[1] // 'migrated', $_[0]); }

is(query("SELECT count(*) FROM dbops.apply_migrations('$dir', dry_run => true) WHERE action = 'would apply'"),
	$count, "a dry run lists all $count migrations");
same_schema('empty', 'a dry run changes nothing');

is(query("SELECT count(*) FROM dbops.apply_migrations('$dir') WHERE action = 'applied'"),
	$count, "apply_migrations applies all $count migrations");
same_schema('full', 'after apply: the schema psql makes of the same files');

# The catalog holds each version once, with the checksum of the exact bytes.
my @rows = split /\n/,
  query('SELECT version, checksum FROM dbops.schema_migrations ORDER BY version');
is(scalar @rows, $count, "schema_migrations has $count rows");
my $bad = 0;
for my $i (0 .. $#rows)
{
	my ($v, $sum) = split /\|/, $rows[$i];
	my ($want) = $migrations[$i] =~ /^(\d+)_/;
	$bad++ unless $v eq $want
	  && $sum eq sha256_hex(slurp_file("$dir/$migrations[$i]/up.sql"));
}
is($bad, 0, 'every row has its version and the SHA-256 of its up.sql');

is(query("SELECT count(*) FROM dbops.apply_migrations('$dir') WHERE action = 'applied'"),
	0, 'a second apply finds nothing pending');

is(query("SELECT count(*) FROM dbops.rollback_migrations(target_version => '$mid_version')"),
	$count - $mid, 'rollback to a version rolls back the migrations after it');
same_schema('mid', "after rolling back to migration $mid");
is(query('SELECT max(version) FROM dbops.schema_migrations'), $mid_version,
	'the target version stays applied');
is(query("SELECT state, count(*) FROM dbops.migration_status('$dir') GROUP BY 1 ORDER BY 1"),
	"applied|$mid\npending|" . ($count - $mid), 'migration_status after the partial rollback');

is(query("SELECT count(*) FROM dbops.rollback_migrations(steps => $mid)"),
	$mid, 'rollback by steps rolls back the rest');
same_schema('empty', 'after rolling everything back: the initial schema');
is(query('SELECT count(*) FROM dbops.schema_migrations'), 0, 'the catalog is empty');

is(query("SELECT count(*) FROM dbops.apply_migrations('$dir', target_version => '$mid_version')"),
	$mid, 'apply up to a target version');
same_schema('mid', 'after applying up to the target');
is(query("SELECT count(*) FROM dbops.apply_migrations('$dir')"),
	$count - $mid, 'apply the rest');
same_schema('full', 'after applying again: the schema psql makes');

# The history survives pg_dump and pg_restore (the catalog is extension
# configuration): the restored database rolls all 300 back from the stored
# down SQL alone.
$node->command_ok(
	[ 'pg_dump', '-Fc', '-d', $node->connstr('migrated'), '-f', "$tmp/migrated.dump" ],
	'pg_dump of the migrated database');
$node->safe_psql('postgres', 'CREATE DATABASE restored');
$node->command_ok(
	[ 'pg_restore', '--exit-on-error', '-d', $node->connstr('restored'), "$tmp/migrated.dump" ],
	'pg_restore into a new database');
same_schema('full', 'restored: the schema psql makes', 'restored');
is(query("SELECT count(*) FROM dbops.rollback_migrations(steps => $count)", 'restored'),
	$count, 'restored: roll back everything');
same_schema('empty', 'restored: back to the initial schema', 'restored');

# The document form, for clients that read the files on their own machine:
# the same project as one jsonb array makes the same schema, records the
# same checksums and rolls back as completely.
my @doc;
for my $m (@migrations)
{
	my ($v, $n) = $m =~ /^(\d+)_(.*)$/;
	my %item = (version => $v, name => $n);
	for my $script (qw(up down verify))
	{
		$item{$script} = slurp_file("$dir/$m/$script.sql")
		  if -e "$dir/$m/$script.sql";
	}
	push @doc, \%item;
}
my $json = JSON::PP->new->canonical->encode(\@doc);
die 'the document contains its own quote' if $json =~ /\$doc\$/;
$node->safe_psql('postgres', 'CREATE DATABASE migrated_json');
$node->safe_psql('migrated_json', 'CREATE EXTENSION dbops');
is(query("SELECT count(*) FROM dbops.apply_migrations(\$doc\$$json\$doc\$::jsonb)", 'migrated_json'),
	$count, 'the jsonb form applies the same project');
same_schema('full', 'jsonb form: the schema psql makes', 'migrated_json');
my $sums = 'SELECT string_agg(checksum, \',\' ORDER BY version) FROM dbops.schema_migrations';
is(query($sums, 'migrated_json'), query($sums), 'both forms record the same checksums');
is(query("SELECT count(*) FROM dbops.rollback_migrations(steps => $count)", 'migrated_json'),
	$count, 'jsonb form: roll back everything');
same_schema('empty', 'jsonb form: back to the initial schema', 'migrated_json');

# The same project as Sqitch writes it: every script wrapped in BEGIN and
# COMMIT (verify: BEGIN and ROLLBACK), the order in sqitch.plan.  The batch
# is already one transaction, so dbops drops the wrapping and must make the
# same schema.
my $sqitch_dir = "$tmp/migrations_300_sqitch";
generate($sqitch_dir, '--layout', 'sqitch');
$node->safe_psql('postgres', 'CREATE DATABASE migrated_sqitch');
$node->safe_psql('migrated_sqitch', 'CREATE EXTENSION dbops');
is(query("SET client_min_messages = warning; SELECT count(*) FROM dbops.apply_migrations('$sqitch_dir')",
		'migrated_sqitch'),
	$count, 'the Sqitch project applies');
same_schema('full', 'Sqitch project: the schema psql makes', 'migrated_sqitch');
is(query("SELECT count(*) FROM dbops.rollback_migrations(steps => $count)", 'migrated_sqitch'),
	$count, 'Sqitch project: roll back everything');
same_schema('empty', 'Sqitch project: back to the initial schema', 'migrated_sqitch');

$node->stop;
done_testing();
