# Copyright (c) dbops contributors
#
# backup-push killed (SIGKILL) at random moments, 20 seeded trials on a
# small database and a file:// repository: a killed backup is never listed
# as complete (unless it had finished: then it restores), and "delete"
# removes what the killed runs left once they are older than
# cleanup-grace.  The moments are drawn around one measured run, so they
# fall before, during and after each step; no assertion depends on time.
use strict;
use warnings FATAL => 'all';

use IPC::Run;
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);
use DbopsArchive;

my $repo_dir = PostgreSQL::Test::Utils::tempdir('repo');
my %env      = (DBOPS_ARCHIVE_REPO => "file://$repo_dir");

my $node = PostgreSQL::Test::Cluster->new('killed');
$node->init(allows_streaming => 1);
$node->append_conf('postgresql.conf', qq{
archive_mode = on
archive_command = '@{[ archive_command("file://$repo_dir") ]}'
});
$node->start;
$node->command_ok([ 'pgbench', '-i', '-s', '1', '-q', 'postgres' ], 'pgbench -i');
my @push = ('backup-push', '--dbname=' . $node->connstr('postgres'), '--json');

sub complete_backups
{
	my ($rc, $out, $err) = run_archive({ env => \%env }, 'backup-list', '--json');
	die "backup-list: $err" if $rc != 0;
	return decode_json($out);
}

# one whole run, to know how long a backup takes here
my $t0 = time;
my ($rc, $out, $err) = run_archive({ env => \%env }, @push);
is($rc, 0, 'a backup-push that is not killed') or diag($err);
my $duration = time - $t0;

srand(20261204);
my $killed = 0;
for my $trial (1 .. 20)
{
	my $before = complete_backups();
	# backup labels are by the second: one run a second
	sleep 1;
	my $delay = rand(0.9 * $duration);
	local %ENV = (%ENV, %env);
	my $h = IPC::Run::start([ archive_bin(), @push ], '<', \undef, '>', \my $o, '2>', \my $e);
	usleep(int($delay * 1e6));
	my $was_running = $h->pumpable;
	$h->signal('KILL') if $was_running;
	$h->finish;
	$killed++ if $was_running && ($h->full_result(0) & 127) == 9;
	my $after = complete_backups();
	my $new = @{ $after->{backups} } - @{ $before->{backups} };
	if ($new == 0)
	{
		pass("trial $trial (killed after " . sprintf('%.3f', $delay) . " s): no new complete backup");
	}
	else
	{
		# it finished before the kill landed: it must restore
		my $label = $after->{backups}[-1]{label};
		my $dir = PostgreSQL::Test::Utils::tempdir("restore_$trial") . '/pgdata';
		my ($frc, $fout, $ferr) = run_archive({ env => \%env }, 'backup-fetch', $label, $dir);
		is($new . '/' . $frc, '1/0', "trial $trial: backup $label completed before the kill, and restores")
		  or diag($ferr);
	}
}
ok($killed >= 5, "$killed of 20 runs were killed while running");

my $list = complete_backups();
ok($list->{incomplete} > 0, "$list->{incomplete} killed runs left objects behind, not listed as backups");
($rc, $out, $err) = run_archive({ env => { %env, DBOPS_ARCHIVE_CLEANUP_GRACE => '0' } },
	'delete', '--retain=100');
is($rc, 0, 'delete with cleanup-grace 0') or diag($err);
$list = complete_backups();
is($list->{incomplete}, 0, '... removed every leftover of the killed runs');
my @dirs = map { s{.*/}{}r } glob("$repo_dir/backup/*");
is(scalar(@dirs), scalar(@{ $list->{backups} }), '... and only those: every backup left is complete');

# the next run after all that still works
($rc, $out, $err) = run_archive({ env => \%env }, @push);
is($rc, 0, 'backup-push after the killed runs') or diag($err);
my $full = decode_json($out);

# --- incremental backups on top of it, restorable as a whole
my $sums = 'SELECT (SELECT sum(abalance) FROM pgbench_accounts) || \'/\' || '
  . '(SELECT count(*) FROM pgbench_history) || \'/\' || (SELECT count(*) FROM grown)';
$node->safe_psql('postgres', 'CREATE TABLE grown AS SELECT generate_series(1, 5000) AS i');
$node->command_ok([ 'pgbench', '-t', '100', '-n', 'postgres' ], 'changes after the full backup');
sleep 1;
($rc, $out, $err) = run_archive({ env => \%env }, @push, '--incremental');
is($rc, 0, 'backup-push --incremental') or diag($err);
my $incr = decode_json($out);
is($incr->{type} . ' ' . $incr->{base}, "incr $full->{label}", '... an incremental on the full backup');
ok($incr->{stored} < $full->{stored} / 2, "... storing $incr->{stored} bytes, not $full->{stored}");
$node->safe_psql('postgres', 'INSERT INTO grown SELECT generate_series(1, 100)');
sleep 1;
($rc, $out, $err) = run_archive({ env => \%env }, @push, '--incremental', '--checksum-delta');
is($rc, 0, 'backup-push --incremental --checksum-delta') or diag($err);
my $delta = decode_json($out);
is($delta->{base}, $incr->{label}, '... on the previous incremental');
($rc, $out, $err) = run_archive({ env => \%env }, 'backup-push', '--checksum-delta');
is($rc, 2, '--checksum-delta without --incremental is a usage error');
my $expected = $node->safe_psql('postgres', $sums);
my $last = $node->safe_psql('postgres', 'SELECT pg_walfile_name(pg_current_wal_lsn())');
$node->safe_psql('postgres', 'SELECT pg_switch_wal()');
$node->poll_query_until('postgres', "SELECT last_archived_wal >= '$last' FROM pg_stat_archiver")
  or die 'archiving stalled';
my $copy = PostgreSQL::Test::Cluster->new('from_incremental');
($rc, $out, $err) = run_archive({ env => \%env }, 'backup-fetch', '--target-action=promote',
	$delta->{label}, $copy->data_dir);
is($rc, 0, 'backup-fetch of the incremental chain') or diag($err);
$copy->append_conf('postgresql.conf', "port = " . $copy->port
	  . "\nunix_socket_directories = '" . $copy->host . "'\n");
$copy->start;
$copy->poll_query_until('postgres', 'SELECT NOT pg_is_in_recovery()') or die 'recovery';
is($copy->safe_psql('postgres', $sums), $expected, '... equal to the source at the end');
$copy->stop;
($rc, $out, $err) = run_archive({ env => \%env }, 'delete', '--retain=1', '--dry-run');
unlike($out, qr/\Q$full->{label}\E|\Q$incr->{label}\E/, 'delete keeps the backups an incremental builds on');
$node->stop;
done_testing();
