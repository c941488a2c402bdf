# Copyright (c) dbops contributors
#
# Two sessions apply the same migrations directory at once.  The second waits
# on the migration lock (an EXCLUSIVE lock on the table dbops.migration_lock,
# visible in pg_locks and as wait event "relation"), then finds the work
# done, so every migration runs exactly once.  If the holder rolls back, the waiter applies
# everything itself.  A tool holding the documented lock keeps dbops out, and
# rollback_migrations waits for the same lock.  Under REPEATABLE READ (or
# SERIALIZABLE) a session that had to wait cannot see what the holder
# committed, so it fails with a serialization failure (SQLSTATE 40001)
# instead of applying the migrations a second time.  Last, two sessions race in autocommit.
use strict;
use warnings FATAL => 'all';

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

# The lock other tools may take to keep dbops out (as the table's owner or a
# superuser; nobody else may lock it).
my $tool_lock = 'LOCK TABLE dbops.migration_lock IN EXCLUSIVE MODE';
my $count = 4;

# Each migration records its run in applied_log, so a migration that ran
# twice leaves two rows.  The second one sleeps a little, to widen the window
# in which two sessions race.
my $dir = "$PostgreSQL::Test::Utils::tmp_check/migrations_concurrency";
mkdir $dir or die "could not create directory \"$dir\": $!";
for my $i (1 .. $count)
{
	my $m = sprintf('%03d_step%d', $i, $i);
	mkdir "$dir/$m" or die "could not create directory \"$dir/$m\": $!";
	my $up = $i == 1
	  ? "CREATE TABLE applied_log (version text NOT NULL, pid integer NOT NULL DEFAULT pg_backend_pid());\n"
	  : "CREATE TABLE t$i (id integer PRIMARY KEY);\n";
	$up .= "SELECT pg_sleep(0.3);\n" if $i == 2;
	$up .= sprintf("INSERT INTO applied_log (version) VALUES ('%03d');\n", $i);
	my $down = $i == 1 ? "DROP TABLE applied_log;\n" : "DROP TABLE t$i;\n";
	append_to_file("$dir/$m/up.sql", $up);
	append_to_file("$dir/$m/down.sql", $down);
}

my $node = PostgreSQL::Test::Cluster->new('main');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'dbops'");
$node->start;

sub new_database
{
	my ($db) = @_;
	$node->safe_psql('postgres', "CREATE DATABASE $db");
	$node->safe_psql($db, 'CREATE EXTENSION dbops');
}

my $apply = "SELECT count(*) FROM dbops.apply_migrations('$dir') WHERE action = 'applied';";

# Each migration ran once, and the catalog and the objects agree.
sub applied_once
{
	my ($db, $what) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	is($node->safe_psql($db,
			'SELECT count(*), count(DISTINCT version) FROM applied_log'),
		"$count|$count", "$what: every migration ran exactly once");
	is($node->safe_psql($db,
			'SELECT count(*), count(DISTINCT version) FROM dbops.schema_migrations'),
		"$count|$count", "$what: the catalog records each version once");
	is($node->safe_psql($db,
			"SELECT count(*) FROM pg_class WHERE relname ~ '^t[0-9]+\$' AND relkind = 'r'"),
		$count - 1, "$what: the tables exist");
}

# Wait until the session with this pid waits for the migration lock, and
# check that it is seen the way an operator would look for it.
sub waits_for_lock
{
	my ($db, $pid, $holder, $what) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	ok( $node->poll_query_until(
			$db, qq{
		SELECT a.wait_event_type || '/' || a.wait_event
		FROM pg_locks l JOIN pg_stat_activity a USING (pid)
		WHERE l.locktype = 'relation' AND NOT l.granted AND l.pid = $pid
		  AND l.relation = 'dbops.migration_lock'::regclass},
			'Lock/relation'),
		"$what: the second session waits on the migration lock");
	is($node->safe_psql($db, qq{
		SELECT pid FROM pg_locks
		WHERE locktype = 'relation' AND granted AND mode = 'ExclusiveLock'
		  AND relation = 'dbops.migration_lock'::regclass}),
		$holder, "$what: the first session holds it");
}

# Start a statement in a background session without waiting for its end.
sub start_query
{
	my ($session, $sql) = @_;
	$session->query_until(qr/started\n/, "\\echo started\n$sql\n");
}

# One case: in a fresh database, a first session runs $hold in an open
# transaction, which takes the migration lock; a second session (after
# $begin, if given) starts applying the directory (or runs $wait) and must
# wait for the lock; the first session then ends with $end.  Returns what
# the first session's $hold printed, the second session's output and whether
# it failed (with its stderr), and the two backends' pids.
sub lock_case
{
	my (%c) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	my $db = $c{db};
	new_database($db);
	my $s1 = $node->background_psql($db);
	my $s2 = $node->background_psql($db, on_error_stop => 0);
	my %r = (
		pid1 => $s1->query_safe('SELECT pg_backend_pid()'),
		pid2 => $s2->query_safe('SELECT pg_backend_pid()'));
	$s2->query_safe('\set VERBOSITY verbose');

	$s1->query_safe('BEGIN');
	$r{held} = $s1->query_safe($c{hold});
	$s2->query_safe($c{begin}) if $c{begin};
	start_query($s2, $c{wait} // $apply);
	waits_for_lock($db, $r{pid2}, $r{pid1}, $c{what});
	is($node->safe_psql($db, 'SELECT count(*) FROM dbops.schema_migrations'),
		0, "$c{what}: nothing is visible while the first session holds the lock");
	$s1->query_safe($c{end});
	# the waiter's result comes first, then this marker
	($r{out}, $r{failed}) = $s2->query("SELECT 'done'");
	$r{stderr} = $s2->{stderr};
	$s1->quit;
	$s2->quit;
	return %r;
}

my %r = lock_case(
	db => 'commit_case',
	what => 'holder commits',
	hold => $apply,
	end => 'COMMIT');
is($r{held}, $count, 'the first session applies every migration');
is($r{out}, "0\ndone", 'the waiting session applies nothing once it gets the lock');
applied_once('commit_case', 'holder commits');
is($node->safe_psql('commit_case', "SELECT count(*) FROM applied_log WHERE pid = $r{pid1}"),
	$count, 'the first session ran them all');

%r = lock_case(
	db => 'rollback_case',
	what => 'holder rolls back',
	hold => $apply,
	end => 'ROLLBACK');
is($r{out}, "$count\ndone", 'after the rollback the waiting session applies every migration');
applied_once('rollback_case', 'holder rolls back');
is($node->safe_psql('rollback_case', "SELECT count(*) FROM applied_log WHERE pid = $r{pid2}"),
	$count, 'the second session ran them all');

# Another tool holds the documented lock: dbops waits for it.
%r = lock_case(
	db => 'tool_case',
	what => 'a tool holds the lock',
	hold => $tool_lock,
	end => 'COMMIT');
is($r{out}, "$count\ndone", 'apply runs once the tool releases the lock');
applied_once('tool_case', 'a tool held the lock');

# Rollback takes the same lock: it waits, then sees the committed batch and
# rolls back its last migration.
%r = lock_case(
	db => 'rollback_waits',
	what => 'rollback waits for apply',
	hold => $apply,
	wait => 'SELECT version FROM dbops.rollback_migrations(steps => 1);',
	end => 'COMMIT');
is($r{out}, sprintf("%03d\ndone", $count), 'the waiting rollback rolls back the last migration');
is($node->safe_psql('rollback_waits',
		"SELECT count(*), to_regclass('t$count') IS NULL FROM dbops.schema_migrations"),
	($count - 1) . '|t', 'rollback after the wait: one migration fewer, its table gone');

# REPEATABLE READ and SERIALIZABLE: the waiter's snapshot predates the
# holder's commit.
for my $level ('REPEATABLE READ', 'SERIALIZABLE')
{
	my $db = lc($level =~ s/ /_/r) . '_case';
	%r = lock_case(
		db => $db,
		what => "$level waiter",
		hold => $apply,
		begin => "BEGIN ISOLATION LEVEL $level",
		end => 'COMMIT');
	ok($r{failed}, "the $level waiter fails");
	like($r{stderr}, qr/ERROR:  40001: could not serialize access/,
		"$level: with a serialization failure (SQLSTATE 40001)");
	applied_once($db, "$level waiter");
}

# A REPEATABLE READ transaction that did not have to wait works normally.
my $s2 = $node->background_psql('repeatable_read_case');
$s2->query_safe('BEGIN ISOLATION LEVEL REPEATABLE READ');
is($s2->query_safe($apply), 0, 'REPEATABLE READ without waiting: nothing pending');
$s2->query_safe('COMMIT');
$s2->quit;

# A real race: two sessions start at the same moment, in autocommit.
new_database('race_case');
my $s1 = $node->background_psql('race_case');
$s2 = $node->background_psql('race_case');
start_query($s1, $apply);
start_query($s2, $apply);
my @results = sort { $a <=> $b } (
	$s1->query_safe("SELECT 'done'") =~ /^(\d+)\n/,
	$s2->query_safe("SELECT 'done'") =~ /^(\d+)\n/);
is("@results", "0 $count", 'one session applied everything, the other nothing');
applied_once('race_case', 'race');

$s1->quit;
$s2->quit;
$node->stop;
done_testing();
