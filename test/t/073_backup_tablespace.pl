# Copyright (c) dbops contributors
#
# Base backups of a cluster with a tablespace: backup-fetch refuses to
# write into the tablespace the running cluster uses, restores it where
# --tablespace-map says (the restored tablespace_map and link say so too),
# and a --delta restore into that stopped copy keeps working.
use strict;
use warnings FATAL => 'all';

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use DbopsArchive;

my $repo_dir = PostgreSQL::Test::Utils::tempdir('repo');
my %env      = (DBOPS_ARCHIVE_REPO => "file://$repo_dir");
my $ts_dir   = PostgreSQL::Test::Utils::tempdir('ts');
my $new_ts   = PostgreSQL::Test::Utils::tempdir('ts_new') . '/moved';

my $node = PostgreSQL::Test::Cluster->new('ts_primary');
$node->init(allows_streaming => 1);
$node->append_conf('postgresql.conf', qq{
archive_mode = on
archive_command = '@{[ archive_command("file://$repo_dir") ]}'
});
$node->start;
$node->safe_psql('postgres', qq{
CREATE TABLESPACE elsewhere LOCATION '$ts_dir';
CREATE TABLE far (id int, v text) TABLESPACE elsewhere;
INSERT INTO far SELECT g, md5(g::text) FROM generate_series(1, 10000) g;
});
my $expected = $node->safe_psql('postgres', 'SELECT count(*), md5(string_agg(v, \'\' ORDER BY id)) FROM far');
my ($rc, $out, $err) = run_archive({ env => \%env }, 'backup-push', '--dbname=' . $node->connstr('postgres'));
is($rc, 0, 'backup-push of a cluster with a tablespace') or diag($err);
my $last = $node->safe_psql('postgres', 'SELECT pg_walfile_name(pg_current_wal_lsn())');
$node->safe_psql('postgres', 'SELECT pg_switch_wal()');
$node->poll_query_until('postgres', "SELECT last_archived_wal >= '$last' FROM pg_stat_archiver")
  or die 'archiving stalled';

my $copy = PostgreSQL::Test::Cluster->new('ts_copy');
($rc, $out, $err) = run_archive({ env => \%env }, 'backup-fetch', 'LATEST', $copy->data_dir);
is($rc, 2, 'the tablespace directory in use is refused');
like($err, qr/tablespace directory "\Q$ts_dir\E" exists and is not empty/, '... naming it');
($rc, $out, $err) = run_archive({ env => \%env }, 'backup-fetch', "--tablespace-map=/nowhere=$new_ts",
	'LATEST', $copy->data_dir);
is($rc, 2, 'a --tablespace-map naming no tablespace of the backup is refused');

my @restore = ('backup-fetch', "--tablespace-map=$ts_dir=$new_ts", '--target-action=promote',
	'LATEST', $copy->data_dir);
($rc, $out, $err) = run_archive({ env => \%env }, @restore);
is($rc, 0, 'restored with --tablespace-map') or diag($err);
like(slurp_file($copy->data_dir . '/tablespace_map'), qr/^\d+ \Q$new_ts\E$/m,
	'the restored tablespace_map names the new directory');
sub start_copy
{
	$copy->append_conf('postgresql.conf', "port = " . $copy->port
		  . "\nunix_socket_directories = '" . $copy->host . "'\n");
	$copy->start;
	$copy->poll_query_until('postgres', 'SELECT NOT pg_is_in_recovery()') or die 'recovery';
}
start_copy();
is($copy->safe_psql('postgres', 'SELECT count(*), md5(string_agg(v, \'\' ORDER BY id)) FROM far'),
	$expected, 'the table in the tablespace is restored');
is($copy->safe_psql('postgres', "SELECT pg_tablespace_location(oid) FROM pg_tablespace WHERE spcname = 'elsewhere'"),
	$new_ts, '... and the tablespace lives in the new directory');
$copy->stop;

($rc, $out, $err) = run_archive({ env => \%env }, '--delta', @restore);
is($rc, 0, '--delta into the stopped copy, tablespace included') or diag($err);
start_copy();
is($copy->safe_psql('postgres', 'SELECT count(*) FROM far'), '10000', '... and it recovers again');
$copy->stop;
$node->stop;
done_testing();
