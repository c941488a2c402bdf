# Copyright (c) dbops contributors
#
# dbops_archive as archive_command and restore_command on a file://
# repository: a primary archives under a pgbench load; a standby built from
# a base backup replays only through wal-fetch (no streaming) and ends with
# the same table contents; a copy in archive recovery replays to the end of
# the archive (where wal-fetch exits 1) and is promoted.
use strict;
use warnings FATAL => 'all';

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use DbopsArchive;

my $repo_dir = PostgreSQL::Test::Utils::tempdir('repo');
my $repo     = "file://$repo_dir";

# The primary pushes ahead (segments already .ready) through a spool.
my $push_spool = PostgreSQL::Test::Utils::tempdir('push_spool');
my $pushing = archive_command($repo, "DBOPS_ARCHIVE_SPOOL_PATH=$push_spool ");
my $primary = PostgreSQL::Test::Cluster->new('primary');
$primary->init(allows_streaming => 1);
$primary->append_conf('postgresql.conf', qq{
archive_mode = on
archive_command = '$pushing'
wal_keep_size = 0
});
$primary->start;

my ($rc, $out, $err) = run_archive({ env => { DBOPS_ARCHIVE_REPO => $repo } }, 'check');
is($rc, 0, 'check passes on the repository');
like($out, qr/is usable/, 'check reports the repository usable');

$primary->backup('base');

# A load that writes several segments of real WAL.
$primary->command_ok([ 'pgbench', '-i', '-s', '2', '-q', 'postgres' ], 'pgbench -i');
$primary->command_ok([ 'pgbench', '-t', '300', '-c', '2', '-n', 'postgres' ], 'pgbench run');
# a restore point in the middle of a segment, for the PITR below
$primary->safe_psql('postgres', "SELECT pg_create_restore_point('before_marker')");
$primary->safe_psql('postgres', 'CREATE TABLE marker AS SELECT 42 AS answer');

# Everything up to here must reach the archive.
my $last = $primary->safe_psql('postgres',
	'SELECT pg_walfile_name(pg_current_wal_lsn())');
my $end_lsn = $primary->safe_psql('postgres', 'SELECT pg_current_wal_lsn()');
$primary->safe_psql('postgres', 'SELECT pg_switch_wal()');
$primary->poll_query_until('postgres',
	"SELECT last_archived_wal >= '$last' FROM pg_stat_archiver")
  or die 'timed out waiting for archiving';
is($primary->safe_psql('postgres', 'SELECT failed_count FROM pg_stat_archiver'),
	'0', 'no archive_command failed');

my @markers = glob("$push_spool/push-*/*.pushed");
is(scalar(@markers), 0, 'every segment pushed ahead was later acknowledged');

my $segment_object = "$repo_dir/wal/" . substr($last, 0, 16) . "/$last";
ok(-f $segment_object, 'segment stored under wal/TIMELINE+LOG/');
my @tmp = glob("$repo_dir/wal/*/*.dbops.tmp.*");
is(scalar(@tmp), 0, 'no temporary files in the repository');

my $query = 'SELECT count(*), sum(abalance), sum(bbalance) FROM pgbench_accounts '
  . 'JOIN pgbench_branches USING (bid)';
my $expected = $primary->safe_psql('postgres', $query);

# Standby mode, restore_command only (no primary_conninfo).
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'base');
$standby->append_conf('postgresql.conf',
	"restore_command = '@{[ restore_command($repo) ]}'");
$standby->set_standby_mode;
$standby->start;
$standby->poll_query_until('postgres',
	"SELECT pg_last_wal_replay_lsn() >= '$end_lsn'::pg_lsn")
  or die 'timed out waiting for the standby to replay the archive';
is($standby->safe_psql('postgres', $query), $expected,
	'standby replayed through wal-fetch has the same pgbench tables');
is($standby->safe_psql('postgres', 'SELECT answer FROM marker'), '42',
	'standby has the last table created');
ok($standby->log_contains(qr/restored log file "$last" from archive/),
	'the last segment came through restore_command');
is($standby->safe_psql('postgres', 'SELECT pg_is_in_recovery()'), 't',
	'standby stays in recovery at the end of the archive');
$standby->stop;

# Archive recovery: replays to the end, where wal-fetch answers 1, then
# promotes; with a spool, so segments are prefetched.
my $fetch_spool = PostgreSQL::Test::Utils::tempdir('fetch_spool');
my $restored = PostgreSQL::Test::Cluster->new('restored');
$restored->init_from_backup($primary, 'base');
my $prefetching = restore_command($repo, "DBOPS_ARCHIVE_SPOOL_PATH=$fetch_spool ");
$restored->append_conf('postgresql.conf', "restore_command = '$prefetching --verbose'");
$restored->set_recovery_mode;
$restored->start;
$restored->poll_query_until('postgres', 'SELECT NOT pg_is_in_recovery()')
  or die 'timed out waiting for the end of archive recovery';
is($restored->safe_psql('postgres', $query), $expected,
	'archive recovery restored the same pgbench tables');
ok($restored->log_contains('archive recovery complete'),
	'recovery ended at the end of the archive');
ok($restored->log_contains(qr/WAL file "[0-9A-F]{24}" was prefetched/),
	'later segments came from the prefetch spool');
is(scalar(glob("$fetch_spool/fetch-*/.*.tmp")), undef, 'no temporary files in the spool');

# The promoted copy writes timeline 2, and its history file is archived
# beside the segments by the same command.
$restored->append_conf('postgresql.conf', qq{
archive_mode = on
archive_command = '@{[ archive_command($repo) ]}'
});
$restored->restart;
$restored->safe_psql('postgres', 'SELECT pg_switch_wal()');
$restored->poll_query_until('postgres',
	"SELECT last_archived_wal IS NOT NULL FROM pg_stat_archiver")
  or die 'timed out waiting for the promoted copy to archive';
ok(-f "$repo_dir/wal/00000002.history", 'timeline history archived as wal/00000002.history');
$restored->stop;

# PITR to the restore point, in the middle of a segment: the new timeline
# (3, since the archive holds 2 already) starts with a copy of that
# segment, whose pages still name timeline 1.  wal-fetch checks a restored
# segment's first page against its name, and must accept this one.
my $pitr = PostgreSQL::Test::Cluster->new('pitr');
$pitr->init_from_backup($primary, 'base');
$pitr->append_conf('postgresql.conf', qq{
restore_command = '@{[ restore_command($repo) ]}'
recovery_target_name = 'before_marker'
recovery_target_action = 'promote'
archive_mode = on
archive_command = '@{[ archive_command($repo) ]}'
});
$pitr->set_recovery_mode;
$pitr->start;
$pitr->poll_query_until('postgres', 'SELECT NOT pg_is_in_recovery()')
  or die 'timed out waiting for the PITR to end';
is($pitr->safe_psql('postgres', "SELECT count(*) FROM pg_class WHERE relname = 'marker'"), '0',
	'PITR stopped at the restore point');
my $tli = $pitr->safe_psql('postgres', 'SELECT substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8)');
my @history = split /\n/, slurp_file($pitr->data_dir . "/pg_wal/$tli.history");
my (undef, $switch) = split /\t/, $history[-1];
my $first = $pitr->safe_psql('postgres', "SELECT pg_walfile_name('$switch'::pg_lsn)");
$pitr->safe_psql('postgres', 'SELECT pg_switch_wal()');
$pitr->poll_query_until('postgres', "SELECT last_archived_wal >= '$first' FROM pg_stat_archiver")
  or die "timed out waiting for $first to be archived";
my $fetched = PostgreSQL::Test::Utils::tempdir('fetched');
($rc, $out, $err) = run_archive({ env => { DBOPS_ARCHIVE_REPO => $repo }, cwd => $pitr->data_dir },
	'wal-fetch', $first, "$fetched/$first");
is($rc, 0, "the new timeline's first segment $first is restored") or diag($err);
my ($first_tli) = unpack('x4 L', slurp_file("$fetched/$first"));
ok($first_tli < hex($tli), "... although its first page names timeline $first_tli");
$pitr->stop;
$primary->stop;
done_testing();
