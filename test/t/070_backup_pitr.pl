# Copyright (c) dbops contributors
#
# Base backups and point-in-time recovery on a file:// repository:
# backup-push of a cluster under a pgbench load, then backup-fetch to a
# time, an LSN, an xid, a restore point, --target-migration (a migration
# applied with dbops.apply_migrations under the load; the LSN of its
# restore point looked up with --dbname, or the point's name without), and
# --target-immediate, each restored cluster compared with the state
# captured at its target.  Then a timeline switch (restore, promote,
# archive on timeline 2, back up there, restore to a later point), a
# --delta restore into a stopped cluster, backup-list, the status file,
# and a corrupt and a missing part refused and named.
#
# State at a target is captured exactly although pgbench keeps writing:
# each capture takes an EXCLUSIVE lock on the pgbench tables (writers
# wait, readers do not), reads the sums, and marks the target inside that
# transaction, so every commit before the target is in the sums and none
# after it.  The migration runs inside such a transaction too, so its
# restore point follows the capture with no commit in between.
use strict;
use warnings FATAL => 'all';

use IPC::Run;
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use DbopsArchive;

my $repo_dir = PostgreSQL::Test::Utils::tempdir('repo');
my $repo     = "file://$repo_dir";
my %env      = (DBOPS_ARCHIVE_REPO => $repo);

my $primary = PostgreSQL::Test::Cluster->new('primary');
$primary->init(allows_streaming => 1);
# the status file lies in the data directory: backups must not copy it
my $status = $primary->data_dir . '/dbops_archive.status';
$env{DBOPS_ARCHIVE_STATUS_FILE} = $status;
$primary->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'dbops'
archive_mode = on
archive_command = '@{[ archive_command($repo, "DBOPS_ARCHIVE_STATUS_FILE=$status ") ]}'
});
$primary->start;
my $connstr = $primary->connstr('postgres');

sub archive
{
	my ($extra, @args) = @_;
	return run_archive({ env => { %env, %$extra } }, @args);
}

# a migration as a jsonb document for dbops.apply_migrations
sub migration
{
	my ($version, $up, $down) = @_;
	return 'dbops.apply_migrations($m$[{'
	  . qq("version": "$version", "name": "m$version", "up": "$up", "down": "$down")
	  . '}]$m$::jsonb)';
}

$primary->command_ok([ 'pgbench', '-i', '-s', '2', '-q', 'postgres' ], 'pgbench -i');
$primary->safe_psql('postgres', 'CREATE EXTENSION dbops');
$primary->safe_psql('postgres', 'SELECT count(*) FROM '
	  . migration('0041', 'CREATE TABLE marker (n int PRIMARY KEY, what text);', 'DROP TABLE marker;'));

# --- a full backup, with its JSON summary
my ($rc, $out, $err) = archive({}, 'backup-push', "--dbname=$connstr", '--json');
is($rc, 0, 'backup-push of a running cluster') or diag($err);
my $full = decode_json($out);
like($full->{label}, qr/^\d{8}T\d{6}F$/, "a full backup, labelled $full->{label}");
ok($full->{files} > 100 && $full->{size} > 20_000_000, "$full->{files} files, $full->{size} bytes");
ok(-f "$repo_dir/backup/$full->{label}/manifest", 'its manifest is written');
like(slurp_file($status), qr/^last-backup-name = $full->{label}$/m, 'the status file names the backup');
like(slurp_file($status), qr/^last-push-name = [0-9A-F]{24}/m, '... and the last WAL file pushed');
($rc, $out, $err) = archive({}, 'backup-push', "--dbname=$connstr", '--target-time=x');
is($rc, 2, 'an option of another command is a usage error');

# --- a load, and targets captured under it
my $load = IPC::Run::start(
	[ 'pgbench', '-n', '-c', '2', '-T', '600', $connstr ],
	'<', \undef, '>', \my $load_out, '2>', \my $load_err);

my $sums = 'SELECT (SELECT sum(abalance) FROM pgbench_accounts) || \'/\' || '
  . '(SELECT sum(tbalance) FROM pgbench_tellers) || \'/\' || '
  . '(SELECT count(*) FROM pgbench_history) || \'/\' || '
  . '(SELECT coalesce(max(n), 0) FROM marker)';

# Wait for some pgbench commits, then capture one target: the sums and
# what $mark returns, in one transaction holding the tables.
my $n = 0;
sub capture
{
	my ($mark, $write) = @_;
	my $before = $primary->safe_psql('postgres', 'SELECT count(*) FROM pgbench_history');
	$primary->poll_query_until('postgres',
		"SELECT count(*) > $before + 20 FROM pgbench_history")
	  or die 'pgbench is not writing';
	$n++;
	my $res = $primary->safe_psql('postgres', qq{
BEGIN;
LOCK pgbench_accounts, pgbench_tellers, pgbench_branches, pgbench_history IN EXCLUSIVE MODE;
@{[ $write ? "INSERT INTO marker VALUES ($n, 'at the target');" : '' ]}
$sums;
SELECT $mark;
COMMIT;
});
	my ($state, $target) = split /\n/, $res;
	return ($state, $target);
}

# xid: recovery stops after this transaction's commit, marker included
my ($xid_state, $xid) = capture('pg_catalog.txid_current()', 1);
# lsn: the insert position while writers wait; this transaction writes nothing
my ($lsn_state, $lsn) = capture('pg_catalog.pg_current_wal_insert_lsn()', 0);
# time: every earlier commit has an earlier timestamp, every later one a later
my ($time_state, $time) = capture('pg_catalog.clock_timestamp()', 0);
# a restore point
my ($name_state, undef) = capture("pg_catalog.pg_create_restore_point('before_batch')", 0);
# a migration that goes wrong: it empties the tellers' balances.  With WAL
# archived, apply_migrations writes the restore point "dbops:0042" before
# it and records the point's LSN
my ($mig_state, $mig_lsn) = capture('(SELECT restore_lsn FROM '
	  . migration('0042', 'CREATE TABLE migrated_0042 (id int); UPDATE pgbench_tellers SET tbalance = 0;',
		'DROP TABLE migrated_0042;') . ')::text', 0);
like($mig_lsn, qr{^[0-9A-F]+/[0-9A-F]+$}, "apply_migrations wrote the restore point of 0042 at $mig_lsn");
is($primary->safe_psql('postgres',
		"SELECT restore_point || ' ' || restore_lsn FROM dbops.schema_migrations WHERE version = '0042'"),
	"dbops:0042 $mig_lsn", '... and recorded its name and LSN in dbops.schema_migrations');
is($primary->safe_psql('postgres', "SELECT to_regclass('migrated_0042') IS NOT NULL"), 't',
	'... and the migration ran');
# more load after every target, then stop it
capture('1', 1);
$load->signal('TERM');
$load->finish;
my $end_state = $primary->safe_psql('postgres', $sums);
my $last = $primary->safe_psql('postgres', 'SELECT pg_walfile_name(pg_current_wal_lsn())');
$primary->safe_psql('postgres', 'SELECT pg_switch_wal()');
$primary->poll_query_until('postgres', "SELECT last_archived_wal >= '$last' FROM pg_stat_archiver")
  or die 'archiving stalled';
isnt($xid_state, $end_state, 'the load changed the tables after the targets');

# The restored copy listens where its node says, not where the primary does
sub own_port
{
	my ($node) = @_;
	$node->append_conf('postgresql.conf', "port = " . $node->port . "\nunix_socket_directories = '"
		  . $node->host . "'\nlisten_addresses = ''\n");
}

# Restore backup $name into a new directory with @opts, start it, wait for
# the end of recovery (or, with the default action, the pause at the
# target), return the node.
my $restores = 0;
sub restore
{
	my ($label, $name, @opts) = @_;
	my $node = PostgreSQL::Test::Cluster->new("restored_" . ++$restores);
	my ($rc, $out, $err) = archive({}, 'backup-fetch', @opts, $name, $node->data_dir);
	is($rc, 0, "$label: backup-fetch") or diag($err);
	own_port($node);
	$node->start;
	if (grep { $_ eq '--target-action=promote' } @opts)
	{
		$node->poll_query_until('postgres', 'SELECT NOT pg_is_in_recovery()')
		  or die "$label: recovery did not end";
	}
	else
	{
		$node->poll_query_until('postgres', "SELECT pg_get_wal_replay_pause_state() = 'paused'")
		  or die "$label: recovery did not pause at the target";
	}
	return $node;
}

my $restored_auto;
sub check_restore
{
	my ($label, $expected, @opts) = @_;
	my $node = restore($label, $full->{label}, '--target-action=promote', @opts);
	is($node->safe_psql('postgres', $sums), $expected, "$label: the tables are as captured at the target");
	like(slurp_file($node->logfile), qr/recovery stopping (before|after|at)/,
		"$label: recovery stopped at the target") if @opts;
	$restored_auto = $node->data_dir . '/postgresql.auto.conf';
	# the migrations applied, and whether 0042 left its table
	my $migrated = $node->safe_psql('postgres',
		"SELECT string_agg(version, ',' ORDER BY version) || ' ' || (to_regclass('migrated_0042') IS NOT NULL)"
		  . ' FROM dbops.schema_migrations');
	$node->stop;
	return $migrated;
}

check_restore('xid', $xid_state, "--target-xid=$xid");
check_restore('lsn', $lsn_state, "--target-lsn=$lsn");
check_restore('time', $time_state, "--target-time=$time");
check_restore('restore point', $name_state, '--target-name=before_batch');
is(check_restore('migration, LSN from --dbname', $mig_state, '--target-migration=0042',
		"--dbname=$connstr"), '0041 false', '... just before migration 0042 ran');
my $auto_mig = slurp_file($restored_auto);
like($auto_mig, qr/^recovery_target_lsn = '\Q$mig_lsn\E'$/m, '... by the LSN recorded for it');
like($auto_mig, qr/^recovery_target_inclusive = 'off'$/m, '... recovery stopping before that LSN');
is(check_restore('migration, by name', $mig_state, '--target-migration=0042'), '0041 false',
	'... the fallback by restore point name too');
is(check_restore('end of the archive', $end_state), '0041,0042 true', '... and at the end, after it');

# --- what a restored server is told
my $node = restore('settings', 'LATEST', '--target-immediate');
my $auto = slurp_file($node->data_dir . '/postgresql.auto.conf');
like($auto, qr/^archive_mode = 'off'$/m, 'a restored cluster does not archive');
like($auto, qr/^restore_command = '''\Q@{[ archive_bin() ]}\E'' --repo=''\Q$repo\E'' .*wal-fetch %f %p'$/m,
	'restore_command names the executable by absolute path and the repository');
like($auto, qr/^recovery_target_action = 'pause'$/m, 'the target action stays pause unless asked');
ok(!-e $node->data_dir . '/dbops_archive.status', 'the status file was not backed up');
$node->stop;

# --- refusals before anything is written
my $busy = PostgreSQL::Test::Utils::tempdir('busy');
PostgreSQL::Test::Utils::append_to_file("$busy/keep", 'x');
($rc, $out, $err) = archive({}, 'backup-fetch', 'LATEST', $busy);
is($rc, 2, 'a non-empty directory is refused');
like($err, qr/exists and is not empty/, '... saying so');
($rc, $out, $err) = archive({}, 'backup-fetch', '--target-time=2026-01-01 00:00:00', 'LATEST', "$busy/new");
is($rc, 2, 'a target time without a time zone is refused');
($rc, $out, $err) = archive({}, 'backup-fetch', '--target-xid=5', '--target-name=x', 'LATEST', "$busy/new");
is($rc, 2, 'two targets are refused');
($rc, $out, $err) = archive({}, 'backup-fetch', '--delta', 'LATEST', $primary->data_dir);
is($rc, 2, '--delta into a running cluster is refused');
like($err, qr/postmaster\.pid/, '... naming postmaster.pid');
($rc, $out, $err) = archive({}, 'backup-fetch', '--target-time=2000-01-01 00:00:00+00', 'LATEST', "$busy/new");
is($rc, 2, 'no backup ends before a target in the past');
ok(!-e "$busy/new", '... and nothing was written');

# --- a delta restore into the stopped restored cluster: files that hash
# as the backup says are kept, the rest rewritten, extra files removed
PostgreSQL::Test::Utils::append_to_file($node->data_dir . '/base/extra_file', 'not in the backup');
unlink $node->data_dir . '/recovery.signal';
($rc, $out, $err) = archive({}, 'backup-fetch', '--delta', '--target-action=promote',
	"--target-xid=$xid", $full->{label}, $node->data_dir);
is($rc, 0, '--delta restore into a stopped cluster') or diag($err);
ok(!-e $node->data_dir . '/base/extra_file', '... removed a file the backup does not hold');
own_port($node);
$node->start;
$node->poll_query_until('postgres', 'SELECT NOT pg_is_in_recovery()') or die 'delta recovery';
is($node->safe_psql('postgres', $sums), $xid_state, '... and recovers to the target');
$node->stop;

# --- timeline switch: a restored cluster promoted and archiving (on
# timeline 2, into the same repository), backed up there, restored later
my $tl2 = restore('timeline 2', 'LATEST', '--target-action=promote', "--target-xid=$xid",
	'--archive-mode=preserve');
is($tl2->safe_psql('postgres', 'SELECT timeline_id FROM pg_control_checkpoint()'), '2',
	'the promoted copy is on timeline 2');
$tl2->safe_psql('postgres', "INSERT INTO marker VALUES (1000, 'timeline 2')");
($rc, $out, $err) = archive({}, 'backup-push', '--dbname=' . $tl2->connstr('postgres'), '--json');
is($rc, 0, 'backup-push on timeline 2') or diag($err);
my $tl2_backup = decode_json($out);
is($tl2_backup->{timeline}, 2, '... records timeline 2');
$tl2->safe_psql('postgres', "INSERT INTO marker VALUES (1001, 'later')");
my $tl2_point = $tl2->safe_psql('postgres', 'SELECT pg_create_restore_point(\'tl2_later\')');
my $tl2_state = $tl2->safe_psql('postgres', $sums);
$tl2->safe_psql('postgres', "INSERT INTO marker VALUES (1002, 'after the point')");
my $tl2_end = $tl2->safe_psql('postgres', $sums);
$last = $tl2->safe_psql('postgres', 'SELECT pg_walfile_name(pg_current_wal_lsn())');
$tl2->safe_psql('postgres', 'SELECT pg_switch_wal()');
$tl2->poll_query_until('postgres', "SELECT last_archived_wal >= '$last' FROM pg_stat_archiver")
  or die 'timeline 2 archiving stalled';
$tl2->stop;
my $tl3 = restore('timeline 2, later point', 'LATEST', '--target-action=promote', '--target-name=tl2_later');
is($tl3->safe_psql('postgres', $sums), $tl2_state, '... the backup of timeline 2 restores to a later point');
$tl3->stop;

# --- backup-list
($rc, $out, $err) = archive({}, 'backup-list', '--json');
is($rc, 0, 'backup-list --json') or diag($err);
my $list = decode_json($out);
is(scalar(@{ $list->{backups} }), 2, 'two backups listed');
is($list->{incomplete}, 0, 'none incomplete');
is($list->{window}{earliest_lsn}, $full->{stop_lsn}, 'the window starts at the end of the oldest');
($rc, $out, $err) = archive({}, 'backup-list');
like($out, qr/^\Q$full->{label}\E\s+full/m, 'the table lists the full backup');
like($out, qr/recoverable window: from /, '... and the recoverable window');

# --- wal-verify: both backups restore to the end of the archive, on timeline 2
($rc, $out, $err) = archive({}, 'wal-verify', '--deep');
is($rc, 0, 'wal-verify --deep of the whole archive') or diag($out . $err);
like($out, qr/backup \Q$full->{label}\E: restores to the end of the archive \(WAL file 00000002[0-9A-F]{16}, timeline 2\)/,
	'... the backup of timeline 1 reaches the end of timeline 2');
like($out, qr/every backup \(2\) restores to the end of the archive; every object verified/, '... every object verified');

# --- retention: the full backup of timeline 1 goes, the one of timeline 2
# stays and restores to the end; an incomplete backup goes once older than
# cleanup-grace, never while it may be running
my @now = gmtime();
my $running = sprintf('%04d%02d%02dT%02d%02d%02dF', $now[5] + 1900, $now[4] + 1, @now[3, 2, 1, 0]);
for my $label ($running, '20200101T000000F')
{
	mkdir "$repo_dir/backup/$label";
	mkdir "$repo_dir/backup/$label/data";
	PostgreSQL::Test::Utils::append_to_file("$repo_dir/backup/$label/lease", 'a lease');
	PostgreSQL::Test::Utils::append_to_file("$repo_dir/backup/$label/data/0.0", 'a part');
}
my @wal_before = glob("$repo_dir/wal/*/*");
# --retain-wal-days: a window that begins between the two backups' ends
# keeps the older one too, which it needs; one that begins after both
# does not
sub days_since
{
	my ($iso) = @_;
	my ($y, $mo, $d, $h, $mi, $s) = $iso =~ /^(\d+)-(\d+)-(\d+)T(\d+):(\d+):(\d+)Z$/ or die "bad time $iso";
	require Time::Local;
	return (time() - Time::Local::timegm($s, $mi, $h, $d, $mo - 1, $y)) / 86400;
}
my $window = (days_since($full->{stop_time}) + days_since($tl2_backup->{stop_time})) / 2;
($rc, $out, $err) = archive({}, 'delete', '--retain=1', sprintf('--retain-wal-days=%.8f', $window), '--dry-run');
is($rc, 0, 'delete --retain=1 --retain-wal-days --dry-run') or diag($err);
unlike($out, qr/\Q$full->{label}\E/, '... keeps the older backup the window needs');
like($out, qr/WAL files? older than \Q$full->{start_wal}\E/, '... and its WAL') or diag($out);
($rc, $out, $err) = archive({}, 'delete', '--retain=1', '--retain-wal-days=0', '--dry-run');
like($out, qr/would remove backup "\Q$full->{label}\E"/, '... a window of 0 days keeps no more than --retain');
($rc, $out, $err) = archive({}, 'delete', '--retain=1', '--retain-wal-days=-1');
is($rc, 2, '... a negative number of days is refused');
like($err, qr/invalid value "-1" for --retain-wal-days/, '... and named');
($rc, $out, $err) = archive({}, 'delete', '--retain=1', '--dry-run');
is($rc, 0, 'delete --retain=1 --dry-run') or diag($err);
like($out, qr/would remove backup "\Q$full->{label}\E"/, '... names the full backup of timeline 1');
ok(-f "$repo_dir/backup/$full->{label}/manifest", '... and removes nothing');
($rc, $out, $err) = archive({}, 'delete', '--retain=1');
is($rc, 0, 'delete --retain=1') or diag($err);
ok(!-e "$repo_dir/backup/$full->{label}/manifest" && !glob("$repo_dir/backup/$full->{label}/data/*"),
	'... removed the older backup');
ok(-e "$repo_dir/backup/$running/lease", '... kept an incomplete backup that may be running');
ok(!-e "$repo_dir/backup/20200101T000000F/lease", '... removed one older than cleanup-grace');
my @wal_after = glob("$repo_dir/wal/*/*");
ok(@wal_after < @wal_before && !grep({ m{/([0-9A-F]{24})$} && substr($1, 8) lt substr($tl2_backup->{start_wal}, 8) } @wal_after),
	'... and the WAL before the kept backup\'s first file');
my $after = restore('after retention, to the end', 'LATEST', '--target-action=promote');
is($after->safe_psql('postgres', $sums), $tl2_end, '... the kept backup restores to the end of the archive');
$after->stop;
($rc, $out, $err) = archive({}, 'delete');
is($rc, 2, 'delete without --retain is refused');
($rc, $out, $err) = archive({}, 'wal-verify');
is($rc, 0, 'wal-verify after retention') or diag($out . $err);

# --- restore-check: the latest backup restores, recovers and passes
# pg_amcheck on a throwaway server; nothing is left behind, and what a
# killed run left is removed
my $scratch = PostgreSQL::Test::Utils::tempdir('scratch');
mkdir "$scratch/dbops-restore-check.killed";
PostgreSQL::Test::Utils::append_to_file("$scratch/dbops-restore-check.killed/owner", "2147483646\n");
($rc, $out, $err) = archive({}, 'restore-check', "--scratch=$scratch", '--json');
is($rc, 0, 'restore-check of the latest backup') or diag($err);
my $drill = decode_json($out || '{}');
is($drill->{verdict}, 'ok', '... verdict ok');
is($drill->{backup}, $tl2_backup->{label}, '... of the latest backup');
ok(defined $drill->{steps}{recovery} && defined $drill->{steps}{pg_amcheck}, '... with the time of each step');
is(scalar(my @left = glob("$scratch/*")), 0, '... and nothing left in the scratch directory, not even what a killed run left');
($rc, $out, $err) = archive({}, 'restore-check', "--scratch=$scratch", '--unknown');
is($rc, 2, 'restore-check with an unknown option is a usage error');

# --- a corrupt part and a missing part are refused and named
my @parts = sort glob("$repo_dir/backup/$tl2_backup->{label}/data/*.0");
my ($victim) = grep { -s $_ > 8192 } @parts;
(my $object = $victim) =~ s{^\Q$repo_dir\E/}{};
my $bytes = slurp_file($victim);
substr($bytes, length($bytes) - 100, 1) = chr(ord(substr($bytes, length($bytes) - 100, 1)) ^ 1);
open(my $fh, '>', $victim) or die;
print $fh $bytes;
close $fh;
my $target = PostgreSQL::Test::Utils::tempdir('corrupt') . '/pgdata';
($rc, $out, $err) = archive({}, 'backup-fetch', $tl2_backup->{label}, $target);
is($rc, 4, 'a corrupt part: exit 4');
like($err, qr/part "\Q$object\E" of file ".+" is corrupt/, '... naming the part and its file');
ok(!-e "$target/global/pg_control", '... and the directory gets no pg_control');
($rc, $out, $err) = archive({}, 'wal-verify', '--deep');
is($rc, 4, 'wal-verify --deep finds the corrupt part: exit 4');
like($out, qr/corrupt: backup part "\Q$object\E"/, '... naming it');
($rc, $out, $err) = archive({}, 'restore-check', "--scratch=$scratch");
is($rc, 4, 'restore-check of the damaged backup: exit 4');
like($err, qr/part "\Q$object\E" .* is corrupt/, '... naming the part');
is(scalar(@left = glob("$scratch/*")), 0, '... and the scratch directory is removed');
unlink $victim;
$target .= '2';
($rc, $out, $err) = archive({}, 'backup-fetch', $tl2_backup->{label}, $target);
is($rc, 4, 'a missing part: exit 4');
like($err, qr/part "\Q$object\E" of file ".+" is missing/, '... naming it');

# --- a WAL file the backup needs goes missing: it no longer restores
my $needed = "$repo_dir/wal/" . substr($tl2_backup->{stop_wal}, 0, 16) . "/$tl2_backup->{stop_wal}";
ok(-f $needed, "the backup's last WAL file $tl2_backup->{stop_wal} is archived");
unlink $needed;
($rc, $out, $err) = archive({}, 'wal-verify');
is($rc, 4, 'a missing WAL file: wal-verify exits 4');
like($out, qr/backup \Q$tl2_backup->{label}\E: does not restore: WAL file \Q$tl2_backup->{stop_wal}\E.* is missing/,
	'... naming the backup and the file');

$primary->stop;
done_testing();
