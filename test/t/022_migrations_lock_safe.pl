# Copyright (c) dbops contributors
#
# Lock-safe apply.  A long transaction holds a lock on table "busy" while
# a batch of two migrations arrives: the first alters table "other", the
# second "busy", so its ACCESS EXCLUSIVE request queues behind the long
# transaction, and every later reader and writer of "busy" would queue
# behind that request.  pgbench reads and writes both tables meanwhile,
# logging the latency of every transaction.
#
# Without a lock timeout (the control case) those queries wait for as long
# as the long transaction lasts, on "busy" and on "other", whose lock the
# first migration keeps: the measurement shows the outage the feature is
# for.  With dbops.lock_timeout, each try waits at most the timeout, the
# whole batch rolls back to its savepoint (releasing "other" too) and
# backs off, so no query waits much longer than the timeout; every wait is
# reported with the relation and the holder's pid and query, and the batch
# applies once the long transaction ends.  With too few retries the batch
# fails with 55P03 and nothing is applied.
#
# No assertion is on dbops's own speed: only on how long the other
# sessions waited, against the timeout plus a generous margin.
use strict;
use warnings FATAL => 'all';

use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $timeout_ms = 200;
# how long the long transaction holds its lock once the migration waits
my $hold_s = 3;
# a query that waited longer than this waited for more than one try
my $margin_ms = 1500;

my $node = PostgreSQL::Test::Cluster->new('main');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'dbops'");
$node->start;

my $tmp = $PostgreSQL::Test::Utils::tmp_check;
my $script = "$tmp/load.sql";
append_to_file($script, <<'EOF');
\set id random(1, 1000)
SELECT v FROM busy WHERE id = :id;
UPDATE busy SET v = v + 1 WHERE id = :id;
SELECT v FROM other WHERE id = :id;
UPDATE other SET v = v + 1 WHERE id = :id;
EOF

my $batch = q{'[
	{"version": "1", "name": "alter_other", "up": "ALTER TABLE other ADD COLUMN o int;"},
	{"version": "2", "name": "alter_busy", "up": "ALTER TABLE busy ADD COLUMN b int;"}]'::jsonb};

sub new_database
{
	my ($db) = @_;
	$node->safe_psql('postgres', "CREATE DATABASE $db");
	$node->safe_psql($db, q{
		CREATE EXTENSION dbops;
		CREATE TABLE busy (id int PRIMARY KEY, v int NOT NULL DEFAULT 0);
		CREATE TABLE other (id int PRIMARY KEY, v int NOT NULL DEFAULT 0);
		INSERT INTO busy (id) SELECT generate_series(1, 1000);
		INSERT INTO other (id) SELECT generate_series(1, 1000);
	});
}

# How many migrations the catalog records, then how many of their columns
# exist, one a line
sub applied
{
	my ($db) = @_;
	return $node->safe_psql($db, q{
		SELECT count(*) FROM dbops.schema_migrations
		UNION ALL SELECT count(*) FROM pg_attribute
		WHERE attrelid IN ('busy'::regclass, 'other'::regclass) AND attname IN ('o', 'b')});
}

# The longest transaction latency in pgbench's logs, in ms, and how many
# transactions ran.
sub pgbench_latency
{
	my ($prefix) = @_;
	my ($max, $count) = (0, 0);
	for my $log (glob("$prefix.*"))
	{
		for my $line (split /\n/, slurp_file($log))
		{
			my @f = split / /, $line;
			$count++;
			$max = $f[2] if $f[2] > $max;
		}
	}
	return ($max / 1000, $count);
}

# One case: the long transaction takes its lock, pgbench starts, the batch
# starts and queues; after $hold_s the long transaction commits.  Returns
# the migrating session's output and stderr, whether it failed, pgbench's
# worst latency and transaction count, and the holder's pid.
sub lock_case
{
	my (%c) = @_;
	my $db = $c{db};
	new_database($db);

	my $holder = $node->background_psql($db);
	my $holder_pid = $holder->query_safe('SELECT pg_backend_pid()');
	$holder->query_safe('BEGIN');
	$holder->query_safe('SELECT count(*) /* the long transaction */ FROM busy');

	my $prefix = "$tmp/pgbench_$db";
	my ($out, $err) = ('', '');
	my $load = IPC::Run::start(
		[ 'pgbench', '-n', '-c', '2', '-T', $hold_s + 3, '-f', $script,
			'-l', "--log-prefix=$prefix", $node->connstr($db) ],
		'>', \$out, '2>', \$err);

	my $migrator = $node->background_psql($db, on_error_stop => 0);
	my $migrator_pid = $migrator->query_safe('SELECT pg_backend_pid()');
	$migrator->query_safe('\set VERBOSITY verbose');
	$migrator->query_safe($c{settings}) if $c{settings};
	$migrator->query_until(qr/started\n/,
		"\\echo started\nSELECT version, action FROM dbops.apply_migrations($batch);\n");

	# the batch waits for the lock on busy before the holder lets go
	ok( $node->poll_query_until(
			$db, qq{
		SELECT count(*) > 0 FROM pg_locks
		WHERE pid = $migrator_pid AND NOT granted AND relation = 'busy'::regclass}),
		"$c{what}: the migration queues behind the long transaction");
	sleep($hold_s);
	$holder->query_safe('COMMIT');
	$holder->quit;

	my %r = (holder_pid => $holder_pid);
	($r{out}, $r{failed}) = $migrator->query("SELECT 'done'");
	$r{stderr} = $migrator->{stderr};
	$migrator->quit;
	$load->finish;
	is(($load->full_results)[0], 0, "$c{what}: pgbench ran without errors") or diag($err);
	($r{max_ms}, $r{transactions}) = pgbench_latency($prefix);
	note "$c{what}: $r{transactions} transactions, the slowest took $r{max_ms} ms";
	return %r;
}

# Control: without a lock timeout, the queue behind the migration stalls
# both tables for as long as the long transaction lasts.
my %r = lock_case(db => 'control', what => 'without lock timeout');
is($r{out}, "1|applied\n2|applied\ndone", 'control: the batch applies once the lock is free');
cmp_ok($r{max_ms}, '>', $hold_s * 1000 - 1000,
	'control: queries on the tables wait about as long as the long transaction');

# Lock-safe: every try waits at most the timeout; the others keep working.
%r = lock_case(
	db => 'lock_safe',
	what => 'with dbops.lock_timeout',
	settings => "SET dbops.lock_timeout = '${timeout_ms}ms'; SET dbops.lock_retries = 100;");
is($r{out}, "1|applied\n2|applied\ndone",
	'lock-safe: the batch applies once the long transaction ends');
cmp_ok($r{max_ms}, '<', $timeout_ms + $margin_ms,
	"lock-safe: no query waits much longer than the lock timeout (${timeout_ms} ms)");
like($r{stderr},
	qr/NOTICE:  00000: migration "2_alter_busy" waited $timeout_ms ms for AccessExclusiveLock on relation "public\.busy"/,
	'each wait is reported with the lock and the relation');
like($r{stderr},
	qr/DETAIL:  (.*\. )?Process $r{holder_pid} holds AccessShareLock \(idle in transaction, transaction open for [0-9:]+\), last query: SELECT count\(\*\) \/\* the long transaction \*\/ FROM busy[ ;]*\./,
	'and with the pid, state and query of the session that holds it');
like($r{stderr}, qr/ The batch was rolled back; try 2 of 101 starts in \d+ ms\.\n/,
	'and when the next try starts');
is(applied('lock_safe'), "2\n2", 'lock-safe: both migrations are recorded and their columns exist');

# Out of tries: a clean failure, nothing applied, not even the first
# migration, and the long transaction undisturbed.
new_database('exhausted');
my $holder = $node->background_psql('exhausted');
my $holder_pid = $holder->query_safe('SELECT pg_backend_pid()');
$holder->query_safe('BEGIN');
$holder->query_safe('SELECT count(*) FROM busy');
my ($stdout, $stderr);
# (a batch that does not give up would wait for the holder: time it out)
$node->psql('exhausted',
	"SELECT * FROM dbops.apply_migrations($batch, lock_timeout => '100 ms', lock_retries => 2)",
	stdout => \$stdout, stderr => \$stderr, timeout => 60, timed_out => \my $timed_out,
	extra_params => [ '-v', 'VERBOSITY=verbose' ]);
ok(!$timed_out, 'out of retries: the batch gives up instead of waiting');
like($stderr,
	qr/ERROR:  55P03: could not take the locks of migration "2_alter_busy" in 3 tries\nDETAIL:  Each try waited 100 ms for AccessExclusiveLock on relation "public\.busy"\. Process $holder_pid holds AccessShareLock/,
	'out of retries: 55P03 naming the migration, the lock and its holder');
like($stderr, qr/CONTEXT:  SQL statement "ALTER TABLE busy ADD COLUMN b int"\nmigration 2_alter_busy, up line 1/,
	'with the statement, migration and line in the context');
is(() = $stderr =~ /NOTICE:  00000: migration "2_alter_busy" waited 100 ms/g, 2,
	'two waits were reported before the last try');
is(applied('exhausted'), "0\n0", 'nothing was applied, not even the first migration');
is($holder->query_safe('SELECT count(*) FROM busy'), 1000,
	'the long transaction goes on undisturbed');
$holder->query_safe('COMMIT');
$holder->quit;

$node->stop;
done_testing();
