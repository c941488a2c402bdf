# Copyright (c) dbops contributors
#
# The launcher and the workers: one launcher per cluster and one worker per
# database of dbops.databases, visible in pg_stat_activity with their own
# backend types; a reload that names another database starts its worker and
# stops the other; a worker killed with SIGTERM comes back (started again
# by the launcher), one killed with SIGKILL comes back after the crash
# restart; DROP DATABASE, CREATE DATABASE ... TEMPLATE and ALTER DATABASE
# ... RENAME of a database with a worker work, and the worker comes back
# where its database still exists.
use strict;
use warnings FATAL => 'all';

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('worker');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'dbops'
dbops.databases = 'postgres, app, gone, app'
restart_after_crash = on
});
$node->start;
$node->safe_psql('postgres', 'CREATE DATABASE app');

# The pid of the worker of database $db, once it runs
sub worker_pid
{
	my ($db) = @_;
	my $q = "SELECT pid FROM pg_stat_activity WHERE backend_type = 'dbops worker' AND datname = '$db'";
	$node->poll_query_until('postgres', "SELECT EXISTS ($q)")
	  or die "no worker for database $db";
	return $node->safe_psql('postgres', $q);
}

sub no_worker
{
	my ($db, $what) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	ok( $node->poll_query_until('postgres',
			"SELECT NOT EXISTS (SELECT FROM pg_stat_activity WHERE backend_type = 'dbops worker' AND datname = '$db')"),
		$what);
}

ok($node->poll_query_until('postgres',
		"SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'dbops launcher'"),
	'one launcher, with its own backend type');
my $pid = worker_pid('app');
ok($pid > 0, 'the worker of a database created after the start comes up');
ok(worker_pid('postgres') > 0, 'and that of postgres');
is($node->safe_psql('postgres',
		"SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'dbops worker'"),
	'2', 'one worker per existing database named');
ok($node->log_contains('database "gone" named in dbops.databases does not exist'),
	'a database that does not exist is logged');

# SIGTERM: the launcher starts the worker again.
$node->safe_psql('postgres', "SELECT pg_terminate_backend($pid)");
my $new = worker_pid('app');
$node->poll_query_until('postgres',
	"SELECT pid <> $pid FROM pg_stat_activity WHERE backend_type = 'dbops worker' AND datname = 'app'")
  or die 'worker not restarted';
isnt(worker_pid('app'), $pid, 'a worker ended with SIGTERM is started again');

# SIGKILL: a crash restart, after which the launcher starts it again.
$pid = worker_pid('app');
kill 'KILL', $pid;
$node->poll_query_until('postgres',
	"SELECT EXISTS (SELECT FROM pg_stat_activity WHERE backend_type = 'dbops worker' AND datname = 'app' AND pid <> $pid)")
  or die 'worker not back after the crash';
ok(1, 'a worker killed with SIGKILL is back after the crash restart');

# A reload that drops a database from the list stops its worker.
$node->append_conf('postgresql.conf', "dbops.databases = 'app, tpl'");
$node->reload;
no_worker('postgres', 'reload: the worker of a database no longer named stops');

# DROP DATABASE of a database with a worker.
$node->safe_psql('postgres', 'CREATE DATABASE tpl');
worker_pid('tpl');
$node->safe_psql('postgres', 'CREATE DATABASE copy TEMPLATE tpl');
ok(1, 'CREATE DATABASE ... TEMPLATE of a database with a worker');
worker_pid('tpl');
ok(1, 'its worker is back');
$node->safe_psql('postgres', 'ALTER DATABASE tpl RENAME TO tpl2');
ok(1, 'ALTER DATABASE ... RENAME of a database with a worker');
no_worker('tpl2', 'a renamed database is no longer named: no worker');
$node->safe_psql('postgres', 'ALTER DATABASE tpl2 RENAME TO tpl');
worker_pid('tpl');
$node->safe_psql('postgres', 'DROP DATABASE tpl');
ok(1, 'DROP DATABASE of a database with a worker');
no_worker('tpl', 'no worker for the dropped database');
ok(worker_pid('app') > 0, 'the other worker runs on');

# Shutdown is not delayed by the workers.
$node->stop('fast');
ok(1, 'fast shutdown with the launcher and workers running');

done_testing();
