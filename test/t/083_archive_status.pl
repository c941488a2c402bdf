# Copyright (c) dbops contributors
#
# dbops.archive_status(): with a failing archive_command, it shows the
# failure and the waiting segments, and the launcher logs the WARNING once
# archiving has failed longer than dbops.archive_warn_after (then a LOG
# line when it works again); what dbops_archive's status file says (the
# last segment stored, the last one dropped by archive-push-queue-max, the
# last backup) shows in its columns, and a malformed file is an error.  A
# segment dropped by the queue limit counts as archived in
# pg_stat_archiver; dbops_archive's status file shows it as dropped here.
use strict;
use warnings FATAL => 'all';

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use lib 'test/perl';
use DbopsArchive;

my $tmp = PostgreSQL::Test::Utils::tempdir();
my $status = "$tmp/archive.status";

my $node = PostgreSQL::Test::Cluster->new('archiving');
$node->init(allows_streaming => 1);
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'dbops'
archive_mode = on
archive_command = 'false'
dbops.archive_warn_after = '1s'
dbops.archive_status_file = '$status'
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION dbops');

my $seg = $node->safe_psql('postgres', 'SELECT pg_walfile_name(pg_current_wal_lsn())');
$node->safe_psql('postgres', 'CREATE TABLE t AS SELECT 1 AS i; SELECT pg_switch_wal()');
ok($node->poll_query_until('postgres', 'SELECT failing FROM dbops.archive_status()'),
	'a failing archive_command: failing');
is($node->safe_psql('postgres', q{
	SELECT last_failed_wal || ' ' || (failed_count > 0) || ' ' || (last_failed_time IS NOT NULL)
	    || ' ' || (ready_count >= 1) || ' ' || (ready_bytes >= 16 * 1024 * 1024)
	    || ' ' || (lag_bytes >= ready_bytes) || ' ' || (lag_seconds >= 0)
	FROM dbops.archive_status()}),
	"$seg true true true true true true",
	'the failed segment, the count, the waiting segments and the lag');
ok(eval {
		$node->wait_for_log(qr/WARNING:  WAL archiving has been failing for more than 1 seconds/);
		1;
	}, 'the launcher logs the WARNING');
my $warnings = () = slurp_file($node->logfile) =~ /WAL archiving has been failing/g;
is($warnings, 1, 'once');

# Archiving works again.
my $archive = "$tmp/archive";
mkdir $archive;
$node->append_conf('postgresql.conf', "archive_command = 'cp %p $archive/%f'\n");
$node->reload;
ok($node->poll_query_until('postgres',
		'SELECT NOT failing AND ready_count = 0 FROM dbops.archive_status()'),
	'archiving again: not failing, nothing waiting');
ok(eval { $node->wait_for_log(qr/LOG:  WAL archiving works again/); 1 },
	'the launcher logs that it works again');

# The status file, as dbops_archive writes it (its README, "Status file").
append_to_file($status, <<'EOF');
# dbops_archive status file, format 1
last-push-time = 2026-12-04T08:15:02Z
last-push-name = 00000001000000000000002A
last-drop-time = 2026-12-03T22:01:17Z
last-drop-name = 000000010000000000000011
last-backup-time = 2026-12-03T20:00:00Z
last-backup-name = 20261203T200000F
EOF
is($node->safe_psql('postgres', q{
	SET timezone = 'UTC';
	SELECT concat_ws(' ', last_pushed_wal, last_pushed_time, last_dropped_wal, last_dropped_time,
		last_backup_name, recovery_window_start, recovery_window_end, dropped_count IS NULL)
	FROM dbops.archive_status()}),
	'00000001000000000000002A 2026-12-04 08:15:02+00 000000010000000000000011 2026-12-03 22:01:17+00 '
	  . '20261203T200000F 2026-12-03 20:00:00+00 2026-12-03 22:01:17+00 t',
	'the status file: last stored, last dropped, last backup; a drop after the backup ends its window');
append_to_file($status, "last-backup-time = nonsense\n");
my ($rc, $out, $err) = $node->psql('postgres', 'SELECT * FROM dbops.archive_status()');
like($err, qr/invalid time "nonsense" in line 8 of archive status file/, 'a malformed time is an error');
PostgreSQL::Test::Utils::append_to_file($status, "garbage\n");
($rc, $out, $err) = $node->psql('postgres', 'SELECT * FROM dbops.archive_status()');
like($err, qr/invalid time|invalid line 9 in archive status file/, 'a malformed line is an error');
unlink $status;
is($node->safe_psql('postgres', 'SELECT last_pushed_wal IS NULL FROM dbops.archive_status()'), 't',
	'no status file yet: its columns are NULL');

# The queue limit: dbops_archive drops a segment it cannot store.
$node->append_conf('postgresql.conf',
	"archive_command = '"
	  . archive_command("file://$tmp/gone",
		"DBOPS_ARCHIVE_PUSH_QUEUE_MAX=1MB DBOPS_ARCHIVE_STATUS_FILE=$status ")
	  . "'\n");
$node->reload;
my $dropped = $node->safe_psql('postgres', 'SELECT pg_walfile_name(pg_current_wal_lsn())');
$node->safe_psql('postgres', 'INSERT INTO t VALUES (2); SELECT pg_switch_wal()');
$node->poll_query_until('postgres',
	"SELECT last_archived_wal >= '$dropped' FROM pg_stat_archiver")
  or die 'timed out waiting for the archiver to drop WAL';
is($node->safe_psql('postgres', "SELECT last_archived_wal >= '$dropped' AND NOT failing FROM dbops.archive_status()"),
	't', 'a dropped segment counts as archived in pg_stat_archiver');
is($node->safe_psql('postgres', 'SELECT last_dropped_wal || \' \' || dropped_count FROM dbops.archive_status()'),
	"$dropped 1", 'the status file shows it as dropped, and counts it');

# Without the queue limit the push fails, and dbops_archive says why.
$node->append_conf('postgresql.conf',
	"archive_command = '"
	  . archive_command("file://$tmp/gone", "DBOPS_ARCHIVE_STATUS_FILE=$status ")
	  . "'\n");
$node->reload;
# (the name after the INSERT: right after a switch, pg_walfile_name names the
# segment before the current position)
$node->safe_psql('postgres', 'INSERT INTO t VALUES (3)');
my $failed = $node->safe_psql('postgres', 'SELECT pg_walfile_name(pg_current_wal_lsn())');
$node->safe_psql('postgres', 'SELECT pg_switch_wal()');
ok($node->poll_query_until('postgres',
		"SELECT failing AND last_failed_wal = '$failed' AND last_failure_message IS NOT NULL FROM dbops.archive_status()"),
	'a failing wal-push: failing, with the message dbops_archive recorded');
like($node->safe_psql('postgres', 'SELECT last_failure_message FROM dbops.archive_status()'),
	qr/\Q$tmp\E\/gone/, '... which names the repository');
like(slurp_file($status), qr/^last-failure-name = $failed$/m, '... and the status file the WAL file');
is($node->safe_psql('postgres', 'SELECT dropped_count FROM dbops.archive_status()'), '1',
	'... no drop counted for it');

$node->stop;
done_testing();
