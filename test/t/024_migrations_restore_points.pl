# Copyright (c) dbops contributors
#
# Restore points: with WAL archived, apply_migrations writes a restore point
# named "dbops:<version>" (a SHA-256 prefix for a version too long for the
# name) just before each migration and records its LSN; a base backup
# recovered to that LSN (recovery_target_inclusive = off), or to the name,
# holds the database as it was before that migration.
use strict;
use warnings FATAL => 'all';

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('primary');
$node->init(has_archiving => 1, allows_streaming => 1);
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'dbops'");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION dbops');
$node->backup('before');

my $long = '20261204' . ('9' x 70);
sub migration
{
	my ($version, $up) = @_;
	return qq({"version": "$version", "name": "m", "up": "$up"});
}
$node->safe_psql('postgres', "SELECT count(*) FROM dbops.apply_migrations('["
	  . migration('1', 'CREATE TABLE t (id int); INSERT INTO t VALUES (1);')
	  . "]'::jsonb)");
my $applied = $node->safe_psql('postgres', "SELECT string_agg(version || ' ' || restore_lsn, ',') FROM dbops.apply_migrations('["
	  . migration('2', 'INSERT INTO t SELECT generate_series(2, 10);') . ', '
	  . migration($long, 'DROP TABLE t;')
	  . "]'::jsonb)");
like($applied, qr{^2 [0-9A-F]+/[0-9A-F]+,$long [0-9A-F]+/[0-9A-F]+$},
	'apply returns the restore point LSN of each migration');

my %point = map { split /\|/ } split /\n/, $node->safe_psql('postgres',
	'SELECT version, restore_point || \' \' || restore_lsn FROM dbops.schema_migrations');
like($point{1}, qr{^dbops:1 }, 'restore point named after its version');
like($point{2}, qr{^dbops:2 }, 'and the next one');
like($point{$long}, qr{^dbops:[0-9a-f]{57} }, 'a version too long for a name: a SHA-256 prefix');
my ($name2, $lsn2) = split / /, $point{2};
ok($node->safe_psql('postgres', "SELECT '$lsn2'::pg_lsn > '" . (split / /, $point{1})[1] . "'::pg_lsn") eq 't',
	'points follow each other');

# the segment holding the migrations, archived once switched
my $walfile = $node->safe_psql('postgres', 'SELECT pg_walfile_name(pg_current_wal_lsn())');
$node->safe_psql('postgres', 'SELECT pg_switch_wal()');
$node->poll_query_until('postgres',
	"SELECT last_archived_wal >= '$walfile' FROM pg_stat_archiver")
  or die 'archiving did not catch up';

# Recover the base backup taken before the migrations, by LSN and by name.
foreach my $target ("recovery_target_lsn = '$lsn2'", "recovery_target_name = '$name2'")
{
	my $r = PostgreSQL::Test::Cluster->new('restored');
	$r->init_from_backup($node, 'before', has_restoring => 1);
	$r->append_conf('postgresql.conf', "$target\nrecovery_target_inclusive = off\n"
		  . "recovery_target_action = 'promote'\narchive_mode = off");
	$r->start;
	$r->poll_query_until('postgres', 'SELECT NOT pg_is_in_recovery()')
	  or die 'recovery did not end';
	is($r->safe_psql('postgres', 'SELECT count(*) FROM t'), '1',
		"$target: the data as before migration 2");
	is($r->safe_psql('postgres', 'SELECT string_agg(version, \',\') FROM dbops.schema_migrations'), '1',
		"$target: only migration 1 applied");
	$r->stop;
	$r->clean_node;
}

# Without archiving, no point is written.
my $plain = PostgreSQL::Test::Cluster->new('plain');
$plain->init;
$plain->append_conf('postgresql.conf', "shared_preload_libraries = 'dbops'");
$plain->start;
$plain->safe_psql('postgres', 'CREATE EXTENSION dbops');
is($plain->safe_psql('postgres', "SELECT coalesce(restore_lsn::text, 'none') FROM dbops.apply_migrations('["
	  . migration('1', 'CREATE TABLE t (id int);') . "]'::jsonb)"), 'none',
	'no restore point without WAL archiving');

done_testing();
